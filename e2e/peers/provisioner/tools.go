//go:build tools

// Package provisioner pins the provisioner command so `go build
// github.com/mattermost/mattermost-cloud/cmd/cloud` resolves inside this module
// (the module proxy refuses `go install ...@version` for it).
package provisioner

import _ "github.com/mattermost/mattermost-cloud/cmd/cloud"
