# The README's two commands are `make run` and `make test`; each sets everything up first.
SHELL := /bin/bash
export PATH := $(CURDIR)/.tools/node/node_modules/.bin:$(HOME)/.cargo/bin:$(PATH)

.PHONY: run test setup sandbox bindings bench fmt package

## Install everything, build, and start Ferry (a development build, with its own data),
## against the provider sandbox unless you configured real client IDs.
run: setup
	npm run build --workspace ui
	scripts/run.sh

## The provider sandbox alone, for trying its pages or pointing another build at it.
sandbox:
	cargo run --locked -p ferry-sandbox -- --quotas --latency-ms 80

## Install everything and run every check and test.
test: setup
	scripts/test.sh

setup:
	scripts/setup.sh

## The release .deb and .rpm, in target/release/bundle/ (icons, desktop entry with the
## ferry:// handler, AppStream metadata).
package: setup
	scripts/package.sh

## Regenerate ui/src/bindings.ts after changing the IPC contract.
bindings:
	FERRY_UPDATE_BINDINGS=1 cargo test --locked --test bindings

## Start-up time and memory of a release build, the keeper over a simulated day with 100
## accounts, the cost of sealing tokens and unlocking the vault, and search over 100,000
## messages; each prints its figures.
bench: setup
	npm run build --workspace ui
	cargo build --release --locked --features custom-protocol
	rm -f target/bench/mail.sqlite3 target/bench/mail.sqlite3-* && mkdir -p target/bench
	# An absolute path: cargo runs a benchmark from its package's folder.
	FERRY_BENCH_DB=$(CURDIR)/target/bench/mail.sqlite3 cargo bench --locked -p ferry-core --bench mail_search
	FERRY_BENCH_MAIL_DB=$(CURDIR)/target/bench/mail.sqlite3 tests/session/run.sh tests/bench/footprint.sh target/release/ferry
	cargo bench --locked -p ferry-core --bench keeper_day
	cargo bench --locked -p ferry-core --bench vault_crypto
	cargo bench --locked -p ferry-core --bench mail_sync

fmt:
	cargo fmt --all
