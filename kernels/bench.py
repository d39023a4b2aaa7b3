"""Benchmarks: speedups measured side by side in one run, so a noisy machine shifts both sides alike.

``python -m kernels.bench [--quick] [--json PATH]`` prints a table of ratios with their targets and
writes the raw timings as JSON. Each group of cases runs in interleaved rounds (A B, B A, …) and a
row's ratio is the median of the per-round ratios, which cancels slow drift in the machine's speed.
Benchmarks report; they never fail the command on a missed target.
"""

from __future__ import annotations

import argparse
import datetime
import json
import math
import multiprocessing
import os
import platform
import socket
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import kernels
from kernels.backends.mpi import mpiexec_path
from kernels.engine import RunRequest, check_request, run
from kernels.errors import EngineError
from kernels.workloads.base import NativeUnavailable, load_native
from kernels.workloads.fib import SEED_NS, fib, fib_exact

DEFAULT_JSON = Path("build/bench.json")
PHI = (1 + 5**0.5) / 2


@dataclass
class Case:
    """One configuration; ``call`` runs it once and says whether its answer was right."""

    label: str
    call: Callable[[], bool]
    # The last call's seconds by the case's own clock (the engine's wall time: the run without its
    # reference check), or None to time the whole call.
    clock: Callable[[], float] | None = None


@dataclass
class Target:
    low: float
    high: float = math.inf
    text: str = ""

    def met(self, ratio: float) -> bool:
        return self.low <= ratio <= self.high


@dataclass
class Row:
    """``ratio`` = baseline time / candidate time, per round; > 1 means the candidate is faster."""

    title: str
    candidate: str
    baseline: str
    target: Target


@dataclass
class Group:
    """Cases timed together in interleaved rounds, and the rows read from those timings."""

    name: str
    cases: list[Case]
    rows: list[Row]
    rounds: int
    skip: str = ""  # why the group cannot run here (e.g. the native extension is not built)
    times: dict[str, list[float]] = field(default_factory=dict)
    wrong: list[str] = field(default_factory=list)


def engine_case(
    label: str,
    workload: str,
    params: dict[str, Any],
    backend: str,
    implementation: str,
    workers: int,
    options: dict[str, Any] | None = None,
    *,
    run_only: bool = False,
) -> Case:
    """``run_only``: time the run and not its verification (which for a native Mandelbrot costs more than the run)."""
    checked = check_request(RunRequest(workload, params, backend, implementation, workers, options or {}))
    if not run_only:
        return Case(label, lambda: run(checked).verified is True)
    took: list[float] = []

    def call() -> bool:
        result = run(checked)
        took.append(result.wall_time)
        return result.verified is True

    return Case(label, call, clock=lambda: took[-1])


def pool_map_case(label: str, ns: list[int]) -> Case:
    """The seed's own code: ``multiprocessing.Pool(2).map(fib, ns)``, pool start-up included like ours."""
    expected = [fib_exact(n) for n in ns]

    def call() -> bool:
        with multiprocessing.Pool(2) as pool:
            return pool.map(fib, ns) == expected

    return Case(label, call)


def seed_shape(top: int) -> list[int]:
    """The seed's list shifted: [top, top-1, …, top-5]; its longest-first split over 2 workers is exactly 50/50."""
    return list(range(top, top - 6, -1))


def fib_n_for(seconds: float) -> int:
    """The n whose pure-Python fib(n) takes about ``seconds`` here: time a small n, extrapolate by φ per step."""
    n = 15
    while True:
        started = time.perf_counter()
        fib(n)
        took = time.perf_counter() - started
        if took > 0.02 or n >= 40:
            break
        n += 2
    return max(1, min(40, n + round(math.log(seconds / took, PHI))))


def native_copies(seconds: float) -> int:
    """How many copies of [40..35] (the largest fib the schema allows) make one native core busy for ``seconds``."""
    compute = load_native("fib").fib
    started = time.perf_counter()
    compute(40)
    per_copy = (time.perf_counter() - started) * sum(PHI**-k for k in range(6))
    return max(1, min(10, round(seconds / per_copy)))  # 10 copies: 60 of the schema's 64 items


def native_missing() -> str:
    try:
        load_native("fib")
    except NativeUnavailable as exc:
        return str(exc)
    return ""


def mpi_missing() -> str:
    try:
        mpiexec_path()
    except EngineError as exc:
        return str(exc)
    return ""


