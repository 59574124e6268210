# The two commands of the README: `make example` and `make test`.
.PHONY: example test deps conformance bench soak

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

test: deps
	go vet ./...
	go test -race -count=1 ./...
	cd adapter/redis && go vet ./...
	cd adapter/redis && go test -race -count=1 ./...
	cd parser/msgpack && go vet ./...
	cd parser/msgpack && go test -race -count=1 ./...
	cd admin && go vet ./...
	cd admin && go test -race -count=1 ./...
	FUZZTIME=10s ./scripts/fuzz.sh

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
