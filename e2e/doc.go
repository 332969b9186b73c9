// Package e2e holds smoke tests proving the real peers that `make e2e` starts
// (the Mattermost Cloud provisioner, a Mattermost server and a Kubernetes API
// server, see docs/e2e.md) answer as the project's end-to-end tests expect,
// the Kubernetes manifests' server-side dry run, and the leader-election
// failover of two envwick replicas. The tests carry the e2e build
// tag and skip when the ENVWICK_E2E_* variables are not set; the scripts and
// wrapper modules that build and start the peers live in e2e/peers.
package e2e
