// Package examples is a sample envs repository: a pull-request environment,
// a chat environment and a hand-written one with comments. It is embedded so
// that 'envwick dev' can seed a new repository from any working directory.
package examples

import (
	"embed"
	"io/fs"
)

//go:embed environments
var files embed.FS

// FS returns the sample repository's files, rooted at its top (paths start
// with "environments/").
func FS() fs.FS { return files }
