# Parley — the two commands: `make run` and `make test`. See README.md.
SHELL := /bin/bash
JOBS ?= 2
BUILD_TYPE ?= RelWithDebInfo
RELEASE_DIR := build/release
SANITIZE_DIR := build/sanitize
CMAKE_FLAGS ?=
PARLEY_FLAGS ?=

.PHONY: all deps node-deps build build-sanitize run test test-release test-sanitize bench clean format

all: build

deps:
	@bash scripts/install-deps.sh

# npm packages of the real-time end-to-end tests (tests/e2e/node), after the Debian ones.
node-deps: deps
	@bash scripts/install-node-deps.sh

$(RELEASE_DIR)/CMakeCache.txt: | deps
	cmake -S . -B $(RELEASE_DIR) -DCMAKE_BUILD_TYPE=$(BUILD_TYPE) $(CMAKE_FLAGS)

$(SANITIZE_DIR)/CMakeCache.txt: | deps
	cmake -S . -B $(SANITIZE_DIR) -DCMAKE_BUILD_TYPE=Debug -DPARLEY_SANITIZE=ON $(CMAKE_FLAGS)

# The server binary ends up at ./build/parley (a link into the release build).
build: deps $(RELEASE_DIR)/CMakeCache.txt
	cmake --build $(RELEASE_DIR) -j$(JOBS)
	@ln -sfn release/parley build/parley

build-sanitize: deps $(SANITIZE_DIR)/CMakeCache.txt
	cmake --build $(SANITIZE_DIR) -j$(JOBS)

# Serves on http://127.0.0.1:8080 with SQLite at var/parley.db and the development SMS
# sender (codes appear in this log). Extra flags: make run PARLEY_FLAGS="--log-level debug".
run: build
	@mkdir -p var
	./build/parley serve $(PARLEY_FLAGS)

# Every test: unit and end-to-end on the release build, then all again under
# AddressSanitizer + UndefinedBehaviorSanitizer.
test: node-deps build build-sanitize
	@bash scripts/run-tests.sh $(RELEASE_DIR) $(SANITIZE_DIR)

test-release: node-deps build
	@bash scripts/run-tests.sh $(RELEASE_DIR)

test-sanitize: node-deps build-sanitize
	@bash scripts/run-tests.sh $(SANITIZE_DIR)

bench: node-deps build
	@echo "== chat throughput: messages acked on disk and delivered, end to end"
	@PARLEY_BINARY=$(CURDIR)/build/parley node bench/chat_throughput.mjs
	@echo "(the side-by-side comparison with Node's socket.io arrives with the benchmarks issue)"

format:
	@git ls-files '*.cpp' '*.hpp' | xargs clang-format -i

clean:
	rm -rf build
