#!/usr/bin/env bash
# CI's check of the packaging in packaging/ (docs/operating.md):
# 1. the systemd unit verifies (`systemd-analyze verify`, with ExecStart
#    pointed at the binary just built); any warning fails, since systemd
#    ignores a misspelt hardening directive with only a warning;
# 2. the container image definition is built where a builder runs
#    (docker or podman), otherwise linted: every COPY source exists, the
#    final stage runs as a non-root user, the entry point is in exec form,
#    base images name a tag;
# 3. the container's entry point, run here with the binary just built,
#    writes a configuration that listens on all interfaces, the node
#    answers /readyz, and stops cleanly on SIGTERM.
# Usage: scripts/check-packaging.sh PATH/TO/accord-node
set -euo pipefail
cd "$(dirname "$0")/.."
binary="$(realpath "${1:?usage: check-packaging.sh PATH/TO/accord-node}")"
work="$(mktemp -d)"
node_pid=""
cleanup() {
    if [ -n "$node_pid" ]; then kill -9 "$node_pid" 2>/dev/null || true; fi
    rm -rf "$work"
}
trap cleanup EXIT
fail() { echo "check-packaging: $*" >&2; exit 1; }

# 1. The systemd unit.
command -v systemd-analyze >/dev/null || fail "systemd-analyze is missing (scripts/install-deps.sh installs systemd)"
sed "s|/usr/local/bin/accord-node|$binary|" packaging/accord-node.service >"$work/accord-node.service"
if ! out="$(systemd-analyze verify "$work/accord-node.service" 2>&1)" || [ -n "$out" ]; then
    fail "the systemd unit does not verify: $out"
fi
echo "systemd unit: verifies" >&2

# 2. The container image definition.
file=packaging/Containerfile
if docker info >/dev/null 2>&1; then
    docker build -f "$file" -t accord-node:check . || fail "docker build failed"
elif command -v podman >/dev/null && podman info >/dev/null 2>&1; then
    podman build -f "$file" -t accord-node:check . || fail "podman build failed"
else
    while read -r src; do
        [ -e "$src" ] || fail "$file copies $src, which does not exist"
    done < <(grep -E '^COPY ' "$file" | grep -v -- '--from=' | awk '{for (i = 2; i < NF; i++) print $i}')
    last_user="$(grep -E '^USER ' "$file" | tail -n 1 | awk '{print $2}')"
    [ -n "$last_user" ] && [ "$last_user" != root ] && [ "$last_user" != 0 ] || fail "$file: the image must not run as root"
    grep -qE '^ENTRYPOINT \[' "$file" || fail "$file: ENTRYPOINT must be in exec form"
    if grep -E '^FROM ' "$file" | awk '{print $2}' | grep -vqE ':[^/]+$'; then
        fail "$file: every base image names a tag"
    fi
    echo "Containerfile: linted (no container builder on this machine)" >&2
fi

# 3. The container's entry point, for real. The ports are picked free on
# all interfaces, two distinct ones at once; a start that fails (a port
# taken meanwhile by another process) is tried again on new ones, three
# times at most.
free_ports() {
    python3 -c 'import socket
a, b = socket.socket(), socket.socket()
a.bind(("0.0.0.0", 0)); b.bind(("0.0.0.0", 0))
print(a.getsockname()[1], b.getsockname()[1])'
}
mkdir -p "$work/bin"
ln -s "$binary" "$work/bin/accord-node"
ready=""
for attempt in 1 2 3; do
    read -r api_port p2p_port < <(free_ports)
    rm -rf "$work/data"
    PATH="$work/bin:$PATH" ACCORD_DATA="$work/data" ACCORD_NAME=check.example.org \
        ACCORD_API_PORT="$api_port" ACCORD_P2P_PORT="$p2p_port" ACCORD_ADMIN=127.0.0.1:0 \
        sh packaging/container-entrypoint.sh >"$work/node.log" 2>&1 &
    node_pid=$!
    for _ in $(seq 1 300); do
        if curl -fsS "http://127.0.0.1:$api_port/readyz" >/dev/null 2>&1; then ready=1; break; fi
        kill -0 "$node_pid" 2>/dev/null || break
        sleep 0.1
    done
    [ -n "$ready" ] && break
    echo "check-packaging: attempt $attempt: the node did not become ready:" >&2
    tail -n 20 "$work/node.log" >&2
    kill -9 "$node_pid" 2>/dev/null || true
    wait "$node_pid" 2>/dev/null || true
    node_pid=""
done
[ -n "$ready" ] || fail "the container entry point's node never became ready"
grep -q "listen = \"0.0.0.0:$api_port\"" "$work/data/accord.toml" || fail "the entry point's configuration does not listen on all interfaces"
grep -q 'name = "check.example.org"' "$work/data/accord.toml" || fail "the entry point's configuration lacks ACCORD_NAME"
kill -TERM "$node_pid"
status=0
wait "$node_pid" || status=$?
node_pid=""
[ "$status" -eq 0 ] || { cat "$work/node.log" >&2; fail "the node exited with status $status on SIGTERM"; }
echo "container entry point: the node became ready and stopped cleanly on SIGTERM" >&2
