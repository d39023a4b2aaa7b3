"""Which package may import which (issue 15): tasks/ calls into webapp/, never the other way; kernels/, the
compute core, imports none of client/ (the command and the HTTP client), webapp/ or tasks/; client/ runs
without the web stack. Importing the worker's code sets nothing up (Celery's Django fixup does, when a
worker starts)."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def imported_modules(path: Path) -> list[tuple[int, str]]:
    """Every module a file imports, at any depth (an import inside a function counts too)."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.append((node.lineno, node.module))
    return found


def imports_of(package: str, forbidden: tuple[str, ...]) -> list[str]:
    """``file:line: module`` for each import in ``package`` of one of the ``forbidden`` packages."""
    return [
        f"{path.relative_to(ROOT)}:{line}: {module}"
        for path in sorted((ROOT / package).rglob("*.py"))
        for line, module in imported_modules(path)
        if module.split(".")[0] in forbidden
    ]


def test_webapp_does_not_import_tasks():
    # The web side sends tasks by name (webapp/celery.py); an import of tasks/ would make the two a cycle again.
    assert imports_of("webapp", ("tasks",)) == []


def test_kernels_imports_neither_the_client_nor_the_service():
    # The compute core runs in a worker, under MPI and on a Slurm node, where none of these belong.
    assert imports_of("kernels", ("client", "webapp", "tasks")) == []


def test_the_client_does_not_import_the_service():
    # `paralab run` and `paralab remote` run on a laptop with only the compute core installed.
    assert imports_of("client", ("webapp", "tasks")) == []


def test_the_check_sees_an_import_inside_a_function(tmp_path):
    source = tmp_path / "late.py"
    source.write_text("def send():\n    from tasks.jobs import run_job\n    import tasks.queues\n")
    assert imported_modules(source) == [(2, "tasks.jobs"), (3, "tasks.queues")]


def test_importing_the_worker_code_does_not_set_django_up():
    # A fresh interpreter, as `celery -A tasks` or a CLI starts: only the worker's startup may load the apps.
    code = (
        "import tasks, tasks.jobs, tasks.studies, tasks.reaper, tasks.notifications, tasks.control\n"
        "from django.apps import apps\n"
        "from django.conf import settings\n"
        "print(apps.ready, settings.configured, tasks.app.main)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False", "False", "paralab"], out.stderr
