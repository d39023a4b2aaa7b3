"""docker/compose.yaml, checked without a Docker engine: services, the environment the code reads, health checks,
volumes, the TLS proxy in front. If the `docker compose` CLI is installed, its own validation runs too;
`make docker-smoke` (scripts/docker_smoke.sh) runs the stack for real."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from tasks.control import hostfile_hosts
from tasks.queues import CAPABILITIES

ROOT = Path(__file__).resolve().parents[2]
DOCKER = ROOT / "docker"
COMPOSE = yaml.safe_load((DOCKER / "compose.yaml").read_text())
SERVICES = COMPOSE["services"]
# The services that run Paralab's own code (built from docker/Dockerfile).
APP = ["migrate", "web", "worker-cpu", "worker-study", "worker-mpi"]
WORKERS = ["worker-cpu", "worker-study", "worker-mpi"]
# Every variable webapp/settings.py needs set in production (it refuses a missing SECRET_KEY).
REQUIRED = {"SECRET_KEY", "DATABASE_URL", "REDIS_URL", "ALLOWED_HOSTS", "MEDIA_ROOT"}
# Read by MPICH (mpiexec and the ranks), not by our code.
MPICH = re.compile(r"^(MPIR_CVAR|HYDRA)_[A-Z0-9_]+$")
NGINX = (DOCKER / "proxy" / "nginx.conf").read_text()


def variables_the_code_reads() -> set[str]:
    """Environment names read by webapp/settings.py (env, envbool, envint, envlist) and os.environ anywhere."""
    names = set(re.findall(r'\benv(?:bool|int|list)?\("([A-Z_]+)"', (ROOT / "webapp" / "settings.py").read_text()))
    for package in ("kernels", "tasks", "webapp"):
        for path in (ROOT / package).rglob("*.py"):
            names |= set(re.findall(r'os\.environ(?:\.get\(|\.setdefault\(|\[)"([A-Z_]+)"', path.read_text()))
    return names


def env_example() -> dict[str, str]:
    pairs = {}
    for line in (DOCKER / ".env.example").read_text().splitlines():
        if line.strip() and not line.startswith("#"):
            name, _, value = line.partition("=")
            pairs[name.strip()] = value.strip()
    return pairs


def command_text(service: str) -> str:
    command = SERVICES[service]["command"]
    return command if isinstance(command, str) else " ".join(command)


def test_compose_names_the_services_of_a_deployment():
    assert set(SERVICES) == {
        "proxy", "postgres", "redis", "migrate", "web", "worker-cpu", "worker-study", "worker-mpi",
        "mpi-keys", "mpi-node-1", "mpi-node-2",
    }  # fmt: skip
    assert SERVICES["web"]["command"][:1] == ["daphne"] and "webapp.asgi:application" in SERVICES["web"]["command"]
    assert SERVICES["migrate"]["command"] == ["python", "manage.py", "migrate", "--noinput"]
    assert SERVICES["migrate"]["restart"] == "no"


def test_every_app_service_gets_what_the_settings_need_and_only_names_they_read():
    known = variables_the_code_reads()
    assert REQUIRED <= known and "PARALAB_MPI_HOSTFILE" in known
    for name in APP:
        environment = SERVICES[name]["environment"]
        assert REQUIRED <= set(environment), name
        unknown = {n for n in set(environment) - known if not MPICH.match(n)}
        assert not unknown, f"{name} sets variables nothing reads: {unknown}"
    assert SERVICES["web"]["environment"]["REDIS_URL"] == "redis://redis:6379/0"
    assert "@postgres:5432/" in SERVICES["web"]["environment"]["DATABASE_URL"]


def test_secrets_must_be_given_and_the_example_env_file_names_every_variable():
    text = (DOCKER / "compose.yaml").read_text()
    interpolated = set(re.findall(r"\$\{([A-Z_]+)", text))
    required = set(re.findall(r"\$\{([A-Z_]+):\?", text))
    assert required == {"SECRET_KEY", "POSTGRES_PASSWORD"}
    example = env_example()
    assert set(example) == interpolated
    assert example["SECRET_KEY"] == "" and example["POSTGRES_PASSWORD"] == "", "no usable secret in the example"
    allowed = example["ALLOWED_HOSTS"].split(",")
    assert "localhost" in allowed, "the web health check asks for Host: localhost"
    assert "127.0.0.1" in allowed, "the README's http://127.0.0.1 URL would answer 400"


def test_the_filled_in_env_file_is_never_committed():
    ignored = (ROOT / ".gitignore").read_text().splitlines()
    assert "docker/.env" in ignored and "docker/tls/" in ignored
    assert env_example()["TLS_DIR"] == "./tls"


def test_only_the_proxy_publishes_a_port_and_it_terminates_tls():
    published = {name for name, service in SERVICES.items() if service.get("ports")}
    assert published == {"proxy"}
    proxy = SERVICES["proxy"]
    assert "${HTTPS_PORT:-443}:443" in proxy["ports"]
    assert proxy["depends_on"]["web"]["condition"] == "service_healthy"
    [tls] = [v for v in proxy["volumes"] if v.endswith(":ro")]
    mount = tls.split(":")[-2]
    assert f"ssl_certificate {mount}/fullchain.pem;" in NGINX and f"ssl_certificate_key {mount}/privkey.pem;" in NGINX
    assert re.search(r"listen 443 ssl", NGINX) and "server web:8000;" in NGINX
    assert "${HTTPS_PORT" in (DOCKER / "compose.yaml").read_text()


def test_the_proxy_limits_bodies_and_slow_clients():
    assert re.search(r"^\s*client_max_body_size 1m;", NGINX, re.M)
    for timeout in ("client_header_timeout", "client_body_timeout", "send_timeout", "proxy_read_timeout"):
        assert re.search(rf"^\s*{timeout} \d+[smh];", NGINX, re.M), timeout


def test_the_proxy_upgrades_websockets_and_tells_django_the_client_and_scheme():
    ws = re.search(r"location /ws/ \{(.*?)\}", NGINX, re.S).group(1)
    assert "proxy_http_version 1.1;" in ws
    assert "proxy_set_header Upgrade $http_upgrade;" in ws and "proxy_set_header Connection $connection_upgrade;" in ws
    assert "proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;" in NGINX
    assert "proxy_set_header X-Forwarded-Proto https;" in NGINX
    # Django trusts exactly this one proxy's X-Forwarded-For entry (webapp/client_address.py).
    for name in APP:
        assert SERVICES[name]["environment"]["TRUSTED_PROXY_COUNT"] == 1, name


def test_the_mpi_ranks_do_not_use_cross_memory_attach():
    """The engine's seccomp profile refuses process_vm_readv: with CMA on, the ring never finished."""
    assert SERVICES["worker-mpi"]["environment"]["MPIR_CVAR_CH4_CMA_ENABLE"] == "0"


