// Helper programs for `make e2e`: the AWS stub proxy the provisioner talks to,
// readiness waits and the Mattermost bootstrap. Standard library only, and a
// module of its own so the project's `go test ./...` never builds it.
module github.com/envwick/envwick/e2e/peers/harness

go 1.26
