#!/usr/bin/env bash
# Runs every Go fuzz target in the module for a fixed time each.
# `go test -fuzz` takes one target per invocation, so list them first.
# Usage: scripts/fuzz.sh SECONDS
set -euo pipefail
secs=${1:-5}
ran=0
for pkg in $(go list ./...); do
  for target in $(go test -list '^Fuzz' "$pkg" | grep '^Fuzz' || true); do
    echo "fuzz: $pkg $target (${secs}s)"
    go test -run='^$' -fuzz="^${target}\$" -fuzztime="${secs}s" "$pkg" >/tmp/rbutton-fuzz.log 2>&1 || {
      cat /tmp/rbutton-fuzz.log; echo "fuzz: $target failed; the failing input is under $(go list -f '{{.Dir}}' "$pkg")/testdata/fuzz/$target"; exit 1; }
    ran=$((ran+1))
  done
done
echo "fuzz: ran $ran targets for ${secs}s each"
