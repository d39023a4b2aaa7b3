"""Job pages: dashboard, history, submit (and re-run), detail, cancel and artifact downloads.

Thin: every read goes through ``selectors`` (so another team's job is a 404) and every write through
``services`` (so a viewer's submit or cancel is a PermissionDenied, which Django answers with 403).
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from kernels.balance import worker_label
from kernels.registry import WORKLOADS, UnknownWorkload, get_workload
from webapp.accounts.requests import AuthenticatedHttpRequest
from webapp.jobs.filters import JobFilter
from webapp.jobs.forms import JobSubmitForm, rerun_initial
from webapp.jobs.models import Job, Status
from webapp.jobs.selectors import artifact_get_for_user, job_get_for_user, job_rows, jobs_visible_to
from webapp.jobs.services import BrokerUnavailable, JobInputError, job_cancel, job_submit
from webapp.studies.selectors import studies_visible_to, study_progress, study_rows
from webapp.teams.selectors import membership_get, memberships_for_user, team_access
from webapp.workers.selectors import capability_warnings
from webapp.workers.waiting import job_queue_place

DASHBOARD_JOBS = 20
DASHBOARD_STUDIES = 3  # one folded line each, however many jobs they have
HISTORY_PAGE_SIZE = 25
LOG_TAIL_LINES = 200


@login_required
def dashboard(request: AuthenticatedHttpRequest) -> HttpResponse:
    memberships = list(memberships_for_user(request.user))
    # A study's jobs (54 for the seed preset) would push every other job off the page: they fold into its line.
    jobs = list(job_rows(jobs_visible_to(request.user).filter(study_run__isnull=True))[:DASHBOARD_JOBS])
    studies = list(study_rows(studies_visible_to(request.user)).order_by("-created_at", "-id")[:DASHBOARD_STUDIES])
    study_jobs: dict[int, list[Job]] = {study.pk: [] for study in studies}
    for job in job_rows(jobs_visible_to(request.user).filter(study_run__study__in=studies)).order_by("study_run__id"):
        study_jobs[job.study_run.study_id].append(job)
    return render(
        request,
        "jobs/dashboard.html",
        {
            "jobs": jobs,
            "studies": [(study, study_progress(study), study_jobs[study.pk]) for study in studies],
            "memberships": memberships,
            "can_submit": any(m.can_submit for m in memberships),
        },
    )


@login_required
def job_history(request: AuthenticatedHttpRequest) -> HttpResponse:
    filterset = JobFilter(request.GET, queryset=job_rows(jobs_visible_to(request.user)), request=request)
    teams = [m.team for m in memberships_for_user(request.user)]
    # The API takes a slug and ISO dates; on the page, a select of your own teams and date pickers are friendlier.
    filterset.form.fields["team"].widget = forms.Select(choices=[("", "any team")] + [(t.slug, t.name) for t in teams])
    for name in ("queued_after", "queued_before"):
        filterset.form.fields[name].widget = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")
    jobs = filterset.qs if filterset.is_valid() else filterset.queryset.none()
    page = Paginator(jobs, HISTORY_PAGE_SIZE).get_page(request.GET.get("page"))
    context = {"filter": filterset, "page": page, "jobs": page.object_list, "teams": teams}
    return render(request, "jobs/history.html", context)


@login_required
def job_submit_page(request: AuthenticatedHttpRequest) -> HttpResponse:
    """GET: a workload chooser and the form generated from the chosen workload's schema; POST: submit."""
    data = request.POST if request.method == "POST" else None
    rerun = None
    if data is None and request.GET.get("rerun"):
        rerun = job_get_for_user(user=request.user, job_id=_int_or_404(request.GET["rerun"]))
        name = rerun.workload
    else:
        name = (data or request.GET).get("workload") or next(iter(WORKLOADS))
    memberships = list(memberships_for_user(request.user))
    context: dict[str, Any] = {
        "workloads": WORKLOADS.values(),
        "can_submit": any(m.can_submit for m in memberships),
        "rerun": rerun,
    }
    try:
        workload = get_workload(name)
    except UnknownWorkload as exc:
        return render(request, "jobs/submit.html", {**context, "workload_error": str(exc)}, status=400)
    context["workload"] = workload

    initial = rerun_initial(rerun, workload) if rerun else None
    form = JobSubmitForm(data, initial=initial, workload=workload, memberships=memberships)
    if data is not None and form.is_valid():
        try:
            job = job_submit(
                user=request.user,
                team=team_access(user=request.user, slug=form.cleaned_data["team"]).team,
                workload=workload.name,
                params=form.params(),
                backend=form.cleaned_data["backend"],
                implementation=form.cleaned_data["implementation"],
                workers=form.cleaned_data["workers"],
                threads=form.cleaned_data.get("threads"),
                rerun_of=_rerun_source(request, form.cleaned_data["rerun_of"], workload.name),
            )
        except JobInputError as exc:
            form.add_service_error(exc.field, exc.reason)
        except BrokerUnavailable as exc:
            form.add_error(None, f"{exc}. Try again in a moment.")
        else:
            messages.success(request, f"Job #{job.pk} submitted.")
            return redirect("job-detail", job_id=job.pk)
    # Only when the form is shown: a successful submit does not wait for the workers' answer.
    warnings = capability_warnings(backends=workload.backends, implementations=workload.implementations)
    return render(request, "jobs/submit.html", {**context, "form": form, "worker_warnings": warnings})


