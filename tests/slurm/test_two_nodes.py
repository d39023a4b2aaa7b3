"""A two-node Slurm cluster across network namespaces: the seed's MPI ring through the API with ranks on both
nodes, a cancel that leaves nothing on either node, and a node whose slurmd dies mid-run.

    host (root namespace): munged, slurmctld on the bridge address, the Celery worker (the "login node")
      ├─ node-a: namespace 10.77.N.2, its own host name, slurmd -N node-a (2 CPUs)
      └─ node-b: namespace 10.77.N.3, its own host name, slurmd -N node-b (2 CPUs)

The namespaces and the bridge are tests/scaleout's (conftest.Cluster). One munged and one key serve
every node: its socket is a file, and the nodes share the filesystem. slurmd is started with nsenter
(network namespace only) rather than `ip netns exec`, which mounts a fresh /sys without the cgroup
hierarchy slurmd insists on reading.
"""

from __future__ import annotations

import importlib.util
import os
import signal
import sys
import time
from collections import Counter
from pathlib import Path

import psutil
import pytest

from tests import slurm_cluster
from tests.slurm.conftest import (
    final,
    job_processes,
    network_namespace,
    require_slurm,
    slurm_state,
    start_slurm_worker,
    submit,
    wait_for,
)
from webapp.jobs.models import Job
from webapp.jobs.slurm import team_slurm_set

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]

LONG_HEAT = {"rows": 256, "cols": 256, "steps": 50_000}
# Must outlast Slurm noticing a dead slurmd (SlurmdTimeout 10 s: ~30 s) after its first progress report:
# LONG_HEAT finished first on a quiet machine, and the job rightly succeeded.
LONGER_HEAT = {"rows": 256, "cols": 256, "steps": 76_000}  # the most heat allows: 4.98·10⁹ cell-steps


