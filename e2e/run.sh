#!/usr/bin/env bash
# `make e2e`: start the real peers, run every package that has e2e-tagged tests
# against them, and stop the peers whatever happened. See docs/e2e.md.
set -euo pipefail

E2E=$(cd "$(dirname "$0")" && pwd)
source "$E2E/peers/common.sh"
cd "$E2E/.."

finish() {
	local status=$?
	if [ $status -ne 0 ] && [ -d "$RUN/logs" ]; then
		for f in provisioner aws-stub mattermost etcd kube-apiserver; do
			[ -s "$RUN/logs/$f.log" ] || continue
			log "last lines of $RUN/logs/$f.log:"
			tail -n 40 "$RUN/logs/$f.log" >&2
		done
	fi
	"$E2E/peers/down.sh"
	exit $status
}
trap finish EXIT
trap "exit 130" INT TERM

# Packages with at least one test file carrying the e2e build tag; E2E_PKGS
# overrides (e.g. E2E_PKGS=./reconciler/platform/provisioner/contract).
pkgs=${E2E_PKGS:-$(git ls-files --cached --others --exclude-standard '*_test.go' ':!e2e/peers' |
	xargs -r grep -l -E '^//go:build.*\be2e\b' | xargs -r -n1 dirname | sort -u | sed 's|^|./|')}
[ -n "$pkgs" ] || die "no e2e-tagged tests found"

"$E2E/peers/up.sh"
source "$RUN/env"
log "testing: $(echo $pkgs)"
go vet -tags e2e $pkgs
go test -tags e2e -count=1 -timeout 30m $pkgs
