#!/usr/bin/env bash
# Builds (when not cached) and starts the real peers `make e2e` tests against:
# PostgreSQL from Debian, the Mattermost Cloud provisioner (with its AWS stub
# proxy and a git daemon for its utilities repository), a Mattermost server,
# and a Kubernetes control plane (Debian's etcd and kube-apiserver) for the
# leader-election failover test.
# Writes $RUN/env exporting the ENVWICK_E2E_* variables; peers/down.sh stops
# everything. See docs/e2e.md.
#
# usage: e2e/peers/up.sh [provisioner] [mattermost] [kube]   (no argument: all)
set -euo pipefail

E2E=$(cd "$(dirname "$0")/.." && pwd)
source "$E2E/peers/common.sh"

peers=("$@")
[ ${#peers[@]} -gt 0 ] || peers=(provisioner mattermost kube)
want() { local p; for p in "${peers[@]}"; do [ "$p" = "$1" ] && return 0; done; return 1; }
for p in "${peers[@]}"; do
	case $p in provisioner | mattermost | kube) ;; *) die "unknown peer $p (want provisioner, mattermost and/or kube)" ;; esac
done

started=$(date +%s)
# A previous run that was not stopped would hold ports and a database: stop it.
"$E2E/peers/down.sh" >/dev/null 2>&1 || true
rm -rf "$RUN"
mkdir -p "$RUN/logs" "$RUN/bin"
: >"$RUN/pids"
trap 'exit 130' INT TERM
trap 'log "failed at line $LINENO: $BASH_COMMAND"' ERR
trap 'status=$?; if [ $status -ne 0 ]; then log "start failed; logs are in $RUN/logs"; "$E2E/peers/down.sh" >/dev/null 2>&1 || true; fi' EXIT

# --- builds -----------------------------------------------------------------

ensure_postgres
if want kube; then ensure_etcd; fi
log "building the harness helper"
(cd "$E2E/peers/harness" && go build -buildvcs=false -o "$RUN/bin/harness" .)

# build_peer NAME WRAPPER_DIR PACKAGE BINARY: builds PACKAGE inside its wrapper
# module into the cache, unless the cache already has it. The cache key holds
# the wrapper's go.mod and go.sum digest, so a version change rebuilds.
build_peer() {
	local name=$1 dir=$2 pkg=$3 bin=$4 out
	out=$(peer_cache_dir "$dir")
	if [ -x "$out/$bin" ]; then
		log "$name: cached at $out"
		return 0
	fi
	mkdir -p "$out"
	log "$name: building $pkg (several minutes cold; log: $RUN/logs/build-$name.log)"
	local t0=$(date +%s)
	# A private temporary name: two checkouts may build the same peer into
	# the shared cache at once, and the rename makes the last one win whole.
	if ! (cd "$dir" && GONOSUMDB=github.com/mattermost/mattermost go build -buildvcs=false -trimpath -o "$out/$bin.tmp.$$" "$pkg") >"$RUN/logs/build-$name.log" 2>&1; then
		tail -n 30 "$RUN/logs/build-$name.log" >&2
		return 1
	fi
	if [ "$name" = mattermost ]; then
		# The server reads these from its working directory; copy them beside
		# the binary so the cache does not depend on the module cache.
		local src
		src=$(cd "$dir" && go list -m -f '{{.Dir}}' github.com/mattermost/mattermost/server/v8)
		rm -rf "$out/i18n" "$out/templates" "$out/fonts"
		cp -R "$src/i18n" "$src/templates" "$src/fonts" "$out/"
		chmod -R u+w "$out/i18n" "$out/templates" "$out/fonts"
	fi
	mv "$out/$bin.tmp.$$" "$out/$bin"
	log "$name: built in $(($(date +%s) - t0))s"
}

