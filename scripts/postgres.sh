#!/usr/bin/env bash
# A throwaway PostgreSQL server for the tests and the benchmarks: a fresh
# cluster in a temporary directory, reachable only through a Unix socket in
# that directory, run as an unprivileged user (initdb refuses root; CI runs
# as root), removed when done. Installs Debian's postgresql when initdb is
# missing.
#
#   scripts/postgres.sh run CMD [ARG...]  start a server, run CMD with
#                                         RBUTTON_TEST_PG set to its DSN, stop it
#   scripts/postgres.sh start             start a server; print its directory
#                                         and DSN on two lines
#   scripts/postgres.sh stop DIR          stop the server in DIR, remove DIR
#
# Extra server settings (e.g. "-c fsync=off") can be given in PG_SERVER_OPTS.
set -euo pipefail

say() { echo "postgres.sh: $*" >&2; }

# bindir prints the directory holding initdb and pg_ctl, installing
# PostgreSQL first if there is none.
bindir() {
	local d
	for d in $(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -t/ -k5 -n -r); do
		[ -x "$d/initdb" ] && { echo "$d"; return 0; }
	done
	if command -v initdb >/dev/null && command -v pg_ctl >/dev/null; then
		dirname "$(command -v initdb)"
		return 0
	fi
	if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
		say "initdb not found: installing postgresql"
		DEBIAN_FRONTEND=noninteractive apt-get update -qq >&2
		DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >&2
		for d in $(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -t/ -k5 -n -r); do
			[ -x "$d/initdb" ] && { echo "$d"; return 0; }
		done
	fi
	say "PostgreSQL's initdb is not installed (Debian: apt-get install postgresql)"
	exit 1
}

# as USER CMD...: run CMD as USER (as ourselves when USER is empty).
as() {
	local user=$1
	shift
	if [ -z "$user" ]; then
		"$@"
	elif command -v runuser >/dev/null; then
		runuser -u "$user" -- "$@"
	elif command -v setpriv >/dev/null; then
		setpriv --reuid="$user" --regid="$(id -g "$user")" --clear-groups -- "$@"
	else
		su -s /bin/sh "$user" -c "$(printf '%q ' "$@")"
	fi
}

# server_user prints the user to run the server as: nobody when we are
# root, else nothing (ourselves).
server_user() {
	if [ "$(id -u)" != 0 ]; then
		return 0
	fi
	if id -u nobody >/dev/null 2>&1; then
		echo nobody
		return 0
	fi
	say "running as root and there is no user 'nobody' to run PostgreSQL as"
	exit 1
}

start() {
	local bin user dir
	bin=$(bindir)
	user=$(server_user)
	# The directory must be reachable by the server's user: TMPDIR may be
	# private to root, /tmp never is.
	dir=$(mktemp -d "${TMPDIR:-/tmp}/rbutton-pg.XXXXXX")
	if [ -n "$user" ]; then
		chown "$user" "$dir"
		if ! as "$user" test -w "$dir"; then
			rmdir "$dir"
			dir=$(mktemp -d /tmp/rbutton-pg.XXXXXX)
			chown "$user" "$dir"
		fi
	fi
	chmod 700 "$dir"
	(cd "$dir" && as "$user" "$bin/initdb" -D "$dir/data" -U rbutton --auth=trust --no-sync \
		-E UTF8 --locale=C >"$dir/initdb.log" 2>&1) || {
		say "initdb failed:"; cat "$dir/initdb.log" >&2; exit 1
	}
	cat >>"$dir/data/postgresql.conf" <<CONF
listen_addresses = ''
unix_socket_directories = '$dir'
max_connections = 300
CONF
	# shellcheck disable=SC2086
	(cd "$dir" && as "$user" "$bin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 \
		${PG_SERVER_OPTS:+-o "$PG_SERVER_OPTS"} start >/dev/null) || {
		say "the server did not start:"; cat "$dir/server.log" >&2; exit 1
	}
	echo "$dir"
	echo "host=$dir user=rbutton dbname=postgres sslmode=disable"
}

stop() {
	local dir=$1 bin user
	[ -d "$dir/data" ] || { rm -rf "$dir"; return 0; }
	bin=$(bindir)
	user=$(stat -c %U "$dir/data")
	[ "$user" = "$(id -un)" ] && user=
	(cd "$dir" && as "$user" "$bin/pg_ctl" -D "$dir/data" -m fast -w stop >/dev/null 2>&1) ||
		say "pg_ctl stop failed (server log: $dir/server.log)"
	rm -rf "$dir"
}

case "${1:-}" in
start)
	start
	;;
stop)
	[ -n "${2:-}" ] || { say "usage: $0 stop DIR"; exit 2; }
	stop "$2"
	;;
run)
	shift
	[ $# -gt 0 ] || { say "usage: $0 run CMD [ARG...]"; exit 2; }
	out=$(start)
	dir=$(sed -n 1p <<<"$out")
	trap 'stop "$dir"' EXIT
	trap 'exit 130' INT TERM
	say "PostgreSQL running in $dir"
	status=0
	RBUTTON_TEST_PG=$(sed -n 2p <<<"$out") "$@" || status=$?
	exit $status
	;;
*)
	say "usage: $0 run CMD [ARG...] | start | stop DIR"
	exit 2
	;;
esac