def seed_group(quick: bool) -> Group:
    """The seed's example: our processes backend against sequential and against the seed's own Pool.map."""
    top = 35 if quick else 38
    ns, shown = seed_shape(top), f"fib [{top}..{top - 5}]"
    cases = [
        engine_case("sequential", "fib", {"ns": ns}, "sequential", "python", 1),
        engine_case("processes W=2", "fib", {"ns": ns}, "processes", "python", 2),
        pool_map_case("Pool(2).map", ns),
    ]
    rows = [
        Row(f"{shown}: processes W=2 vs sequential", "processes W=2", "sequential", Target(1.95, text="≥1.95×")),
        Row(
            f"{shown}: Paralab processes vs Pool(2).map",
            "processes W=2",
            "Pool(2).map",
            Target(1 / 1.03, text="≥0.971× (≤3% slower)"),
        ),
    ]
    return Group("seed", cases, rows, rounds=3)


def native_group(quick: bool) -> Group:
    """One core, no parallelism: what compiling the unit buys; n is picked so Python takes about a second."""
    skip = native_missing()
    n = fib_n_for(0.3 if quick else 1.0)
    cases = (
        [] if skip else [engine_case(impl, "fib", {"ns": [n]}, "sequential", impl, 1) for impl in ("python", "native")]
    )
    row = Row(f"fib({n}), one core: native vs python", "native", "python", Target(100, text="≥100×"))
    return Group("native", cases, [row], rounds=3 if quick else 5, skip=skip)


def native_threads_group(quick: bool) -> Group:
    """Native units release the GIL, so two threads should do twice the work."""
    skip = native_missing()
    copies = 1 if skip else native_copies(0.4 if quick else 1.0)
    ns = seed_shape(40) * copies
    cases = [] if skip else [engine_case(f"threads W={w}", "fib", {"ns": ns}, "threads", "native", w) for w in (1, 2)]
    row = Row(
        f"fib [40..35]×{copies} native: threads W=2 vs W=1", "threads W=2", "threads W=1", Target(1.9, text="≥1.9×")
    )
    return Group("native-threads", cases, [row], rounds=3 if quick else 5, skip=skip)


def mpi_group(quick: bool) -> Group:
    """MPI ranks, start-up included: the image must be big enough that mpiexec's fraction of a second is small."""
    image = {"width": 1024, "height": 768, "max_iter": 256 if quick else 512}
    cases = [engine_case(f"mpi W={w}", "mandelbrot", image, "mpi", "python", w) for w in (1, 2)]
    shown = f"mandelbrot {image['width']}×{image['height']}×{image['max_iter']}"
    row = Row(f"{shown} python: mpi W=2 vs W=1", "mpi W=2", "mpi W=1", Target(1.85, text="≥1.85×"))
    return Group("mpi", cases, [row], rounds=3, skip=mpi_missing())


# 38% inside the set, bands from 0.1 to 36 ms of work (what the dynamic schedule is for): ~0.8 s on one core here.
OPENMP_IMAGE = {"width": 1024, "height": 768, "x_min": -1.5, "x_max": 0.5, "y_min": -1.0, "y_max": 1.0}
# 93% inside the set, ~2 s of native work on one core here, so mpiexec's ~0.25 s start-up weighs little.
HYBRID_IMAGE = {"width": 1024, "height": 768, "x_min": -0.7, "x_max": 0.3, "y_min": -0.6, "y_max": 0.6}


def openmp_group(quick: bool) -> Group:
    """OpenMP threads in one native call, the run without its reference check: two threads, twice the work."""
    image = {**OPENMP_IMAGE, "max_iter": 300 if quick else 1200}
    shown = f"mandelbrot {image['width']}×{image['height']}×{image['max_iter']} native"
    cases = [engine_case(f"openmp W={w}", "mandelbrot", image, "openmp", "native", w, run_only=True) for w in (1, 2)]
    row = Row(f"{shown}: openmp W=2 vs W=1", "openmp W=2", "openmp W=1", Target(1.9, text="≥1.9×"))
    return Group("openmp", [] if native_missing() else cases, [row], rounds=3 if quick else 5, skip=native_missing())


