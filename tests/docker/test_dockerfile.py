"""docker/Dockerfile, checked without a Docker engine: its build steps are CI's (`make install`) minus the test
tools, it builds the Cython kernels in a build stage, the runtime stage holds only what runs, and the service
runs as a non-root user under an init. `make docker-smoke` builds and runs it for real."""

from __future__ import annotations

import base64
import hashlib
import importlib.util
import io
import re
import shlex
import tarfile
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
DOCKERFILE = (ROOT / "docker" / "Dockerfile").read_text()
IGNORE = [line for line in (ROOT / ".dockerignore").read_text().splitlines() if line and not line.startswith("#")]
QUIET = {"--quiet", "-q"}
# docker/ is not a package (and `docker` is the name of Docker's SDK): load the build script by path.
_spec = importlib.util.spec_from_file_location("npm_install", ROOT / "docker" / "npm_install.py")
npm_install = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(npm_install)
checked, tarball_url, unpack = npm_install.checked, npm_install.tarball_url, npm_install.unpack


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


def pins(path: str) -> dict[str, str]:
    """Normalised name -> pinned line of a requirements file (its `-r` includes left out)."""
    found = {}
    for line in (ROOT / path).read_text().splitlines():
        if line and not line.startswith(("#", "-r")):
            found[re.sub(r"[-_.]+", "-", line.split("==")[0].strip()).lower()] = line
    return found


def test_the_image_installs_as_ci_does_without_the_test_tools():
    ci = make_install_commands()
    assert ci[0].startswith("pip install --upgrade pip==") and "setuptools==" in ci[0]
    assert ci[1:] == [
        "pip install -r requirements-dev.txt",
        "pip install --no-deps --no-build-isolation -e .",
        "npm ci --no-audit --no-fund --loglevel=error",
    ]
    # CI installs the runtime pins too: the dev file includes them.
    assert "-r requirements.txt" in (ROOT / "requirements-dev.txt").read_text().splitlines()
    build = run_commands("build")
    for command in [ci[0], "pip install -r requirements.txt", ci[2]]:
        assert command in build, f"the Dockerfile's build stage does not run `{command}` as CI does"
    assert "pip install -r requirements-dev.txt" not in build
    # Cython builds the kernels with the dev file's pin, and leaves before the venv is copied.
    assert "pip install $(grep -i '^cython==' requirements-dev.txt)" in build
    assert "pip uninstall --yes cython" in build and "cython" in pins("requirements-dev.txt")
    # npm ci's packages come from package-lock.json, checked by hash, without npm.
    assert "python /build/npm_install.py /app" in build


def test_the_runtime_pins_hold_what_the_service_imports_and_no_test_or_lint_tool():
    runtime, dev = pins("requirements.txt"), pins("requirements-dev.txt")
    assert not set(runtime) & set(dev), "a package pinned in both files"
    for tool in ("playwright", "mypy", "schemathesis", "hypothesis", "ruff", "pytest", "pytest-django", "cython"):
        assert tool in dev and tool not in runtime, tool
    needs = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]
    for need in needs:
        name = re.sub(r"[-_.]+", "-", re.split(r"[<>=\[ ;]", need)[0]).lower()
        assert name in runtime, f"{need} (pyproject.toml) is not pinned in requirements.txt"


def test_there_is_no_syntax_directive():
    """`# syntax=` makes BuildKit (the default builder, and compose's) fetch a frontend from Docker Hub."""
    for line in DOCKERFILE.splitlines():
        if not line.startswith("#"):
            break
        assert not re.match(r"#\s*syntax\s*=", line, re.I), line


def test_build_stage_has_the_compilers_and_the_runtime_stage_does_not():
    build, runtime = " ".join(run_commands("build")), " ".join(run_commands("runtime"))
    assert "build-essential" in build and "python3-dev" in build
    assert "build-essential" not in runtime and "python3-dev" not in runtime
    assert "libgomp1" in runtime  # the kernels' OpenMP runtime
    assert not re.search(r"\bnpm\b|\bnodejs\b", build + runtime), "Debian's npm is 400 packages for two tarballs"
    stages = [rest for _, keyword, rest in instructions() if keyword == "FROM"]
    assert len(stages) >= 2 and stages[-1] == "runtime AS mpi"
    # Both stages on one base, so the venv copied across finds the same interpreter.
    assert stages[0].split()[0] == stages[1].split()[0]


def test_an_init_runs_as_pid_1_and_reaps_orphans():
    """A Celery worker as PID 1 collected <defunct> zombies: tini is PID 1 and the command its child."""
    runtime = " ".join(run_commands("runtime"))
    entrypoints = [rest for stage, keyword, rest in instructions() if stage == "runtime" and keyword == "ENTRYPOINT"]
    assert "tini" in runtime and entrypoints == ['["/usr/bin/tini", "--"]']


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
    """One .dockerignore at the context's root: the classic builder reads no other."""
    for entry in (
        ".git",
        ".venv",
        "node_modules",
        "build",
        "**/*.so",
        "media",
        "db.sqlite3",
        "docker/.env",
        "docker/tls",
    ):
        assert entry in IGNORE, entry
    assert not (ROOT / "docker" / "Dockerfile.dockerignore").exists(), "BuildKit would read it instead"
    copied = {rest.split()[0] for _, keyword, rest in instructions() if keyword == "COPY" and "--from" not in rest}
    assert not {c for c in copied if c.split("/")[0] in IGNORE}, "the build copies something the context leaves out"


def npm_tarball(files: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as archive:
        for name, data in files.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


def test_npm_packages_are_unpacked_only_when_their_hash_matches_the_lock_file(tmp_path):
    data = npm_tarball({"package/dist/chart.umd.js": b"chart", "package/package.json": b"{}"})
    integrity = "sha512-" + base64.b64encode(hashlib.sha512(data).digest()).decode()
    unpack(checked(data, integrity, "url"), tmp_path / "node_modules" / "chart.js")
    assert (tmp_path / "node_modules" / "chart.js" / "dist" / "chart.umd.js").read_bytes() == b"chart"
    with pytest.raises(SystemExit, match="SHA-512 does not match package-lock.json"):
        checked(data + b"tampered", integrity, "url")
    with pytest.raises(SystemExit, match="unsafe path"):
        unpack(npm_tarball({"package/../../escape.js": b"x"}), tmp_path / "x")


def test_npm_tarballs_come_from_the_registry_never_a_cdn():
    assert tarball_url("node_modules/chart.js", {"version": "4.6.1"}) == (
        "https://registry.npmjs.org/chart.js/-/chart.js-4.6.1.tgz"
    )
    assert tarball_url("node_modules/@kurkle/color", {"version": "0.3.4"}) == (
        "https://registry.npmjs.org/@kurkle/color/-/color-0.3.4.tgz"
    )
