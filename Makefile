# AHSP harness. `make demo` runs the whole gate against the reference target;
# `make test` is the test suite CI runs.
GO      ?= go
BIN     ?= bin
PKGS    ?= ./...
# `harness version` and `ahsp-target version`; reports carry it.
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo devel)
LDFLAGS := -X main.version=$(VERSION)
# testcontainers: no reaper image can be pulled here, and /.dockerenv would
# otherwise make it dial the default gateway instead of loopback.
export TESTCONTAINERS_RYUK_DISABLED ?= true
export TESTCONTAINERS_HOST_OVERRIDE ?= 127.0.0.1

.PHONY: all build test lint demo bench bench-compare clean

all: build

build:
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags "$(LDFLAGS)" -o $(BIN)/ahsp-target ./target/cmd/ahsp-target
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags "$(LDFLAGS)" -o $(BIN)/harness ./cmd/harness
	# docker mode's Toxiproxy image is built from this binary when it sits next to harness
	CGO_ENABLED=0 $(GO) build -trimpath -o $(BIN)/toxiproxy-server github.com/Shopify/toxiproxy/v2/cmd/server

lint:
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	$(GO) vet $(PKGS)

test: lint build
	$(GO) test -count=1 -timeout 25m $(PKGS)

demo: build
	$(BIN)/harness run --stack local

# BENCHTIME keeps `make bench` under ~3 minutes on 2 shared cores; raise it
# (and -count) for benchstat comparisons.
BENCHTIME ?= 300ms
bench:
	$(GO) test -run '^$$' -bench . -benchmem -count 1 -benchtime $(BENCHTIME) ./bench/... ./scenarios/... ./target/...

bench-compare: build
	bash bench/compare.sh

clean:
	rm -rf $(BIN) reports/out
	-$(BIN)/harness down --all 2>/dev/null || true
