#!/usr/bin/env bash
# CI's bounded fuzzing: builds every cargo-fuzz target of fuzz/ once
# (release, debug assertions, AddressSanitizer), then runs each for
# FUZZ_SECONDS (default 10) from its committed corpus, fuzz/corpus/TARGET.
# The committed corpus is only read: new inputs go to a scratch directory.
# Fails, never skips, when cargo-fuzz is missing,
# when a target has no committed corpus, and on any crash, timeout or leak
# (the input is left in fuzz/artifacts/TARGET/; CONTRIBUTING.md says how to
# replay it).
# The build goes to FUZZ_TARGET_DIR, by default `fuzz` inside
# CARGO_TARGET_DIR (kept between CI runs, so an unchanged tree rebuilds
# nothing).
set -euo pipefail
cd "$(dirname "$0")/../fuzz"

seconds="${FUZZ_SECONDS:-10}"
target_dir="${FUZZ_TARGET_DIR:-${CARGO_TARGET_DIR:-$PWD/target}/fuzz}"

# The sanitizer and coverage flags cargo-fuzz passes are unstable: with
# nightly they are allowed; a machine without nightly builds with its own
# toolchain told to allow them (RUSTC_BOOTSTRAP=1), rather than skip.
if cargo +nightly --version >/dev/null 2>&1; then
    toolchain="+nightly"
else
    echo "no nightly Rust toolchain: building the fuzzers with $(cargo --version) and RUSTC_BOOTSTRAP=1" >&2
    toolchain=""
    export RUSTC_BOOTSTRAP=1
fi
if ! cargo fuzz --version >/dev/null 2>&1; then
    echo "cargo-fuzz is not installed: the fuzzers cannot run (scripts/install-deps.sh installs it)" >&2
    exit 1
fi

cargo $toolchain fuzz build -O -a --target-dir "$target_dir"
scratch="$(mktemp -d)"
trap 'rm -rf "$scratch"' EXIT
for target in $(cargo $toolchain fuzz list); do
    if [ -z "$(ls -A "corpus/$target" 2>/dev/null)" ]; then
        echo "fuzz target $target has no committed corpus in fuzz/corpus/$target" >&2
        exit 1
    fi
    mkdir -p "$scratch/$target"
    echo "fuzzing $target for ${seconds}s" >&2
    cargo $toolchain fuzz run -O -a --target-dir "$target_dir" "$target" "$scratch/$target" "corpus/$target" -- \
        -max_total_time="$seconds" -timeout=10 -print_final_stats=1 2>"$scratch/$target.log" || {
        tail -n 60 "$scratch/$target.log" >&2
        echo "fuzz target $target failed (its input is in fuzz/artifacts/$target/)" >&2
        exit 1
    }
    grep -E '^(stat::number_of_executed_units|stat::peak_rss_mb)|^#[0-9]+.*DONE' "$scratch/$target.log" >&2 || true
done
