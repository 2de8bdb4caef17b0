# Parley — the two commands: `make run` and `make test`. See README.md.
SHELL := /bin/bash
JOBS ?= 2
BUILD_TYPE ?= RelWithDebInfo
RELEASE_DIR := build/release
SANITIZE_DIR := build/sanitize
CMAKE_FLAGS ?=
PARLEY_FLAGS ?=

.PHONY: all deps test-deps node-deps web-deps web build build-sanitize run cluster test test-release test-sanitize bench clean format

all: build web

# Debian packages to build and run; test-deps adds the test tools and Chromium.
deps:
	@bash scripts/install-deps.sh

test-deps:
	@bash scripts/install-deps.sh test

# npm packages of the end-to-end tests (tests/e2e/node) and of the benchmarks' Node
# socket.io peer (bench/peers/socketio), after the Debian ones.
node-deps: test-deps
	@bash scripts/install-node-deps.sh tests/e2e/node
	@bash scripts/install-node-deps.sh bench/peers/socketio

# The web client (web/, TypeScript + Vite) is built into web/dist, which the server serves.
web-deps: deps
	@bash scripts/install-node-deps.sh web

WEB_SOURCES := $(shell find web/src web/public -type f 2>/dev/null) web/index.html \
	web/package-lock.json web/vite.config.ts web/tsconfig.json

web/dist/index.html: $(WEB_SOURCES) | web-deps
	cd web && npm run --silent build

web: web-deps web/dist/index.html

$(RELEASE_DIR)/CMakeCache.txt: | deps
	cmake -S . -B $(RELEASE_DIR) -DCMAKE_BUILD_TYPE=$(BUILD_TYPE) $(CMAKE_FLAGS)

$(SANITIZE_DIR)/CMakeCache.txt: | deps
	cmake -S . -B $(SANITIZE_DIR) -DCMAKE_BUILD_TYPE=Debug -DPARLEY_SANITIZE=ON $(CMAKE_FLAGS)

# The server binary ends up at ./build/parley (a link into the release build), the load
# generator at ./build/parley-load.
build: deps $(RELEASE_DIR)/CMakeCache.txt
	cmake --build $(RELEASE_DIR) -j$(JOBS)
	@ln -sfn release/parley build/parley
	@ln -sfn release/parley-load build/parley-load

build-sanitize: deps $(SANITIZE_DIR)/CMakeCache.txt
	cmake --build $(SANITIZE_DIR) -j$(JOBS)

# Serves on http://127.0.0.1:8080 with SQLite at var/parley.db, the web client from web/dist
# and the development SMS sender (codes appear in this log).
# Extra flags: make run PARLEY_FLAGS="--log-level debug".
run: build web
	@mkdir -p var
	./build/parley serve $(PARLEY_FLAGS)

# Two nodes (n1, n2) on PostgreSQL behind nginx on http://127.0.0.1:8080, with PostgreSQL and
# Redis of their own under var/cluster (fresh each time); Ctrl-C stops everything.
cluster: build web
	@bash scripts/cluster.sh

# Every test: unit and end-to-end on the release build, then all again under
# AddressSanitizer + UndefinedBehaviorSanitizer.
test: node-deps web build build-sanitize
	@bash scripts/run-tests.sh $(RELEASE_DIR) $(SANITIZE_DIR)

test-release: node-deps web build
	@bash scripts/run-tests.sh $(RELEASE_DIR)

test-sanitize: node-deps web build-sanitize
	@bash scripts/run-tests.sh $(SANITIZE_DIR)

# Every workload against Parley and the Node socket.io peer, side by side (bench/README.md).
# Extra arguments: make bench BENCH_FLAGS="throughput --pairs 200".
BENCH_FLAGS ?=
bench: node-deps build
	@/usr/bin/python3 bench/run.py $(BENCH_FLAGS)

format:
	@git ls-files '*.cpp' '*.hpp' | xargs clang-format -i

clean:
	rm -rf build web/dist
