package automation

import (
	"context"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"time"

	gh "github.com/google/go-github/v57/github"

	githubbot "github.com/envwick/envwick/bots/github"
)

// The stale sweep labels open pull requests without activity for N days
// lifecycle/stale, with one comment. Its API use is bounded: it reads only
// the pages of open pull requests (which carry labels and updated_at), and
// conditionally: a page unchanged since the last sweep is answered 304 and
// read from memory. Any activity (a push, a comment, a review, an edit)
// removes the label; that is learned from webhooks, at no API cost unless
// the label is there.

const staleMarker = "<!-- envwick:stale -->"

// staleGitHub is what the stale sweep needs of GitHub.
type staleGitHub interface {
	OpenPullsPage(ctx context.Context, repo string, page int, etag string) ([]*gh.PullRequest, int, string, bool, error)
	AddLabel(ctx context.Context, repo string, number int, label string) error
	RemoveLabel(ctx context.Context, repo string, number int, label string) error
	MarkedComment(ctx context.Context, repo string, number int, marker, body string, onlyEdit bool) error
}

type stale struct {
	gh  staleGitHub
	log *slog.Logger
	now func() time.Time

	mu    sync.Mutex
	pages map[string]stalePage // "owner/repo#page" -> last answer
}

type stalePage struct {
	etag string
	prs  []*gh.PullRequest
	next int
}

func newStale(api staleGitHub, log *slog.Logger, now func() time.Time) *stale {
	return &stale{gh: api, log: log, now: now, pages: map[string]stalePage{}}
}

// sweep labels the stale pull requests of repo.
func (s *stale) sweep(ctx context.Context, repo string, cfg Stale) error {
	limit := time.Duration(cfg.Days) * 24 * time.Hour
	for page := 1; page != 0; {
		key := fmt.Sprintf("%s#%d", repo, page)
		s.mu.Lock()
		last := s.pages[key]
		s.mu.Unlock()
		prs, next, etag, notModified, err := s.gh.OpenPullsPage(ctx, repo, page, last.etag)
		if err != nil {
			return err
		}
		if notModified {
			prs, next = last.prs, last.next
		} else {
			s.mu.Lock()
			s.pages[key] = stalePage{etag: etag, prs: prs, next: next}
			s.mu.Unlock()
		}
		for _, pr := range prs {
			if hasLabel(pr.Labels, LabelStale) || slices.ContainsFunc(cfg.ExemptLabels, func(l string) bool { return hasLabel(pr.Labels, l) }) {
				continue
			}
			if s.now().Sub(pr.GetUpdatedAt().Time) < limit {
				continue
			}
			if err := s.mark(ctx, repo, pr, cfg); err != nil {
				return err
			}
		}
		page = next
	}
	return nil
}

func (s *stale) mark(ctx context.Context, repo string, pr *gh.PullRequest, cfg Stale) error {
	if err := s.gh.AddLabel(ctx, repo, pr.GetNumber(), LabelStale); err != nil {
		return err
	}
	s.log.InfoContext(ctx, "pull request stale", "pull_request", fmt.Sprintf("%s#%d", repo, pr.GetNumber()))
	return s.gh.MarkedComment(ctx, repo, pr.GetNumber(), staleMarker, fmt.Sprintf(
		"This pull request has had no activity for %d days, so it is labelled `%s`. Any activity (a push, a comment, a review) removes the label.",
		cfg.Days, LabelStale), false)
}

// onActivity removes the stale label when anyone but a bot acts on a pull
// request that carries it.
func (s *stale) onActivity(ctx context.Context, ev *githubbot.Event, repo string, cfg Repository) error {
	var (
		number int
		labels []*gh.Label
		actor  *gh.User
	)
	switch e := ev.Payload.(type) {
	case *gh.PullRequestEvent:
		switch e.GetAction() {
		case "synchronize", "reopened", "edited", "ready_for_review", "review_requested":
		default:
			return nil
		}
		number, labels, actor = e.GetPullRequest().GetNumber(), e.GetPullRequest().Labels, e.GetSender()
	case *gh.PullRequestReviewEvent:
		number, labels, actor = e.GetPullRequest().GetNumber(), e.GetPullRequest().Labels, e.GetSender()
	case *gh.IssueCommentEvent:
		if e.GetAction() != "created" || !e.GetIssue().IsPullRequest() {
			return nil
		}
		number, labels, actor = e.GetIssue().GetNumber(), e.GetIssue().Labels, e.GetComment().GetUser()
	default:
		return nil
	}
	if isBot(actor) || !hasLabel(labels, LabelStale) {
		return nil
	}
	return s.gh.RemoveLabel(ctx, repo, number, LabelStale)
}
