#!/usr/bin/env sh
# Installs what a fresh Debian machine (with Rust, python3 and pip) lacks to
# build and test Accord. Does nothing for what is already there.
#
# - libclang, which RocksDB's bindings generator (bindgen) loads at build time;
# - Meta's reference PDQ implementation (PyPI's `pdqhash`, with numpy and
#   Pillow), which accord-pdq's differential test runs through
#   spec/tools/pdq_reference.py. pdqhash builds from source when no wheel
#   fits, so a C++ compiler is installed if missing.
set -eu

SUDO=""
if [ "$(id -u)" -ne 0 ]; then
    SUDO="sudo"
fi
APT_UPDATED=""
apt_install() {
    if [ -z "$APT_UPDATED" ]; then
        $SUDO apt-get update -qq
        APT_UPDATED=1
    fi
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "$@" >/dev/null
}

if ! ldconfig -p 2>/dev/null | grep -q 'libclang[-.0-9]*\.so'; then
    echo "installing libclang-dev (needed by RocksDB's bindgen)..." >&2
    apt_install libclang-dev
fi

if ! python3 -c 'import pdqhash, numpy, PIL' 2>/dev/null; then
    if ! command -v g++ >/dev/null 2>&1; then
        echo "installing g++ (pdqhash may build from source)..." >&2
        apt_install g++
    fi
    if ! python3 -m pip --version >/dev/null 2>&1; then
        echo "installing pip..." >&2
        apt_install python3-pip
    fi
    echo "installing Meta's reference PDQ (pip: pdqhash numpy pillow)..." >&2
    # Debian marks its Python as externally managed; the packages are
    # test tools, installed for this user.
    python3 -m pip install --user --quiet pdqhash numpy pillow 2>/dev/null \
        || python3 -m pip install --user --quiet --break-system-packages pdqhash numpy pillow \
        || python3 -m pip install --quiet pdqhash numpy pillow
    python3 -c 'import pdqhash, numpy, PIL' || {
        echo "Meta's reference PDQ is still not importable by python3" >&2
        exit 1
    }
fi
