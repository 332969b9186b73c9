package githubbot

import (
	"context"

	"github.com/envwick/envwick/bots/command"
)

func (b *Bot) helpCommand() envSpec {
	return envSpec{Name: "help", Permission: command.Anyone, Run: b.cmdHelp,
		Args:    []command.Arg{{Name: "SUBCOMMAND", Kind: command.Subcommand, Optional: true, Help: "the subcommand to explain"}},
		Summary: "show this help, or one subcommand's"}
}

// cmdHelp answers with the overview, or one subcommand's usage.
func (b *Bot) cmdHelp(ctx context.Context, c *cmdContext) error {
	if topic := c.in.Arg("SUBCOMMAND"); topic != "" {
		return b.fb.reply(ctx, c.ref, "@"+c.user.GetLogin()+"\n\n"+b.commands.Usage(topic))
	}
	return b.fb.reply(ctx, c.ref, "@"+c.user.GetLogin()+"\n\n"+b.Help())
}
