# The two commands of the README:
#   make run    install what is missing, build, run the server (simulator on)
#   make test   install what is missing, build, run every test
# and a third for a cluster on this machine:
#   make cluster  install what is missing, build, start Redis, PostgreSQL,
#                 three nodes and nginx (PORT, default 8080); Ctrl-C stops it
BUILD ?= build
BUILD_TYPE ?= RelWithDebInfo
JOBS ?= $(shell nproc)
ARGS ?=

.PHONY: all deps configure build web run cluster install deb test test-fast test-browser fuzz format bench bench-streaming bench-historian bench-dashboard bench-auth bench-mqtt bench-soak bench-modbus bench-ws bench-pg bench-cluster clean

all: build

deps:
	@./scripts/install-deps.sh

configure: deps
	@cmake -S . -B $(BUILD) -G Ninja -DCMAKE_BUILD_TYPE=$(BUILD_TYPE) >/dev/null

build: configure web
	@cmake --build $(BUILD) -j $(JOBS)

# The dashboard (web/): npm ci + vite build into web/dist, which the binary
# serves at /. Skipped while web/dist is newer than its sources and lock.
WEB_SOURCES := $(shell find web/src -type f 2>/dev/null) web/index.html web/package.json web/package-lock.json web/vite.config.ts web/tsconfig.json
web: web/dist/index.html

web/dist/index.html: $(WEB_SOURCES)
	@echo "web: building the dashboard"
	@cd web && npm ci --no-audit --no-fund --loglevel=error && npm run build
	@touch $@

run: build
	./$(BUILD)/tagstream serve $(ARGS)

# Redis, PostgreSQL (initdb in a temporary directory), node-a (simulator),
# node-b and node-c, nginx in front on PORT: scripts/cluster.sh, which
# prints what runs where. CLUSTER_ARGS: --check (start, check, stop) or
# --standalone-nodes (no --cluster).
CLUSTER_ARGS ?=
cluster: build
	@./scripts/cluster.sh --build-dir $(BUILD) $(CLUSTER_ARGS)

# Installs the binary, the dashboard, the systemd unit and the example config
# under PREFIX (default /usr/local; DESTDIR for staging), see README "Install".
PREFIX ?= /usr/local
install: build
	@DESTDIR="$(DESTDIR)" cmake --install $(BUILD) --prefix "$(PREFIX)"

# The Debian package (CPack): $(BUILD)/tagstream_<version>_<arch>.deb.
deb: build
	@cd $(BUILD) && cpack -G DEB
	@ls -1 $(BUILD)/tagstream_*.deb

test: build
	@./scripts/run-tests.sh $(BUILD)

# The release-build tests only, without the sanitizer builds: for quick loops.
test-fast: build
	@SANITIZERS=0 ./scripts/run-tests.sh $(BUILD)

# The dashboard's browser tests alone (Debian's chromium + playwright-core).
test-browser: build
	@./tests/browser/run.sh $(BUILD)

# The libFuzzer targets of fuzz/ (clang, ASan + UBSan, built in build-fuzz),
# each for FUZZ_SECONDS (default 600) seconds, one after the other: prints
# executions and crashes per target. `make test` runs them briefly.
FUZZ_SECONDS ?= 600
fuzz: deps
	@FUZZ_SECONDS=$(FUZZ_SECONDS) ./scripts/fuzz.sh

# Applies .clang-format to the C++ sources; `make test` fails when they differ.
format: deps
	@./scripts/format.sh

