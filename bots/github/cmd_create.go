package githubbot

import (
	"context"
	"errors"
	"fmt"

	"github.com/envwick/envwick/bots/commit"
)

func (b *Bot) createCommand() envSpec {
	return envSpec{Name: "create", Permission: b.changes(), Flags: serverFlags(), Run: b.cmdCreate,
		Summary: fmt.Sprintf("create the test server of this pull request (template %q unless a template label is on it); refused if one exists", b.cfg.DefaultTemplate)}
}

func (b *Bot) cmdCreate(ctx context.Context, c *cmdContext) error {
	if err := b.pull(ctx, c); err != nil {
		return err
	}
	if isFork(c.pr) && !b.cfg.ServeForks {
		return b.fb.reply(ctx, c.ref, fmt.Sprintf("@%s this pull request comes from a fork; test servers are not created for forks here.", c.user.GetLogin()))
	}
	label := b.cfg.DefaultTemplate
	if l, ok := b.templateLabel(c.pr.Labels); ok {
		label = l
	}
	env := b.environmentFor(c.repo, c.pr, label, b.cfg.Templates[label])
	for _, m := range serverMutations(c.in) {
		if err := m(env); err != nil {
			return b.fb.reply(ctx, c.ref, fmt.Sprintf("@%s %v", c.user.GetLogin(), err))
		}
	}
	res, err := b.committer.Create(ctx, c.meta, env)
	if errors.Is(err, commit.ErrExists) {
		return b.fb.reply(ctx, c.ref, fmt.Sprintf("@%s test server `%s` exists already; use `/env update` to change it or `/env delete` first.", c.user.GetLogin(), c.ref.Name))
	}
	return b.afterCommit(ctx, c.ref, res, err, phaseCreating)
}
