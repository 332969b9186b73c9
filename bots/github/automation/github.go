package automation

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync"

	gh "github.com/google/go-github/v57/github"

	githubbot "github.com/envwick/envwick/bots/github"
)

// api is the one GitHub client of the automation, over the bot's clients
// (token or App installation per repository). Each handler consumes only
// the few of its methods it names in its own interface.
type api struct {
	clients *githubbot.Clients

	mu       sync.Mutex
	comments map[string]int64 // "owner/repo#n<marker>" -> comment ID
}

func newAPI(c *githubbot.Clients) *api { return &api{clients: c, comments: map[string]int64{}} }

func (a *api) client(ctx context.Context, repo string) (*gh.Client, string, string, error) {
	cl, err := a.clients.For(ctx, repo)
	owner, name, _ := strings.Cut(repo, "/")
	return cl, owner, name, err
}

func (a *api) PullRequest(ctx context.Context, repo string, number int) (*gh.PullRequest, error) {
	cl, owner, name, err := a.client(ctx, repo)
	if err != nil {
		return nil, err
	}
	pr, _, err := cl.PullRequests.Get(ctx, owner, name, number)
	if err != nil {
		return nil, fmt.Errorf("reading pull request %s#%d: %w", repo, number, err)
	}
	return pr, nil
}

func (a *api) PullRequestCommits(ctx context.Context, repo string, number int) ([]*gh.RepositoryCommit, error) {
	cl, owner, name, err := a.client(ctx, repo)
	if err != nil {
		return nil, err
	}
	all, err := allPages(func(page int) ([]*gh.RepositoryCommit, *gh.Response, error) {
		return cl.PullRequests.ListCommits(ctx, owner, name, number, &gh.ListOptions{Page: page, PerPage: 100})
	})
	if err != nil {
		return nil, fmt.Errorf("listing commits of %s#%d: %w", repo, number, err)
	}
	return all, nil
}

func (a *api) Comments(ctx context.Context, repo string, number int) ([]*gh.IssueComment, error) {
	cl, owner, name, err := a.client(ctx, repo)
	if err != nil {
		return nil, err
	}
	all, err := allPages(func(page int) ([]*gh.IssueComment, *gh.Response, error) {
		return cl.Issues.ListComments(ctx, owner, name, number, &gh.IssueListCommentsOptions{ListOptions: gh.ListOptions{Page: page, PerPage: 100}})
	})
	if err != nil {
		return nil, fmt.Errorf("listing comments on %s#%d: %w", repo, number, err)
	}
	return all, nil
}

// allPages follows a GitHub list's pages from the first to the last.
func allPages[T any](list func(page int) ([]T, *gh.Response, error)) ([]T, error) {
	var all []T
	for page := 0; ; {
		items, resp, err := list(page)
		if err != nil {
			return nil, err
		}
		all = append(all, items...)
		if resp.NextPage == 0 {
			return all, nil
		}
		page = resp.NextPage
	}
}

func (a *api) Comment(ctx context.Context, repo string, number int, body string) error {
	cl, owner, name, err := a.client(ctx, repo)
	if err != nil {
		return err
	}
	if _, _, err := cl.Issues.CreateComment(ctx, owner, name, number, &gh.IssueComment{Body: gh.String(body)}); err != nil {
		return fmt.Errorf("commenting on %s#%d: %w", repo, number, err)
	}
	return nil
}

