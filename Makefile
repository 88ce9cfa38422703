# The two commands of the README, plus the checks CI runs.
# Each first installs what a fresh Debian machine lacks (scripts/install-deps.sh).

.PHONY: deps test vectors run check bench fuzz fuzz-ci

deps:
	@./scripts/install-deps.sh

## Runs the whole test suite: the Rust tests, then the independent Python
## check of the spec's test vectors. A machine that cannot run the check
## fails the target rather than skipping it (scripts/install-deps.sh
## installs python3).
test: deps
	cargo test --workspace
	$(MAKE) vectors

## The independent Python check of spec/vectors alone.
vectors:
	@command -v python3 >/dev/null || { echo "python3 not found: the vector cross-check cannot run" >&2; exit 1; }
	python3 spec/tools/verify_vectors.py

## Runs a node with the default configuration in ./accord-data.
run: deps
	cargo run --release -p accord-node

## Formatting and lints, as CI runs them.
check: deps
	cargo fmt --all --check
	cargo clippy --workspace --all-targets -- -D warnings

## Benchmarks (BENCHMARKS.md): every load scenario on real nodes, each
## figure beside a ceiling measured in the same run, then the criterion
## micro-benchmarks. `make bench SCENARIOS="ingest fanout"` runs a few.
bench: deps
	cargo run --release -p accord-bench -- $(SCENARIOS)
	cargo bench -p accord-proto -p accord-bench

## Runs every fuzz target for FUZZ_SECONDS (default 60) each, from its
## committed corpus (fuzz/corpus/TARGET, which grows: minimize it with
## `cargo +nightly fuzz cmin` before committing) and the spec's test
## vectors; needs nightly and cargo-fuzz (CONTRIBUTING.md).
FUZZ_SECONDS ?= 60
fuzz: deps
	cd fuzz && for t in $$(cargo +nightly fuzz list); do \
		mkdir -p corpus/$$t && \
		cargo +nightly fuzz run -O -a $$t corpus/$$t ../spec/vectors -- -max_total_time=$(FUZZ_SECONDS) || exit 1; \
	done

## CI's bounded fuzzing (scripts/fuzz-ci.sh): every target for 10 s from
## its committed corpus, which it leaves unchanged; fails without nightly.
fuzz-ci: deps
	./scripts/fuzz-ci.sh
