"""Which jobs go to Slurm and with which options: the deployment's settings, a team's defaults over them.

Running on a real Slurm is tests/slurm/ (`make test-slurm`); these need no cluster.
"""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError
from django.core.management import CommandError, call_command

from kernels.slurm import SlurmOptions
from webapp.jobs.models import Job
from webapp.jobs.slurm import slurm_options_for, team_slurm_set

pytestmark = pytest.mark.django_db


@pytest.fixture
def slurm_on(settings, tmp_path):
    settings.PARALAB_SLURM = True
    settings.PARALAB_SLURM_BACKENDS = ["mpi"]
    settings.PARALAB_SLURM_PARTITION, settings.PARALAB_SLURM_ACCOUNT = "batch", "everyone"
    settings.PARALAB_SLURM_QOS, settings.PARALAB_SLURM_CONSTRAINT = "", ""
    settings.PARALAB_SLURM_WORKDIR = tmp_path
    return settings


def job(team_setup, backend: str = "mpi") -> Job:
    return Job(team=team_setup["team_a"], submitted_by=team_setup["alice"], workload="mpi_ring", backend=backend)


def test_jobs_run_on_the_workers_host_unless_slurm_is_on_for_their_backend(settings, team_setup, slurm_on):
    assert slurm_options_for(job=job(team_setup, "processes")) is None
    settings.PARALAB_SLURM = False
    assert slurm_options_for(job=job(team_setup)) is None


def test_a_teams_defaults_win_over_the_deployments(team_setup, slurm_on, tmp_path):
    assert slurm_options_for(job=job(team_setup)) == SlurmOptions(str(tmp_path), "batch", "everyone", "", "")
    team_slurm_set(team=team_setup["team_a"], values={"partition": "gpu", "qos": "high", "constraint": "ib&intel"})
    options = slurm_options_for(job=job(team_setup))
    assert options.sbatch_args() == ["--partition", "gpu", "--account", "everyone", "--qos", "high",
                                     "--constraint", "ib&intel"]  # fmt: skip
    team_slurm_set(team=team_setup["team_a"], values={"partition": ""})  # empty: the deployment's again
    assert slurm_options_for(job=job(team_setup)).partition == "batch"


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({"queue": "x"}, "unknown Slurm setting queue; choose from partition, account, qos, constraint"),
        ({"partition": "--wrap=rm"}, "partition: '--wrap=rm' is not a Slurm name or constraint"),
        ({"account": "a b"}, "account: 'a b' is not a Slurm name or constraint"),
        ({"qos": "x\n"}, "qos: 'x\\n' is not a Slurm name or constraint"),
        ({"constraint": 5}, "constraint: 5 is not a Slurm name or constraint"),
    ],
)
def test_bad_team_defaults_are_refused_with_the_reason(team_setup, values, message):
    with pytest.raises(ValidationError) as caught:
        team_slurm_set(team=team_setup["team_a"], values=values)
    assert caught.value.messages[0].startswith(message)
    team_setup["team_a"].refresh_from_db()
    assert team_setup["team_a"].slurm == {}


def test_the_team_slurm_command_sets_and_refuses(team_setup, capsys):
    call_command("team_slurm", "team-a", "--partition", "debug", "--account", "physics")
    assert capsys.readouterr().out.strip() == "team-a: {'partition': 'debug', 'account': 'physics'}"
    with pytest.raises(CommandError, match="partition: '-x' is not a Slurm name"):
        call_command("team_slurm", "team-a", "--partition=-x")
    with pytest.raises(CommandError, match="no team 'nope'"):
        call_command("team_slurm", "nope")
