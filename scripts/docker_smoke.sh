#!/usr/bin/env bash
# make docker-smoke: build the image and run the compose stack for real, use it through its front
# door (HTTPS via the proxy) as docs/deploy.md says, then take it down and leave the host as found.
#
# Works without any image registry: the engine comes from Debian's docker.io, Compose v2 from Debian
# trixie's docker-compose package, the Dockerfile's base images from debootstrap, and postgres:17 /
# redis:7 are stand-ins built from Debian's packages (docker/standins/). All are kept between runs
# (images by tag, the Compose plugin under $CACHE), so a re-run only rebuilds what changed.
#
# Environment: SMOKE_FIB_NS (the seed fib job's list, default the seed's 38..33), SMOKE_MPI_RANKS (6),
# PARALAB_SMOKE_CACHE (/var/cache/paralab-smoke), SMOKE_KEEP=1 (leave the stack up to look at it).
set -euo pipefail
cd "$(dirname "$0")/.."

CACHE=${PARALAB_SMOKE_CACHE:-/var/cache/paralab-smoke}
FIB_NS=${SMOKE_FIB_NS:-38,37,36,35,34,33}
MPI_RANKS=${SMOKE_MPI_RANKS:-6}
PROJECT=paralab-smoke # not the compose file's own name, so `down -v` never touches a real deployment
WORK=$(mktemp -d /tmp/paralab-smoke.XXXXXX)
DEBIAN_MIRROR=http://deb.debian.org/debian
export DEBIAN_FRONTEND=noninteractive
mkdir -p "$CACHE"

say() { printf '\n== %s (%ss)\n' "$*" "$SECONDS"; }
fail() {
    printf 'docker-smoke FAILED: %s\n' "$*" >&2
    exit 1
}
# json EXPR: EXPR over the JSON on stdin (as `data`); a tuple prints as words.
json() { python3 -c "import json, sys; data = json.load(sys.stdin); v = ($1); print(*v) if isinstance(v, tuple) else print(v)"; }

# --- The host as we found it: dockerd changes these, and the scale-out namespace tests need them back.
had_iptables=$(command -v iptables >/dev/null && echo yes || echo no)
forward_policy=ACCEPT # the kernel's default, when no iptables has set one
if [ "$had_iptables" = yes ]; then
    forward_policy=$(iptables -S FORWARD | awk '$1 == "-P" { print $3 }')
fi
ip_forward=$(sysctl -n net.ipv4.ip_forward)
bridge_nf=$(sysctl -n net.bridge.bridge-nf-call-iptables 2>/dev/null || echo absent)
had_docker0=$(ip link show docker0 >/dev/null 2>&1 && echo yes || echo no)
dockerd_pid=""
stack_up=no