# The builds run at once: one downloads while another compiles.
build_pids=()
if want provisioner; then
	build_peer provisioner "$E2E/peers/provisioner" github.com/mattermost/mattermost-cloud/cmd/cloud cloud &
	build_pids+=($!)
fi
if want mattermost; then
	build_peer mattermost "$E2E/peers/mattermost" github.com/mattermost/mattermost/server/v8/cmd/mattermost mattermost &
	build_pids+=($!)
fi
if want kube; then
	build_peer kube-apiserver "$E2E/peers/kube-apiserver" k8s.io/kubernetes/cmd/kube-apiserver kube-apiserver &
	build_pids+=($!)
fi
for pid in "${build_pids[@]}"; do
	wait "$pid" || die "a peer build failed (see $RUN/logs/build-*.log)"
done

# --- PostgreSQL ---------------------------------------------------------------

ports=$("$RUN/bin/harness" freeport 8)
read -r PG_PORT PROV_PORT PROV_METRICS_PORT MM_PORT GIT_PORT ETCD_PORT ETCD_PEER_PORT KUBE_PORT <<<"$(echo $ports)"

PGDATA_DIR=$(mktemp -d /tmp/envwick-e2e-pg.XXXXXX)
echo "$PGDATA_DIR" >"$RUN/pgdir"
as_pg_owner_prepare "$PGDATA_DIR"
log "postgres: initdb in $PGDATA_DIR, port $PG_PORT"
as_pg "$PG_BIN/initdb" -D "$PGDATA_DIR/data" -A trust -U postgres -E UTF8 --locale=C --no-sync >"$RUN/logs/initdb.log" 2>&1 ||
	{ cat "$RUN/logs/initdb.log" >&2; die "initdb failed"; }
ln -sf "$PGDATA_DIR/postgres.log" "$RUN/logs/postgres.log"
as_pg "$PG_BIN/pg_ctl" -D "$PGDATA_DIR/data" -l "$PGDATA_DIR/postgres.log" -w -t 60 start \
	-o "-p $PG_PORT -c listen_addresses=127.0.0.1 -k $PGDATA_DIR -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=200" \
	>/dev/null || { cat "$PGDATA_DIR/postgres.log" >&2; die "postgres did not start"; }
echo "postgres $(head -n1 "$PGDATA_DIR/data/postmaster.pid")" >>"$RUN/pids"

pg_url() { echo "postgres://postgres@127.0.0.1:$PG_PORT/$1?sslmode=disable"; }
for db in provisioner mattermost; do
	"$PG_BIN/psql" -q -X -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "$PG_PORT" -U postgres -d postgres -c "CREATE DATABASE $db" >/dev/null
done

{
	echo "# Written by e2e/peers/up.sh; source it to run e2e tests against the started peers."
	echo "export ENVWICK_E2E_RUN_DIR='$RUN'"
	echo "export ENVWICK_E2E_PSQL='$PG_BIN/psql'"
	echo "export ENVWICK_E2E_POSTGRES_PID=$(head -n1 "$PGDATA_DIR/data/postmaster.pid")"
} >"$RUN/env.tmp"

# --- the provisioner ------------------------------------------------------------