def _rerun_source(request: HttpRequest, job_id: int | None, workload: str) -> Job | None:
    """The job being re-run, if the user may see it and it ran the same workload."""
    if job_id is None:
        return None
    source = job_get_for_user(user=request.user, job_id=job_id)
    return source if source.workload == workload else None


def _int_or_404(text: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise Http404("No such job.") from None


@login_required
def job_detail(request: AuthenticatedHttpRequest, job_id: int) -> HttpResponse:
    job = job_get_for_user(user=request.user, job_id=job_id)
    membership = membership_get(user=request.user, team=job.team_id)
    progress = job.progress or {}
    per_worker = sorted((int(worker), units) for worker, units in (progress.get("workers") or {}).items())
    context = {
        "job": job,
        # As lists: a parameter called "items" must not turn into dict.items in the template.
        "params": list(job.params.items()),
        "provenance": list((job.provenance or {}).items()),
        "can_submit": membership is not None and membership.can_submit,
        "done": progress.get("done", 0),
        "total": progress.get("total", 0),
        "elapsed": progress.get("elapsed"),
        "per_worker": per_worker,
        "worker_label": worker_label(job.backend),
        "log_tail": "\n".join(job.log[-LOG_TAIL_LINES:]) if job.log else "",
        "log_lines": len(job.log or []),
        "log_tail_lines": LOG_TAIL_LINES,
        "artifacts": list(job.artifacts.order_by("name")),
        "reruns": list(jobs_visible_to(request.user).filter(rerun_of=job).values_list("pk", flat=True)),
        "queue": job_queue_place(user=request.user, job=job),
    }
    return render(request, "jobs/detail.html", context)


@require_POST
@login_required
def job_cancel_view(request: AuthenticatedHttpRequest, job_id: int) -> HttpResponse:
    job = job_cancel(user=request.user, job=job_get_for_user(user=request.user, job_id=job_id))
    if job.status == Status.CANCELLED:
        messages.success(request, f"Job #{job.pk} is cancelled.")
    elif job.status == Status.RUNNING:
        messages.info(request, f"Job #{job.pk}: cancel requested; its worker stops it within a second.")
    else:
        messages.info(request, f"Job #{job.pk} already ended ({job.get_status_display().lower()}); nothing to cancel.")
    return redirect("job-detail", job_id=job.pk)


@login_required
def job_artifact(request: AuthenticatedHttpRequest, job_id: int, name: str) -> FileResponse:
    artifact = artifact_get_for_user(user=request.user, job_id=job_id, name=name)
    try:
        handle = artifact.file.open("rb")
    except FileNotFoundError:
        raise Http404("The artifact's file is missing.") from None
    return FileResponse(handle, content_type=artifact.content_type, filename=artifact.name)