def hybrid_group(quick: bool) -> Group:
    """MPI ranks × OpenMP threads on two cores, mpiexec's start-up included: 1×2 and 2×1 against 1×1, and each other."""
    image = {**HYBRID_IMAGE, "max_iter": 600 if quick else 1200}
    shown = f"mandelbrot {image['width']}×{image['height']}×{image['max_iter']} native hybrid"
    layouts = {"1×1": (1, 1), "1×2": (2, 2), "2×1": (2, 1)}  # ranks × threads: (workers, threads per rank)
    cases = [
        engine_case(f"hybrid {name}", "mandelbrot", image, "hybrid", "native", w, {"threads": t}, run_only=True)
        for name, (w, t) in layouts.items()
    ]
    rows = [
        Row(f"{shown}: 1×2 vs 1×1 (threads)", "hybrid 1×2", "hybrid 1×1", Target(1.7, text="≥1.7×")),
        Row(f"{shown}: 2×1 vs 1×1 (ranks)", "hybrid 2×1", "hybrid 1×1", Target(1.7, text="≥1.7×")),
        Row(
            f"{shown}: 1×2 vs 2×1",
            "hybrid 1×2",
            "hybrid 2×1",
            Target(0.95, text="≥0.95×: threads at least as fast as ranks"),
        ),
    ]
    skip = native_missing() or mpi_missing()
    return Group("hybrid", [] if skip else cases, rows, rounds=3, skip=skip)


def gil_group(quick: bool) -> Group:
    """Pure-Python threads hold the GIL in turn: about 1×, and the table shows it."""
    top = 32 if quick else 35
    ns = seed_shape(top)
    cases = [
        engine_case("sequential", "fib", {"ns": ns}, "sequential", "python", 1),
        engine_case("threads W=2", "fib", {"ns": ns}, "threads", "python", 2),
    ]
    row = Row(
        f"fib [{top}..{top - 5}] python: threads W=2 vs sequential (GIL)",
        "threads W=2",
        "sequential",
        Target(0.8, 1.25, "≈1× (0.8–1.25): the GIL"),
    )
    return Group("gil", cases, [row], rounds=3 if quick else 5)


def build_groups(quick: bool) -> list[Group]:
    groups = (seed_group, native_group, native_threads_group, mpi_group, openmp_group, hybrid_group, gil_group)
    return [make(quick) for make in groups]


def warm_up() -> None:
    """Import every backend and load MPI and the native modules once, outside the timings."""
    run(check_request(RunRequest("fib", {"ns": [20, 20]}, "processes", "python", 2)))
    run(check_request(RunRequest("fib", {"ns": [20, 20]}, "threads", "python", 2)))
    with multiprocessing.Pool(2) as pool:
        pool.map(fib, [20, 20])
    if not native_missing():
        run(check_request(RunRequest("fib", {"ns": [20, 20]}, "threads", "native", 2)))
        run(check_request(RunRequest("mandelbrot", {"width": 64, "height": 64}, "openmp", "native", 2)))
    if not mpi_missing():
        run(check_request(RunRequest("mandelbrot", {"width": 32, "height": 32}, "mpi", "python", 2)))


def measure(group: Group, log: Callable[[str], None]) -> None:
    """Run the group's cases in rotating order (ABC, BCA, CAB, …) and keep every time."""
    group.times = {case.label: [] for case in group.cases}
    for index in range(group.rounds):
        shift = index % len(group.cases)
        for case in group.cases[shift:] + group.cases[:shift]:
            log(f"  {group.name}: round {index + 1}/{group.rounds}, {case.label}")
            started = time.perf_counter()
            right = case.call()
            took = time.perf_counter() - started
            group.times[case.label].append(case.clock() if case.clock is not None else took)
            if not right and case.label not in group.wrong:
                group.wrong.append(case.label)


def row_report(group: Group, row: Row) -> dict[str, Any]:
    report: dict[str, Any] = {"benchmark": row.title, "candidate": row.candidate, "baseline": row.baseline}
    high = None if math.isinf(row.target.high) else row.target.high  # JSON has no infinity
    report["target"] = {"low": row.target.low, "high": high, "text": row.target.text}
    if group.skip:
        return {**report, "verdict": "SKIP", "note": group.skip}
    cand, base = group.times[row.candidate], group.times[row.baseline]
    ratios = [b / c for b, c in zip(base, cand, strict=True)]
    ratio = statistics.median(ratios)
    if row.candidate in group.wrong or row.baseline in group.wrong:
        verdict, note = "WRONG", f"wrong answer from {', '.join(group.wrong)}"
    else:
        verdict, note = ("PASS" if row.target.met(ratio) else "MISS"), ""
    return {
        **report,
        "candidate_times": cand,
        "baseline_times": base,
        "candidate_median": statistics.median(cand),
        "baseline_median": statistics.median(base),
        "ratios": ratios,
        "ratio": ratio,
        "verdict": verdict,
        "note": note,
    }


