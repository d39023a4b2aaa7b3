"""Jobs on Slurm: which jobs the worker hands to sbatch, with which partition, account, QoS and constraint,
and what it keeps of the Slurm job (provenance, and the page's "queued in Slurm: Resources").

The deployment's PARALAB_SLURM_* settings are the defaults; a team's own (``Team.slurm``) win. The
running itself is ``kernels.slurm.run_slurm``; without Slurm a job runs in ``run_isolated`` as before.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable
from typing import Any, Concatenate

from django.conf import settings
from django.core.exceptions import ValidationError

from kernels.engine import CheckedRequest, RunResult
from kernels.isolated import run_isolated
from kernels.slurm import SlurmJob, SlurmOptions, run_slurm
from webapp.jobs.models import Job, Status
from webapp.teams.models import Team

FIELDS = ("partition", "account", "qos", "constraint")
# Names of partitions, accounts and QoS, and constraint expressions ("intel&ib", "[rack1|rack2]"): no
# spaces or control characters, and no leading "-" that could read as another sbatch option.
_VALUE = re.compile(r"[A-Za-z0-9_.,:;&|!*()\[\]+=@%^-]{1,200}")


def slurm_options_for(*, job: Job) -> SlurmOptions | None:
    """The Slurm options for this job, or None when it runs on the worker's own host."""
    if not settings.PARALAB_SLURM or job.backend not in settings.PARALAB_SLURM_BACKENDS:
        return None
    chosen = {name: getattr(settings, f"PARALAB_SLURM_{name.upper()}") for name in FIELDS}
    chosen.update({name: value for name, value in (job.team.slurm or {}).items() if name in FIELDS and value})
    return SlurmOptions(workdir=str(settings.PARALAB_SLURM_WORKDIR), **chosen)


def job_runner(
    *, job: Job, on_scheduler: Callable[[dict[str, Any]], None]
) -> Callable[Concatenate[CheckedRequest, ...], RunResult]:
    """``run_isolated``, or ``run_slurm`` for this job; ``on_scheduler`` gets the Slurm state for the page."""
    options = slurm_options_for(job=job)
    if options is None:
        return run_isolated

    def record(slurm_job: SlurmJob) -> None:
        entry = slurm_job.record()
        on_scheduler({key: entry[key] for key in ("scheduler", "job_id", "state", "reason", "nodes", "text")})
        # Provenance holds the Slurm job from its id on, so a job that dies with its worker still names it.
        job.provenance = {**(job.provenance or {}), "slurm": entry}
        Job.objects.filter(pk=job.pk, status=Status.RUNNING, attempts=job.attempts).update(provenance=job.provenance)

    return functools.partial(run_slurm, options=options, name=f"paralab-{job.pk}", on_scheduler=record)


def team_slurm_set(*, team: Team, values: dict[str, str]) -> Team:
    """Set a team's Slurm defaults; an empty value removes one (the deployment's applies again)."""
    unknown = sorted(set(values) - set(FIELDS))
    if unknown:
        raise ValidationError(f"unknown Slurm setting {', '.join(unknown)}; choose from {', '.join(FIELDS)}")
    for name, value in values.items():
        if value and (not isinstance(value, str) or not _VALUE.fullmatch(value) or value.startswith("-")):
            raise ValidationError(f"{name}: {value!r} is not a Slurm name or constraint (letters, digits, _.-&|…)")
    team.slurm = {name: value for name, value in {**(team.slurm or {}), **values}.items() if value}
    team.save(update_fields=["slurm"])
    return team
