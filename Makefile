# Dewar. `make run` serves on embedded defaults; `make test` runs every suite.
GO        ?= go
BIN       := bin/dewar
PKGS      := ./...
TEST_TIMEOUT ?= 19m

.PHONY: all build run test unit e2e bench vet deps clean

all: build

build:
	$(GO) build -o $(BIN) ./cmd/dewar

run: build
	./$(BIN) serve

# deps installs the Debian packages and starts the services the tests use
# (real S3 clients, archive tools, PostgreSQL). Idempotent and quick when
# everything is there.
deps:
	./test/setup.sh

vet:
	$(GO) vet $(PKGS)

test: deps vet
	$(GO) test -count=1 -timeout $(TEST_TIMEOUT) $(PKGS)

# unit skips the slow end-to-end packages (for quick local runs).
unit:
	$(GO) test -count=1 $$($(GO) list ./... | grep -v /test/)

# bench measures throughput and memory against this machine's own limits
# (hash rate, fsync'd creates, loopback copy) measured in the same run;
# it needs none of the test clients. BENCHFLAGS: -phases s3,ingest,
# storage,search, -quick, -json FILE, -perf DIR (profiles with Linux
# perf), -dir DIR, -pg URL.
bench: build
	$(GO) run ./test/bench $(BENCHFLAGS)

clean:
	rm -rf bin
