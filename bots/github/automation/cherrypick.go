package automation

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"regexp"
	"slices"
	"strconv"
	"strings"

	gh "github.com/google/go-github/v57/github"

	githubbot "github.com/envwick/envwick/bots/github"
)

// "/cherry-pick release-X.Y ..." cherry-picks a merged pull request onto a
// new branch from each target (the merge commit with mainline 1, each
// commit of a rebase merge, or the squashed commit), pushes it to the base
// repository and opens a pull request there. Before the merge the command
// is accepted and runs at merge: the merge handler reads the pull request's
// comments for it, as Prow's cherrypicker does, so nothing is kept but the
// comments. A pull request labelled CherryPick/Approved is cherry-picked at
// merge to its milestone's release branch.

// cherryGitHub is what the cherry-pick needs of GitHub.
type cherryGitHub interface {
	PullRequest(ctx context.Context, repo string, number int) (*gh.PullRequest, error)
	PullRequestCommits(ctx context.Context, repo string, number int) ([]*gh.RepositoryCommit, error)
	Comments(ctx context.Context, repo string, number int) ([]*gh.IssueComment, error)
	Comment(ctx context.Context, repo string, number int, body string) error
	FindPull(ctx context.Context, repo, head, base string) (*gh.PullRequest, error)
	CreatePull(ctx context.Context, repo string, pr *gh.NewPullRequest) (*gh.PullRequest, error)
	AddLabel(ctx context.Context, repo string, number int, label string) error
	RemoveLabel(ctx context.Context, repo string, number int, label string) error
}

type cherryPick struct {
	gh      cherryGitHub
	git     *gitRunner
	log     *slog.Logger
	allowed func(ctx context.Context, repo, login, need string) (bool, error)
}

// pickOutcome is how one cherry-pick ended; msg tells people.
type pickOutcome struct {
	ok  bool
	msg string
}

func (c *cherryPick) command(ctx context.Context, inv *invocation) error {
	cfg := inv.cfg.CherryPick
	for _, t := range inv.args {
		if !cfg.branches.MatchString(t) {
			return replyTo(ctx, c.gh, inv, fmt.Sprintf("`%s` is not a release branch here (branches must match `%s`); nothing was cherry-picked.", t, cfg.Branches))
		}
	}
	pr, err := inv.pull(ctx, c.gh)
	if err != nil {
		return err
	}
	switch {
	case pr.GetState() == "open":
		return replyTo(ctx, c.gh, inv, fmt.Sprintf("this pull request is not merged yet; it will be cherry-picked onto %s when it is.", branchList(inv.args)))
	case !pr.GetMerged():
		return replyTo(ctx, c.gh, inv, "this pull request was closed without merging; there is nothing to cherry-pick.")
	}
	var msgs []string
	for _, t := range dedupe(inv.args) {
		out, err := c.pick(ctx, inv.repo, pr, t, person(inv.user))
		if err != nil {
			return err
		}
		msgs = append(msgs, out.msg)
	}
	return replyTo(ctx, c.gh, inv, strings.Join(msgs, "\n"))
}

// onPullRequest runs at merge: the targets asked for in comments before
// the merge, and the milestone's branch when the pull request is approved
// for cherry-picking.
func (c *cherryPick) onPullRequest(ctx context.Context, ev *githubbot.Event, repo string, cfg Repository) error {
	e := ev.Payload.(*gh.PullRequestEvent)
	pr := e.GetPullRequest()
	if e.GetAction() != "closed" || !pr.GetMerged() {
		return nil
	}
	targets, err := c.requested(ctx, repo, cfg, pr)
	if err != nil {
		return err
	}
	var msgs []string
	for _, t := range targets {
		out, err := c.pick(ctx, repo, pr, t, person(pr.GetMergedBy()))
		if err != nil {
			return err
		}
		msgs = append(msgs, out.msg)
	}
	if hasLabel(pr.Labels, LabelCherryPickApproved) {
		msg, err := c.approved(ctx, repo, cfg.CherryPick, pr)
		if err != nil {
			return err
		}
		msgs = append(msgs, msg)
	}
	if len(msgs) == 0 {
		return nil
	}
	return c.gh.Comment(ctx, repo, pr.GetNumber(), strings.Join(msgs, "\n"))
}

