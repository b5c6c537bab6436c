# kafkasim: `make demo` runs the demo, `make test` the tests.
GO ?= go
export PATH := /usr/local/go/bin:$(PATH)

.PHONY: all test lint fuzz bench bench-all bench-ratios demo fmt e2e sweep sweep-20k builtins api api-snapshot hashes museum

all: lint test

## test: the whole suite (includes the determinism guard)
test:
	$(GO) test -timeout 30m ./...

## lint: formatting, go vet, and the determinism guard over sim, network, broker
lint:
	@out=$$(gofmt -l .); \
	if [ -n "$$out" ]; then echo "gofmt needed on:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...
	$(GO) test -count=1 -run 'TestSimulatedCodeIsDeterministic|TestGuardCatchesEveryForbiddenConstruct' ./internal/detlint

## api: the exported Go API of scenarios, checker and model against the committed snapshot
## internal/apicheck/api.zip, with golang.org/x/exp/apidiff: fails on an incompatible change
## (API_BASE=<git ref> compares against that ref's tree instead, such as the last release tag)
api:
	$(GO) run ./internal/apicheck $(if $(API_BASE),-base $(API_BASE))

## api-snapshot: take the current API as the baseline: at each release tag, and with a change
## that breaks the API on purpose (commit internal/apicheck/api.zip with it)
api-snapshot:
	$(GO) run ./internal/apicheck -write

## e2e: the report tests in headless Chromium (Debian's chromium package), required to run
e2e:
	KAFKASIM_REQUIRE_BROWSER=1 $(GO) test -count=1 -run Browser ./reports ./cmd/kafkasim

## fuzz: every fuzz target (scenario files, replay files, histories, Jepsen and EDN input, record batches, the
## KRaft and ZooKeeper logs, the shell, the checkers) for FUZZTIME each; prints executions and new crashers per
## target and fails on any crasher (it stays in the package's testdata/fuzz to replay with go test)
FUZZTIME ?= 10s
fuzz:
	@fail=0; for t in $$(grep -rl --include='*_test.go' '^func Fuzz' . | sort); do 		pkg=$$(dirname $$t); 		for f in $$(sed -n 's/^func \(Fuzz[A-Za-z0-9_]*\)(.*/\1/p' $$t); do 			out=$$($(GO) test $$pkg -run '^$$' -fuzz "^$$f$$" -fuzztime $(FUZZTIME) 2>&1); rc=$$?; 			execs=$$(printf '%s\n' "$$out" | sed -n 's/.*execs: \([0-9]*\) .*/\1/p' | tail -1); 			if [ $$rc -eq 0 ]; then echo "$$pkg $$f: $${execs:-?} executions, 0 crashers"; 			else fail=1; echo "$$pkg $$f: CRASHER after $${execs:-?} executions"; printf '%s\n' "$$out" | tail -20; fi; 		done; 	done; exit $$fail

## bench: the issue's speed and memory figures as one table; each ratio's two sides are measured in one
## benchmark run, in process CPU time (a shared, loaded machine slows the wall clock, not the ratio)
bench: bench-ratios

## bench-all: every benchmark, with allocations
bench-all:
	$(GO) test ./... -run '^$$' -bench . -benchmem

## bench-ratios: the table of `make bench`: kernel event against a typed 4-ary heap loop, broker event
## against kernel event at linger.ms=5 (and allocations per broker event), the standard scenario's seeds
## per CPU minute with full checking, per-event cost with 300 vs 3 partitions, live heap at 960 vs 60
## simulated seconds, the 10,000 records/s run's wall and CPU time and peak memory (one run, in wall time:
## its goal is a user's wait), the linearizability check of 1,000,000 operations over 10 partitions
bench-ratios:
	@{ $(GO) test ./sim -run '^$$' -bench 'KernelVsFloor' -benchtime 20x; \
	   $(GO) test ./broker -run '^$$' -bench 'BrokerVsKernel' -benchtime 100x; \
	   $(GO) test ./broker -run '^$$' -bench 'Partitions300vs3|LiveHeap' -benchtime 1x; \
	   $(GO) test ./scenarios -run '^$$' -bench 'StandardSeed' -benchtime 20x; \
	   $(GO) test ./scenarios -run '^$$' -bench 'TenK' -benchtime 1x; \
	   $(GO) test ./checker -run '^$$' -bench 'Linearizability1M$$' -benchtime 1x; } | \
		awk '/^Benchmark/ { b = $$1; sub(/-[0-9]+$$/, "", b); for (i = 3; i < NF; i += 2) { v[$$(i+1)] = $$i; v[b ":" $$(i+1)] = $$i } } \
		END { \
			printf "%-58s %12s  %s\n", "figure", "now", "goal"; \
			row("kernel event / typed 4-ary heap loop (CPU ns/event)", "kernel/floor", ""); \
			row("  kernel CPU ns/event", "kernel-ns/event", ""); \
			row("broker event / kernel event, linger.ms=5", "broker/kernel", "<= 4"); \
			row("  broker CPU ns/event", "broker-ns/event", ""); \
			row("allocations per broker event", "allocs/event", "<= 1"); \
			row("3 brokers RF=3 acks=all 1,000 rec/s: sim-s per CPU-s", "sim-s/cpu-s", ">= 1000"); \
			row("standard scenario, full checking: seeds per CPU minute", "seeds/cpu-min", ">= 1500"); \
			row("per-event cost, 300 partitions / 3", "event300/3", "<= 1.5"); \
			row("  the checkers alone, 300 / 3", "check300/3", ""); \
			row("live heap, 960 / 60 simulated s", "heap960/60", "<= 1.5"); \
			row("60 s at 10,000 rec/s, fully checked: wall s per run", "BenchmarkTenK:wall-s", "<= 30"); \
			row("  CPU s per run (garbage collection included)", "BenchmarkTenK:cpu-s", ""); \
			row("  peak heap MB (live, and garbage not yet swept)", "BenchmarkTenK:peak-heap-MB", "<= 1024"); \
			row("  peak live heap MB (as a collection marked it)", "BenchmarkTenK:peak-live-MB", ""); \
			row("  peak resident MB", "BenchmarkTenK:peak-rss-MB", "<= 1024"); \
			row("linearizability, 1M ops over 10 partitions: s per check", "BenchmarkLinearizability1M:s/check", "<= 5"); \
			row("  CPU s per check", "BenchmarkLinearizability1M:cpu-s/check", ""); \
			row("  peak heap MB (with the history)", "BenchmarkLinearizability1M:peak-heap-MB", "<= 1024"); \
			row("  live heap MB of the history alone", "BenchmarkLinearizability1M:history-MB", ""); \
		} \
		function row(name, unit, goal) { printf "%-58s %12s  %s\n", name, (unit in v) ? sprintf("%.2f", v[unit]) : "missing", goal }'