remove_docker_rules() {
    # What dockerd leaves in iptables when it stops: its chains and the rules that jump to them.
    local table line
    for table in filter nat; do
        iptables -t "$table" -S | grep -E '^-A (FORWARD|INPUT|OUTPUT|PREROUTING|POSTROUTING) .*(DOCKER|docker0)' \
            | while read -r line; do
                # shellcheck disable=SC2086 # the rule's own words
                iptables -t "$table" -D ${line#-A } || true
            done
        iptables -t "$table" -S | awk '$1 == "-N" && $2 ~ /^DOCKER/ { print $2 }' | while read -r line; do
            iptables -t "$table" -F "$line" || true
        done
        iptables -t "$table" -S | awk '$1 == "-N" && $2 ~ /^DOCKER/ { print $2 }' | while read -r line; do
            iptables -t "$table" -X "$line" || true
        done
    done
}

restore_host() {
    local code=$?
    set +e
    if [ "$stack_up" = yes ] && [ -z "${SMOKE_KEEP:-}" ]; then
        [ "$code" = 0 ] || "${COMPOSE[@]}" logs --no-color --tail 40 >&2
        "${COMPOSE[@]}" down -v --remove-orphans --timeout 20 >/dev/null 2>&1
    fi
    if [ -n "$dockerd_pid" ] && [ -z "${SMOKE_KEEP:-}" ]; then
        kill "$dockerd_pid" 2>/dev/null
        for _ in $(seq 60); do kill -0 "$dockerd_pid" 2>/dev/null || break; sleep 0.5; done
        remove_docker_rules
        [ "$had_docker0" = yes ] || ip link delete docker0 2>/dev/null
    fi
    if command -v iptables >/dev/null; then iptables -P FORWARD "$forward_policy"; fi
    sysctl -qw net.ipv4.ip_forward="$ip_forward"
    if [ "$bridge_nf" = absent ]; then
        # br_netfilter was not loaded: bridged traffic did not go through iptables.
        sysctl -qw net.bridge.bridge-nf-call-iptables=0 2>/dev/null
    else
        sysctl -qw net.bridge.bridge-nf-call-iptables="$bridge_nf"
    fi
    rm -rf "$WORK"
    printf '\nhost restored: FORWARD %s, ip_forward %s, bridge-nf-call-iptables %s%s\n' "$forward_policy" \
        "$ip_forward" "$bridge_nf" "$([ -n "$dockerd_pid" ] && echo ', dockerd stopped')"
    exit "$code"
}
trap restore_host EXIT

# --- An engine: the one running, or Debian's started for this run.
say "Docker engine"
if ! docker info >/dev/null 2>&1; then
    if ! command -v dockerd >/dev/null; then
        apt-get update -qq && apt-get install -y -qq docker.io >/dev/null
    fi
    setsid dockerd >"$CACHE/dockerd.log" 2>&1 </dev/null &
    dockerd_pid=$!
    for _ in $(seq 60); do docker info >/dev/null 2>&1 && break; sleep 1; done
    docker info >/dev/null 2>&1 || fail "dockerd did not start: $(tail -5 "$CACHE/dockerd.log")"
    # dockerd set the FORWARD policy to DROP; its own rules accept its bridges' traffic, so putting the
    # policy back at once keeps other tests on this host (network namespaces on a bridge) working meanwhile.
    iptables -P FORWARD "$forward_policy"
fi
docker version --format 'engine {{.Server.Version}}'

# --- Compose v2 (bookworm's Compose v1 rejects the file): the one installed, else trixie's plugin.
say "Compose v2"
compose_version() { docker compose version --short 2>/dev/null || true; }
if [[ $(compose_version) != 2.* && $(compose_version) != v2.* ]]; then
    export DOCKER_CONFIG=$CACHE/docker-config
    if [[ $(compose_version) != 2.* && $(compose_version) != v2.* ]]; then
        apt_state=$WORK/apt
        mkdir -p "$apt_state/lists/partial" "$apt_state/cache/archives/partial" "$apt_state/parts"
        echo "deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] $DEBIAN_MIRROR trixie main" \
            >"$apt_state/sources.list"
        apt_opts=(-o "Dir::State=$apt_state" -o "Dir::State::Lists=$apt_state/lists" -o "Dir::Cache=$apt_state/cache"
            -o "Dir::Etc::SourceList=$apt_state/sources.list" -o "Dir::Etc::SourceParts=$apt_state/parts"
            -o "Dir::State::status=/dev/null")
        apt-get "${apt_opts[@]}" update -qq
        (cd "$apt_state" && apt-get "${apt_opts[@]}" download docker-compose 2>/dev/null)
        dpkg-deb -x "$apt_state"/docker-compose_*.deb "$apt_state/x"
        install -D -m 755 "$apt_state/x/usr/libexec/docker/cli-plugins/docker-compose" \
            "$DOCKER_CONFIG/cli-plugins/docker-compose"
    fi
fi
[[ $(compose_version) == 2.* || $(compose_version) == v2.* ]] ||
    fail "Compose v2 is required (docs/deploy.md); \`docker compose version\` says: $(docker compose version 2>&1)"
docker compose version

# --- Base images without a registry: debootstrap a Debian release, import it under the FROM tag.
base_image() {
    local tag=$1 suite rootfs
    docker image inspect "$tag" >/dev/null 2>&1 && return
    [[ $tag =~ ^debian:([a-z]+)-slim$ ]] || fail "no way to build base image $tag here"
    suite=${BASH_REMATCH[1]}
    command -v debootstrap >/dev/null || apt-get install -y -qq debootstrap >/dev/null
    rootfs=$WORK/rootfs-$suite
    debootstrap --variant=minbase --include=ca-certificates "$suite" "$rootfs" "$DEBIAN_MIRROR" >"$WORK/debootstrap.log" ||
        fail "debootstrap $suite: $(tail -5 "$WORK/debootstrap.log")"
    # As Docker's debian images: no docs, manuals or translations; apt keeps no caches or .debs.
    printf 'path-exclude /usr/share/%s/*\n' doc man info locale groff lintian >"$rootfs/etc/dpkg/dpkg.cfg.d/docker-slim"
    echo 'path-include /usr/share/doc/*/copyright' >>"$rootfs/etc/dpkg/dpkg.cfg.d/docker-slim"
    cat >"$rootfs/etc/apt/apt.conf.d/docker-clean" <<'EOF'
DPkg::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true"; };
APT::Update::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true"; };
Dir::Cache::pkgcache "";
Dir::Cache::srcpkgcache "";
Acquire::Languages "none";
EOF
    find "$rootfs/usr/share/doc" -type f ! -name copyright -delete
    rm -rf "$rootfs"/usr/share/{man,info,locale}/* "$rootfs"/var/lib/apt/lists/* "$rootfs"/var/cache/apt/*.bin \
        "$rootfs"/var/cache/apt/archives/*.deb
    # Where HTTPS to the package registries goes through an intercepting proxy, the image must trust
    # the same extra CAs as this host (pip's own bundle would not).
    if compgen -G "/usr/local/share/ca-certificates/*.crt" >/dev/null; then
        cp /usr/local/share/ca-certificates/*.crt "$rootfs/usr/local/share/ca-certificates/"
        chroot "$rootfs" update-ca-certificates >/dev/null
        printf '[global]\ncert = /etc/ssl/certs/ca-certificates.crt\n' >"$rootfs/etc/pip.conf"
    fi
    tar -C "$rootfs" -c . | docker import --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
        --change 'CMD ["bash"]' - "$tag" >/dev/null
    rm -rf "$rootfs"
}

say "Base images"
for dockerfile in docker/Dockerfile docker/proxy/Dockerfile docker/standins/*.Dockerfile; do
    awk '$1 == "FROM" { print $2 }' "$dockerfile"
done | sort -u | grep -vxE 'build|runtime' | while read -r tag; do
    base_image "$tag"
    echo "$tag: $(docker image inspect --format '{{.Size}}' "$tag" | awk '{ printf "%.0f MB", $1 / 1e6 }')"
done

# --- The deployment's settings, a self-signed certificate and free ports for the front door.
https_port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
http_port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
mkdir -p "$WORK/tls"
openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=localhost -addext subjectAltName=DNS:localhost,IP:127.0.0.1 \
    -keyout "$WORK/tls/privkey.pem" -out "$WORK/tls/fullchain.pem" 2>/dev/null
chmod 644 "$WORK/tls/privkey.pem" # read by nginx's master as root; the folder is this run's own
sed -e "s|^SECRET_KEY=.*|SECRET_KEY=$(python3 -c 'import secrets; print(secrets.token_urlsafe(50))')|" \
    -e "s|^POSTGRES_PASSWORD=.*|POSTGRES_PASSWORD=$(python3 -c 'import secrets; print(secrets.token_hex(16))')|" \
    -e "s|^CSRF_TRUSTED_ORIGINS=.*|CSRF_TRUSTED_ORIGINS=https://localhost:$https_port|" \
    -e "s|^HTTPS_PORT=.*|HTTPS_PORT=$https_port|" -e "s|^HTTP_PORT=.*|HTTP_PORT=$http_port|" \
    -e "s|^TLS_DIR=.*|TLS_DIR=$WORK/tls|" \
    -e "s|^PARALAB_GIT_COMMIT=.*|PARALAB_GIT_COMMIT=$(git rev-parse --short=12 HEAD 2>/dev/null || true)|" \
    docker/.env.example >"$WORK/env"
COMPOSE=(docker compose -f docker/compose.yaml -p "$PROJECT" --env-file "$WORK/env")
BASE=https://localhost:$https_port

# --- Stand-ins for the registry images compose names, under exactly those tags.
say "Stand-ins for registry images"
COMPOSE_IMAGES=$("${COMPOSE[@]}" config --images)
for name in postgres redis; do
    tag=$(grep -E "^$name:" <<<"$COMPOSE_IMAGES" | head -1)
    [ -n "$tag" ] || fail "compose names no $name image"
    docker image inspect "$tag" >/dev/null 2>&1 ||
        docker build -q -t "$tag" -f "docker/standins/$name.Dockerfile" docker/standins >"$WORK/$name.log" 2>&1 ||
        fail "stand-in $tag: $(tail -20 "$WORK/$name.log")"
    echo "$tag (stand-in from Debian's packages)"
done

# --- Our image, built from the Dockerfile as it is.
say "Build"
build_start=$SECONDS
"${COMPOSE[@]}" build >"$WORK/build.log" 2>&1 || fail "build: $(tail -30 "$WORK/build.log")"
build_time=$((SECONDS - build_start))
docker image ls --format '{{.Repository}}:{{.Tag}} {{.Size}}' | grep -E '^paralab(-mpi|-proxy)?:'

say "Up"
up_start=$SECONDS
stack_up=yes
"${COMPOSE[@]}" up -d --wait --wait-timeout 420 || fail "the stack did not become healthy"
healthy_time=$((SECONDS - up_start))
"${COMPOSE[@]}" ps --format '{{.Service}}: {{.Status}}'
published=$(docker ps --filter "label=com.docker.compose.project=$PROJECT" \
    --format '{{.Label "com.docker.compose.service"}} {{.Ports}}' | awk '/->/ { print $1 }' | sort -u)
[ "$published" = proxy ] || fail "only the proxy may publish a port; published: $published"
[ "$("${COMPOSE[@]}" exec -T worker-cpu cat /proc/1/comm)" = tini ] || fail "PID 1 of a worker is not tini"
# An orphan (its parent exits at once) is re-parented to PID 1, which must reap it when it ends.
"${COMPOSE[@]}" exec -T worker-cpu sh -c '(sleep 0.2 &) ; true'
sleep 2
zombies=$("${COMPOSE[@]}" exec -T worker-cpu python -c \
    'import glob; print(sum(open(f).read().rsplit(")", 1)[1].split()[0] == "Z" for f in glob.glob("/proc/[0-9]*/stat")))')
[ "$zombies" = 0 ] || fail "$zombies zombie processes in worker-cpu"
echo "worker-cpu: PID 1 is tini, orphans reaped (0 zombies)"

# --- A user and an API token, exactly as docs/deploy.md says.
say "User and token"
"${COMPOSE[@]}" exec -T web python manage.py demo_setup --username smoke --password 'smoke test password' --team 'Smoke team'
TOKEN=$("${COMPOSE[@]}" exec -T web python manage.py create_token smoke --name smoke | tr -d '\r\n')
[ -n "$TOKEN" ] || fail "no token printed"

api() { curl -sS -k --fail-with-body -H "Authorization: Bearer $TOKEN" -H "Content-Type: application/json" "$@"; }
submit_and_wait() {
    local body=$1 limit=$2 job status started=$SECONDS
    job=$(api -X POST "$BASE/api/v1/jobs/" -d "$body" | json 'data["id"]') || fail "submit $body"
    while :; do
        status=$(api "$BASE/api/v1/jobs/$job/" | json 'data["status"]')
        case $status in succeeded | failed | cancelled) break ;; esac
        [ $((SECONDS - started)) -lt "$limit" ] || fail "job $job still $status after ${limit}s"
        sleep 1
    done
    echo "$job"
}

# --- Through the front door: plain HTTP redirects, oversized bodies stop at the proxy.
say "Front door"
location=$(curl -sS -o /dev/null -w '%{redirect_url}' "http://127.0.0.1:$http_port/api/v1/")
[[ $location == "https://127.0.0.1:$https_port/api/v1/" ]] || fail "plain HTTP is not redirected to the published HTTPS port: $location"
too_big=$(head -c 2000000 /dev/zero | curl -sS -k -o /dev/null -w '%{http_code}' -X POST --data-binary @- "$BASE/api/v1/jobs/")
[ "$too_big" = 413 ] || fail "a 2 MB body got $too_big, not the proxy's 413"
# A WebSocket handshake reaches the consumer (101, or 403 when it refuses an anonymous user), not
# Django's HTTP 404 as it would without the proxy's Upgrade headers.
ws=$(curl -sS -k --http1.1 --max-time 5 -o /dev/null -w '%{http_code}' -H 'Connection: Upgrade' -H 'Upgrade: websocket' \
    -H 'Sec-WebSocket-Version: 13' -H 'Sec-WebSocket-Key: c21va2UtdGVzdC1rZXkxMg==' -H "Origin: $BASE" \
    "$BASE/ws/teams/smoke-team/" || true)
[[ $ws == 101 || $ws == 403 ]] || fail "a WebSocket handshake through the proxy got $ws"
echo "HTTP redirects to $location; a 2 MB body gets $too_big; a WebSocket handshake gets $ws"

say "Seed fib job [$FIB_NS], processes, 2 workers"
fib_start=$SECONDS
job=$(submit_and_wait "{\"workload\": \"fib\", \"params\": {\"ns\": [$FIB_NS]}, \"backend\": \"processes\", \"workers\": 2}" 600)
fib_time=$((SECONDS - fib_start))
api "$BASE/api/v1/jobs/$job/" >"$WORK/fib.json"
json '"status", data["status"], "verified", data["verified"], "wall_time", data["wall_time"], "host", data["worker_host"], "result", data["result"]' <"$WORK/fib.json"
[ "$(json 'data["status"], data["verified"]' <"$WORK/fib.json")" = "succeeded True" ] || fail "fib job: $(cat "$WORK/fib.json")"

say "MPI ring, $MPI_RANKS ranks across the MPI hosts"
ring_start=$SECONDS
job=$(submit_and_wait "{\"workload\": \"mpi_ring\", \"backend\": \"mpi\", \"workers\": $MPI_RANKS}" 180)
ring_time=$((SECONDS - ring_start))
api "$BASE/api/v1/jobs/$job/" >"$WORK/ring.json"
json '"status", data["status"], "wall_time", data["wall_time"], "message", (data["result"] or {}).get("message")' <"$WORK/ring.json"
ring_hosts=$(json '" ".join(f"rank{i}={h}" for i, h in enumerate((data["result"] or {}).get("hosts", [])))' <"$WORK/ring.json")
echo "hosts per rank: $ring_hosts"
[ "$(json 'data["status"]' <"$WORK/ring.json")" = succeeded ] || fail "MPI ring: $(cat "$WORK/ring.json")"
[ "$(json 'len(set(data["result"]["hosts"]))' <"$WORK/ring.json")" -ge 2 ] || fail "the ring ran on one host only"

say "Mandelbrot artifact"
job=$(submit_and_wait '{"workload": "mandelbrot", "params": {"width": 320, "height": 240}, "backend": "processes", "workers": 2}' 300)
api "$BASE/api/v1/jobs/$job/" >"$WORK/mandelbrot.json"
read -r artifact url sha256 <<<"$(json 'tuple(data["artifacts"][0][k] for k in ("name", "url", "sha256"))' <"$WORK/mandelbrot.json")"
# The URL the API gives, built from the Host and X-Forwarded-Proto the proxy passed on.
[[ $url == "$BASE/"* ]] || fail "artifact URL $url is not behind the front door $BASE"
api -o "$WORK/$artifact" "$url"
[ "$(sha256sum <"$WORK/$artifact" | cut -d' ' -f1)" = "$sha256" ] ||
    fail "$artifact: SHA-256 differs from the API's; starts with: $(head -c 200 "$WORK/$artifact" | od -c | head -5)"
[ "$(head -c 8 "$WORK/$artifact" | od -An -tx1 | tr -d ' \n')" = 89504e470d0a1a0a ] || fail "$artifact is not a PNG"
echo "$artifact: $(stat -c %s "$WORK/$artifact") bytes, PNG, SHA-256 as the API says"

# --- More web processes behind the proxy (docs/deploy.md, "Many watchers"): nginx resolves `web` to
# every replica when it starts, and spreads requests over them.
say "Two web processes"
"${COMPOSE[@]}" up -d --wait --wait-timeout 180 --no-recreate --scale web=2 web >/dev/null 2>&1 || fail "a second web process did not become healthy"
"${COMPOSE[@]}" restart proxy >/dev/null 2>&1
since=$(date -u +%Y-%m-%dT%H:%M:%SZ)
sleep 1
# The workloads list: no health check asks for it (each replica's asks for the login page itself).
for _ in $(seq 20); do
    api -o /dev/null "$BASE/api/v1/workloads/" || fail "the API through the proxy failed with two web processes"
done
replicas=$("${COMPOSE[@]}" logs --since "$since" web 2>/dev/null | awk '/GET \/api\/v1\/workloads\// { print $1 }' | sort -u | wc -l)
[ "$replicas" = 2 ] || fail "20 requests through the proxy reached $replicas web processes, not 2"
echo "20 requests through the proxy reached both web processes"

say "Down"
"${COMPOSE[@]}" down -v --remove-orphans --timeout 20 >/dev/null 2>&1
stack_up=no

printf '\ndocker-smoke passed: build %ss, healthy %ss after up, fib %ss, MPI ring %ss (%s), total %ss\n' \
    "$build_time" "$healthy_time" "$fib_time" "$ring_time" "$ring_hosts" "$SECONDS"