def test_health_checks_and_startup_order():
    for name in ["proxy", "postgres", "redis", "web", *WORKERS, "mpi-node-1", "mpi-node-2"]:
        assert SERVICES[name]["healthcheck"]["test"], name
    assert "pg_isready" in SERVICES["postgres"]["healthcheck"]["test"]
    assert SERVICES["redis"]["healthcheck"]["test"] == ["CMD", "redis-cli", "ping"]
    assert "X-Forwarded-Proto" in " ".join(SERVICES["web"]["healthcheck"]["test"])
    for name in WORKERS:
        kind = name.removeprefix("worker-")
        assert f'inspect ping --destination "{kind}@$$HOSTNAME"' in " ".join(SERVICES[name]["healthcheck"]["test"])
        assert f'--hostname "{kind}@%h"' in command_text(name)
    assert SERVICES["migrate"]["depends_on"]["postgres"]["condition"] == "service_healthy"
    for name in ["web", *WORKERS]:
        assert SERVICES[name]["depends_on"]["migrate"]["condition"] == "service_completed_successfully"
        assert SERVICES[name]["depends_on"]["redis"]["condition"] == "service_healthy"


def test_volumes_keep_the_database_and_share_artifacts():
    assert set(COMPOSE["volumes"]) == {"pgdata", "redisdata", "media", "mpi-ssh"}
    assert "pgdata:/var/lib/postgresql/data" in SERVICES["postgres"]["volumes"]
    for name in APP:
        media_root = SERVICES[name]["environment"]["MEDIA_ROOT"]
        assert f"media:{media_root}" in SERVICES[name]["volumes"], name


