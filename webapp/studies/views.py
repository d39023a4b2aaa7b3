"""Study pages: the list with the presets, a new study, one study (live while it runs), cancel, compare.

Thin: reads through ``selectors`` (another team's study is a 404), writes through ``services``
(a viewer's start or cancel is a PermissionDenied, answered with 403).
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from kernels.calibration import changes
from kernels.registry import WORKLOADS, UnknownWorkload, get_workload
from kernels.workloads.base import Workload
from webapp.accounts.requests import AuthenticatedHttpRequest
from webapp.jobs.selectors import team_job_rooms
from webapp.jobs.services import BrokerUnavailable, JobInputError, TooManyActiveJobs
from webapp.studies import svg_chart
from webapp.studies.comparison import compare_jobs, compare_studies, parse_ids
from webapp.studies.forms import StudyForm
from webapp.studies.models import Study
from webapp.studies.selectors import (
    progress_of_runs,
    studies_visible_to,
    study_get_for_user,
    study_progress,
    study_rows,
    study_runs,
)
from webapp.studies.serializers import study_document
from webapp.studies.services import (
    StudyPlan,
    preset_sizes,
    study_cancel,
    study_create,
    study_create_from_preset,
    study_plan,
)
from webapp.teams.models import Membership, Team
from webapp.teams.selectors import membership_get, memberships_for_user, team_access

STUDY_LIST_SIZE = 50


def _team_rooms(memberships: list[Membership]) -> list[tuple[Team, int]]:
    """Each team the user can start studies in, with how many more jobs it can queue now."""
    teams = [m.team for m in memberships if m.can_submit]
    rooms = team_job_rooms(teams=teams)
    return [(team, rooms[team.pk]) for team in teams]


def _list_page(
    request: AuthenticatedHttpRequest, *, refused: tuple[str, str] | None = None, status: int = 200
) -> HttpResponse:
    """The list; ``refused`` is (preset, reason) when a preset could not be started, shown at that preset."""
    memberships = list(memberships_for_user(request.user))
    studies = list(study_rows(studies_visible_to(request.user))[:STUDY_LIST_SIZE])
    rooms = _team_rooms(memberships)
    # What one click makes on this machine, said before it is clicked.
    presets = [
        {
            "preset": preset,
            "plan": plan,
            "problem": problem,
            "error": refused[1] if refused and refused[0] == preset.name else "",
        }
        for preset, plan, problem in preset_sizes()
    ]
    context = {
        "studies": [(study, study_progress(study)) for study in studies],
        "presets": presets,
        "rooms": rooms,
        "team_limit": settings.PARALAB_TEAM_MAX_ACTIVE,
        "submit_teams": [team for team, _ in rooms],
        "can_submit": bool(rooms),
    }
    return render(request, "studies/list.html", context, status=status)


@login_required
def study_list(request: AuthenticatedHttpRequest) -> HttpResponse:
    return _list_page(request)


@require_POST
@login_required
def study_preset_start(request: AuthenticatedHttpRequest, name: str) -> HttpResponse:
    """One click: the preset with its defaults (the doubling sweep of workers, 3 repetitions) in the chosen team.

    A refusal is shown on the list at that preset, with its reason: never a bare redirect.
    """
    membership = team_access(user=request.user, slug=request.POST.get("team", ""))
    try:
        study = study_create_from_preset(
            user=request.user, team=membership.team, preset=name, min_baseline=request.POST.get("min_baseline")
        )
    except TooManyActiveJobs as exc:
        return _list_page(request, refused=(name, f"Not started: {exc.reason}."), status=429)
    except JobInputError as exc:
        return _list_page(request, refused=(name, f"Not started: {exc.field}: {exc.reason}."), status=400)
    except BrokerUnavailable as exc:
        return _list_page(request, refused=(name, f"Not started: {exc}. Try again in a moment."), status=503)
    messages.success(
        request, _started(study) or f"Study #{study.pk} is queued: {study.runs.count()} jobs, run one at a time."
    )
    return redirect("study-detail", study_id=study.pk)


def _started(study: Study) -> str:
    """What to say of a study whose size a worker calibrates first; "" for one whose jobs are queued."""
    if study.min_baseline is None:
        return ""
    return (
        f"Study #{study.pk} is calibrating: its sequential baseline runs on the study worker and is scaled until "
        f"it lasts at least {study.min_baseline:g} s; then its jobs are queued."
    )


def calibration_rows(study: Study) -> list[dict[str, Any]]:
    """Each calibrated implementation as the page shows it: the parameters it changed, from → to, and the
    measured baseline; why it stops short of the target, if it does."""
    rows = []
    for implementation, found in (study.calibration.get("implementations") or {}).items():
        before, after = changes(found.get("from") or {}, found.get("to") or {})
        rows.append(
            {
                "implementation": implementation,
                "from": before or "as given",
                "to": after or "unchanged",
                "baseline": found.get("baseline"),
                "rounds": len(found.get("rounds") or []),
                "short": found.get("short") or "",
            }
        )
    return rows


def _design(form: StudyForm, workload: Workload) -> dict[str, Any]:
    """What a valid form asks of a study, as study_plan and study_create both take it."""
    data = form.cleaned_data
    return {"workload": workload.name, "params": form.params(), "backends": data["backends"],
            "implementations": data["implementations"], "workers": data["workers"],
            "repetitions": data["repetitions"], "threads": data.get("threads")}  # fmt: skip


def _size_of(form: StudyForm, workload: Workload) -> StudyPlan | None:
    """The jobs the form's values make (its initial values before a POST), or None if they cannot make a study."""
    try:
        if not form.is_bound:
            return study_plan(
                workload=workload.name,
                params={},
                backends=form.fields["backends"].initial,
                implementations=form.fields["implementations"].initial,
            )
        if form.is_valid():
            return study_plan(**_design(form, workload))
    except JobInputError:
        pass  # the form says why, on the field
    return None


