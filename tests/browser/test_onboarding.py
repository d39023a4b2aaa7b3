"""Onboarding in a real browser: an owner makes a viewer invitation on the team page, and a newcomer
with no account signs up through its link and lands in the team as a viewer."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

NEW_PASSWORD = "a-long-new-passphrase-42"


def test_sign_up_through_an_invitation_link(team_setup, open_page):
    # No ORM here: while Playwright runs, Django refuses database access in this thread (conftest.py).
    owner = open_page("alice")
    owner.goto("/teams/team-a/")
    owner.select_option("#id_invite-role", "viewer")
    owner.get_by_role("button", name="Invite").click()
    link = owner.locator('[data-field="invitation-link"]').inner_text().strip()
    assert re.fullmatch(r"http://127\.0\.0\.1:\d+/invitations/pli_[\w-]+/", link)
    expect(owner.locator("table.invitations")).to_contain_text("pending")

    newcomer = open_page()  # no account, not logged in
    newcomer.goto(link)
    expect(newcomer.get_by_role("heading", name="Join Team A")).to_be_visible()
    newcomer.fill("input[name=username]", "newcomer")
    newcomer.fill("input[name=email]", "newcomer@example.org")
    newcomer.fill("input[name=password1]", NEW_PASSWORD)
    newcomer.fill("input[name=password2]", NEW_PASSWORD)
    newcomer.get_by_role("button", name="Sign up and join").click()
    newcomer.wait_for_url("**/teams/team-a/")
    expect(newcomer.locator(".messages")).to_contain_text("You joined Team A as viewer.")
    expect(newcomer.locator(".session")).to_contain_text("newcomer")  # logged in as the new account
    expect(newcomer.locator("p.muted").first).to_contain_text("Your role here: viewer.")
    owner.reload()
    expect(owner.locator("table.members")).to_contain_text(re.compile(r"newcomer\s+Viewer"))
    expect(owner.locator("table.invitations")).to_contain_text("used by newcomer")
