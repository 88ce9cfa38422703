#!/usr/bin/env sh
# Installs the system packages a fresh Debian machine lacks to build and
# test Accord: libclang, which RocksDB's bindings generator (bindgen) loads
# at build time, and python3, which runs the independent check of the
# spec's test vectors (`make test` fails without it rather than skip it).
# Does nothing when they are already there.
set -eu

missing=""
if ! ldconfig -p 2>/dev/null | grep -q 'libclang[-.0-9]*\.so'; then
    missing="$missing libclang-dev"
fi
if ! command -v python3 >/dev/null 2>&1; then
    missing="$missing python3"
fi
if [ -z "$missing" ]; then
    exit 0
fi

SUDO=""
if [ "$(id -u)" -ne 0 ]; then
    SUDO="sudo"
fi
echo "installing$missing..." >&2
$SUDO apt-get update -qq
# shellcheck disable=SC2086 # one word per package
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq $missing >/dev/null