@login_required
def study_new(request: AuthenticatedHttpRequest) -> HttpResponse:
    data = request.POST if request.method == "POST" else None
    name = (data or request.GET).get("workload") or next(iter(WORKLOADS))
    memberships = list(memberships_for_user(request.user))
    rooms = _team_rooms(memberships)
    context: dict[str, Any] = {"workloads": WORKLOADS.values(), "can_submit": bool(rooms), "rooms": rooms,
                               "team_limit": settings.PARALAB_TEAM_MAX_ACTIVE}  # fmt: skip
    try:
        workload = get_workload(name)
    except UnknownWorkload as exc:
        return render(request, "studies/new.html", {**context, "workload_error": str(exc)}, status=400)
    form = StudyForm(data, workload=workload, memberships=memberships)
    plan = _size_of(form, workload)  # before any service error is added to the form
    if data is not None and form.is_valid():
        try:
            study = study_create(
                user=request.user,
                team=team_access(user=request.user, slug=form.cleaned_data["team"]).team,
                min_baseline=form.cleaned_data["min_baseline"],
                title=form.cleaned_data["title"],
                **_design(form, workload),
            )
        except JobInputError as exc:
            # The engine names one job's field (backend); the form has the study's (backends).
            field = {"backend": "backends", "implementation": "implementations"}.get(exc.field, exc.field)
            form.add_service_error(field, exc.reason)
        except BrokerUnavailable as exc:
            form.add_error(None, f"{exc}. Try again in a moment.")
        else:
            messages.success(request, _started(study) or f"Study #{study.pk} is queued.")
            return redirect("study-detail", study_id=study.pk)
    context.update(workload=workload, form=form, plan=plan)
    return render(request, "studies/new.html", context)


@login_required
def study_detail(request: AuthenticatedHttpRequest, study_id: int) -> HttpResponse:
    study = study_get_for_user(user=request.user, study_id=study_id)
    membership = membership_get(user=request.user, team=study.team_id)
    runs = study_runs(study)
    document = study_document(study, request=request, runs=runs)
    context = {
        "study": study,
        "doc": document,
        # As lists: a parameter called "items" must not turn into dict.items in the template.
        "params": list(study.params.items()),
        "provenance": list(document["provenance"].items()),
        "progress": progress_of_runs(runs, study),
        "can_submit": membership is not None and membership.can_submit,
        "charts": svg_chart.CHARTS,
        "calibration": calibration_rows(study),
    }
    return render(request, "studies/detail.html", context)


@require_POST
@login_required
def study_cancel_view(request: AuthenticatedHttpRequest, study_id: int) -> HttpResponse:
    study = study_get_for_user(user=request.user, study_id=study_id)
    calibrating = study.calibration.get("state") == "calibrating"
    count = study_cancel(user=request.user, study=study)
    if calibrating and not count:
        messages.success(request, f"Study #{study.pk}: stopped its calibration; no job was made.")
    elif count:
        messages.success(request, f"Study #{study.pk}: cancelled {count} job{'s' if count != 1 else ''} not yet ended.")
    else:
        messages.info(request, f"Study #{study.pk} had already ended; nothing to cancel.")
    return redirect("study-detail", study_id=study.pk)


@login_required
def compare(request: AuthenticatedHttpRequest) -> HttpResponse:
    """``?jobs=3,4`` and/or ``?studies=1,2``; without them, a form to pick ids."""
    context: dict[str, Any] = {"jobs_text": ", ".join(request.GET.getlist("jobs")),
                               "studies_text": ", ".join(request.GET.getlist("studies"))}  # fmt: skip
    try:
        job_ids = parse_ids("jobs", request.GET.getlist("jobs"))
        study_ids = parse_ids("studies", request.GET.getlist("studies"))
    except JobInputError as exc:
        context["error"] = f"{exc.field}: {exc.reason}"
        return render(request, "studies/compare.html", context, status=400)
    if len(job_ids) == 1 or len(study_ids) == 1:
        # Where "Compare with…" on a study page lands: the form, with that id already in it.
        context["hint"] = "Add at least one more id of the same kind to compare them side by side."
        return render(request, "studies/compare.html", context)
    try:
        context["jobs"] = compare_jobs(user=request.user, job_ids=job_ids) if job_ids else None
        context["studies"] = compare_studies(user=request.user, study_ids=study_ids) if study_ids else None
    except Http404 as exc:
        # The form again with the reason ("No such job: #99."), a 404 all the same: with DEBUG on, a bare Http404
        # showed Django's technical page listing the URL patterns.
        context["error"] = str(exc)
        return render(request, "studies/compare.html", context, status=404)
    return render(request, "studies/compare.html", context)
