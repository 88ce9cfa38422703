#!/bin/sh
# Entry point of the container image (packaging/Containerfile): on the first
# start, writes a configuration that listens on all of the container's
# interfaces for clients (port ACCORD_API_PORT, default 8080) and peers
# (ACCORD_P2P_PORT, default 4001), named by ACCORD_NAME (default
# localhost), with peers from ACCORD_BOOTSTRAP (space-separated p2p
# addresses) and the admin endpoint on ACCORD_ADMIN (default
# 127.0.0.1:8081); then runs the node in the foreground, so that the
# container stops when the node does. ACCORD_DATA moves the data directory
# (default /var/lib/accord, the image's volume).
set -eu
data="${ACCORD_DATA:-/var/lib/accord}"
if [ ! -f "$data/accord.toml" ]; then
    set -- --data-dir "$data" --name "${ACCORD_NAME:-localhost}" \
        --api "0.0.0.0:${ACCORD_API_PORT:-8080}" --p2p "/ip4/0.0.0.0/tcp/${ACCORD_P2P_PORT:-4001}" \
        --admin "${ACCORD_ADMIN:-127.0.0.1:8081}"
    for peer in ${ACCORD_BOOTSTRAP:-}; do
        set -- "$@" --bootstrap "$peer"
    done
    accord-node init "$@"
fi
exec accord-node run --data-dir "$data"