if want provisioner; then
	CLOUD=$(peer_cache_dir "$E2E/peers/provisioner")/cloud
	PDIR=$RUN/provisioner
	mkdir -p "$PDIR/home/.ssh" "$PDIR/bin" "$PDIR/git" "$PDIR/aws"

	# Its utilities repository: a bare repo with one commit, served by git daemon.
	git init -q --bare "$PDIR/git/utilities.git"
	seed=$(mktemp -d)
	git -C "$seed" init -q -b main
	echo "envwick e2e utilities placeholder" >"$seed/README"
	git -C "$seed" add README
	git -C "$seed" -c user.name=envwick-e2e -c user.email=e2e@envwick.test commit -q -m "Seed utilities repository"
	git -C "$seed" push -q "$PDIR/git/utilities.git" main
	rm -rf "$seed"
	start_daemon git-daemon git daemon --reuseaddr --listen=127.0.0.1 --port="$GIT_PORT" \
		--base-path="$PDIR/git" --export-all "$PDIR/git"
	deadline=$(($(date +%s) + 30))
	until git ls-remote "git://127.0.0.1:$GIT_PORT/utilities.git" >/dev/null 2>&1; do
		[ "$(date +%s)" -lt $deadline ] || die "git daemon did not answer (log: $RUN/logs/git-daemon.log)"
		sleep 0.2
	done

	# The AWS stub proxy writes ca.pem, then addr when it is listening.
	start_daemon aws-stub "$RUN/bin/harness" awsstub -dir "$PDIR/aws" -env e2e
	deadline=$(($(date +%s) + 30))
	until [ -s "$PDIR/aws/addr" ]; do
		[ "$(date +%s)" -lt $deadline ] || die "AWS stub did not start (log: $RUN/logs/aws-stub.log)"
		sleep 0.1
	done

	# Tools it checks at start, an SSH public key, AWS credentials that go
	# nowhere but the stub, and a HOME of its own.
	for tool in terraform kops helm kubectl; do ln -sf "$E2E/peers/stub-tool" "$PDIR/bin/$tool"; done
	echo "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIEnvwickE2eStubKeyNotUsedAnywhere0000000 e2e@envwick.test" >"$PDIR/home/.ssh/id_rsa.pub"
	provisioner_env=(
		env -u AWS_PROFILE -u AWS_SESSION_TOKEN -u AWS_ENDPOINT_URL -u HTTP_PROXY -u http_proxy
		HOME="$PDIR/home" PATH="$PDIR/bin:$PATH"
		HTTPS_PROXY="http://$(cat "$PDIR/aws/addr")" https_proxy="http://$(cat "$PDIR/aws/addr")"
		NO_PROXY=127.0.0.1,localhost no_proxy=127.0.0.1,localhost
		AWS_CA_BUNDLE="$PDIR/aws/ca.pem" AWS_ACCESS_KEY_ID=AKIAENVWICKE2ESTUB AWS_SECRET_ACCESS_KEY=envwick-e2e-not-a-secret
		AWS_REGION=us-east-1 AWS_DEFAULT_REGION=us-east-1 AWS_EC2_METADATA_DISABLED=true
		CLOUD_SERVER_OWNER=envwick-e2e
	)
	log "provisioner: schema migrate"
	(cd "$PDIR" && "${provisioner_env[@]}" "$CLOUD" schema migrate --database "$(pg_url provisioner)") \
		>"$RUN/logs/provisioner-migrate.log" 2>&1 || { tail -n 20 "$RUN/logs/provisioner-migrate.log" >&2; die "provisioner schema migrate failed"; }
	# Supervisors off: installations stay where the API puts them and tests move
	# them on in the database. Both operator flags on, so the provisioner's own
	# default database (mysql-operator) and filestore (minio-operator) are accepted.
	log "provisioner: starting on 127.0.0.1:$PROV_PORT"
	(cd "$PDIR" && start_daemon provisioner "${provisioner_env[@]}" "$CLOUD" server \
		--database "$(pg_url provisioner)" \
		--listen "127.0.0.1:$PROV_PORT" --metrics-port "$PROV_METRICS_PORT" \
		--disable-all-supervisors --installation-enable-route53 \
		--deploy-mysql-operator --deploy-minio-operator \
		--utilities-git-url "git://127.0.0.1:$GIT_PORT" --utilities-git-path /utilities.git)
	"$RUN/bin/harness" wait -timeout 2m -pid "$(pid_of provisioner)" \
		-url "http://127.0.0.1:$PROV_PORT/api/installations?page=0&per_page=1" ||
		{ tail -n 30 "$RUN/logs/provisioner.log" >&2; die "provisioner did not become ready"; }
	log "provisioner: ready"
	{
		echo "export ENVWICK_E2E_PROVISIONER_URL='http://127.0.0.1:$PROV_PORT'"
		echo "export ENVWICK_E2E_PROVISIONER_DB='$(pg_url provisioner)'"
		echo "export ENVWICK_E2E_PROVISIONER_PID=$(pid_of provisioner)"
	} >>"$RUN/env.tmp"
