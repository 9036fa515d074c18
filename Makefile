# Thin wrapper over CMake. The two commands a newcomer needs:
#   make run    - bootstrap, build, start a self-contained instance (yubin dev)
#   make check  - bootstrap, build, every test
# Builds: build/ (gcc, the product), build-asan/ (clang, ASan+UBSan, every
# test again), build-fuzz/ (clang, libFuzzer harnesses).

PREFIX   ?= /usr/local
JOBS     ?= $(shell nproc 2>/dev/null || echo 2)
PYTHON   ?= /usr/bin/python3
DEV_DIR  ?= var/dev
FUZZ_SECONDS ?= 10
# end-to-end workers: most tests wait on processes, so more than the CPUs
E2E_JOBS ?= $(shell echo $$(( $(JOBS) * 2 )))
CMAKE_GEN := $(shell command -v ninja >/dev/null 2>&1 && echo "-G Ninja")

.PHONY: all build build-asan build-fuzz bootstrap run check unit e2e asan fuzz-smoke \
	install clean

all: build

bootstrap:
	@./scripts/bootstrap

build:
	@cmake -S . -B build $(CMAKE_GEN) -DCMAKE_BUILD_TYPE=RelWithDebInfo \
		-DCMAKE_C_COMPILER=gcc -DCMAKE_INSTALL_PREFIX=$(PREFIX) >/dev/null
	@cmake --build build -j $(JOBS)

build-asan:
	@cmake -S . -B build-asan $(CMAKE_GEN) -DCMAKE_BUILD_TYPE=Debug \
		-DCMAKE_C_COMPILER=clang -DYUBIN_SANITIZE=ON >/dev/null
	@cmake --build build-asan -j $(JOBS)

build-fuzz:
	@cmake -S . -B build-fuzz $(CMAKE_GEN) -DCMAKE_BUILD_TYPE=Debug \
		-DCMAKE_C_COMPILER=clang -DYUBIN_FUZZ=ON -DYUBIN_TESTS=OFF >/dev/null
	@cmake --build build-fuzz -j $(JOBS)

run: bootstrap build
	./build/bin/yubin dev $(DEV_DIR)

# Every test: unit and end-to-end on the gcc build, the same again on the
# sanitizer build, then a short run of every fuzz harness.
check: bootstrap
	@$(MAKE) --no-print-directory build
	@$(MAKE) --no-print-directory unit e2e BUILD_DIR=build
	@$(MAKE) --no-print-directory build-asan
	@$(MAKE) --no-print-directory unit e2e BUILD_DIR=build-asan
	@$(MAKE) --no-print-directory build-fuzz
	@$(MAKE) --no-print-directory fuzz-smoke
	@echo "make check: all passed"

BUILD_DIR ?= build
unit:
	@echo "== unit tests ($(BUILD_DIR))"
	@cd $(BUILD_DIR) && ctest --output-on-failure -j $(JOBS)

# pytest-xdist spreads the files over E2E_JOBS workers (E2E_JOBS=1: serial)
E2E_XDIST = $(shell [ "$(E2E_JOBS)" -gt 1 ] && $(PYTHON) -c 'import xdist' 2>/dev/null \
	&& echo "-n $(E2E_JOBS) --dist loadfile")
e2e:
	@echo "== end-to-end tests ($(BUILD_DIR))"
	@YUBIN_BIN=$(CURDIR)/$(BUILD_DIR)/bin ASAN_OPTIONS=detect_leaks=1:abort_on_error=0 \
		UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
		$(PYTHON) -m pytest -q -p no:cacheprovider $(E2E_XDIST) tests/e2e

fuzz-smoke:
	@echo "== fuzz smoke ($(FUZZ_SECONDS)s per harness)"
	@./fuzz/run-smoke build-fuzz/fuzz $(FUZZ_SECONDS)

install: build
	@cmake --install build --prefix $(PREFIX)

clean:
	rm -rf build build-asan build-fuzz
