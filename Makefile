# The two commands of the README: `make example` and `make test`.
.PHONY: example test deps bench

# deps installs what the tests drive: the pinned npm packages (the official
# socket.io-client) from testdata/node/package-lock.json.
deps:
	command -v node >/dev/null || (apt-get update && apt-get install -y nodejs npm)
	npm ci --prefix testdata/node --no-audit --no-fund

test: deps
	go vet ./...
	go test -race -count=1 ./...

example:
	npm ci --prefix example --no-audit --no-fund
	cd example && go run .

# bench runs the comparison of bench/BENCHMARKS.md (about 10 minutes).
bench:
	cd bench && ./run.sh
