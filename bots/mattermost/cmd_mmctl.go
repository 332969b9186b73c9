package mattermost

import (
	"context"

	"github.com/envwick/envwick/bots/command"
)

func mmctlCommand() cloudSpec {
	return cloudSpec{Name: "mmctl", Summary: "run an mmctl command on an environment (allowed subcommands only), e.g. mmctl conf42 user list", Permission: ownerOrAdmin,
		Args: []command.Arg{nameArg("the environment"), {Name: "ARGS", Variadic: true, Help: "the mmctl command line"}}, Verbatim: true,
		Run: (*action).mmctl}
}

func (a *action) mmctl(ctx context.Context) (string, error) {
	// The platform is reached only through the reconciler, which exports
	// the exec service; without it there is nothing to run mmctl with.
	if a.bot.exec == nil {
		return "", refuse("`/cloud mmctl` is not configured on this envwick: the reconciler does not export its exec service here. Nothing was run.")
	}
	out, err := a.bot.exec.Mmctl(ctx, a.name, a.in.Args("ARGS"), a.bot.cfg.isAdmin(a.who))
	if err != nil {
		return "", refuse("mmctl on **%s** did not run: %s", a.name, err)
	}
	if out == "" {
		out = "(no output)"
	}
	return "```\n" + out + "\n```", nil
}