def _scaleout():
    """tests/scaleout/conftest.py, for its namespace hosts (a conftest is not importable by name)."""
    path = Path(__file__).resolve().parents[1] / "scaleout" / "conftest.py"
    spec = importlib.util.spec_from_file_location("tests_scaleout_hosts", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up by name
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def two_nodes(django_db_setup, django_db_blocker, tmp_path_factory):
    require_slurm()
    hosts = _scaleout()
    if os.geteuid() != 0:
        pytest.skip("needs root to create network namespaces")
    tag = f"s{os.getpid() % 10000}"
    net = hosts.Cluster(tag=tag, subnet=hosts._free_subnet(), bridge=f"plbr{tag}")
    cluster = None
    worker = None
    try:
        net.build()
        nodes = []
        for node in net.nodes.values():
            wrap = ["nsenter", f"--net=/run/netns/{node.namespace}", "unshare", "--uts",
                    "sh", "-c", 'hostname "$0" && exec "$@"', node.name]  # fmt: skip
            nodes.append(slurm_cluster.SlurmNode(node.name, node.address, cpus=2, wrap=wrap))
        # A silent node is declared down after 10 s (Slurm's default is 300 s): the slurmd test waits for it.
        cluster = slurm_cluster.SlurmCluster(slurm_cluster.cluster_dir("slurm-two"), nodes, net.gateway,
                                             slurmd_timeout=10, first_job_id=100_000)  # fmt: skip
        cluster.start()
        # Hydra (mpiexec in the batch job) reaches the other node's proxies over the nodes' own interface.
        worker = start_slurm_worker("slurm-two-worker", tmp_path_factory.mktemp("slurm-two-work"),
                                    HYDRA_IFACE="eth0", **cluster.env)  # fmt: skip
        yield {"cluster": cluster, "namespaces": {n.name: _netns_of(n.namespace) for n in net.nodes.values()}}
    finally:
        if worker is not None:
            worker.stop()
        if cluster is not None:
            cluster.stop()
        net.close()


def _netns_of(namespace: str) -> str:
    """How /proc/PID/ns/net names the namespace (``net:[inode]``)."""
    return f"net:[{os.stat(f'/run/netns/{namespace}').st_ino}]"


@pytest.fixture
def alice(team_setup, api_client_for):
    team_slurm_set(team=team_setup["team_a"], values={"partition": "debug"})
    return api_client_for(team_setup["alice"])


def per_node(two_nodes, slurm_id: str) -> dict[str, int]:
    """How many processes of the Slurm job run on each node."""
    names = {ns: name for name, ns in two_nodes["namespaces"].items()}
    counts = Counter(names.get(network_namespace(p), "host") for p in job_processes(slurm_id))
    return {name: counts.get(name, 0) for name in [*two_nodes["namespaces"], "host"]}


def test_the_seed_ring_runs_through_the_api_with_ranks_on_both_nodes(two_nodes, alice):
    job_id = submit(alice, workload="mpi_ring", params={"laps": 3}, backend="mpi", workers=4)
    job = final(job_id)
    assert job.status == "succeeded", job.error
    assert job.verified is True
    hosts = job.result["hosts"]
    assert job.result["message"] == "P0P1P2P3" * 3 and sorted(set(hosts)) == ["node-a", "node-b"], job.result
    assert job.provenance["slurm"]["nodes"] == "node-a,node-b" and job.provenance["slurm"]["detail"]["NumNodes"] == "2"
    print(f"\nring of 4 ranks, Slurm job {job.provenance['slurm']['job_id']}: hosts per rank {hosts}")


def test_cancel_leaves_nothing_on_either_node(two_nodes, alice):
    job_id = submit(alice, workload="heat", params=LONG_HEAT, backend="mpi", workers=4)
    wait_for(lambda: 0 < (Job.objects.get(pk=job_id).progress or {}).get("done", 0), "heat makes progress")
    slurm_id = slurm_state(job_id)["job_id"]
    before = per_node(two_nodes, slurm_id)
    assert before["node-a"] > 0 and before["node-b"] > 0, before  # the check below can see both nodes
    assert alice.post(f"/api/v1/jobs/{job_id}/cancel/").status_code == 200
    job = final(job_id, timeout=90)
    assert job.status == "cancelled", job.error
    after = per_node(two_nodes, slurm_id)
    assert after == {"node-a": 0, "node-b": 0, "host": 0}, after
    print(f"\nSlurm job {slurm_id}: processes per node before the cancel {before}, after {after}")


def test_a_node_whose_slurmd_dies_mid_run_fails_the_job_with_slurms_reason(two_nodes, alice):
    cluster = two_nodes["cluster"]
    job_id = submit(alice, workload="heat", params=LONGER_HEAT, backend="mpi", workers=4)
    wait_for(lambda: 0 < (Job.objects.get(pk=job_id).progress or {}).get("done", 0), "heat makes progress")
    slurm_id = slurm_state(job_id)["job_id"]
    killed_at = time.monotonic()
    os.kill(cluster.pids["slurmd-node-b"], signal.SIGKILL)
    # A dead node's work stops with it: freeze node-b's ranks, or on a quiet machine the run can finish
    # (and rightly succeed) before Slurm has noticed the node is gone (~30 s with SlurmdTimeout=10).
    frozen = [proc for proc in job_processes(slurm_id) if network_namespace(proc) == two_nodes["namespaces"]["node-b"]
              and "python" in " ".join(proc.cmdline())]  # fmt: skip
    for proc in frozen:
        proc.suspend()
    try:
        job = final(job_id, timeout=120)
    finally:
        for proc in frozen:
            try:
                proc.resume()  # as the node comes back; its slurmd then ends them
            except psutil.NoSuchProcess:
                pass
    ended_after = time.monotonic() - killed_at
    assert job.status == "failed"
    assert job.error.startswith(f"Slurm job {slurm_id} ended NODE_FAIL"), job.error
    assert job.provenance["slurm"]["state"] == "NODE_FAIL"
    left = per_node(two_nodes, slurm_id)
    # node-b's slurmd is dead, so nothing there could stop its ranks; once it is back it does.
    cluster.start_slurmd(next(n for n in cluster.nodes if n.name == "node-b"))
    cleaned = wait_for(lambda: (now := per_node(two_nodes, slurm_id))["node-b"] == 0 and now, "node-b cleans up", 60)
    print(f"\nslurmd of node-b killed: job failed after {ended_after:.1f} s with {job.error[:200]!r}; "
          f"left per node {left}, after slurmd came back {cleaned}")  # fmt: skip
    assert left["node-a"] == 0 and cleaned == {"node-a": 0, "node-b": 0, "host": 0}
