"""The workers page: who is online, what each serves, runs and offers. Thin: one selector call."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from tasks.queues import CAPABILITIES, queue_name
from webapp.workers.selectors import CAPABILITY_RUNS, worker_status_for_user


@login_required
def worker_list(request: HttpRequest) -> HttpResponse:
    status = worker_status_for_user(user=request.user)
    coverage = [
        {"capability": c, "queue": queue_name(c), "runs": CAPABILITY_RUNS[c], "workers": len(status.serving(c))}
        for c in CAPABILITIES
    ]
    return render(request, "workers/list.html", {"status": status, "coverage": coverage})
