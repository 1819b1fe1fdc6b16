#!/usr/bin/env bash
# Runs every Go fuzz target in the module, each with the same budget.
# `go test -fuzz` takes one target per invocation, so list them first.
#
# Usage: scripts/fuzz.sh BUDGET
#   BUDGET is go test's -fuzztime: a count such as 20000x (what make test
#   uses) or a duration such as 60s (make fuzz).
#
# Go 1.26's fuzz coordinator can report a bare "context deadline exceeded"
# when a duration budget ends while a worker is starved (golang/go#75804,
# fixed in Go 1.27); counts have no deadline to race. With a duration, such
# a failure that wrote no reproducer is retried once; a written reproducer,
# a panic or any other failure fails the run.
set -euo pipefail
budget=${1:-20000x}
log=$(mktemp)
trap 'rm -f "$log"' EXIT
ran=0

fuzz_once() { # pkg target
  go test -run='^$' -fuzz="^$2\$" -fuzztime="$budget" "$1" >"$log" 2>&1
}

deadline_only() { # the coordinator race: nothing found, nothing written
  grep -q 'context deadline exceeded' "$log" && ! grep -qE 'Failing input written|panic:' "$log"
}

for pkg in $(go list ./...); do
  # A package that does not build must fail here, not look target-less.
  listing=$(go test -list '^Fuzz' "$pkg")
  for target in $(grep '^Fuzz' <<<"$listing" || true); do
    echo "fuzz: $pkg $target ($budget)"
    if ! fuzz_once "$pkg" "$target"; then
      if [[ $budget != *x ]] && deadline_only; then
        echo "fuzz: $target: the Go fuzz coordinator's deadline race (golang/go#75804); running it again"
        fuzz_once "$pkg" "$target" && { ran=$((ran + 1)); continue; }
      fi
      cat "$log"
      echo "fuzz: $target failed; a failing input, if one was found, is under $(go list -f '{{.Dir}}' "$pkg")/testdata/fuzz/$target"
      exit 1
    fi
    ran=$((ran + 1))
  done
done
if [ "$ran" -eq 0 ]; then
  echo "fuzz: no fuzz targets found" >&2
  exit 1
fi
echo "fuzz: ran $ran targets, $budget each"
