"""docker/Dockerfile, checked without a Docker engine: its build steps are CI's (`make install`), it builds the
Cython kernels in a build stage, and the service runs as a non-root user."""

from __future__ import annotations

import re
import shlex
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
DOCKERFILE = (ROOT / "docker" / "Dockerfile").read_text()
IGNORE = (ROOT / "docker" / "Dockerfile.dockerignore").read_text().split()
QUIET = {"--quiet", "-q"}


def instructions() -> list[tuple[str, str, str]]:
    """(stage, instruction, arguments) for each instruction, continuation lines joined, comments dropped."""
    text = re.sub(
        r"\\\n\s*", " ", "\n".join(line for line in DOCKERFILE.splitlines() if not line.lstrip().startswith("#"))
    )
    stage, found = "", []
    for line in text.splitlines():
        if not line.strip():
            continue
        keyword, _, rest = line.strip().partition(" ")
        if keyword.upper() == "FROM":
            stage = rest.split(" AS ")[-1].strip() if " AS " in rest else rest
        found.append((stage, keyword.upper(), rest.strip()))
    return found


def normalized(command: str) -> str:
    """A shell command without its venv path prefix and quiet flags, for comparison."""
    words = [w for w in shlex.split(command) if w not in QUIET]
    if words:
        words[0] = words[0].rsplit("/", 1)[-1]
    return " ".join(words)


def run_commands(stage: str) -> list[str]:
    commands = []
    for found_stage, keyword, rest in instructions():
        if found_stage == stage and keyword == "RUN":
            commands += [normalized(part) for part in rest.split("&&")]
    return commands


def make_install_commands() -> list[str]:
    """The pip and npm commands of `make install` (which CI's `make test` runs): the new venv's own
    tools, then the install stamp's recipe."""
    makefile = (ROOT / "Makefile").read_text()
    recipes = [re.search(rf"^{re.escape(target)}:.*\n((?:\t.*\n)+)", makefile, re.M).group(1)
               for target in ("$(BIN)/python", "$(STAMP)")]  # fmt: skip
    commands = []
    for line in "".join(recipes).splitlines():
        line = line.strip().lstrip("@").replace("$(BIN)/", "")
        if line.startswith(("touch", "$(PYTHON) -m venv")):
            continue
        guarded = re.match(r"if \[ -f \S+ \]; then (.*); fi$", line)
        commands.append(normalized(guarded.group(1) if guarded else line))
    return commands


def test_the_image_installs_exactly_as_ci_does():
    ci = make_install_commands()
    assert ci[0].startswith("pip install --upgrade pip==") and "setuptools==" in ci[0]
    assert ci[1:] == [
        "pip install -r requirements.txt",
        "pip install --no-deps --no-build-isolation -e .",
        "npm ci --no-audit --no-fund --loglevel=error",
    ]
    build = run_commands("build")
    for command in ci:
        assert command in build, f"the Dockerfile's build stage does not run `{command}` as CI does"


def test_build_stage_has_the_compilers_and_the_runtime_stage_does_not():
    build, runtime = " ".join(run_commands("build")), " ".join(run_commands("runtime"))
    assert "build-essential" in build and "npm" in build
    assert "build-essential" not in runtime and "libgomp1" in runtime  # the kernels' OpenMP runtime
    stages = [rest for _, keyword, rest in instructions() if keyword == "FROM"]
    assert len(stages) >= 2 and stages[-1] == "runtime AS mpi"


def test_everything_the_editable_install_and_the_site_need_is_copied_in():
    copied = set()
    for stage, keyword, rest in instructions():
        if stage == "build" and keyword == "COPY":
            copied |= set(rest.split()[:-1])
    packages = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["packages"]["find"]
    needed = {p.rstrip("*") for p in packages["include"]} | {"templates", "manage.py", "setup.py", "pyproject.toml"}
    assert needed | {"requirements.txt", "package.json", "package-lock.json"} <= copied
    for source in copied:
        assert (ROOT / source).exists(), source
    runtime_copies = [rest for stage, keyword, rest in instructions() if stage == "runtime" and keyword == "COPY"]
    assert "--from=build /opt/venv /opt/venv" in runtime_copies and "--from=build /app /app" in runtime_copies


def test_the_service_runs_as_a_non_root_user():
    for stage in ("runtime", "mpi"):
        users = [rest for found, keyword, rest in instructions() if found == stage and keyword == "USER"]
        assert users and users[-1] not in ("root", "0"), stage
    runtime = " ".join(run_commands("runtime"))
    assert "useradd --uid 10001" in runtime and "/data/media" in runtime


def test_the_build_context_leaves_out_local_builds_and_secrets():
    for entry in (".git", ".venv", "node_modules", "build", "**/*.so", "db.sqlite3", "docker/.env"):
        assert entry in IGNORE, entry
