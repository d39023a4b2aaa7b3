"""Where a queued job stands: its place in its queue, what it waits behind, and an estimate; each queue's depth.

The place is the job's turn by the fair-share rule the workers follow (webapp/jobs/fair_share.py).
The estimate, in words a reader can check:

    Each job ahead takes the median time (start to end) of the last 20 jobs like it that succeeded
    on its queue — same workload, backend, implementation and workers; else same workload; else any
    on that queue; else any on the queues its workers serve. A running job counts for what is left of its median. A worker that also serves
    other queues takes them in turn, so each of those queues with jobs waiting adds up to one of its
    jobs per job ahead, and one before this one. The sum is shared among the worker slots that serve the queue.

Other teams' jobs are counted, never named: a group of them reads "another team" / "other teams".
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from statistics import median
from typing import Any

from django.contrib.auth.models import User
from django.db.models import Count, Min
from django.utils import timezone

from webapp.jobs.fair_share import queue_in_turn
from webapp.jobs.models import Job, Status
from webapp.queues import CAPABILITIES, queue_name
from webapp.teams.models import Membership
from webapp.workers.selectors import workers_online

HISTORY = 20  # recent successful jobs per kind that the median is taken over
WORKER_STATUS_AGE = 30  # seconds: a place may use a worker status this old (asking the workers takes ~1 s)
ESTIMATE_RULE = (
    "median time of the last 20 similar jobs that succeeded on this queue (or on the queues its workers serve), for each job ahead and what is left "
    "of each running one, plus, from each other queue its workers also serve that has jobs waiting, one job per job "
    "ahead and one before this one, divided by the worker slots serving the queue"
)


@dataclass(frozen=True)
class QueueDepth:
    capability: str
    queue: str
    depth: int  # queued jobs, all teams
    oldest_queued_at: datetime | None

    @property
    def oldest_wait(self) -> float | None:
        """Seconds the oldest queued job has waited."""
        if self.oldest_queued_at is None:
            return None
        return (timezone.now() - self.oldest_queued_at).total_seconds()


def queue_depths() -> list[QueueDepth]:
    """Every capability queue's queued jobs and its oldest wait (counts of all teams: nothing is named)."""
    rows = (
        Job.objects.filter(status=Status.QUEUED).values("capability").annotate(n=Count("id"), oldest=Min("queued_at"))
    )
    found: dict[str, Mapping[str, Any]] = {row["capability"]: row for row in rows}
    return [
        QueueDepth(
            capability=c,
            queue=queue_name(c),
            depth=found.get(c, {}).get("n", 0),
            oldest_queued_at=found.get(c, {}).get("oldest"),
        )
        for c in CAPABILITIES
    ]


@dataclass(frozen=True)
class JobGroup:
    """Jobs of one team (and study) that a job waits behind, as the asking user may see them."""

    count: int
    team: str | None  # None: of teams the user is not in
    study: int | None  # the study's id, if the user may see it
    job: int | None  # the job's id, when the group is one job the user may see
    teams: int = 1  # how many teams an unnamed group spans

    @property
    def phrase(self) -> str:
        jobs = "1 job" if self.count == 1 else f"{self.count} jobs"
        if self.team is None:
            return f"{jobs} of {'another team' if self.teams == 1 else 'other teams'}"
        if self.job is not None:
            jobs = f"job #{self.job}"
        if self.study is not None:
            return f"{jobs} of study #{self.study} ({self.team})"
        return f"{jobs} of {self.team}"


@dataclass(frozen=True)
class QueuePlace:
    capability: str
    queue: str
    position: int  # 1 = next
    depth: int  # jobs waiting in the queue, this one included
    ahead: tuple[JobGroup, ...]
    running: tuple[JobGroup, ...]  # what the workers that serve this queue are running now
    slots: int | None  # worker slots serving the queue; None: the broker did not answer
    estimate: float | None  # seconds until it starts, by ESTIMATE_RULE; None when it cannot be told
    estimate_note: str  # why there is no estimate, or what it rests on

    @property
    def ordinal(self) -> str:
        n = self.position
        suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
        return f"{n}{suffix}"

    @property
    def estimate_text(self) -> str:
        """The estimate as a person says it: whole seconds, then minutes; an empty string when there is none."""
        if self.estimate is None:
            return ""
        seconds = round(self.estimate)
        if seconds < 5:
            return "in a few seconds"
        if seconds < 90:
            return f"in about {seconds} s"
        minutes = round(seconds / 60)
        if minutes < 90:
            return f"in about {minutes} min"
        return f"in about {minutes // 60} h {minutes % 60:02d} min"

    @property
    def summary(self) -> str:
        """One or two sentences: place, what is ahead, what is running (the page and the API say the same)."""
        text = f"{self.ordinal} of {self.depth} waiting in the {self.capability} queue"
        if self.ahead:
            text += ", behind " + _join([g.phrase for g in self.ahead])
        text += "."
        if self.slots == 0:
            text += f" No online worker serves the {self.capability} queue: it waits until one is started."
        elif self.running:
            slots = (
                "the worker slot" if self.slots == 1 else f"the {self.slots} worker slots" if self.slots else "workers"
            )
            text += f" Running now on {slots} serving it: " + _join([g.phrase for g in self.running]) + "."
        if self.estimate is not None:
            text += f" Expected to start {self.estimate_text}."
        return text