fi

# --- Mattermost -------------------------------------------------------------------

if want mattermost; then
	MMC=$(peer_cache_dir "$E2E/peers/mattermost")
	MDIR=$RUN/mattermost
	mkdir -p "$MDIR/client" "$MDIR/config" "$MDIR/data"
	# Runs without its webapp: an empty client/ and the server's own assets.
	for d in i18n templates fonts; do ln -sfn "$MMC/$d" "$MDIR/$d"; done
	MM_URL=http://127.0.0.1:$MM_PORT
	MM_PASSWORD=E2e-$(od -An -tx1 -N12 /dev/urandom | tr -d ' \n')
	mattermost_env=(
		env
		MM_SQLSETTINGS_DRIVERNAME=postgres
		MM_SQLSETTINGS_DATASOURCE="$(pg_url mattermost)&connect_timeout=10"
		MM_SERVICESETTINGS_LISTENADDRESS="127.0.0.1:$MM_PORT"
		MM_SERVICESETTINGS_SITEURL="$MM_URL"
		MM_SERVICESETTINGS_ENABLECOMMANDS=true
		MM_SERVICESETTINGS_ENABLEBOTACCOUNTCREATION=true
		MM_SERVICESETTINGS_ENABLEUSERACCESSTOKENS=true
		MM_SERVICESETTINGS_ENABLEINCOMINGWEBHOOKS=false
		MM_SERVICESETTINGS_ENABLELOCALMODE=false
		# Slash command, interactive button and credential calls go to loopback.
		MM_SERVICESETTINGS_ALLOWEDUNTRUSTEDINTERNALCONNECTIONS="127.0.0.1 localhost 127.0.0.0/8 ::1"
		MM_TEAMSETTINGS_ENABLEOPENSERVER=true
		MM_PLUGINSETTINGS_ENABLE=false
		MM_LOGSETTINGS_ENABLEDIAGNOSTICS=false
		MM_SERVICESETTINGS_ENABLESECURITYFIXALERT=false
		MM_ANNOUNCEMENTSETTINGS_ADMINNOTICESENABLED=false
		MM_ANNOUNCEMENTSETTINGS_USERNOTICESENABLED=false
		MM_LOGSETTINGS_ENABLEFILE=false
		MM_LOGSETTINGS_CONSOLELEVEL=INFO
		MM_NOTIFICATIONLOGSETTINGS_ENABLEFILE=false
		MM_EMAILSETTINGS_SENDEMAILNOTIFICATIONS=false
		MM_EMAILSETTINGS_REQUIREEMAILVERIFICATION=false
		MM_FILESETTINGS_DIRECTORY="$MDIR/data/"
		MM_RATELIMITSETTINGS_ENABLE=false
	)
	log "mattermost: starting on $MM_URL"
	(cd "$MDIR" && start_daemon mattermost "${mattermost_env[@]}" "$MMC/mattermost" server --config "$MDIR/config/config.json")
	"$RUN/bin/harness" wait -timeout 3m -pid "$(pid_of mattermost)" -url "$MM_URL/api/v4/system/ping" ||
		{ tail -n 30 "$RUN/logs/mattermost.log" >&2; die "mattermost did not become ready"; }
	team_id=$("$RUN/bin/harness" mmsetup -url "$MM_URL" -user admin -password "$MM_PASSWORD" -team e2e) ||
		die "mattermost: creating the admin user and team failed"
	log "mattermost: ready (admin user and team e2e created)"
	{
		echo "export ENVWICK_E2E_MATTERMOST_URL='$MM_URL'"
		echo "export ENVWICK_E2E_MATTERMOST_ADMIN_USER=admin"
		echo "export ENVWICK_E2E_MATTERMOST_ADMIN_PASSWORD='$MM_PASSWORD'"
		echo "export ENVWICK_E2E_MATTERMOST_TEAM=e2e"
		echo "export ENVWICK_E2E_MATTERMOST_TEAM_ID='$team_id'"
		echo "export ENVWICK_E2E_MATTERMOST_DB='$(pg_url mattermost)'"
		echo "export ENVWICK_E2E_MATTERMOST_PID=$(pid_of mattermost)"
	} >>"$RUN/env.tmp"
