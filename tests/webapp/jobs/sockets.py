"""What the tests of live sockets on a real daphne share: a job nobody else speaks for, and a browser's handshake."""

import asyncio
import time
from datetime import timedelta

from django.test import Client
from django.utils import timezone

from tests.services import free_port, start_redis
from webapp.jobs.models import Job


def quiet_running_job(team, user) -> Job:
    """Running, heart-beating far ahead: nothing else writes or sends events for it while a test listens
    (a queued job would be re-sent, and announced, by a suite worker's sweeper after 10 s)."""
    return Job.objects.create(team=team, submitted_by=user, workload="fib", params={"ns": [5]}, backend="sequential",
                              status="running", attempts=1, heartbeat_at=timezone.now() + timedelta(hours=1))  # fmt: skip


class OwnRedis:
    """A Redis of the test's own, which the test stops and starts again on the same port."""

    def __init__(self) -> None:
        self.port = free_port()
        self.env = {"REDIS_URL": f"redis://127.0.0.1:{self.port}/0"}
        self.server = start_redis(self.port)

    def restart(self, down_for: float = 0) -> None:
        self.server.stop()
        time.sleep(down_for)
        self.server = start_redis(self.port)


def browser_headers(user, port: int) -> dict[str, str]:
    """The headers a browser logged in as ``user`` sends with its WebSocket handshake to 127.0.0.1:port."""
    browser = Client()
    browser.force_login(user)
    return {"Cookie": f"sessionid={browser.cookies['sessionid'].value}", "Origin": f"http://127.0.0.1:{port}"}


def event_subscribers(group: str, redis_url: str = "") -> int:
    """How many web processes subscribe to a live event group (one per process with watchers: webapp/jobs/relay.py),
    read from Redis (the settings' or ``redis_url``): channels_redis's pub/sub layer names a group's channel
    ``<prefix>__group__<group>``."""
    import redis
    from django.conf import settings

    prefix = settings.CHANNEL_LAYERS[settings.LIVE_EVENTS_LAYER]["CONFIG"]["prefix"]
    with redis.Redis.from_url(redis_url or settings.REDIS_URL) as store:
        return store.pubsub_numsub(f"{prefix}__group__{group}")[0][1]


async def leave(communicator, within: float = 5) -> None:
    """Leave as a browser does after a close, and check the consumer then ends on its own within ``within`` s.
    channels' test communicator cannot tell: past its timeout it cancels the consumer, which swallows that
    cancel and ends as if by itself (a refused socket's consumer lived on 10 s so, webapp/channel_layer.py)."""
    await communicator.send_input({"type": "websocket.disconnect", "code": 1000})
    ended, _ = await asyncio.wait([communicator.future], timeout=within)
    await communicator.wait(timeout=1)  # the consumer's own error raised here; cancelled if it still runs
    assert ended, f"the consumer still ran {within:g} s after its client left"
