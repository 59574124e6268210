# The two commands of the README: `make example` and `make test`.
.PHONY: example test deps lint conformance bench soak

# staticcheck, pinned, run from the module proxy (no install step).
STATICCHECK = go run honnef.co/go/tools/cmd/staticcheck@v0.8.2

# deps installs what the tests drive: Node.js, the pinned npm packages
# (socket.io-client, playwright-core; the example's browser client; for the
# Redis adapter socket.io, @socket.io/redis-adapter and
# @socket.io/redis-emitter), Debian's Chromium and redis-server.
deps:
	command -v node >/dev/null || (apt-get update && apt-get install -y nodejs npm)
	test -x /usr/bin/chromium || (apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y chromium)
	command -v redis-server >/dev/null || (apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y redis-server)
	npm ci --prefix testdata/node --no-audit --no-fund
	npm ci --prefix example --no-audit --no-fund
	npm ci --prefix adapter/redis/testdata/node --no-audit --no-fund
	npm ci --prefix admin/testdata/node --no-audit --no-fund

test: deps lint
	go test -race -count=1 ./...
	SOCKETIO_TEST_LIBRARY_IO=1 go test -race -count=1 .
	cd adapter/redis && go test -race -count=1 ./...
	cd parser/msgpack && go test -race -count=1 ./...
	cd admin && go test -race -count=1 ./...
	FUZZTIME=10s ./scripts/fuzz.sh

# lint: gofmt, go vet and staticcheck over every module, bench/ included;
# and go vet of the library modules (tests included) built for Windows and
# macOS, which the tests here do not run on (bench/ is Linux only).
lint:
	@unformatted=$$(gofmt -l .); if [ -n "$$unformatted" ]; then echo "gofmt needed:"; echo "$$unformatted"; exit 1; fi
	for m in . adapter/redis parser/msgpack admin bench; do \
		(cd $$m && go vet ./... && $(STATICCHECK) ./...) || exit 1; \
	done
	for m in . adapter/redis parser/msgpack admin; do \
		(cd $$m && GOOS=windows go vet ./... && GOOS=darwin go vet ./...) || exit 1; \
	done

example:
	npm ci --prefix example --no-audit --no-fund
	cd example && go run .

# conformance runs the official protocol suites (see scripts/conformance.sh).
conformance:
	./scripts/conformance.sh

# bench runs the comparison of bench/BENCHMARKS.md (about 10 minutes).
bench:
	cd bench && ./run.sh

# soak runs the 10-minute soak of bench/RELIABILITY.md (about 12 minutes).
soak:
	cd bench && ./soak.sh