// approved cherry-picks to the milestone's branch and swaps the label for
// the outcome.
func (c *cherryPick) approved(ctx context.Context, repo string, cfg *CherryPick, pr *gh.PullRequest) (string, error) {
	label := LabelCherryPickFailed
	var msg string
	target, ok := milestoneBranch(cfg, pr.GetMilestone())
	switch {
	case !ok && pr.GetMilestone() == nil:
		msg = fmt.Sprintf("`%s`: this pull request has no milestone, so there is no release branch to cherry-pick it onto.", LabelCherryPickApproved)
	case !ok:
		msg = fmt.Sprintf("`%s`: the milestone %q names no release branch.", LabelCherryPickApproved, pr.GetMilestone().GetTitle())
	default:
		out, err := c.pick(ctx, repo, pr, target, person(pr.GetMergedBy()))
		if err != nil {
			return "", err
		}
		msg = out.msg
		if out.ok {
			label = LabelCherryPickDone
		}
	}
	if err := c.gh.AddLabel(ctx, repo, pr.GetNumber(), label); err != nil {
		return "", err
	}
	return msg, c.gh.RemoveLabel(ctx, repo, pr.GetNumber(), LabelCherryPickApproved)
}

var milestoneRE = regexp.MustCompile(`^v?([0-9]+)\.([0-9]+)(\.[0-9]+)?$`)

// milestoneBranch maps a milestone to its release branch: the configured
// mapping, else "vX.Y.Z" or "X.Y" to "release-X.Y".
func milestoneBranch(cfg *CherryPick, m *gh.Milestone) (string, bool) {
	if m == nil {
		return "", false
	}
	if b, ok := cfg.Milestones[m.GetTitle()]; ok {
		return b, true
	}
	if s := milestoneRE.FindStringSubmatch(m.GetTitle()); s != nil {
		return "release-" + s[1] + "." + s[2], true
	}
	return "", false
}

// requested reads the "/cherry-pick" commands in the pull request's
// comments, from people allowed to run them.
func (c *cherryPick) requested(ctx context.Context, repo string, cfg Repository, pr *gh.PullRequest) ([]string, error) {
	comments, err := c.gh.Comments(ctx, repo, pr.GetNumber())
	if err != nil {
		return nil, err
	}
	var targets []string
	for _, cm := range comments {
		if isBot(cm.GetUser()) {
			continue
		}
		var asked []string
		for _, line := range strings.Split(cm.GetBody(), "\n") {
			f := strings.Fields(line)
			if len(f) > 1 && f[0] == "/cherry-pick" {
				for _, t := range f[1:] {
					if cfg.CherryPick.branches.MatchString(t) {
						asked = append(asked, t)
					}
				}
			}
		}
		if len(asked) == 0 {
			continue
		}
		ok, err := c.allowed(ctx, repo, cm.GetUser().GetLogin(), cfg.Permission)
		if err != nil {
			return nil, err
		}
		if ok {
			targets = append(targets, asked...)
		}
	}
	return dedupe(targets), nil
}

// pick cherry-picks pr onto target. Users' problems (no such branch, a
// conflict) are an outcome, not an error; errors are retried. A pick done
// before (a replayed or retried event) finds its pull request and does
// nothing again.
func (c *cherryPick) pick(ctx context.Context, repo string, pr *gh.PullRequest, target string, author gitIdentity) (pickOutcome, error) {
	baseRepo := pr.GetBase().GetRepo()
	owner, _, _ := strings.Cut(repo, "/")
	branch := fmt.Sprintf("cherry-pick-%d-to-%s", pr.GetNumber(), target)
	if existing, err := c.gh.FindPull(ctx, repo, owner+":"+branch, target); err != nil {
		return pickOutcome{}, err
	} else if existing != nil {
		return pickOutcome{ok: true, msg: fmt.Sprintf("- `%s`: cherry-picked in #%d.", target, existing.GetNumber())}, nil
	}
	w, err := c.git.open(ctx, author)
	if err != nil {
		return pickOutcome{}, err
	}
	defer w.close()
	url := baseRepo.GetCloneURL()
	pushed, err := w.remoteHead(ctx, url, branch)
	if err != nil {
		return pickOutcome{}, err
	}
	if pushed == "" {
		out, err := c.apply(ctx, w, url, pr, target, branch)
		if err != nil || !out.ok {
			return out, err
		}
	}
	np, err := c.gh.CreatePull(ctx, repo, &gh.NewPullRequest{
		Title: gh.String(fmt.Sprintf("[%s] %s", target, pr.GetTitle())),
		Head:  gh.String(branch), Base: gh.String(target),
		Body: gh.String(fmt.Sprintf("Cherry-pick of #%d (%s) onto `%s`.\n\n/cc @%s", pr.GetNumber(), pr.GetHTMLURL(), target, pr.GetUser().GetLogin())),
	})
	if err != nil {
		return pickOutcome{}, err
	}
	c.log.InfoContext(ctx, "cherry-picked", "pull_request", fmt.Sprintf("%s#%d", repo, pr.GetNumber()), "target", target, "new", np.GetNumber())
	return pickOutcome{ok: true, msg: fmt.Sprintf("- `%s`: cherry-picked in #%d.", target, np.GetNumber())}, nil
}

