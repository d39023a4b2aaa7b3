"""Team services: membership rules."""

import pytest

pytestmark = pytest.mark.django_db


def test_the_last_owner_cannot_step_down(team_setup):
    from webapp.teams.services import member_set_role

    with pytest.raises(ValueError, match="at least one owner"):
        member_set_role(actor=team_setup["alice"], team=team_setup["team_a"], user=team_setup["alice"], role="member")
