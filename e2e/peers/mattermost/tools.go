//go:build tools

// Package mattermost pins the server command so `go build
// github.com/mattermost/mattermost/server/v8/cmd/mattermost` resolves inside
// this module.
package mattermost

import _ "github.com/mattermost/mattermost/server/v8/cmd/mattermost"
