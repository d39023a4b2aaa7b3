"""Fair share: which queued job of a capability queue runs next, and the order the queue will be served in.

The broker's message is a wake-up, not an assignment: a worker that takes a message from a queue runs
the queued job of that queue whose turn it is, by this rule, which may not be the message's own job.

    The team that has started the fewest jobs on the queue since the queue's oldest waiting job was
    queued (its running jobs always count) goes first; between equals, the team whose oldest waiting
    job is oldest. Within a team, first queued, first served.

So while any job waits, every team with waiting jobs gets its turn in round robin, and a team's
backlog of 100 jobs delays another team's one job by at most one job per worker slot.

Every queued job has had a message sent (or the sweeper, ``jobs_redispatch``, sends it again), and
each message runs at most one job, so there are never fewer wake-ups than queued jobs; a surplus one
(a cancelled job's, a re-sent one) finds nothing to do. Two workers that pick the same job race on
the claim (``job_transition``'s conditional UPDATE); the loser picks again, so no lock is held.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.db.models import Count, Q

from webapp.jobs.models import Job, Status


@dataclass(frozen=True)
class Waiting:
    id: int
    team_id: int
    queued_at: datetime


def queue_in_turn(*, capability: str, limit: int | None = None) -> list[Waiting]:
    """The queued jobs of a capability queue in the order the rule would serve them if nothing else arrived.

    Exact for the first; later turns assume each job served counts for its team until the queue drains
    (in reality the window moves on as old jobs leave, which can only bring a waiting team forward).
    """
    rows = Job.objects.filter(status=Status.QUEUED, capability=capability).order_by("queued_at", "id")
    waiting = [Waiting(*row) for row in rows.values_list("id", "team_id", "queued_at")]
    if not waiting:
        return []
    lines: dict[int, list[Waiting]] = {}
    for job in waiting:
        lines.setdefault(job.team_id, []).append(job)
    served = _served_since(capability=capability, since=waiting[0].queued_at, teams=list(lines))
    order: list[Waiting] = []
    heads = {team: 0 for team in lines}
    while heads and (limit is None or len(order) < limit):
        team = min(heads, key=lambda t: (served.get(t, 0), lines[t][heads[t]].queued_at, lines[t][heads[t]].id))
        order.append(lines[team][heads[team]])
        served[team] = served.get(team, 0) + 1
        heads[team] += 1
        if heads[team] == len(lines[team]):
            del heads[team]
    return order


def job_next_in_turn(*, capability: str) -> int | None:
    """The id of the queued job of this capability whose turn it is, or None if none waits."""
    first = queue_in_turn(capability=capability, limit=1)
    return first[0].id if first else None


def _served_since(*, capability: str, since: datetime, teams: list[int]) -> dict[int, int]:
    """Per team, its jobs on the queue started at or after ``since``, and any still running."""
    started = Job.objects.filter(capability=capability, team_id__in=teams).filter(
        Q(started_at__gte=since) | Q(status=Status.RUNNING)
    )
    return dict(started.values("team_id").annotate(n=Count("id")).values_list("team_id", "n"))
