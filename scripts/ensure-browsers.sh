#!/bin/sh
# Installs the browsers the end-to-end tests drive (Debian chromium and
# firefox-esr) when they are missing. Idempotent and quiet: does nothing,
# and touches no network, when both are already there.
set -eu

need=""
command -v chromium >/dev/null 2>&1 || [ -x /usr/bin/chromium ] || need="$need chromium"
command -v firefox-esr >/dev/null 2>&1 || [ -x /usr/bin/firefox-esr ] || need="$need firefox-esr"
[ -z "$need" ] && exit 0

if [ "$(id -u)" -ne 0 ]; then
	SUDO=sudo
else
	SUDO=
fi
echo "ensure-browsers: installing$need" >&2
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq >/dev/null
# shellcheck disable=SC2086 # $need is a word list on purpose
$SUDO apt-get install -y -qq $need >/dev/null
