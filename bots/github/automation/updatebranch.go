package automation

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"

	gh "github.com/google/go-github/v57/github"
)

// "/update-branch" merges the base branch into the pull request's head
// branch, a real merge commit as GitHub's "Update branch" makes ("Merge
// branch 'main' into topic"), authored by the commenter, and pushes it to
// the head repository. Replayed or retried, it finds the base already
// merged and pushes nothing.

// updateGitHub is what "/update-branch" needs of GitHub.
type updateGitHub interface {
	PullRequest(ctx context.Context, repo string, number int) (*gh.PullRequest, error)
	Comment(ctx context.Context, repo string, number int, body string) error
}

type updateBranch struct {
	gh  updateGitHub
	git *gitRunner
	log *slog.Logger
}

func (u *updateBranch) command(ctx context.Context, inv *invocation) error {
	pr, err := inv.pull(ctx, u.gh)
	if err != nil {
		return err
	}
	reply := func(msg string, args ...any) error { return replyTo(ctx, u.gh, inv, fmt.Sprintf(msg, args...)) }
	head, base := pr.GetHead(), pr.GetBase()
	switch {
	case pr.GetState() != "open":
		return reply("this pull request is closed; there is no branch to update.")
	case head.GetRepo() == nil:
		return reply("the head repository of this pull request no longer exists.")
	case !strings.EqualFold(head.GetRepo().GetFullName(), base.GetRepo().GetFullName()) && !pr.GetMaintainerCanModify():
		return reply("this pull request comes from the fork %s, which does not allow edits from maintainers; its author can allow them, or merge `%s` themselves.",
			head.GetRepo().GetFullName(), base.GetRef())
	}
	w, err := u.git.open(ctx, person(inv.user))
	if err != nil {
		return err
	}
	defer w.close()
	baseRef, err := w.fetch(ctx, base.GetRepo().GetCloneURL(), base.GetRef(), "base")
	if errors.Is(err, errNoBranch) {
		return reply("the base branch `%s` does not exist.", base.GetRef())
	}
	if err != nil {
		return err
	}
	headRef, err := w.fetch(ctx, head.GetRepo().GetCloneURL(), head.GetRef(), "head")
	if errors.Is(err, errNoBranch) {
		return reply("the branch `%s` of %s does not exist any more.", head.GetRef(), head.GetRepo().GetFullName())
	}
	if err != nil {
		return err
	}
	if _, err := w.git(ctx, "merge-base", "--is-ancestor", baseRef, headRef); err == nil {
		return reply("`%s` is up to date with `%s`; nothing to merge.", head.GetRef(), base.GetRef())
	}
	if _, err := w.git(ctx, "checkout", "-q", "--detach", headRef); err != nil {
		return err
	}
	msg := fmt.Sprintf("Merge branch '%s' into %s", base.GetRef(), head.GetRef())
	if _, err := w.git(ctx, "merge", "-q", "--no-ff", "--no-edit", "-m", msg, baseRef); err != nil {
		if files := w.conflicts(ctx); len(files) > 0 {
			return reply("merging `%s` into `%s` conflicts in:\n\n%s\nResolve the conflicts locally and push; nothing was pushed.", base.GetRef(), head.GetRef(), fileList(files))
		}
		return err
	}
	if err := w.push(ctx, head.GetRepo().GetCloneURL(), head.GetRef()); err != nil {
		// The branch may have moved meanwhile: the event is retried, and
		// merges again on the new head.
		return fmt.Errorf("pushing the merge of %s into %s#%d: %w", base.GetRef(), inv.repo, inv.number, err)
	}
	sha, _ := w.revParse(ctx, "HEAD")
	u.log.InfoContext(ctx, "branch updated", "pull_request", fmt.Sprintf("%s#%d", inv.repo, inv.number), "commit", sha)
	return reply("merged `%s` into `%s` (%.7s).", base.GetRef(), head.GetRef(), sha)
}

func fileList(files []string) string {
	var b strings.Builder
	for _, f := range files {
		fmt.Fprintf(&b, "- `%s`\n", f)
	}
	return b.String()
}
