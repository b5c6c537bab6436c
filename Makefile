# kafkasim: `make demo` runs the demo, `make test` the tests.
GO ?= go
export PATH := /usr/local/go/bin:$(PATH)

.PHONY: all test lint bench demo fmt e2e sweep sweep-20k builtins

all: lint test

## test: the whole suite (includes the determinism guard)
test:
	$(GO) test ./...

## lint: formatting, go vet, and the determinism guard over sim, network, broker
lint:
	@out=$$(gofmt -l .); \
	if [ -n "$$out" ]; then echo "gofmt needed on:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...
	$(GO) test -count=1 -run 'TestSimulatedCodeIsDeterministic|TestGuardCatchesEveryForbiddenConstruct' ./internal/detlint

## e2e: the report tests in headless Chromium (Debian's chromium package), required to run
e2e:
	KAFKASIM_REQUIRE_BROWSER=1 $(GO) test -count=1 -run Browser ./reports

## bench: every benchmark, with allocations
bench:
	$(GO) test ./... -run '^$$' -bench . -benchmem

## demo: a real scenario that finds acknowledged writes lost to an unclean leader election, and its report
demo:
	$(GO) run ./cmd/kafkasim run unclean-election-loss --expect

## sweep: 1,000 seeds of the standard scenario, in parallel, with its report
sweep:
	$(GO) run ./cmd/kafkasim sweep standard --seeds 1000

## sweep-20k: the standard scenario over seeds 1-20,000 (20-30 minutes on 2 cores; not part of make test),
## with its summary (one JSON line per seed) and report under out/sweep-20k; SWEEP_FIRST and SWEEP_SEEDS pick other seeds
SWEEP_FIRST ?= 1
SWEEP_SEEDS ?= 20000
sweep-20k:
	$(GO) build -o out/kafkasim ./cmd/kafkasim
	@mkdir -p out/sweep-20k
	out/kafkasim sweep standard --first $(SWEEP_FIRST) --seeds $(SWEEP_SEEDS) --quiet \
		--summary out/sweep-20k/standard.jsonl --out out/sweep-20k/standard.html

## builtins: every built-in scenario on seeds 1-20, each held to its expectation (findings, absent, marks)
builtins:
	$(GO) build -o out/kafkasim ./cmd/kafkasim
	@fail=0; for s in $$(out/kafkasim scenarios --names); do \
		if res=$$(out/kafkasim sweep $$s --seeds 20 --expect --quiet --summary out/builtins/$$s.jsonl --out out/builtins/$$s.html 2>&1); \
		then echo "$$s: $$(echo "$$res" | tail -1)"; else echo "$$s: FAILED"; echo "$$res" | sed -n '/^kafkasim sweep:/,$$p'; fail=1; fi; \
	done; exit $$fail

fmt:
	gofmt -w .
