package mattermost

import (
	"context"

	"github.com/envwick/envwick/bots/command"
)

// upgradeCommand keeps the cloud plugin's old name, answering with the one
// that replaced it.
func upgradeCommand() cloudSpec {
	return cloudSpec{Name: "upgrade", Summary: "replaced by update", Permission: command.Anyone,
		Args: []command.Arg{{Name: "ARGS", Optional: true, Variadic: true, Help: "ignored"}}, Verbatim: true,
		Run: func(*action, context.Context) (string, error) {
			return "", refuse("`/cloud upgrade` is now `/cloud update`: `/cloud update NAME --version VERSION`. Nothing was changed.")
		}}
}
