#!/usr/bin/env bash
# Runs every Go fuzz target in the module for a fixed time each.
# `go test -fuzz` takes one target per invocation, so list them first.
# Usage: scripts/fuzz.sh SECONDS
set -euo pipefail
secs=${1:-5}
log=$(mktemp)
trap 'rm -f "$log"' EXIT
ran=0
for pkg in $(go list ./...); do
  # A package that does not build must fail here, not look target-less.
  listing=$(go test -list '^Fuzz' "$pkg")
  for target in $(grep '^Fuzz' <<<"$listing" || true); do
    echo "fuzz: $pkg $target (${secs}s)"
    if ! go test -run='^$' -fuzz="^${target}\$" -fuzztime="${secs}s" "$pkg" >"$log" 2>&1; then
      cat "$log"
      echo "fuzz: $target failed; the failing input is under $(go list -f '{{.Dir}}' "$pkg")/testdata/fuzz/$target"
      exit 1
    fi
    ran=$((ran + 1))
  done
done
if [ "$ran" -eq 0 ]; then
  echo "fuzz: no fuzz targets found" >&2
  exit 1
fi
echo "fuzz: ran $ran targets for ${secs}s each"
