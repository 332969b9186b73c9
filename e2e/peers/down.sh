#!/usr/bin/env bash
# Stops what e2e/peers/up.sh started (recorded in $RUN/pids) and removes the
# PostgreSQL data directory. Logs stay in $RUN/logs. Safe to run twice.
set -uo pipefail

E2E=$(cd "$(dirname "$0")/.." && pwd)
source "$E2E/peers/common.sh"

# Each daemon leads a session of its own (setsid): a pid whose session id is
# not itself is no longer ours (it exited and the number was reused).
ours() { [ "$(ps -o sid= -p "$1" 2>/dev/null | tr -d ' ')" = "$1" ]; }

if [ -f "$RUN/pids" ]; then
	daemons=()
	while read -r name pid; do
		[ "$name" = postgres ] && continue
		ours "$pid" && daemons+=("$pid")
	done < <(tac "$RUN/pids")
	# Newest first, each gone before the next is told: a peer stops while
	# what it depends on (kube-apiserver's etcd) still answers.
	for pid in "${daemons[@]}"; do
		kill -TERM -- "-$pid" 2>/dev/null
		deadline=$(($(date +%s) + 15))
		while kill -0 "$pid" 2>/dev/null && [ "$(date +%s)" -lt $deadline ]; do sleep 0.1; done
		if kill -0 "$pid" 2>/dev/null; then
			log "pid $pid did not stop on TERM; killing it"
			kill -KILL -- "-$pid" 2>/dev/null
		fi
	done
fi

if [ -f "$RUN/pgdir" ]; then
	pgdir=$(cat "$RUN/pgdir")
	case $pgdir in /tmp/envwick-e2e-pg.*) ;; *) die "refusing to remove unexpected postgres dir '$pgdir'" ;; esac
	if [ -f "$pgdir/data/postmaster.pid" ]; then
		as_pg "$PG_BIN/pg_ctl" -D "$pgdir/data" -m fast -w -t 30 stop >/dev/null 2>&1 ||
			log "postgres did not stop cleanly"
	fi
	if [ -f "$pgdir/postgres.log" ]; then
		rm -f "$RUN/logs/postgres.log"
		cp "$pgdir/postgres.log" "$RUN/logs/postgres.log"
	fi
	rm -rf "$pgdir"
	rm -f "$RUN/pgdir"
fi
rm -f "$RUN/pids" "$RUN/env"
exit 0
