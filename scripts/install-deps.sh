#!/usr/bin/env sh
# Installs what a fresh Debian machine (with only the Rust toolchain) lacks to
# build and test Accord, and does nothing for what is already there:
# - libclang, which RocksDB's bindings generator (bindgen) loads at build time;
# - python3, which runs the independent check of the spec's test vectors
#   (`make test` fails without it rather than skip it);
# - Chromium and its WebDriver (chromium, chromium-driver), which the web
#   client's and dashboard's tests drive;
# - Meta's reference PDQ implementation (PyPI's `pdqhash`, with numpy and
#   Pillow), which accord-pdq's differential test runs through
#   spec/tools/pdq_reference.py. pdqhash builds from source when no wheel
#   fits, so a C++ compiler is installed if missing;
# - fuse3 (fusermount3), with which the power-loss tests' FUSE filesystem
#   (accord-testkit's lossy_fs) mounts when not run as root (as root it
#   mounts with mount(2); either way /dev/fuse must exist).
# - systemd-analyze (systemd) and curl, with which scripts/check-packaging.sh
#   verifies the systemd unit and runs the container's entry point;
# - cargo-fuzz, which CI's bounded fuzzing (scripts/fuzz-ci.sh) runs with
#   the nightly toolchain if there is one, else with the machine's own
#   toolchain allowed nightly flags (RUSTC_BOOTSTRAP=1).
set -eu

SUDO=""
if [ "$(id -u)" -ne 0 ]; then
    SUDO="sudo"
fi

missing=""
if ! ldconfig -p 2>/dev/null | grep -q 'libclang[-.0-9]*\.so'; then
    missing="$missing libclang-dev"
fi
if ! command -v python3 >/dev/null 2>&1; then
    missing="$missing python3 python3-pip"
elif ! python3 -m pip --version >/dev/null 2>&1; then
    missing="$missing python3-pip"
fi
if ! command -v g++ >/dev/null 2>&1; then
    missing="$missing g++"
fi
if ! command -v chromium >/dev/null 2>&1; then
    missing="$missing chromium"
fi
if ! command -v chromedriver >/dev/null 2>&1; then
    missing="$missing chromium-driver"
fi
if ! command -v systemd-analyze >/dev/null 2>&1; then
    missing="$missing systemd"
fi
if ! command -v curl >/dev/null 2>&1; then
    missing="$missing curl"
fi
if ! command -v fusermount3 >/dev/null 2>&1; then
    missing="$missing fuse3"
fi
if [ -n "$missing" ]; then
    echo "installing$missing..." >&2
    $SUDO apt-get update -qq
    # shellcheck disable=SC2086 # one word per package
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq $missing >/dev/null
fi

if ! python3 -c 'import pdqhash, numpy, PIL' 2>/dev/null; then
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

if ! cargo fuzz --version >/dev/null 2>&1; then
    echo "installing cargo-fuzz..." >&2
    cargo install cargo-fuzz --locked
fi