def job_queue_place(*, user: User, job: Job) -> QueuePlace | None:
    """The job's place in its queue, as ``user`` (who may see the job) may see it; None unless it is queued."""
    if job.status != Status.QUEUED:
        return None
    order = queue_in_turn(capability=job.capability)
    ids = [waiting.id for waiting in order]
    if job.pk not in ids:  # it started or was cancelled a moment ago
        return None
    position = ids.index(job.pk)
    status = workers_online(max_age=WORKER_STATUS_AGE)
    serving = status.serving(job.capability) if status.known else []
    slots = sum(w.concurrency or 1 for w in serving) if status.known else None
    # The queues that share those workers: their running jobs hold the slots, their waiting jobs take turns.
    shared = {c for w in serving for c in w.capabilities} or {job.capability}
    now = timezone.now()
    running = list(
        Job.objects.filter(status=Status.RUNNING, capability__in=shared)
        .exclude(pk=job.pk)  # it may have started a moment ago
        .order_by("started_at", "id")
        .values("id", "team_id", "workload", "backend", "implementation", "workers", "capability", "started_at")
    )
    ahead = list(
        Job.objects.filter(pk__in=ids[:position]).values(
            "id", "team_id", "workload", "backend", "implementation", "workers", "capability"
        )
    )
    ahead.sort(key=lambda row: ids.index(row["id"]))
    my_teams = dict(Membership.objects.filter(user=user).values_list("team_id", "team__name"))
    studies = _studies(job_ids=[row["id"] for row in ahead + running], teams=my_teams)

    estimate, note = None, ""
    if slots is None:
        note = "worker status unknown: the broker did not answer"
    elif slots == 0:
        note = "no online worker serves this queue"
    else:
        typical = _typical(shared)
        others_waiting = _waiting_elsewhere(shared - {job.capability})
        parts = [typical(row) for row in ahead]
        for row in running:
            took, started = typical(row), row["started_at"]
            parts.append(None if took is None or started is None else max(0.0, took - (now - started).total_seconds()))
        for capability, waiting in others_waiting.items():
            kinds = typical({"capability": capability})
            # Kombu takes the queues a worker serves in turn: up to one of theirs before each of ours, this one included.
            parts += [kinds] * min(waiting, position + 1)
        known = [part for part in parts if part is not None]
        if len(known) < len(parts):
            note = "no job has succeeded on the queues its workers serve recently"
        else:
            estimate = sum(known) / slots
            note = ESTIMATE_RULE
    return QueuePlace(
        capability=job.capability,
        queue=queue_name(job.capability),
        position=position + 1,
        depth=len(ids),
        ahead=tuple(_groups(ahead, my_teams, studies)),
        running=tuple(_groups(running, my_teams, studies, single_job=True)),
        slots=slots,
        estimate=estimate,
        estimate_note=note,
    )


def _studies(*, job_ids: list[int], teams: dict[int, str]) -> dict[int, int]:
    """Job id → study id, for the jobs of the user's teams that belong to a study."""
    from webapp.studies.models import StudyRun

    runs = StudyRun.objects.filter(job_id__in=job_ids, study__team_id__in=list(teams))
    return dict(runs.values_list("job_id", "study_id"))


def _groups(
    rows: Sequence[Mapping[str, Any]], teams: dict[int, str], studies: dict[int, int], single_job: bool = False
) -> list[JobGroup]:
    """Rows grouped by team and study in order of first appearance; other teams' rows in one unnamed group."""
    counts: dict[tuple[int | None, int | None], list[Mapping[str, Any]]] = {}
    hidden_teams: set[int] = set()
    for row in rows:
        if row["team_id"] in teams:
            key = (row["team_id"], studies.get(row["id"]))
        else:
            key = (None, None)
            hidden_teams.add(row["team_id"])
        counts.setdefault(key, []).append(row)
    groups = []
    for (team_id, study), members in counts.items():
        one = members[0]["id"] if single_job and len(members) == 1 and team_id is not None else None
        groups.append(
            JobGroup(
                count=len(members),
                team=teams[team_id] if team_id is not None else None,
                study=study,
                job=one,
                teams=len(hidden_teams) if team_id is None else 1,
            )
        )
    return groups


def _typical(capabilities: set[str]) -> Callable[[Mapping[str, Any]], float | None]:
    """A function giving a job's typical time (seconds, start to end) from recent successes on its queue."""
    recent = (
        Job.objects.filter(status=Status.SUCCEEDED, capability__in=capabilities, started_at__isnull=False)
        .order_by("-queued_at")
        .values("capability", "workload", "backend", "implementation", "workers", "started_at", "finished_at")[:500]
    )
    samples: dict[tuple, list[float]] = defaultdict(list)
    for row in recent:
        started, finished = row["started_at"], row["finished_at"]
        if started is None or finished is None:  # not for a success, but the columns allow it
            continue
        took = (finished - started).total_seconds()
        for key in _kinds(row):
            if len(samples[key]) < HISTORY:
                samples[key].append(took)

    def typical(row: Mapping[str, Any]) -> float | None:
        for key in _kinds(row):
            if samples.get(key):
                return median(samples[key])
        return None

    return typical


def _kinds(row: Mapping[str, Any]) -> list[tuple]:
    """The keys a job's time is looked up under, most similar first; last, any job on the queues its workers serve."""
    keys: list[tuple] = [(row["capability"],), ()]
    if "workload" in row:
        keys.insert(0, (row["capability"], row["workload"]))
        keys.insert(0, (row["capability"], row["workload"], row["backend"], row["implementation"], row["workers"]))
    return keys


def _waiting_elsewhere(capabilities: set[str]) -> dict[str, int]:
    if not capabilities:
        return {}
    rows = Job.objects.filter(status=Status.QUEUED, capability__in=capabilities).values("capability")
    return dict(rows.annotate(n=Count("id")).values_list("capability", "n"))


def _join(phrases: list[str]) -> str:
    return phrases[0] if len(phrases) == 1 else ", ".join(phrases[:-1]) + " and " + phrases[-1]
