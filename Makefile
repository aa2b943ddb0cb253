# Gibsey — the two commands: `make run` and `make test`. See README.md.
SHELL := /bin/bash
GO ?= go
CORPUS ?= examples/corpus
DATA ?= .data/$(subst /,_,$(patsubst /%,%,$(abspath $(CORPUS))))
ADDR ?= 127.0.0.1:8080
TEMPL_VERSION := v0.3.1118
BUILD := .build
PLUGINS := bin/plugins
export GOFLAGS ?= -mod=mod

GO_PLUGINS := pagegen:plugins/pagegen symbols:plugins/symbols analyst:plugins/voices/analyst commentary:plugins/voices/commentary

.PHONY: all build run test test-only bench deps-test sdk-as templ plugins plugins-as services-up services-down clean

all: build

## build: the host binary, the services launcher and the built-in actors (.wasm + manifests)
build: templ
	@mkdir -p bin $(PLUGINS)
	$(GO) build -o bin/gibsey ./host/cmd/gibsey
	$(GO) build -o bin/gibsey-services ./host/cmd/gibsey-services
	@$(MAKE) --no-print-directory plugins

templ:
	@$(GO) run github.com/a-h/templ/cmd/templ@$(TEMPL_VERSION) generate -path templates >/dev/null 2>&1

plugins:
	@mkdir -p $(PLUGINS)
	@for p in $(GO_PLUGINS); do \
	  name=$${p%%:*}; dir=$${p#*:}; \
	  echo "actor $$name <- $$dir"; \
	  GOOS=wasip1 GOARCH=wasm $(GO) build -buildmode=c-shared -trimpath -ldflags='-s -w' -o $(PLUGINS)/$$name.wasm ./$$dir || exit 1; \
	  cp $$dir/manifest.json $(PLUGINS)/$$name.manifest.json || exit 1; \
	done

## run: build everything and serve the reader on the embedded default (no Java, no services)
run: build
	bin/gibsey serve --addr $(ADDR) --data $(DATA) --corpus $(CORPUS) --plugins $(PLUGINS)

## sdk-as: the AssemblyScript SDK's compiler (npm)
sdk-as:
	@cd sdk/as && npm ci --no-audit --no-fund --loglevel=error >/dev/null

## plugins-as: the example AssemblyScript voice (voice "echo") into the plugins folder
plugins-as: sdk-as
	@mkdir -p $(PLUGINS)
	sdk/as/node_modules/.bin/asc examples/voices/as-echo/index.ts -o $(PLUGINS)/as-echo.wasm --runtime incremental -O3
	cp examples/voices/as-echo/as-echo.manifest.json $(PLUGINS)/

## deps-test: what the tests need beyond Go (run as root on Debian: chromium, kcat; npm: assemblyscript)
deps-test: sdk-as
	@missing=""; command -v chromium >/dev/null || missing="$$missing chromium"; command -v kcat >/dev/null || missing="$$missing kcat"; \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" = 0 ]; then echo "installing$$missing"; (apt-get install -y -q $$missing >/dev/null 2>&1 || (apt-get update -q >/dev/null && apt-get install -y -q $$missing >/dev/null)) || { echo "apt-get install$$missing failed"; exit 1; }; \
	  else echo "missing$$missing: run as root (apt-get install$$missing) or the tests that need them skip"; fi; \
	fi

services-up: build
	bin/gibsey-services up

services-down:
	@[ -x bin/gibsey-services ] && bin/gibsey-services down || true

TEST_ENV = GIBSEY_REQUIRE_AS=1 GIBSEY_TEST_KAFKA=127.0.0.1:9092 GIBSEY_TEST_CASSANDRA=127.0.0.1:9042 \
	GIBSEY_TEST_PLUGINS=$(CURDIR)/$(PLUGINS) GIBSEY_TEST_ARTIFACTS=$(CURDIR)/test-artifacts \
	GIBSEY_TEST_CORPUS=$${GIBSEY_TEST_CORPUS:-$(CURDIR)/../shared/corpus}

## test: install and start what the tests need (real Kafka and Cassandra), run every test, stop them
test: deps-test build
	@mkdir -p $(BUILD) test-artifacts
	@bin/gibsey-services up || { bin/gibsey-services down; exit 1; }
	@start=$$(date +%s); set -o pipefail; \
	$(TEST_ENV) $(GO) test -count=1 -timeout 30m ./... 2>&1 | tee $(BUILD)/test.log; rc=$$?; \
	if [ $$rc = 0 ]; then \
	  echo "--- the Cassandra outage test (it stops Cassandra, so it runs alone)"; \
	  $(TEST_ENV) GIBSEY_TEST_OUTAGE=1 $(GO) test -count=1 -timeout 10m -run 'TestCassandraOutage' -v ./host/app 2>&1 | tee -a $(BUILD)/test.log | grep -E '^(=== RUN|--- |PASS|FAIL|ok|\s+\S+_test.go)'; rc=$$?; \
	fi; \
	bin/gibsey-services down >/dev/null 2>&1; \
	ok=$$(grep -cE '^ok\s' $(BUILD)/test.log); failed=$$(grep -cE '^(FAIL|---\sFAIL)\s' $(BUILD)/test.log); \
	secs=$$(( $$(date +%s) - start )); \
	if [ $$rc = 0 ]; then echo "go test: PASS ($$ok packages ok, 0 failed, $${secs}s)"; else echo "go test: FAIL ($$ok packages ok, $$failed failed, $${secs}s; see $(BUILD)/test.log)"; exit 1; fi

## test-only: run the tests against services you started yourself (make services-up)
test-only:
	$(TEST_ENV) $(GO) test -count=1 ./...

## bench: the benchmarks, side by side with their baselines (ratios and medians)
bench: build
	@$(MAKE) --no-print-directory sdk-as
	$(GO) test -run '^$$' -bench Compare -count 1 ./host/internal/benchcmp
	GIBSEY_TEST_PLUGINS=$(CURDIR)/$(PLUGINS) $(GO) test -run '^$$' -bench 'ClickToPage|FlowThroughput' -benchtime 20x ./host/app
	$(GO) test -run '^$$' -bench 'Reader' ./web

clean:
	rm -rf bin $(BUILD) test-artifacts