def format_table(reports: list[dict[str, Any]]) -> str:
    header = ("benchmark", "candidate", "baseline", "ratio", "target", "verdict")
    lines = [header]
    for r in reports:
        if r["verdict"] == "SKIP":
            lines.append((r["benchmark"], "-", "-", "-", r["target"]["text"], f"SKIP: {r['note'][:70]}"))
            continue
        verdict = r["verdict"] + (f": {r['note']}" if r["note"] else "")
        lines.append(
            (
                r["benchmark"],
                f"{r['candidate_median']:.3f} s",
                f"{r['baseline_median']:.3f} s",
                f"{r['ratio']:.3g}×",
                r["target"]["text"],
                verdict,
            )
        )
    widths = [max(len(line[col]) for line in lines) for col in range(len(header) - 1)]
    return "\n".join(
        "  ".join(cell.ljust(width) for cell, width in zip(line, widths, strict=False)) + "  " + line[-1]
        for line in lines
    )


def machine() -> dict[str, Any]:
    cpu = platform.processor()
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as info:
            cpu = next((line.split(":", 1)[1].strip() for line in info if line.startswith("model name")), cpu)
    except OSError:
        pass
    try:
        commit = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, timeout=5, check=False
        ).stdout.strip()
    except OSError:
        commit = ""
    return {
        "host": socket.gethostname(),
        "cpu": cpu,
        "cores": os.cpu_count(),
        "python": platform.python_version(),
        "platform": platform.platform(),
        "paralab": kernels.__version__,
        "commit": commit,
        "load_average": os.getloadavg() if hasattr(os, "getloadavg") else None,
    }


def slurm_latency(log: Callable[[str], None]) -> dict[str, Any]:
    """Slurm submit→running on the cluster SLURM_CONF (or the machine's slurm.conf) names; skipped without one."""
    from kernels.slurm import bench_submit_to_running

    row = bench_submit_to_running()
    if "skipped" in row:
        log(f"  Slurm submit→running: skipped ({row['skipped']})")
    else:
        log(f"  Slurm submit→running: median {row['median']:.2f} s over {row['rounds']} jobs "
            f"(min {row['min']:.2f}, max {row['max']:.2f})")  # fmt: skip
    return row


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m kernels.bench", description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="smaller inputs and fewer rounds (under a minute)")
    parser.add_argument("--only", metavar="GROUPS", help="comma-separated groups to run (e.g. openmp,hybrid)")
    parser.add_argument("--json", type=Path, default=DEFAULT_JSON, metavar="PATH", help=f"default {DEFAULT_JSON}")
    parser.add_argument("--slurm-only", action="store_true", help="only the Slurm submit→running latency")
    args = parser.parse_args(argv)

    def log(line: str) -> None:
        print(line, file=sys.stderr, flush=True)

    if args.slurm_only:
        return 0 if "skipped" not in slurm_latency(log) else 1

    started = time.perf_counter()
    info = machine()
    mode = "quick" if args.quick else "full"
    log(f"Paralab benchmarks ({mode}) on {info['host']}: {info['cpu']}, {info['cores']} cores")
    log("  warming up")
    warm_up()
    groups = build_groups(args.quick)
    if args.only:
        groups = [group for group in groups if group.name in args.only.split(",")]
    reports = []
    for group in groups:
        if not group.skip:
            measure(group, log)
        reports += [row_report(group, row) for row in group.rows]
    slurm = slurm_latency(log)
    elapsed = time.perf_counter() - started

    print(format_table(reports))
    counts = {v: sum(r["verdict"] == v for r in reports) for v in ("PASS", "MISS", "WRONG", "SKIP")}
    print(
        ", ".join(f"{n} {v}" for v, n in counts.items() if n)
        + f" in {elapsed:.0f} s; ratios are medians of same-run rounds"
    )
    load, cores = (info["load_average"] or [0.0])[0], info["cores"] or 1
    if load > cores / 2:
        # Speedups need idle cores: with other work running, MISS says more about the machine than the code.
        print(f"note: load average was {load:.1f} on {cores} cores when the run started; other work competed")
    document = {
        "mode": mode,
        "when": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
        "seconds": elapsed,
        "machine": info,
        "seed_ns": SEED_NS,
        "rows": reports,
        "slurm_submit_to_running": slurm,
    }
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(document, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    print(f"timings written to {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
