"""Credentials out of text: a URL's ``user:password@`` becomes ``***@`` before it reaches an error or a log.

Job error texts and logs are read by every viewer of a team and exported; a Redis or database URL
in them (``redis://:PASSWORD@host``) would hand out the password.
"""

from __future__ import annotations

import re

# scheme://userinfo@ — userinfo runs to the last "@" before the path or whitespace, so a password with
# an unescaped "@" in it is hidden whole (the URL parsers read it that way too).
_USERINFO = re.compile(r"(?P<scheme>\b[A-Za-z][A-Za-z0-9+.-]*://)[^\s/]*@")


def redact(text: str) -> str:
    """``text`` with the credentials of every URL in it replaced by ``***``."""
    return _USERINFO.sub(r"\g<scheme>***@", text)
