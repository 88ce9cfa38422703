#!/usr/bin/env sh
# Installs the system packages a fresh Debian machine lacks to build and test
# Accord, and does nothing for those already there:
# - libclang, which RocksDB's bindings generator (bindgen) loads at build time;
# - Chromium and its WebDriver (chromium, chromium-driver), which the web
#   client's and dashboard's tests drive.
set -eu

missing=""
if ! ldconfig -p 2>/dev/null | grep -q 'libclang[-.0-9]*\.so'; then
    missing="$missing libclang-dev"
fi
if ! command -v chromium >/dev/null 2>&1; then
    missing="$missing chromium"
fi
if ! command -v chromedriver >/dev/null 2>&1; then
    missing="$missing chromium-driver"
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
