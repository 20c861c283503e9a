# Thin wrapper over scripts/setup.sh, CMake presets and ctest. `make demo` and `make test` are
# the two commands of the README; CI (.ci/run) runs `make test`.
JOBS ?= $(shell nproc)
TESSERA := build/release/tessera

.PHONY: setup build demo test test-fast test-asan test-fuzz bench format clean

setup:
	bash scripts/setup.sh

build: setup
	cmake --preset release >/dev/null
	cmake --build --preset release -j $(JOBS)

# The main job: build the default corpus from Debian package text, train a small Llama for a
# few minutes, print perplexity before/after and samples (tessera quickstart).
demo: build
	$(TESSERA) quickstart --out quickstart

# Everything CI runs: the sanitizer build of the core layers' tests, a short run of every fuzz
# target, then the whole release suite (last, so its summary closes the log).
test: build
	$(MAKE) test-asan test-fuzz
	ctest --preset release -j $(JOBS)

test-fast: build
	ctest --preset release -j $(JOBS) -LE slow

test-asan: setup
	cmake --preset asan-ubsan >/dev/null
	cmake --build --preset asan-ubsan -j $(JOBS) --target test_core test_kernels
	cd build/asan-ubsan && ctest -j $(JOBS) -L 'core|kernels' -LE slow --output-on-failure

test-fuzz: setup
	cmake --preset fuzz >/dev/null
	cmake --build --preset fuzz -j $(JOBS) --target fuzz_targets
	bash tests/fuzz/run_all.sh build/fuzz/tests/fuzz 20

bench: build
	$(TESSERA) bench gemm
	$(TESSERA) bench ops

format:
	git ls-files '*.h' '*.cpp' | xargs clang-format -i

clean:
	rm -rf build
