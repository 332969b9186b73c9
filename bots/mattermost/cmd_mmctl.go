package mattermost

import (
	"context"
	"fmt"
	"strings"

	"github.com/envwick/envwick/bots/command"
	"github.com/envwick/envwick/reconciler"
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
	res, err := a.bot.exec.Exec(ctx, reconciler.ExecRequest{Environment: a.name, Args: a.in.Args("ARGS"), Admin: a.bot.cfg.isAdmin(a.who)})
	if err != nil {
		return "", refuse("mmctl on **%s** did not run: %s", a.name, err)
	}
	out := strings.TrimSpace(res.Output)
	if out == "" {
		out = "(no output)"
	}
	var s strings.Builder
	if res.Failed {
		fmt.Fprintf(&s, "`%s` failed on **%s**:\n", res.Command, a.name)
	}
	s.WriteString("```\n" + out + "\n```")
	if res.Truncated {
		s.WriteString("\n(output cut)")
	}
	return s.String(), nil
}
