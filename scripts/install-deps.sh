#!/usr/bin/env sh
# Installs the system packages a fresh Debian machine lacks to build Accord:
# libclang, which RocksDB's bindings generator (bindgen) loads at build time.
# Does nothing when they are already there.
set -eu

if ldconfig -p 2>/dev/null | grep -q 'libclang[-.0-9]*\.so'; then
    exit 0
fi

SUDO=""
if [ "$(id -u)" -ne 0 ]; then
    SUDO="sudo"
fi
echo "installing libclang-dev (needed by RocksDB's bindgen)..." >&2
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq libclang-dev >/dev/null
