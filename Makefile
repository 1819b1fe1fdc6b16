# r-button: one Makefile for the agent (Go), the site library, the extension
# and the browser tests. `make test` is what CI runs; `make demo` shows it working.

GO       ?= go
NODE     ?= node
NPM      ?= npm
FUZZTIME ?= 20000x
BIN      := bin

# Static binaries: a cgo build of rbutton links libc dynamically (for the
# net package's resolver), and the dynamic loader adds about 3 ms to every
# host start, which the browser waits for (BENCHMARKS.md, section 2). Tests
# build the same way, so they test what is shipped.
export CGO_ENABLED ?= 0

.PHONY: all build test vet test-go test-fuzz test-js test-e2e deps browsers \
        demo bench fuzz install uninstall package firefox-extension clean

all: build

## build: the agent (bin/rbutton), the sidecar (bin/rbutton-vendor) and the demo vendors (bin/rbutton-demo-sites)
build:
	$(GO) build -o $(BIN)/rbutton ./host/cmd/rbutton
	$(GO) build -o $(BIN)/rbutton-vendor ./site/cmd/rbutton-vendor
	$(GO) build -o $(BIN)/rbutton-demo-sites ./site/cmd/rbutton-demo-sites

## test: everything — Go tests, short fuzzing, extension unit tests, real browsers
test: build vet test-go test-fuzz test-js test-e2e

vet:
	$(GO) vet ./...
	GOOS=windows $(GO) build ./...
	GOOS=darwin $(GO) build ./...

# The Go tests run against a throwaway PostgreSQL server (scripts/postgres.sh);
# RBUTTON_REQUIRE_PG makes the PostgreSQL tests fail rather than skip without it.
# fsync=off: the tests kill vendor processes, never the server.
test-go:
	PG_SERVER_OPTS="-c fsync=off" scripts/postgres.sh run env RBUTTON_REQUIRE_PG=1 $(GO) test -count=1 ./...

test-fuzz:
	scripts/fuzz.sh $(FUZZTIME)

## fuzz: every fuzz target for longer (FUZZTIME=60s by default here)
fuzz:
	scripts/fuzz.sh $(if $(filter command line,$(origin FUZZTIME)),$(FUZZTIME),60s)

test-js:
	$(NODE) --test extension/test/

## test-e2e: real Chromium and Firefox ESR, the real host, demo vendors on loopback
test-e2e: build deps
	RBUTTON_E2E_NO_BUILD=1 $(NODE) --test --test-concurrency=1 extension/e2e/*.test.mjs

## deps: what the browser tests and the demo need on a fresh Debian machine
deps: browsers node_modules/.package-lock.json

browsers:
	scripts/ensure-browsers.sh

# Node test drivers only (playwright-core, puppeteer-core): no browser downloads.
node_modules/.package-lock.json: package.json package-lock.json
	PUPPETEER_SKIP_DOWNLOAD=1 $(NPM) ci --no-audit --no-fund --ignore-scripts

## demo: demo vendors on loopback, Chromium with the extension, a report and screenshots
demo: build deps
	RBUTTON_E2E_NO_BUILD=1 $(NODE) extension/e2e/demo.mjs

## bench: side-by-side measurements, written to BENCHMARKS.md
bench: build deps
	$(GO) run ./bench/cmd/rbutton-bench

## install: put rbutton on this machine and register it with every browser found
install: build
	install -d $(HOME)/.local/bin
	install -m 0755 $(BIN)/rbutton $(HOME)/.local/bin/rbutton
	$(HOME)/.local/bin/rbutton install

uninstall:
	-$(HOME)/.local/bin/rbutton uninstall
	rm -f $(HOME)/.local/bin/rbutton

## package: store-ready zips of the extension, one per browser, in dist/
package:
	extension/package.sh dist

## firefox-extension: the Firefox development build in build/firefox (extension/ minus `key`)
firefox-extension:
	$(NODE) extension/tools/build-firefox.mjs build/firefox

clean:
	rm -rf $(BIN) build dist demo-output bench/out