# Benchmarks (see BENCHMARKS.md). `make bench` builds tagstream and the load
# generator ($(BUILD)/tagstream-bench), then runs every streaming scenario in
# its short form (bench/streaming.sh: tagstream side by side with nginx + nchan
# and with 5-second polling; installs nginx-light, libnginx-mod-nchan,
# gnuplot-nox and linux-perf if missing; about 7 minutes; one table).
# `make bench-streaming` runs the long form (--full, about 32 minutes), whose
# charts and raw outputs land in bench/results/. `make bench-historian` runs
# the side-by-side benchmark against InfluxDB 1.6.7: installs influxdb, builds
# Release binaries in build-bench/, prints a Markdown report.
# `make bench-auth` measures what authentication costs: ingest samples/s and
# stream opens/s against two servers, auth off and on (API key, HS256 and
# ES256 JWTs, cached and a fresh JWT per open), in interleaved rounds
# (bench/auth.sh: about 15 minutes, --short about 2). `make bench-soak` runs
# one server (simulator and auth on) for 10 minutes under stream churn, held
# streams, ingest, history queries and an abusive client, sampling its RSS,
# open files, threads and streams every 10 s (bench/soak.sh; --short: 2
# minutes, --minutes N); the samples land in bench/results/soak-*.tsv.
# `make bench-ws` compares the WebSocket (/api/ws) with SSE on fresh servers
# in alternating rounds: server memory per idle connection and CPU per
# delivered update (bench/ws.sh: about 5 minutes, --short about 2).
# `make bench-pg` compares the PostgreSQL store with the SQLite store and
# InfluxDB: ingest samples/s and one-year history latency, two servers from
# one Release build in build-bench/, PostgreSQL initdb'd and InfluxDB started
# in a temporary directory (bench/pg.sh; about 15 minutes, --short about 4).
# BENCH_ARGS: more options for the script, e.g. --short (historian, auth,
# soak, ws, pg), --scenarios 2,3 (streaming).
BENCH_ARGS ?=
bench: configure
	@cmake --build $(BUILD) -j $(JOBS) --target tagstream tagstream-bench
	@./bench/streaming.sh --build-dir $(BUILD) $(BENCH_ARGS)

bench-streaming: configure
	@cmake --build $(BUILD) -j $(JOBS) --target tagstream tagstream-bench
	@./bench/streaming.sh --build-dir $(BUILD) --full $(BENCH_ARGS)

bench-auth: configure
	@./bench/auth.sh --build-dir $(BUILD) $(BENCH_ARGS)

# `make bench-mqtt`: samples/s ingested from mosquitto at QoS 0 and 1 (one
# and 1,000 topics) and publish -> SSE latency at 10k msg/s beside a plain
# subscriber (bench/mqtt.sh: about 3 minutes, --short about 1).
bench-mqtt: configure
	@./bench/mqtt.sh --build-dir $(BUILD) $(BENCH_ARGS)

bench-soak: configure
	@./bench/soak.sh --build-dir $(BUILD) $(BENCH_ARGS)

# `make bench-modbus`: registers read per second per Modbus connection and
# poll jitter (bench/modbus.sh, about 4 minutes; --short about 40 s).
bench-modbus: configure
	@./bench/modbus.sh --build-dir $(BUILD) $(BENCH_ARGS)
bench-ws: configure
	@./bench/ws.sh --build-dir $(BUILD) $(BENCH_ARGS)

bench-historian: deps
	@./bench/historian.sh $(BENCH_ARGS)

bench-pg: deps
	@./bench/pg.sh $(BENCH_ARGS)

# `make bench-cluster`: issue 18's cluster on this machine: cross-node
# latency (publish on A, stream on B), fan-out throughput of 3 nodes vs 1 vs
# nginx + nchan on the same Redis, and failover time through nginx with a
# node killed (bench/cluster.sh: about 12 minutes; BENCH_ARGS=--short about 3).
bench-cluster: deps
	@./bench/cluster.sh $(BENCH_ARGS)

# The dashboard at 1,000, 10,000 and 100,000 tags (1 Hz) in headless chromium:
# main-thread busy time and dropped frames. See bench/dashboard/README.md.
bench-dashboard: build
	@./bench/dashboard/run.sh $(BUILD)

clean:
	rm -rf $(BUILD) build-asan build-tsan build-fuzz
