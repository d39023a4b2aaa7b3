"""The job submission form, generated from a workload's parameter schema.

The form only parses what the browser sent; whether a value is in bounds, a combination is supported
or a worker count fits is decided by ``services.job_submit``, whose ``JobInputError`` lands on the
field it names. Field names are the service's: ``workload``, ``backend``, ``implementation``,
``workers``, ``threads`` and ``params.<name>``.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django import forms
from django.conf import settings

from kernels.params import Param
from kernels.registry import BACKENDS, IMPLEMENTATIONS
from kernels.workloads.base import Workload
from webapp.jobs.models import Job
from webapp.teams.models import Membership

PARAM_PREFIX = "params."


class OfferedChoiceField(forms.ChoiceField):
    """A select offering ``choices`` that also accepts any of ``accepted``.

    The page offers only what makes sense (supported backends, teams you may submit to), but a value
    outside that is handed on, so the service can say *why* it is refused (or answer 403) instead of
    a bare "select a valid choice".
    """

    def __init__(self, *, accepted: Iterable[str], **kwargs: Any):
        super().__init__(**kwargs)
        self.accepted = frozenset(accepted)

    def valid_value(self, value: Any) -> bool:
        return value in self.accepted or super().valid_value(value)


def _bound_attr(param: Param, value: float) -> str:
    return format(value, "g") if param.kind == "float" else str(int(value))


def param_field(param: Param) -> forms.CharField:
    """A text field for one parameter, showing its bounds; the raw text goes to the service."""
    help_text = f"{param.help}; {param.bound_text()}" if param.help else param.bound_text()
    if param.kind == "int_list":
        widget: forms.Widget = forms.TextInput(attrs={"placeholder": "38,37,36", "inputmode": "numeric"})
        help_text += " (comma-separated)"
        initial = ",".join(str(n) for n in param.default)
    else:
        widget = forms.NumberInput(
            attrs={
                "min": _bound_attr(param, param.minimum),
                "max": _bound_attr(param, param.maximum),
                "step": "any" if param.kind == "float" else "1",
            }
        )
        initial = param.default
    return forms.CharField(label=param.name, help_text=help_text, initial=initial, widget=widget, max_length=2000)


def param_initial(param: Param, value: Any) -> Any:
    """How a stored parameter value appears in its field (re-runs are prefilled from the old job)."""
    if param.kind == "int_list" and isinstance(value, (list, tuple)):
        return ",".join(str(n) for n in value)
    return value


class WorkloadParamsForm(forms.Form):
    """A form with one field per parameter of a workload's schema (named ``params.<name>``)."""

    def add_param_fields(self, workload: Workload) -> None:
        for param in workload.params:
            self.fields[PARAM_PREFIX + param.name] = param_field(param)

    def param_fields(self) -> list[forms.BoundField]:
        return [self[name] for name in self.fields if name.startswith(PARAM_PREFIX)]

    def params(self) -> dict[str, str]:
        """The parameters as typed, for the service to check and convert."""
        return {
            name.removeprefix(PARAM_PREFIX): value
            for name, value in self.cleaned_data.items()
            if name.startswith(PARAM_PREFIX)
        }

    def add_service_error(self, field: str, reason: str) -> None:
        """Put a ``JobInputError`` on the field it names, or above the form if no field matches."""
        self.add_error(field if field in self.fields else None, reason)


class JobSubmitForm(WorkloadParamsForm):
    workload = forms.CharField(widget=forms.HiddenInput, required=False)  # chosen by the view; carried for the POST
    rerun_of = forms.IntegerField(widget=forms.HiddenInput, required=False)

    def __init__(self, *args: Any, workload: Workload, memberships: Iterable[Membership], **kwargs: Any):
        super().__init__(*args, **kwargs)
        memberships = list(memberships)
        self.fields["workload"].initial = workload.name
        self.fields["team"] = OfferedChoiceField(
            choices=[(m.team.slug, m.team.name) for m in memberships if m.can_submit],
            accepted=[m.team.slug for m in memberships],
            help_text="teams where you are an owner or a member",
        )
        self.fields["backend"] = OfferedChoiceField(
            choices=[(b, b) for b in workload.backends],
            accepted=BACKENDS,
            help_text=f"{workload.name} runs on {', '.join(workload.backends)}",
        )
        self.fields["implementation"] = OfferedChoiceField(
            choices=[(i, i) for i in workload.implementations],
            accepted=IMPLEMENTATIONS,
            help_text=f"{workload.name} has {', '.join(workload.implementations)}",
        )
        self.fields["workers"] = forms.IntegerField(
            initial=1,
            widget=forms.NumberInput(attrs={"min": 1, "max": settings.PARALAB_MAX_WORKERS, "step": 1}),
            help_text=f"between 1 and {settings.PARALAB_MAX_WORKERS}; the sequential backend uses exactly 1",
        )
        if "hybrid" in workload.backends:
            self.fields["threads"] = threads_field()
        self.add_param_fields(workload)

    def run_fields(self) -> list[forms.BoundField]:
        names = ("team", "backend", "implementation", "workers", "threads")
        return [self[name] for name in names if name in self.fields]


THREADS_HELP = (
    "hybrid only: OpenMP threads per MPI rank, dividing workers (workers = ranks × threads); "
    "empty: as few ranks as possible, each filling up to the cores of the host that runs them"
)


def threads_field(help_text: str = THREADS_HELP) -> forms.IntegerField:
    """Hybrid's threads per rank. Shown with every backend when scripts are off (js/threads_field.js hides it
    unless hybrid is chosen); the service then refuses it for another backend, on this field."""
    return forms.IntegerField(
        required=False,
        label="threads per rank",
        widget=forms.NumberInput(
            attrs={"min": 1, "max": settings.PARALAB_MAX_WORKERS, "step": 1, "data-shown-with-backend": "hybrid"}
        ),
        help_text=help_text,
    )


def rerun_initial(job: Job, workload: Workload) -> dict[str, Any]:
    """The form prefilled from an earlier job, for "re-run with edited parameters"."""
    initial: dict[str, Any] = {
        "team": job.team.slug,
        "backend": job.backend,
        "implementation": job.implementation,
        "workers": job.workers,
        "threads": job.threads,
        "rerun_of": job.pk,
    }
    for param in workload.params:
        if param.name in job.params:
            initial[PARAM_PREFIX + param.name] = param_initial(param, job.params[param.name])
    return initial
