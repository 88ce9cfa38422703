# The two commands of the README, plus the checks CI runs.
# Each first installs what a fresh Debian machine lacks (libclang).

.PHONY: deps test run check bench

deps:
	@./scripts/install-deps.sh

## Runs the whole test suite.
test: deps
	cargo test --workspace

## Runs a node with the default configuration in ./accord-data.
run: deps
	cargo run --release -p accord-node

## Formatting and lints, as CI runs them.
check: deps
	cargo fmt --all --check
	cargo clippy --workspace --all-targets -- -D warnings

## Micro-benchmarks.
bench: deps
	cargo bench -p accord-proto
