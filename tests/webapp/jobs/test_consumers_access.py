"""An open live socket loses what its user loses: logout, removal from the team, deactivation, a new password.

As in the field: daphne serves the product, a user logs in through the login form (a browser's session
cookie), opens the team feed and a job's channel with a WebSocket client, and the change happens over
HTTP (logout, the admin's user form) or in the database. Within 2 s the socket must be closed, and an
event published after the change must not reach it.
"""

import asyncio
import time

import pytest
import requests
import websockets
from channels.db import database_sync_to_async
from channels.testing import WebsocketCommunicator
from django.utils import timezone

from tests.services import daphne_serving
from tests.webapp.jobs.sockets import leave
from webapp.asgi import application
from webapp.jobs.events import publish, team_group
from webapp.jobs.models import Job
from webapp.teams.models import Membership, Role
from webapp.teams.services import member_set_role

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.asyncio]

PASSWORD = "pw-for-tests-1"  # tests/conftest.py's make_user
REVOKED_WITHIN = 5.0  # seconds: word of the change, not the periodic re-check (60 s), on a loaded host too


@pytest.fixture(scope="module")
def server(django_db_setup, django_db_blocker):
    with daphne_serving("daphne-access") as url:
        yield url


def log_in(base: str, username: str) -> requests.Session:
    """A browser's session: the login form's CSRF cookie, then the form posted; cookies kept."""
    browser = requests.Session()
    browser.get(f"{base}/accounts/login/", timeout=10)
    response = browser.post(
        f"{base}/accounts/login/",
        data={"username": username, "password": PASSWORD, "csrfmiddlewaretoken": browser.cookies["csrftoken"]},
        timeout=10,
    )
    assert response.status_code == 200 and "sessionid" in browser.cookies, response.text[:300]
    return browser


def log_out(base: str, browser: requests.Session) -> None:
    data = {"csrfmiddlewaretoken": browser.cookies["csrftoken"]}
    assert browser.post(f"{base}/accounts/logout/", data=data, timeout=10).status_code == 200


async def subscribe(base: str, browser: requests.Session, path: str):
    """An open socket, once its first message (the backlog or the job's state) says it is subscribed."""
    socket = await websockets.connect(
        base.replace("http", "ws") + path,
        origin=base,
        additional_headers={"Cookie": f"sessionid={browser.cookies['sessionid']}"},
    )
    await asyncio.wait_for(socket.recv(), timeout=10)
    return socket


async def closed_within(socket, seconds: float) -> tuple[int | None, list[str]]:
    """The close code if the server closes the socket within ``seconds``, and what arrived until then."""
    received = []
    try:
        async with asyncio.timeout(seconds):
            async for message in socket:
                received.append(message)
    except websockets.ConnectionClosed:
        pass
    except TimeoutError:
        return None, received
    return socket.close_code, received


@database_sync_to_async
def publish_to_team(team, marker: str) -> None:
    event = {"kind": "summary", "id": 0, "seq": 0, "marker": marker}
    publish(team_group(team.pk), event)


@database_sync_to_async
def make_job(team, user) -> Job:
    # Marked as sent: a suite worker left running sends a queued job never sent after 10 s, runs it, and
    # its events would come between the ones a test waits for.
    return Job.objects.create(team=team, submitted_by=user, workload="fib", params={"ns": [5]}, backend="sequential",
                              implementation="python", dispatched_at=timezone.now())  # fmt: skip


async def assert_cut_off(sockets, code: int, team) -> None:
    start = time.monotonic()
    for socket in sockets:
        closed, _ = await closed_within(socket, REVOKED_WITHIN - (time.monotonic() - start))
        assert closed == code, f"still open {time.monotonic() - start:.1f} s after the change (code {closed})"
    await publish_to_team(team, "after")
    for socket in sockets:
        with pytest.raises(websockets.ConnectionClosed):
            await asyncio.wait_for(socket.recv(), timeout=0.5)


async def test_logging_out_closes_that_sessions_sockets_and_no_other(server, team_setup):
    team = team_setup["team_a"]
    job = await make_job(team, team_setup["alice"])
    laptop = await asyncio.to_thread(log_in, server, "bob")
    phone = await asyncio.to_thread(log_in, server, "bob")
    laptop_feed = await subscribe(server, laptop, "/ws/teams/team-a/")
    laptop_job = await subscribe(server, laptop, f"/ws/jobs/{job.pk}/")
    phone_feed = await subscribe(server, phone, "/ws/teams/team-a/")

    await asyncio.to_thread(log_out, server, laptop)

    await assert_cut_off([laptop_feed, laptop_job], 4401, team)
    received = await asyncio.wait_for(phone_feed.recv(), timeout=5)
    assert '"marker":"after"' in received.replace(" ", "")  # the other session still follows the team
    await phone_feed.close()