// apply makes and pushes the cherry-pick branch.
func (c *cherryPick) apply(ctx context.Context, w *workTree, url string, pr *gh.PullRequest, target, branch string) (pickOutcome, error) {
	targetRef, err := w.fetch(ctx, url, target, "target")
	if errors.Is(err, errNoBranch) {
		return pickOutcome{msg: fmt.Sprintf("- `%s`: there is no such branch; nothing was cherry-picked.", target)}, nil
	}
	if err != nil {
		return pickOutcome{}, err
	}
	if _, err := w.fetch(ctx, url, pr.GetBase().GetRef(), "merged"); err != nil {
		return pickOutcome{}, err
	}
	merge := pr.GetMergeCommitSHA()
	picks, err := c.commitsToPick(ctx, w, pr, merge)
	if err != nil {
		return pickOutcome{}, err
	}
	if _, err := w.git(ctx, "checkout", "-q", "-b", branch, targetRef); err != nil {
		return pickOutcome{}, err
	}
	if _, err := w.git(ctx, append([]string{"cherry-pick", "-x"}, picks...)...); err != nil {
		files := w.conflicts(ctx)
		if len(files) == 0 {
			return pickOutcome{}, err
		}
		w.git(ctx, "cherry-pick", "--abort")
		return pickOutcome{msg: fmt.Sprintf("- `%s`: the cherry-pick conflicts in:\n\n%s\n  Cherry-pick it by hand; no branch was pushed.", target, indent(fileList(files)))}, nil
	}
	if err := w.push(ctx, url, branch); err != nil {
		return pickOutcome{}, fmt.Errorf("pushing %s: %w", branch, err)
	}
	return pickOutcome{ok: true}, nil
}

// commitsToPick returns the cherry-pick arguments for pr merged as merge:
// "-m 1 MERGE" for a merge commit; for a single-parent commit, the pull
// request's commits when the last of them on the base carry its commit
// messages (a rebase merge), else the one squashed commit.
func (c *cherryPick) commitsToPick(ctx context.Context, w *workTree, pr *gh.PullRequest, merge string) ([]string, error) {
	if merge == "" {
		return nil, fmt.Errorf("pull request #%d has no merge commit", pr.GetNumber())
	}
	parents, err := w.git(ctx, "rev-list", "--parents", "-n", "1", merge)
	if err != nil {
		return nil, err
	}
	if len(strings.Fields(parents)) > 2 {
		return []string{"-m", "1", merge}, nil
	}
	n := pr.GetCommits()
	if n <= 1 {
		return []string{merge}, nil
	}
	commits, err := c.gh.PullRequestCommits(ctx, pr.GetBase().GetRepo().GetFullName(), pr.GetNumber())
	if err != nil {
		return nil, err
	}
	out, err := w.git(ctx, "log", "--reverse", "--format=%s", "-n", strconv.Itoa(n), merge)
	if err != nil {
		return nil, err
	}
	subjects := strings.Split(strings.TrimSpace(out), "\n")
	var want []string
	for _, rc := range commits {
		subject, _, _ := strings.Cut(rc.GetCommit().GetMessage(), "\n")
		want = append(want, subject)
	}
	if slices.Equal(subjects, want) {
		return []string{fmt.Sprintf("%s~%d..%s", merge, n, merge)}, nil
	}
	return []string{merge}, nil
}

func hasLabel(labels []*gh.Label, name string) bool {
	return slices.ContainsFunc(labels, func(l *gh.Label) bool { return l.GetName() == name })
}

func dedupe(s []string) []string {
	var out []string
	for _, x := range s {
		if !slices.Contains(out, x) {
			out = append(out, x)
		}
	}
	return out
}

func branchList(bs []string) string { return "`" + strings.Join(dedupe(bs), "`, `") + "`" }

func indent(s string) string {
	return "  " + strings.ReplaceAll(strings.TrimRight(s, "\n"), "\n", "\n  ")
}