// MarkedComment edits the bot's comment that starts with marker (found by
// listing after a restart), as the environment comment is; when there is
// none it creates one, unless onlyEdit.
func (a *api) MarkedComment(ctx context.Context, repo string, number int, marker, body string, onlyEdit bool) error {
	cl, owner, name, err := a.client(ctx, repo)
	if err != nil {
		return err
	}
	key := fmt.Sprintf("%s#%d%s", repo, number, marker)
	a.mu.Lock()
	id := a.comments[key]
	a.mu.Unlock()
	if id == 0 {
		cs, err := a.Comments(ctx, repo, number)
		if err != nil {
			return err
		}
		for _, c := range cs {
			if strings.HasPrefix(c.GetBody(), marker) {
				id = c.GetID()
				break
			}
		}
	}
	body = marker + "\n" + body
	if id != 0 {
		_, resp, err := cl.Issues.EditComment(ctx, owner, name, id, &gh.IssueComment{Body: gh.String(body)})
		if err == nil {
			a.remember(key, id)
			return nil
		}
		if resp == nil || resp.StatusCode != http.StatusNotFound {
			return fmt.Errorf("editing comment on %s#%d: %w", repo, number, err)
		}
	}
	if onlyEdit {
		return nil
	}
	c, _, err := cl.Issues.CreateComment(ctx, owner, name, number, &gh.IssueComment{Body: gh.String(body)})
	if err != nil {
		return fmt.Errorf("commenting on %s#%d: %w", repo, number, err)
	}
	a.remember(key, c.GetID())
	return nil
}

func (a *api) remember(key string, id int64) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.comments[key] = id
}

// Status is a commit status to post.
type Status struct {
	Context, State, Description, TargetURL string
}

func (a *api) SetStatus(ctx context.Context, repo, sha string, s Status) error {
	cl, owner, name, err := a.client(ctx, repo)
	if err != nil {
		return err
	}
	if len(s.Description) > 140 {
		s.Description = strings.ToValidUTF8(s.Description[:137], "") + "..."
	}
	st := &gh.RepoStatus{State: gh.String(s.State), Description: gh.String(s.Description), Context: gh.String(s.Context)}
	if s.TargetURL != "" {
		st.TargetURL = gh.String(s.TargetURL)
	}
	if _, _, err := cl.Repositories.CreateStatus(ctx, owner, name, sha, st); err != nil {
		return fmt.Errorf("setting status %s on %s@%.7s: %w", s.Context, repo, sha, err)
	}
	return nil
}

func (a *api) Permission(ctx context.Context, repo, login string) (string, error) {
	cl, owner, name, err := a.client(ctx, repo)
	if err != nil {
		return "", err
	}
	p, _, err := cl.Repositories.GetPermissionLevel(ctx, owner, name, login)
	if err != nil {
		return "", fmt.Errorf("checking %s's permission on %s: %w", login, repo, err)
	}
	return p.GetPermission(), nil
}

func (a *api) AddLabel(ctx context.Context, repo string, number int, label string) error {
	cl, owner, name, err := a.client(ctx, repo)
	if err != nil {
		return err
	}
	if _, _, err := cl.Issues.AddLabelsToIssue(ctx, owner, name, number, []string{label}); err != nil {
		return fmt.Errorf("labelling %s#%d %q: %w", repo, number, label, err)
	}
	return nil
}

// RemoveLabel removes a label; one already gone is fine.
func (a *api) RemoveLabel(ctx context.Context, repo string, number int, label string) error {
	cl, owner, name, err := a.client(ctx, repo)
	if err != nil {
		return err
	}
	// go-github puts the label into the path as it is; a slash in it
	// ("lifecycle/stale") would end up a path separator.
	resp, err := cl.Issues.RemoveLabelForIssue(ctx, owner, name, number, url.PathEscape(label))
	if err != nil && (resp == nil || resp.StatusCode != http.StatusNotFound) {
		return fmt.Errorf("removing label %q from %s#%d: %w", label, repo, number, err)
	}
	return nil
}

// FindPull returns the pull request from head ("owner:branch") into base,
// open or closed, or nil.
func (a *api) FindPull(ctx context.Context, repo, head, base string) (*gh.PullRequest, error) {
	cl, owner, name, err := a.client(ctx, repo)
	if err != nil {
		return nil, err
	}
	prs, _, err := cl.PullRequests.List(ctx, owner, name, &gh.PullRequestListOptions{State: "all", Head: head, Base: base})
	if err != nil {
		return nil, fmt.Errorf("looking for a pull request from %s into %s: %w", head, base, err)
	}
	if len(prs) == 0 {
		return nil, nil
	}
	return prs[0], nil
}

