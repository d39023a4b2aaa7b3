"""Study pages: the list with the presets, a new study, one study (live while it runs), cancel, compare.

Thin: reads through ``selectors`` (another team's study is a 404), writes through ``services``
(a viewer's start or cancel is a PermissionDenied, answered with 403).
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from kernels.registry import WORKLOADS, UnknownWorkload, get_workload
from webapp.jobs.services import BrokerUnavailable, JobInputError
from webapp.studies import svg_chart
from webapp.studies.comparison import compare_jobs, compare_studies, parse_ids
from webapp.studies.forms import StudyForm
from webapp.studies.presets import PRESETS
from webapp.studies.selectors import (
    progress_of_runs,
    studies_visible_to,
    study_get_for_user,
    study_progress,
    study_rows,
    study_runs,
)
from webapp.studies.serializers import study_document
from webapp.studies.services import study_cancel, study_create, study_create_from_preset
from webapp.teams.selectors import membership_get, memberships_for_user, team_access

STUDY_LIST_SIZE = 50


@login_required
def study_list(request: HttpRequest) -> HttpResponse:
    memberships = list(memberships_for_user(request.user))
    studies = list(study_rows(studies_visible_to(request.user))[:STUDY_LIST_SIZE])
    submit_teams = [m.team for m in memberships if m.can_submit]
    context = {
        "studies": [(study, study_progress(study)) for study in studies],
        "presets": PRESETS.values(),
        "submit_teams": submit_teams,
        "can_submit": bool(submit_teams),
    }
    return render(request, "studies/list.html", context)


@require_POST
@login_required
def study_preset_start(request: HttpRequest, name: str) -> HttpResponse:
    """One click: the preset with its defaults (workers 1..cores, 3 repetitions) in the chosen team."""
    membership = team_access(user=request.user, slug=request.POST.get("team", ""))
    try:
        study = study_create_from_preset(user=request.user, team=membership.team, preset=name)
    except JobInputError as exc:
        messages.error(request, f"{exc.field}: {exc.reason}")
        return redirect("study-list")
    except BrokerUnavailable as exc:
        messages.error(request, f"{exc}. Try again in a moment.")
        return redirect("study-list")
    messages.success(request, f"Study #{study.pk} is queued: {study.runs.count()} jobs, run one at a time.")
    return redirect("study-detail", study_id=study.pk)


@login_required
def study_new(request: HttpRequest) -> HttpResponse:
    data = request.POST if request.method == "POST" else None
    name = (data or request.GET).get("workload") or next(iter(WORKLOADS))
    memberships = list(memberships_for_user(request.user))
    context: dict[str, Any] = {"workloads": WORKLOADS.values(), "can_submit": any(m.can_submit for m in memberships)}
    try:
        workload = get_workload(name)
    except UnknownWorkload as exc:
        return render(request, "studies/new.html", {**context, "workload_error": str(exc)}, status=400)
    form = StudyForm(data, workload=workload, memberships=memberships)
    if data is not None and form.is_valid():
        try:
            study = study_create(
                user=request.user,
                team=team_access(user=request.user, slug=form.cleaned_data["team"]).team,
                workload=workload.name,
                params=form.params(),
                backends=form.cleaned_data["backends"],
                implementations=form.cleaned_data["implementations"],
                workers=form.cleaned_data["workers"],
                repetitions=form.cleaned_data["repetitions"],
                title=form.cleaned_data["title"],
            )
        except JobInputError as exc:
            # The engine names one job's field (backend); the form has the study's (backends).
            field = {"backend": "backends", "implementation": "implementations"}.get(exc.field, exc.field)
            form.add_service_error(field, exc.reason)
        except BrokerUnavailable as exc:
            form.add_error(None, f"{exc}. Try again in a moment.")
        else:
            messages.success(request, f"Study #{study.pk} is queued.")
            return redirect("study-detail", study_id=study.pk)
    return render(request, "studies/new.html", {**context, "workload": workload, "form": form})


@login_required
def study_detail(request: HttpRequest, study_id: int) -> HttpResponse:
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
        "progress": progress_of_runs(runs),
        "can_submit": membership is not None and membership.can_submit,
        "charts": svg_chart.CHARTS,
    }
    return render(request, "studies/detail.html", context)


@require_POST
@login_required
def study_cancel_view(request: HttpRequest, study_id: int) -> HttpResponse:
    study = study_get_for_user(user=request.user, study_id=study_id)
    count = study_cancel(user=request.user, study=study)
    if count:
        messages.success(request, f"Study #{study.pk}: cancelled {count} job{'s' if count != 1 else ''} not yet ended.")
    else:
        messages.info(request, f"Study #{study.pk} had already ended; nothing to cancel.")
    return redirect("study-detail", study_id=study.pk)


@login_required
def compare(request: HttpRequest) -> HttpResponse:
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
    context["jobs"] = compare_jobs(user=request.user, job_ids=job_ids) if job_ids else None
    context["studies"] = compare_studies(user=request.user, study_ids=study_ids) if study_ids else None
    return render(request, "studies/compare.html", context)
