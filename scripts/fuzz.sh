#!/usr/bin/env bash
# Runs every fuzz target of the root package for FUZZTIME each (default
# 10s); a crash fails the run and leaves the input under testdata/fuzz.
set -euo pipefail
cd "$(dirname "$0")/.."
FUZZTIME=${FUZZTIME:-10s}
for target in $(grep -ho '^func Fuzz[A-Za-z0-9_]*' *_test.go | sed 's/^func //' | sort -u); do
  echo "== $target ($FUZZTIME)"
  go test -run '^$' -fuzz "^${target}\$" -fuzztime "$FUZZTIME" . | tail -n 2
done
