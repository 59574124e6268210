#!/usr/bin/env bash
# Runs every fuzz target of the root package, parser/msgpack and
# adapter/redis for FUZZTIME each (default 10s); a crash fails the run and
# leaves the input
# under testdata/fuzz.
#
# A real finding always writes its input under testdata/fuzz/<target>/.
# Go's fuzzing engine can also exit non-zero without one, when -fuzztime
# runs out while a worker is mid-run (golang/go#51484, "context deadline
# exceeded"); such a run is repeated, up to twice, and fails the script
# only if all three attempts fail (it happened to one target of ten in
# each of two clean-clone CI runs on 2026-11-23).
set -euo pipefail
cd "$(dirname "$0")/.."
FUZZTIME=${FUZZTIME:-10s}
out=$(mktemp)
trap 'rm -f "$out"' EXIT
inputs() { ls "$1/testdata/fuzz/$2" 2>/dev/null | sort || true; }
# The root package, the msgpack parser's module and the Redis adapters'.
for dir in . parser/msgpack adapter/redis; do
for target in $(cd "$dir" && grep -ho '^func Fuzz[A-Za-z0-9_]*' *_test.go | sed 's/^func //' | sort -u); do
  for attempt in 1 2 3; do
    echo "== $dir $target ($FUZZTIME)"
    before=$(inputs "$dir" "$target")
    if (cd "$dir" && go test -run '^$' -fuzz "^${target}\$" -fuzztime "$FUZZTIME" .) >"$out" 2>&1; then
      tail -n 2 "$out"
      break
    fi
    cat "$out"
    if [ "$(inputs "$dir" "$target")" != "$before" ] || [ "$attempt" = 3 ]; then
      echo "FAIL: $dir $target" >&2
      exit 1
    fi
    echo "(no failing input was written: the fuzzing engine's own failure; running $target once more)"
  done
done
done
