"""How often one client, and one e-mail address, may have a password-reset link mailed.

Django's reset form mails an account's address each time it is posted, whoever posts it: without a limit
anyone could have the server mail a user, or every user, without end. The counts live in Redis, so every
web process shares them. The client is the address our trusted proxies saw (``client_ip``, the rule the
login lockout uses), never an X-Forwarded-For entry the client wrote itself.
"""

from __future__ import annotations

import functools
import hashlib
import logging

import redis
from django.conf import settings
from django.http import HttpRequest

from webapp.client_address import client_ip

log = logging.getLogger(__name__)

# Each key's count and the time left in its window, the count and the window's expiry set in one step:
# a count left without an expiry (by a crash between two calls) would refuse its address for ever.
COUNT = """
local counts = {}
for i, key in ipairs(KEYS) do
  local n = redis.call('INCR', key)
  if n == 1 then redis.call('EXPIRE', key, ARGV[1]) end
  counts[i] = {n, redis.call('TTL', key)}
end
return counts
"""


@functools.cache
def _redis(url: str) -> redis.Redis:
    # A Redis that does not answer must not hold the page for long (it then goes unlimited, see below).
    return redis.Redis.from_url(url, socket_connect_timeout=1, socket_timeout=1)


def reset_wait(*, request: HttpRequest, email: str) -> int:
    """Count a request to mail a reset link to ``email``: 0 if it may be sent, else the seconds to wait.

    Whether an account has the address changes nothing here, so the answer tells nobody who has one.
    """
    prefix = f"{settings.CELERY_TASK_DEFAULT_QUEUE}:password-reset"  # one deployment's counts, not another's
    address = hashlib.sha256(email.strip().lower().encode()).hexdigest()  # as Django matches it (iexact)
    keys = [f"{prefix}:client:{client_ip(request)}", f"{prefix}:address:{address}"]
    limits = [settings.PARALAB_RESET_PER_CLIENT, settings.PARALAB_RESET_PER_ADDRESS]
    try:
        counts = _redis(settings.REDIS_URL).eval(COUNT, len(keys), *keys, settings.PARALAB_RESET_WINDOW)
    except redis.RedisError as exc:
        # Nobody should be unable to reset a password because Redis is down; jobs stop then too, and
        # the outage is what to fix.
        log.warning("password reset not rate-limited: Redis did not answer (%s)", exc)
        return 0
    return max((max(ttl, 1) for (count, ttl), limit in zip(counts, limits, strict=True) if count > limit), default=0)
