package mattermost

import (
	"context"

	"github.com/envwick/envwick/bots/command"
)

func helpCommand() cloudSpec {
	return cloudSpec{Name: helpName, Summary: "show this help, or one subcommand's", Permission: command.Anyone,
		Args: []command.Arg{{Name: "SUBCOMMAND", Kind: command.Subcommand, Optional: true, Help: "the subcommand to explain"}},
		Run:  (*action).help}
}

// help runs before the person is looked up: it reads only the registry.
func (a *action) help(context.Context) (string, error) {
	if topic := a.in.Arg("SUBCOMMAND"); topic != "" && topic != helpName {
		return a.bot.commands.Usage(topic), nil
	}
	return a.bot.commands.Overview(), nil
}
