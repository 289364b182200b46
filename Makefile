# dirscope: the two set-up commands are `make demo` and `make test`.

BUILD_DIR ?= build
BUILD_TYPE ?= RelWithDebInfo
JOBS ?= $(shell nproc)

# Debian bookworm packages the build, the tests and the demo need.
PACKAGES := cmake g++ make pkg-config libcaf-dev libspdlog-dev \
            libcrypto++-dev catch2 nlohmann-json3-dev libedit-dev python3 openssl \
            libssl-dev libarchive-dev

.PHONY: all deps configure build test demo bench clean

all: build

## deps: install missing Debian packages (as root, or through sudo)
deps:
	@scripts/install-deps.sh $(PACKAGES)

configure: deps
	cmake -S . -B $(BUILD_DIR) -DCMAKE_BUILD_TYPE=$(BUILD_TYPE)

## build: compile build/dirscope-server and build/dirscope-client
build: configure
	cmake --build $(BUILD_DIR) -j $(JOBS) --target dirscope-server dirscope-client

## test: build everything, then run every test (unit, actor, system) via ctest
test: configure
	cmake --build $(BUILD_DIR) -j $(JOBS)
	cd $(BUILD_DIR) && ctest --output-on-failure --timeout 300 -j $(JOBS)

## demo: a server on 127.0.0.1 with two local nodes, and you in its shell
demo: build
	@scripts/demo.sh $(BUILD_DIR)

## bench: hashing and listing benchmarks (results: bench/RESULTS.md)
bench: build
	bench/hash_bench.sh
	python3 bench/ls_bench.py --bin-dir $(BUILD_DIR)
	python3 bench/get_bench.py --bin-dir $(BUILD_DIR)

clean:
	rm -rf $(BUILD_DIR)
