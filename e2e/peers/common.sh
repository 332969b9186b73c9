# Shared by up.sh, down.sh and ../run.sh; sourced, never run. Expects $E2E (the
# e2e/ directory).
export GOTOOLCHAIN=local
RUN=${ENVWICK_E2E_RUN_DIR:-$E2E/.run}
CACHE=${ENVWICK_E2E_CACHE:-${HOME:-/root}/.cache/envwick-e2e}

log() { echo "e2e: $*" >&2; }
die() {
	log "$*"
	exit 1
}

# PostgreSQL binaries from Debian's packages (newest major installed).
PG_BIN=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n1 || true)

ensure_postgres() {
	[ -n "$PG_BIN" ] && [ -x "$PG_BIN/initdb" ] && return 0
	if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null; then
		die "PostgreSQL server not found under /usr/lib/postgresql: install Debian's postgresql package"
	fi
	log "installing PostgreSQL from Debian's packages"
	apt-get update -qq >/dev/null
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null
	PG_BIN=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n1)
	[ -x "$PG_BIN/initdb" ] || die "PostgreSQL install did not provide initdb"
}

# etcd for the Kubernetes control plane, from Debian's etcd-server.
ensure_etcd() {
	command -v etcd >/dev/null && return 0
	if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null; then
		die "etcd not found: install Debian's etcd-server package"
	fi
	log "installing etcd from Debian's packages"
	apt-get update -qq >/dev/null
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq etcd-server >/dev/null
	command -v etcd >/dev/null || die "etcd-server install did not provide etcd"
}

# PostgreSQL refuses to run as root: as root, its commands run as the postgres
# user (created by Debian's package) in a directory that user owns.
as_pg() {
	if [ "$(id -u)" = 0 ]; then
		(cd / && runuser -u postgres -- "$@")
	else
		"$@"
	fi
}

as_pg_owner_prepare() {
	chmod 700 "$1"
	if [ "$(id -u)" = 0 ]; then chown postgres:postgres "$1"; fi
}

# peer_cache_dir WRAPPER_DIR: where the peer built from that wrapper module is
# cached: named for the wrapper and the version it requires, keyed by a digest
# of its go.mod and go.sum so any change of version or dependency rebuilds.
peer_cache_dir() {
	local dir=$1 name version digest
	name=$(basename "$dir")
	version=$(awk '/^require [^(]/ {print $3; exit} /^require \(/ {getline; print $2; exit}' "$dir/go.mod")
	digest=$(cat "$dir/go.mod" "$dir/go.sum" | sha256sum | cut -c1-12)
	echo "$CACHE/$name-$version-$digest"
}

# start_daemon NAME CMD...: starts CMD in a session of its own (so down.sh can
# stop it with everything it spawned), output to $RUN/logs/NAME.log, and
# records its pid in $RUN/pids.
start_daemon() {
	local name=$1
	shift
	setsid "$@" >"$RUN/logs/$name.log" 2>&1 </dev/null &
	echo "$name $!" >>"$RUN/pids"
}

pid_of() { awk -v n="$1" '$1 == n {p = $2} END {print p}' "$RUN/pids"; }