async def test_removal_from_the_team_closes_the_members_sockets(server, team_setup):
    team = team_setup["team_a"]
    job = await make_job(team, team_setup["alice"])
    vera = await asyncio.to_thread(log_in, server, "vera")
    sockets = [await subscribe(server, vera, "/ws/teams/team-a/"), await subscribe(server, vera, f"/ws/jobs/{job.pk}/")]

    await database_sync_to_async(Membership.objects.filter(team=team, user=team_setup["vera"]).delete)()

    await assert_cut_off(sockets, 4403, team)


async def test_deleting_the_team_closes_its_sockets(server, team_setup):
    team = team_setup["team_a"]
    await make_job(team, team_setup["alice"])
    bob = await asyncio.to_thread(log_in, server, "bob")
    feed = await subscribe(server, bob, "/ws/teams/team-a/")

    await database_sync_to_async(team.delete)()

    closed, _ = await closed_within(feed, REVOKED_WITHIN)
    assert closed == 4403


async def test_a_role_change_keeps_the_socket(server, team_setup):
    team = team_setup["team_a"]
    await make_job(team, team_setup["alice"])
    bob = await asyncio.to_thread(log_in, server, "bob")
    feed = await subscribe(server, bob, "/ws/teams/team-a/")

    await database_sync_to_async(member_set_role)(
        actor=team_setup["alice"], team=team, user=team_setup["bob"], role=Role.VIEWER
    )
    await asyncio.sleep(0.5)  # the re-check has had its time
    await publish_to_team(team, "after")

    assert '"marker":"after"' in (await asyncio.wait_for(feed.recv(), timeout=5)).replace(" ", "")
    await feed.close()


async def test_deactivation_in_the_admin_closes_the_users_sockets(server, team_setup, django_user_model):
    team = team_setup["team_a"]
    job = await make_job(team, team_setup["alice"])
    vera = await asyncio.to_thread(log_in, server, "vera")
    sockets = [await subscribe(server, vera, "/ws/teams/team-a/"), await subscribe(server, vera, f"/ws/jobs/{job.pk}/")]

    await asyncio.to_thread(deactivate_in_admin, server, django_user_model, team_setup["vera"])

    await assert_cut_off(sockets, 4401, team)


def deactivate_in_admin(base: str, user_model, user) -> None:
    """What an administrator does: the user's change form in the admin, "Active" unticked, saved."""
    user_model.objects.create_superuser("root", "root@example.org", PASSWORD)
    admin = log_in(base, "root")
    user.refresh_from_db()
    form = {
        "csrfmiddlewaretoken": admin.cookies["csrftoken"],
        "username": user.username,
        "date_joined_0": user.date_joined.strftime("%Y-%m-%d"),
        "date_joined_1": user.date_joined.strftime("%H:%M:%S"),
        "_save": "Save",
    }  # "is_active" left out: an unticked box
    response = admin.post(f"{base}/admin/auth/user/{user.pk}/change/", data=form, timeout=10)
    assert response.status_code == 200 and "was changed successfully" in response.text, response.text[-2000:]
    user.refresh_from_db()
    assert not user.is_active


async def test_a_new_password_closes_the_users_other_sessions(server, team_setup):
    team = team_setup["team_a"]
    vera = await asyncio.to_thread(log_in, server, "vera")
    await make_job(team, team_setup["alice"])
    feed = await subscribe(server, vera, "/ws/teams/team-a/")

    def change_password() -> None:
        user = team_setup["vera"]
        user.set_password("another password entirely")
        user.save()

    await database_sync_to_async(change_password)()

    await assert_cut_off([feed], 4401, team)


async def test_a_change_that_sends_no_word_is_caught_by_the_periodic_recheck(team_setup, settings):
    """QuerySet.update() fires no signal: the socket's own re-check every PARALAB_LIVE_RECHECK_SECONDS."""
    from django.test import Client

    settings.PARALAB_LIVE_RECHECK_SECONDS = 0.5
    team = team_setup["team_a"]
    await make_job(team, team_setup["alice"])

    def session_cookie() -> bytes:
        client = Client()
        client.force_login(team_setup["vera"])
        return f"sessionid={client.cookies['sessionid'].value}".encode()

    headers = [(b"origin", b"http://localhost"), (b"cookie", await database_sync_to_async(session_cookie)())]
    communicator = WebsocketCommunicator(application, "/ws/teams/team-a/", headers=headers)
    assert (await communicator.connect(timeout=5))[0]
    await communicator.receive_json_from(timeout=5)

    user_model = type(team_setup["vera"])
    await database_sync_to_async(user_model.objects.filter(pk=team_setup["vera"].pk).update)(is_active=False)

    message = await communicator.receive_output(timeout=REVOKED_WITHIN)
    await leave(communicator)  # the consumer leaves its groups before the loop is torn down
    assert message == {"type": "websocket.close", "code": 4401}
