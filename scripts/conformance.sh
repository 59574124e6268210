#!/usr/bin/env bash
# Runs the official Engine.IO v4 and v3 and Socket.IO v5 protocol test
# suites against this server. The suites are not part of this repository:
# point SUITES at a directory holding engine.io-protocol/,
# engine.io-protocol-v3/ (from v3-test-suite) and socket.io-protocol/,
# each with the suite's test-suite.js, node-imports.js and package files
# from the socket.io repository's docs/ folder, installed with `npm ci`.
set -euo pipefail
cd "$(dirname "$0")/.."
SUITES=${SUITES:-/work/conformance}
go test -c -o /tmp/socketio-conformance.test .
SOCKETIO_CONFORMANCE=1 /tmp/socketio-conformance.test -test.run '^TestConformanceServer$' -test.v >/tmp/socketio-conformance.log 2>&1 &
server=$!
trap 'kill -TERM $server 2>/dev/null; wait $server 2>/dev/null || true' EXIT
for _ in $(seq 50); do
  curl -s -o /dev/null 'http://127.0.0.1:3000/engine.io/?EIO=4&transport=polling' && break
  sleep 0.1
done
status=0
for suite in engine.io-protocol engine.io-protocol-v3 socket.io-protocol; do
  echo "== $suite"
  (cd "$SUITES/$suite" && npx mocha --reporter dot test-suite.js) || status=1
done
exit $status