func (a *api) CreatePull(ctx context.Context, repo string, pr *gh.NewPullRequest) (*gh.PullRequest, error) {
	cl, owner, name, err := a.client(ctx, repo)
	if err != nil {
		return nil, err
	}
	out, _, err := cl.PullRequests.Create(ctx, owner, name, pr)
	if err != nil {
		return nil, fmt.Errorf("opening a pull request from %s into %s: %w", pr.GetHead(), pr.GetBase(), err)
	}
	return out, nil
}

// OpenPullsPage lists one page of open pull requests, conditionally: with
// etag set, a page that did not change comes back as notModified (a 304,
// which costs GitHub no rate limit).
func (a *api) OpenPullsPage(ctx context.Context, repo string, page int, etag string) (prs []*gh.PullRequest, next int, newETag string, notModified bool, err error) {
	cl, owner, name, err := a.client(ctx, repo)
	if err != nil {
		return nil, 0, "", false, err
	}
	u := fmt.Sprintf("repos/%s/%s/pulls?state=open&per_page=100&page=%d", owner, name, page)
	req, err := cl.NewRequest(http.MethodGet, u, nil)
	if err != nil {
		return nil, 0, "", false, err
	}
	if etag != "" {
		req.Header.Set("If-None-Match", etag)
	}
	resp, err := cl.Do(ctx, req, &prs)
	if resp != nil && resp.StatusCode == http.StatusNotModified {
		return nil, resp.NextPage, etag, true, nil
	}
	if err != nil {
		return nil, 0, "", false, fmt.Errorf("listing open pull requests of %s: %w", repo, err)
	}
	return prs, resp.NextPage, resp.Header.Get("ETag"), false, nil
}

func (a *api) Dispatch(ctx context.Context, repo, workflow, ref string, inputs map[string]any) error {
	cl, owner, name, err := a.client(ctx, repo)
	if err != nil {
		return err
	}
	_, err = cl.Actions.CreateWorkflowDispatchEventByFileName(ctx, owner, name, workflow, gh.CreateWorkflowDispatchEventRequest{Ref: ref, Inputs: inputs})
	if err != nil {
		return fmt.Errorf("dispatching workflow %s of %s: %w", workflow, repo, err)
	}
	return nil
}

// FindRun returns the newest run of workflow whose display title contains
// title, or nil.
func (a *api) FindRun(ctx context.Context, repo, workflow, title string) (*gh.WorkflowRun, error) {
	cl, owner, name, err := a.client(ctx, repo)
	if err != nil {
		return nil, err
	}
	runs, _, err := cl.Actions.ListWorkflowRunsByFileName(ctx, owner, name, workflow, &gh.ListWorkflowRunsOptions{Event: "workflow_dispatch", ListOptions: gh.ListOptions{PerPage: 50}})
	if err != nil {
		return nil, fmt.Errorf("listing runs of %s in %s: %w", workflow, repo, err)
	}
	for _, r := range runs.WorkflowRuns {
		if titleNames(r.GetDisplayTitle(), title) {
			return r, nil
		}
	}
	return nil, nil
}

// CancelRun cancels a workflow run; one already completed is fine.
func (a *api) CancelRun(ctx context.Context, repo string, id int64) error {
	cl, owner, name, err := a.client(ctx, repo)
	if err != nil {
		return err
	}
	resp, err := cl.Actions.CancelWorkflowRunByID(ctx, owner, name, id)
	var accepted *gh.AcceptedError
	if err == nil || errors.As(err, &accepted) || (resp != nil && resp.StatusCode == http.StatusConflict) {
		return nil
	}
	return fmt.Errorf("cancelling run %d of %s: %w", id, repo, err)
}

// titleNames reports whether a run's display title names the environment:
// as a whole word, so that "x-pr-1-e2e-a" does not match "x-pr-1-e2e-ab".
func titleNames(title, env string) bool {
	for _, f := range strings.FieldsFunc(title, func(r rune) bool {
		return !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '-')
	}) {
		if f == env {
			return true
		}
	}
	return false
}