def test_workers_run_the_threads_pool_and_together_serve_every_queue():
    served = set()
    for name in WORKERS:
        command = command_text(name)
        assert "celery -A tasks worker -P threads --concurrency 1" in command
        queues = re.search(r"python -m tasks\.queues ([a-z ]+)\)", command)
        assert queues, command
        served |= set(queues.group(1).split())
        if "python -m tasks.notifications" in command:
            served.add("notify")
    # Webhooks and e-mails about finished jobs go out from the notify queue: some worker must serve it.
    assert served == {*CAPABILITIES, "notify"}


def test_worker_cpu_can_be_scaled():
    """`--scale worker-cpu=N` needs no fixed container name, host name or host port."""
    worker = SERVICES["worker-cpu"]
    assert not {"container_name", "hostname", "ports"} & set(worker)


def test_worker_mpi_gets_a_hostfile_naming_the_mpi_hosts():
    worker = SERVICES["worker-mpi"]
    hostfile = worker["environment"]["PARALAB_MPI_HOSTFILE"]
    [mount] = [v for v in worker["volumes"] if v.endswith(f":{hostfile}:ro")]
    source = DOCKER / mount.split(":", 1)[0]
    hosts = hostfile_hosts(str(source))
    named = {SERVICES[name].get("hostname") for name in SERVICES}
    assert hosts == ["worker-mpi", "mpi-node-1", "mpi-node-2"] and set(hosts) <= named
    for name in ("worker-mpi", "mpi-node-1", "mpi-node-2", "mpi-keys"):
        assert SERVICES[name]["build"]["target"] == "mpi"
        assert "mpi-ssh:/home/paralab/.ssh" in SERVICES[name]["volumes"]
        if name != "mpi-keys":
            assert SERVICES[name]["depends_on"]["mpi-keys" if name != "worker-mpi" else "mpi-node-1"]["condition"]


def test_ssh_between_mpi_hosts_uses_one_port_and_the_generated_keys():
    client = (DOCKER / "mpi" / "ssh_config").read_text()
    server = (DOCKER / "mpi" / "sshd_config").read_text()
    port = re.search(r"^Port (\d+)$", server, re.M).group(1)
    assert re.search(rf"^\s+Port {port}$", client, re.M)
    assert f"('127.0.0.1', {port})" in SERVICES["mpi-node-1"]["healthcheck"]["test"][-1]
    keys = " ".join(SERVICES["mpi-keys"]["command"])
    assert "id_ed25519" in keys and "ssh_host_ed25519_key" in keys and "authorized_keys" in keys
    assert "HostKey /home/paralab/.ssh/ssh_host_ed25519_key" in server
    assert "PasswordAuthentication no" in server and "IdentityFile ~/.ssh/id_ed25519" in client


@pytest.mark.skipif(shutil.which("sshd") is None and not Path("/usr/sbin/sshd").exists(), reason="no sshd here")
def test_sshd_accepts_the_mpi_node_config(tmp_path):
    config = (DOCKER / "mpi" / "sshd_config").read_text().replace("/home/paralab/.ssh", str(tmp_path))
    (tmp_path / "sshd_config").write_text(config)
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(tmp_path / "ssh_host_ed25519_key")])
    sshd = shutil.which("sshd") or "/usr/sbin/sshd"
    result = subprocess.run([sshd, "-t", "-f", str(tmp_path / "sshd_config")], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr


@pytest.mark.skipif(
    shutil.which("docker") is None
    or subprocess.run(["docker", "compose", "version"], capture_output=True).returncode != 0,
    reason="no `docker compose` CLI here",
)
def test_docker_compose_accepts_the_file(tmp_path):
    env = tmp_path / ".env"
    env.write_text((DOCKER / ".env.example").read_text().replace("SECRET_KEY=\n", "SECRET_KEY=x\n"))
    env.write_text(env.read_text().replace("POSTGRES_PASSWORD=\n", "POSTGRES_PASSWORD=x\n"))
    result = subprocess.run(
        ["docker", "compose", "-f", str(DOCKER / "compose.yaml"), "--env-file", str(env), "config", "--quiet"],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stderr
