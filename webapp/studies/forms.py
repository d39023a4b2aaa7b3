"""The new-study form, generated from the chosen workload's schema (as the job form is).

Like the job form it only parses what the browser sent; ``services.study_create`` decides what is
allowed and its ``JobInputError`` lands on the field it names.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django import forms

from kernels.registry import BACKENDS, IMPLEMENTATIONS
from kernels.scaling import BASELINE_BACKEND
from kernels.workloads.base import Workload
from webapp.jobs.forms import OfferedChoiceField, WorkloadParamsForm, threads_field
from webapp.studies.services import DEFAULT_REPETITIONS, MAX_REPETITIONS, default_worker_counts
from webapp.teams.models import Membership


class OfferedMultipleChoiceField(forms.MultipleChoiceField):
    """Checkboxes for what makes sense that also accept any of ``accepted``, so the service can say why one is refused."""

    def __init__(self, *, accepted: Iterable[str], **kwargs: Any):
        super().__init__(**kwargs)
        self.accepted = frozenset(accepted)

    def valid_value(self, value: Any) -> bool:
        return value in self.accepted or super().valid_value(value)


class StudyForm(WorkloadParamsForm):
    workload = forms.CharField(widget=forms.HiddenInput, required=False)
    title = forms.CharField(max_length=200, required=False, help_text="optional; made from the settings if empty")

    def __init__(self, *args: Any, workload: Workload, memberships: Iterable[Membership], **kwargs: Any):
        super().__init__(*args, **kwargs)
        memberships = list(memberships)
        self.fields["workload"].initial = workload.name
        self.fields["team"] = OfferedChoiceField(
            choices=[(m.team.slug, m.team.name) for m in memberships if m.can_submit],
            accepted=[m.team.slug for m in memberships],
            help_text="teams where you are an owner or a member",
        )
        parallel = [b for b in workload.backends if b != BASELINE_BACKEND]
        self.fields["backends"] = OfferedMultipleChoiceField(
            accepted=BACKENDS,
            choices=[(b, b) for b in parallel],
            initial=[b for b in ("threads", "processes") if b in parallel] or parallel[:1],
            widget=forms.CheckboxSelectMultiple,
            help_text="the sequential baseline always runs too",
        )
        self.fields["implementations"] = OfferedMultipleChoiceField(
            accepted=IMPLEMENTATIONS,
            choices=[(i, i) for i in workload.implementations],
            initial=["python"],
            widget=forms.CheckboxSelectMultiple,
        )
        # Empty means the default sweep, which study_plan thins until the study fits the team's limit.
        sweep = default_worker_counts()
        self.fields["workers"] = forms.CharField(
            required=False,
            max_length=200,
            widget=forms.TextInput(attrs={"placeholder": ", ".join(str(n) for n in sweep)}),
            help_text=(
                f"worker counts to sweep, comma-separated; empty: 1, 2, 4, … up to {sweep[-1]} "
                "(the cores of this machine), fewer if the study would pass the team's limit"
            ),
        )
        self.fields["repetitions"] = forms.IntegerField(
            initial=DEFAULT_REPETITIONS,
            widget=forms.NumberInput(attrs={"min": 1, "max": MAX_REPETITIONS, "step": 1}),
            help_text=f"runs of each configuration, 1 to {MAX_REPETITIONS}; the tables show the median with min–max",
        )
        if "hybrid" in workload.backends:
            self.fields["threads"] = threads_field(
                help_text="hybrid runs only: OpenMP threads per MPI rank, dividing each worker count (workers = "
                "ranks × threads); empty: each run's ranks fill the cores of the host that runs them"
            )
        # Text, not a number field: the service parses it, so a bad value gets the same reason as in the API.
        self.fields["min_baseline"] = forms.CharField(
            required=False,
            max_length=40,
            label="Baseline of at least (s)",
            widget=forms.TextInput(attrs={"inputmode": "decimal", "placeholder": "e.g. 2"}),
            help_text="optional: before the jobs are made, a worker runs the sequential baseline and scales the "
            "parameters (each implementation's, within their bounds) until it lasts at least this many seconds",
        )
        self.add_param_fields(workload)

    def size_fields(self) -> list[forms.BoundField]:
        return [self["min_baseline"]]

    def sweep_fields(self) -> list[forms.BoundField]:
        names = ("team", "title", "backends", "implementations", "workers", "threads", "repetitions")
        return [self[name] for name in names if name in self.fields]
