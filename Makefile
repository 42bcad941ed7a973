# The two commands that matter: `make run` and `make test`.

# Pure Go builds: the embedded SQLite and Temporal server need no C compiler,
# and the cgo build of the server is three times slower.
export CGO_ENABLED ?= 0
GO  ?= go
BIN := bin/onboarding

.PHONY: run build test vet lint generate browser jq bench migrate cluster clean help

help:
	@echo "make run    - run everything on the embedded default (Temporal + UI + worker + API, data in ./data)"
	@echo "make test   - vet and run every test (needs the local Postgres, see TEST_DATABASE_URL)"
	@echo "make build  - build $(BIN)"
	@echo "make lint   - go vet, staticcheck, and Temporal's workflowcheck on the workflows"
	@echo "make generate - regenerate the /v1 server (api/oapi) from api/openapi.yaml with oapi-codegen"
	@echo "make bench  - load benchmark over the real API on the embedded default (BENCH_FLAGS='-n 1000 -c 20 -webhooks 3 -pending 20000'; add -cluster for the production topology beside it)"
	@echo "make migrate - apply migrations to DATABASE_URL (or the embedded SQLite file)"
	@echo "make cluster - the production topology without Docker: Temporal server on Postgres, 2 api + 2 worker processes"

run: build
	@echo "==> Starting onboarding dev (Ctrl-C stops it; state is kept in ./data)"
	./$(BIN) dev

build:
	@echo "==> Building $(BIN). The first build compiles the embedded Temporal server and its Web UI: about 4-5 minutes on 2 cores; later builds take seconds."
	$(GO) build -o $(BIN) ./cmd/onboarding
	@echo "==> Built $(BIN)"

vet:
	$(GO) vet ./...

# The linters are pinned Go tools in go.mod: nothing is downloaded at run time
# beyond the module cache.
lint: vet
	@echo "==> staticcheck"
	$(GO) tool staticcheck ./...
	@echo "==> workflowcheck (determinism of the workflows)"
	$(GO) tool workflowcheck ./workflows/...

# The /v1 server types and routing come from the OpenAPI document; a test
# (api/oapi TestGeneratedCodeIsCurrent) fails when the committed code is stale.
generate:
	@echo "==> oapi-codegen: api/openapi.yaml -> api/oapi/server.gen.go"
	$(GO) generate ./api/oapi

# The customer pages are tested in Debian's Chromium; install it when missing.
browser:
	@if ! command -v chromium >/dev/null 2>&1; then \
	  if command -v apt-get >/dev/null 2>&1 && [ "$$(id -u)" = 0 ]; then \
	    echo "==> Installing Debian's Chromium for the browser tests (once, about a minute)"; \
	    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null) \
	      || echo "!!! Could not install Chromium: the browser tests will be SKIPPED"; \
	  else \
	    echo "!!! No Chromium and no apt-get as root here: the browser tests will be SKIPPED"; \
	  fi; \
	fi

# The README walkthrough test runs the README's shell blocks, which use jq.
jq:
	@if ! command -v jq >/dev/null 2>&1; then \
	  if command -v apt-get >/dev/null 2>&1 && [ "$$(id -u)" = 0 ]; then \
	    echo "==> Installing jq for the README walkthrough test"; \
	    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq jq curl >/dev/null) \
	      || echo "!!! Could not install jq: the README walkthrough test will fail"; \
	  else \
	    echo "!!! No jq and no apt-get as root here: install jq, or the README walkthrough test fails"; \
	  fi; \
	fi

test: lint browser jq
	@echo "==> Running all tests against Postgres at $${TEST_DATABASE_URL:-postgres://postgres@127.0.0.1:5432/test} and SQLite."
	@echo "    The first run compiles the embedded Temporal server for the end-to-end tests (several minutes)."
	$(GO) test -count=1 -timeout 30m $$($(GO) list ./... | grep -v '/cluster$$')
	@echo "==> The cluster tests on their own: a Temporal server process, two APIs and two workers under faults (about 3 minutes)."
	@echo "    They count requests that hang, so no other package's load (the e2e kill -9 runs) shares the two cores with them."
	$(GO) test -count=1 -timeout 30m ./cluster/

BENCH_FLAGS ?= -n 200 -c 20 -webhooks 3
bench:
	@echo "==> Go benchmarks of the hot paths (edge validation of a request against the OpenAPI document)"
	$(GO) test -run '^$$' -bench . -benchmem ./api/
	@echo "==> Benchmark on the embedded default (loopback only); report in bench/results/"
	$(GO) run ./bench $(BENCH_FLAGS)

# A real Temporal server (built from the module in go.mod) on the local
# Postgres, with two api and two worker processes; Ctrl-C stops it.
cluster:
	$(GO) run ./cmd/cluster

migrate: build
	./$(BIN) migrate

clean:
	rm -rf bin
