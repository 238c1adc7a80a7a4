# The two commands of the README:
#   make run    install what is missing, build, run the server (simulator on)
#   make test   install what is missing, build, run every test
BUILD ?= build
BUILD_TYPE ?= RelWithDebInfo
JOBS ?= $(shell nproc)
ARGS ?=

.PHONY: all deps configure build run test test-fast clean

all: build

deps:
	@./scripts/install-deps.sh

configure: deps
	@cmake -S . -B $(BUILD) -G Ninja -DCMAKE_BUILD_TYPE=$(BUILD_TYPE) >/dev/null

build: configure
	@cmake --build $(BUILD) -j $(JOBS)

run: build
	./$(BUILD)/tagstream serve $(ARGS)

test: build
	@./scripts/run-tests.sh $(BUILD)

# The release-build tests only, without the sanitizer builds: for quick loops.
test-fast: build
	@SANITIZERS=0 ./scripts/run-tests.sh $(BUILD)

clean:
	rm -rf $(BUILD) build-asan build-tsan
