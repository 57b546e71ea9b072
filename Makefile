# Thin wrapper over CMake. `make demo` and `make test` are the two set-up commands (see README.md).
BUILD      ?= build
JOBS       ?= $(shell nproc)
FUZZ_SECONDS ?= 60
# What the library and CLI need (`make demo`), and what only the tests and benchmarks need (Chromium
# renders the HTML report in test_report).
BUILD_PACKAGES := cmake g++ make libedf-dev libeigen3-dev libfftw3-dev nlohmann-json3-dev libcli11-dev libfmt-dev \
                  libxgboost-dev libssl-dev
TEST_PACKAGES  := doctest-dev libbenchmark-dev zlib1g-dev chromium snakemake
# The Python package (python/, optional for the C++ build) and its tests.
TEST_PACKAGES  += python3-dev pybind11-dev python3-setuptools python3-pip python3-venv python3-pytest \
                  python3-numpy python3-pandas python3-mne
DEBIAN_PACKAGES := $(BUILD_PACKAGES) $(TEST_PACKAGES)

.PHONY: deps deps-build build demo test bench test-sanitize test-tsan fuzz clean python

# Installs only what is missing (needs root, as on a fresh Debian 12 machine): `deps` everything,
# `deps-build` only what building the library and CLI needs.
deps deps-build:
	@missing=$$(for p in $(if $(filter deps-build,$@),$(BUILD_PACKAGES),$(DEBIAN_PACKAGES)); do \
	  dpkg -s $$p >/dev/null 2>&1 || echo $$p; done); \
	if [ -n "$$missing" ]; then \
	  echo "Installing Debian packages:" $$missing; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing; \
	fi

build: deps
	cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=Release -DPSGKIT_BUILD_TESTS=ON -DPSGKIT_BUILD_BENCH=ON
	cmake --build $(BUILD) -j $(JOBS)

# The Python package in $(BUILD)/python/psgkit (use with PYTHONPATH=$(BUILD)/python; README "From Python").
python: deps
	cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=Release
	cmake --build $(BUILD) -j $(JOBS) --target psgkit_python

# The demo needs only the CLI: configured without tests and benchmarks, so their packages are not needed.
demo: deps-build
	cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=Release -DPSGKIT_BUILD_TESTS=OFF -DPSGKIT_BUILD_BENCH=OFF
	cmake --build $(BUILD) -j $(JOBS) --target psgkit_cli
	./examples/demo.sh $(BUILD)/psgkit out/demo

test: build
	ctest --test-dir $(BUILD) --output-on-failure -j $(JOBS)

# Release build of the benchmarks, then bench/run.sh: out/bench/*.json (Google Benchmark + whole-process
# timings) and out/bench/results.md. About 2 minutes on 2 cores once built (notes/bench.md).
bench: deps
	cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=Release -DPSGKIT_BUILD_BENCH=ON
	cmake --build $(BUILD) -j $(JOBS) --target psgkit_bench psgkit_bench_report psgkit_cli
	cmake --build $(BUILD) -j $(JOBS) --target psgkit_python || echo "Python package not built: its timings are skipped"
	./bench/run.sh $(BUILD) out/bench

# ASan + UBSan (GCC) build of the whole test suite in build-sanitize; SANITIZE_EXCLUDE is a ctest -E
# regex of tests too slow under ASan (see notes/reliability.md).
SANITIZE_EXCLUDE ?=
test-sanitize: deps
	cmake -S . -B build-sanitize -DCMAKE_BUILD_TYPE=RelWithDebInfo -DPSGKIT_SANITIZE=ON -DPSGKIT_BUILD_BENCH=OFF
	cmake --build build-sanitize -j $(JOBS)
	ASAN_OPTIONS=detect_leaks=1 LSAN_OPTIONS=suppressions=$(CURDIR)/.ci/lsan.supp \
	UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
	  ctest --test-dir build-sanitize --output-on-failure -j $(JOBS) $(if $(SANITIZE_EXCLUDE),-E '$(SANITIZE_EXCLUDE)')

# ThreadSanitizer on the thread-safety tests (8 threads opening, reading, parsing; cohort --jobs relies
# on them). Not in .ci/run: a third whole build would not fit CI's time comfortably.
test-tsan: deps
	cmake -S . -B build-tsan -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_CXX_FLAGS=-fsanitize=thread \
	  -DCMAKE_EXE_LINKER_FLAGS=-fsanitize=thread -DPSGKIT_BUILD_BENCH=OFF
	cmake --build build-tsan -j $(JOBS) --target test_threads
	TSAN_OPTIONS=halt_on_error=1 build-tsan/tests/test_threads

# libFuzzer harnesses (fuzz/) built with clang in build-fuzz, each run FUZZ_SECONDS; needs clang's runtimes.
fuzz: deps
	@command -v clang++ >/dev/null && [ -n "$$(ls /usr/lib/llvm-*/lib/clang/*/lib/linux/libclang_rt.fuzzer-x86_64.a 2>/dev/null)" ] || \
	  { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq clang libclang-rt-dev; }
	cmake -S . -B build-fuzz -DCMAKE_CXX_COMPILER=clang++ -DCMAKE_BUILD_TYPE=RelWithDebInfo -DPSGKIT_FUZZ=ON \
	  -DPSGKIT_BUILD_TESTS=OFF -DPSGKIT_BUILD_BENCH=OFF
	cmake --build build-fuzz -j $(JOBS)
	./fuzz/run.sh build-fuzz $(FUZZ_SECONDS)

clean:
	rm -rf $(BUILD) build-sanitize build-tsan build-fuzz out
