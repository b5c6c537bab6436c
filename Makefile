# kafkasim: `make demo` runs the demo, `make test` the tests.
GO ?= go
export PATH := /usr/local/go/bin:$(PATH)

.PHONY: all test lint bench bench-ratios demo fmt e2e sweep builtins api api-snapshot

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

## bench: every benchmark, with allocations
bench:
	$(GO) test ./... -run '^$$' -bench . -benchmem

## bench-ratios: the speed and memory figures that are ratios measured in one run, as one table
## (live heap at 960 vs 60 simulated seconds; per-event cost with 300 vs 3 partitions, whole and
## the checkers' own; broker simulated seconds per wall second)
bench-ratios:
	@$(GO) test ./broker -run '^$$' -bench 'LiveHeap|Partitions300vs3|SteadyAcksAll' -benchtime 1x -benchmem | \
		awk '/^Benchmark/ { name=$$1; for (i = 3; i < NF; i += 2) printf "%-40s %-22s %s\n", name, $$(i+1), $$i }'

## demo: a real scenario that finds acknowledged writes lost to an unclean leader election, and its report
demo:
	$(GO) run ./cmd/kafkasim run unclean-election-loss --expect

## sweep: 1,000 seeds of the standard scenario, in parallel, with its report
sweep:
	$(GO) run ./cmd/kafkasim sweep standard --seeds 1000

## builtins: every built-in scenario on seeds 1-20, each held to its expectation (findings, absent, marks)
builtins:
	$(GO) build -o out/kafkasim ./cmd/kafkasim
	@fail=0; for s in $$(out/kafkasim scenarios --names); do \
		if res=$$(out/kafkasim sweep $$s --seeds 20 --expect --quiet --summary out/builtins/$$s.jsonl --out out/builtins/$$s.html 2>&1); \
		then echo "$$s: $$(echo "$$res" | tail -1)"; else echo "$$s: FAILED"; echo "$$res" | sed -n '/^kafkasim sweep:/,$$p'; fail=1; fi; \
	done; exit $$fail

fmt:
	gofmt -w .