fi

# --- Kubernetes control plane ----------------------------------------------------

if want kube; then
	KDIR=$RUN/kube
	mkdir -p "$KDIR/etcd" "$KDIR/pki"
	log "etcd: starting on 127.0.0.1:$ETCD_PORT"
	start_daemon etcd etcd --name e2e --data-dir "$KDIR/etcd" \
		--listen-client-urls "http://127.0.0.1:$ETCD_PORT" --advertise-client-urls "http://127.0.0.1:$ETCD_PORT" \
		--listen-peer-urls "http://127.0.0.1:$ETCD_PEER_PORT" --initial-advertise-peer-urls "http://127.0.0.1:$ETCD_PEER_PORT" \
		--initial-cluster "e2e=http://127.0.0.1:$ETCD_PEER_PORT" --initial-cluster-state new \
		--listen-metrics-urls "http://127.0.0.1:0" --unsafe-no-fsync
	"$RUN/bin/harness" wait -timeout 1m -pid "$(pid_of etcd)" -url "http://127.0.0.1:$ETCD_PORT/health" ||
		{ tail -n 30 "$RUN/logs/etcd.log" >&2; die "etcd did not become ready"; }
	# Certificates, service-account keys and an admin kubeconfig, made
	# afresh for this run (never committed).
	"$RUN/bin/harness" kubecerts -dir "$KDIR/pki" -server "https://127.0.0.1:$KUBE_PORT"
	log "kube-apiserver: starting on 127.0.0.1:$KUBE_PORT"
	start_daemon kube-apiserver "$(peer_cache_dir "$E2E/peers/kube-apiserver")/kube-apiserver" \
		--etcd-servers "http://127.0.0.1:$ETCD_PORT" \
		--bind-address 127.0.0.1 --advertise-address 127.0.0.1 --secure-port "$KUBE_PORT" \
		--cert-dir "$KDIR/pki" --tls-cert-file "$KDIR/pki/server.crt" --tls-private-key-file "$KDIR/pki/server.key" \
		--client-ca-file "$KDIR/pki/ca.crt" --authorization-mode RBAC \
		--service-account-issuer https://kubernetes.default.svc \
		--service-account-key-file "$KDIR/pki/sa.pub" --service-account-signing-key-file "$KDIR/pki/sa.key" \
		--service-cluster-ip-range 10.0.0.0/24 --disable-admission-plugins ServiceAccount
	"$RUN/bin/harness" wait -timeout 2m -pid "$(pid_of kube-apiserver)" -cacert "$KDIR/pki/ca.crt" \
		-url "https://127.0.0.1:$KUBE_PORT/readyz" ||
		{ tail -n 30 "$RUN/logs/kube-apiserver.log" >&2; die "kube-apiserver did not become ready"; }
	log "kube-apiserver: ready"
	{
		echo "export ENVWICK_E2E_KUBECONFIG='$KDIR/pki/kubeconfig'"
		echo "export ENVWICK_E2E_KUBE_APISERVER_PID=$(pid_of kube-apiserver)"
	} >>"$RUN/env.tmp"
fi

mv "$RUN/env.tmp" "$RUN/env"
log "peers up in $(($(date +%s) - started))s: source $RUN/env"
