#!/bin/sh
# Store-ready zips of the extension, one per browser, in $1 (default dist/).
# See tools/package.mjs for what goes in.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
exec "${NODE:-node}" "$here/tools/package.mjs" "${1:-dist}"
