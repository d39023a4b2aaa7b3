"""Webhook signatures: ``X-Paralab-Signature: t=<unix time>,v1=<hex HMAC-SHA256 of "<t>.<body>">``.

The timestamp is signed with the body, so a receiver that checks it (within a few minutes of its
clock) refuses a captured request replayed later, as with Stripe's and Slack's signatures.
"""

from __future__ import annotations

import hashlib
import hmac

HEADER = "X-Paralab-Signature"
TOLERANCE = 300  # seconds a receiver should accept between the signed time and its clock


def signature(*, secret: str, timestamp: int, body: bytes) -> str:
    """The header's value for this body, signed at ``timestamp``."""
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={mac}"


def verify(*, secret: str, header: str, body: bytes, now: float, tolerance: int = TOLERANCE) -> bool:
    """What a receiver does: the signature matches this body and was made within ``tolerance`` of ``now``."""
    try:
        parts = dict(item.split("=", 1) for item in header.split(","))
        timestamp = int(parts["t"])
    except (KeyError, ValueError):
        return False
    if abs(now - timestamp) > tolerance:
        return False
    expected = signature(secret=secret, timestamp=timestamp, body=body)
    return hmac.compare_digest(expected, f"t={timestamp},v1={parts.get('v1', '')}")
