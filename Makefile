# dirscope: the two set-up commands are `make demo` and `make test`.

BUILD_DIR ?= build
BUILD_TYPE ?= RelWithDebInfo
JOBS ?= $(shell nproc)

# Debian bookworm packages the build, the tests and the demo need.
PACKAGES := cmake g++ make pkg-config libcaf-dev libspdlog-dev \
            libcrypto++-dev catch2 nlohmann-json3-dev libedit-dev python3 openssl \
            libssl-dev libarchive-dev libcpp-httplib-dev curl jq \
            dpkg-dev systemd chromium chromium-driver python3-selenium strace

# The ASan+UBSan build (test-asan) and the libFuzzer build (fuzz*) live in
# build directories of their own.
ASAN_DIR ?= build-asan
# Unit and actor tests, and the system tests of hostile peers.
ASAN_TESTS ?= ^(protocol|node|shell|tls|actors):|^system: test_(security|robustness|raw_node)$$
# LeakSanitizer at every exit (1) or not (0).
ASAN_DETECT_LEAKS ?= 1
# Only `make bench` needs it: the private sshd behind issue 10's scp anchors.
BENCH_PACKAGES := openssh-server
## BENCH_RUNS: interleaved pairs per case of bench/issue10_bench.py
BENCH_RUNS ?= 5
FUZZ_DIR ?= build-fuzz
FUZZ_CXX ?= clang++-14
FUZZ_PACKAGES := clang-14 libfuzzer-14-dev libclang-rt-14-dev zlib1g-dev
## FUZZ_SECONDS: how long `make fuzz` runs each harness
FUZZ_SECONDS ?= 60
FUZZ_SMOKE_SECONDS ?= 20
FUZZ_CAMPAIGN_SECONDS ?= 1800
## FUZZ_HARNESSES: which harnesses to run (default: all of fuzz/)
FUZZ_HARNESSES ?=

.PHONY: all deps configure build test test-asan fuzz-build fuzz fuzz-smoke \
        fuzz-campaign ci demo bench bench-scale bench-fleet package \
        container-check clean

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

## package: the .deb packages dirscope-server and dirscope-client in build/
## (the server's package carries the `dirscope` command too)
package: configure
	cmake --build $(BUILD_DIR) -j $(JOBS) \
	  --target dirscope-server dirscope-client dirscope
	cd $(BUILD_DIR) && cpack -G DEB

## container-check: what the Dockerfile's runtime stage and compose.yaml
## promise, without Docker: the packages installed in a debootstrapped
## bookworm (cached in build/container/), compose's three services in
## namespaces, `ls web1:/` and `nodes` through the API (as root; not in `test`)
CONTAINER_PACKAGES := debootstrap python3-yaml iproute2 curl
container-check:
	@scripts/install-deps.sh $(CONTAINER_PACKAGES)
	BUILD_DIR=$(BUILD_DIR) JOBS=$(JOBS) scripts/container_check.sh

## test-asan: unit, actor and hostile-peer system tests on an ASan+UBSan build
test-asan: deps
	cmake -S . -B $(ASAN_DIR) -DCMAKE_BUILD_TYPE=RelWithDebInfo \
	  -DCMAKE_CXX_FLAGS_RELWITHDEBINFO="-O1 -g" -DDIRSCOPE_SANITIZE=ON
	cmake --build $(ASAN_DIR) -j $(JOBS) --target dirscope-server \
	  dirscope-client protocol_tests node_tests shell_tests tls_tests actor_tests
	DETECT_LEAKS=$(ASAN_DETECT_LEAKS) \
	  scripts/sanitized-ctest.sh $(ASAN_DIR) '$(ASAN_TESTS)' $(JOBS)

## fuzz-build: the libFuzzer harnesses of fuzz/ (clang-14, in build-fuzz/)
fuzz-build: deps
	@scripts/install-deps.sh $(FUZZ_PACKAGES)
	cmake -S . -B $(FUZZ_DIR) -DCMAKE_BUILD_TYPE=RelWithDebInfo \
	  -DCMAKE_CXX_COMPILER=$(FUZZ_CXX) -DDIRSCOPE_FUZZ=ON
	cmake --build $(FUZZ_DIR) -j $(JOBS) --target fuzz_all

## fuzz: run each harness for FUZZ_SECONDS (default 60) and print results
fuzz: fuzz-build
	fuzz/run.sh $(FUZZ_DIR) $(FUZZ_SECONDS) $(FUZZ_HARNESSES)

## fuzz-smoke: each harness for FUZZ_SMOKE_SECONDS (20 s; what CI runs)
fuzz-smoke: fuzz-build
	fuzz/run.sh $(FUZZ_DIR) $(FUZZ_SMOKE_SECONDS) $(FUZZ_HARNESSES)

## fuzz-campaign: each harness for 30 minutes (results: FUZZING.md)
fuzz-campaign: fuzz-build
	fuzz/run.sh $(FUZZ_DIR) $(FUZZ_CAMPAIGN_SECONDS) $(FUZZ_HARNESSES)

## ci: what .ci/run runs: the tests, the sanitizer build, a fuzz smoke run
ci: test test-asan fuzz-smoke

## demo: a server on 127.0.0.1 with two local nodes, and you in its shell
demo: build
	@scripts/demo.sh $(BUILD_DIR)

## bench: issue 10's table (get/put vs scp, cold ls and hash vs openssl, as
## ratios in one run with the load), then the older hash, ls and get
## benchmarks (results: bench/RESULTS.md)
bench: build
	@scripts/install-deps.sh $(BENCH_PACKAGES)
	python3 bench/issue10_bench.py --bin-dir $(BUILD_DIR) --runs $(BENCH_RUNS)
	bench/hash_bench.sh
	python3 bench/ls_bench.py --bin-dir $(BUILD_DIR)
	python3 bench/get_bench.py --bin-dir $(BUILD_DIR)

## bench-scale: one server, one real node, N simulated TLS nodes (issue 9);
## SCALE_NODES=1000,5000 picks N, SCALE_ARGS="--idle-seconds 10 --results"
SCALE_NODES ?=
SCALE_ARGS ?=
bench-scale: build
	cmake --build $(BUILD_DIR) -j $(JOBS) --target dirscope-swarm
	SCALE_NODES=$(SCALE_NODES) python3 bench/scale_bench.py \
	  --bin-dir $(BUILD_DIR) $(SCALE_ARGS)

## bench-fleet: find all:/etc --name passwd and ls all:/ across FLEET_NODES
## simulated nodes (issue 7; target: find answered within 3 s at 1,000)
FLEET_NODES ?= 1000
bench-fleet: build
	cmake --build $(BUILD_DIR) -j $(JOBS) --target dirscope-swarm
	python3 bench/fleet_bench.py --bin-dir $(BUILD_DIR) --nodes $(FLEET_NODES)

clean:
	rm -rf $(BUILD_DIR) $(ASAN_DIR) $(FUZZ_DIR)