## demo: a real scenario that finds acknowledged writes lost to an unclean leader election, and its report
demo:
	$(GO) run ./cmd/kafkasim run unclean-election-loss --expect

## sweep: 1,000 seeds of the standard scenario, in parallel, with its report
sweep:
	$(GO) run ./cmd/kafkasim sweep standard --seeds 1000

## sweep-20k: the standard scenario over seeds 1-20,000 (hours of CPU: not part of make test), in chunks of
## SWEEP_CHUNK seeds whose summaries are kept under out/sweep-20k/<binary hash>/, so that a rerun of the same
## code resumes where the last one stopped; prints each chunk's failing seeds, then the total.
## SWEEP_FIRST, SWEEP_SEEDS and SWEEP_CHUNK pick other seeds.
SWEEP_FIRST ?= 1
SWEEP_SEEDS ?= 20000
SWEEP_CHUNK ?= 500
sweep-20k:
	$(GO) build -o out/kafkasim ./cmd/kafkasim
	@dir=out/sweep-20k/$$(sha256sum out/kafkasim | cut -c1-12); mkdir -p $$dir; \
	first=$(SWEEP_FIRST); last=$$(( $(SWEEP_FIRST) + $(SWEEP_SEEDS) - 1 )); sums=; \
	while [ $$first -le $$last ]; do \
		n=$$(( last - first + 1 )); if [ $$n -gt $(SWEEP_CHUNK) ]; then n=$(SWEEP_CHUNK); fi; \
		sum=$$dir/standard-$$first-$$(( first + n - 1 )).jsonl; \
		if [ ! -s $$sum ]; then \
			out/kafkasim sweep standard --first $$first --seeds $$n --quiet --summary $$sum.part \
				--out $${sum%.jsonl}.html >/dev/null 2>&1; \
			if [ ! -s $$sum.part ]; then echo "sweep of seeds $$first-$$(( first + n - 1 )) wrote no summary"; exit 2; fi; \
			mv $$sum.part $$sum; \
		fi; \
		echo "seeds $$first-$$(( first + n - 1 )): $$(grep -c '"ok":false' $$sum) failing"; \
		grep '"ok":false' $$sum | sed -E 's/.*"summary":"([^"]*)".*"replay":"([^"]*)".*/  \2: \1/'; \
		sums="$$sums $$sum"; first=$$(( first + n )); \
	done; \
	all=$$dir/standard-$(SWEEP_FIRST)-$$last.all.jsonl; cat $$sums > $$all; \
	echo "seeds $(SWEEP_FIRST)-$$last: $$(grep -c '"ok":false' $$all) failing of $$(wc -l < $$all) (every seed: $$all)"

## builtins: every built-in scenario on seeds 1-20, each held to its expectation (findings, absent, marks)
builtins:
	$(GO) build -o out/kafkasim ./cmd/kafkasim
	@fail=0; for s in $$(out/kafkasim scenarios --names); do \
		if res=$$(out/kafkasim sweep $$s --seeds 20 --expect --quiet --summary out/builtins/$$s.jsonl --out out/builtins/$$s.html 2>&1); \
		then echo "$$s: $$(echo "$$res" | tail -1)"; else echo "$$s: FAILED"; echo "$$res" | sed -n '/^kafkasim sweep:/,$$p'; fail=1; fi; \
	done; exit $$fail

## museum: the track record on known Kafka bugs (a few minutes): scripted find, seeds to the hunt's first
## blind find over 5 master seeds, current Kafka's false positives under the same hunt (out/museum.html)
museum:
	$(GO) run ./cmd/kafkasim museum --masters 5 --budget 30 --fp 10

fmt:
	gofmt -w .

## hashes: every built-in's trace hash on seeds 1-20, one line per run, in out/hashes.txt: run it before and after a
## change that must not change behaviour, and diff the two files
hashes:
	$(GO) build -o out/kafkasim ./cmd/kafkasim
	@mkdir -p out/hashes; rm -f out/hashes.txt; for s in $$(out/kafkasim scenarios --names); do \
		out/kafkasim sweep $$s --seeds 20 --quiet --summary out/hashes/$$s.jsonl --out out/hashes/$$s.html >/dev/null 2>&1; \
		sed -E 's/.*"scenario":"([^"]*)","seed":([0-9]*),.*"trace_hash":"([0-9a-f]*)".*/\1 \2 \3/' out/hashes/$$s.jsonl >> out/hashes.txt; \
	done; wc -l out/hashes.txt
