package automation

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"sync"

	git "github.com/go-git/go-git/v5"
	gitconfig "github.com/go-git/go-git/v5/config"
	"github.com/go-git/go-git/v5/plumbing"
	githttp "github.com/go-git/go-git/v5/plumbing/transport/http"
	"github.com/go-git/go-git/v5/storage/memory"
	gh "github.com/google/go-github/v57/github"

	githubbot "github.com/envwick/envwick/bots/github"
)

// The CLA check: on every opened, reopened or synchronized pull request
// (and on "/check-cla"), every commit's author must be a signer, by GitHub
// login. The outcome is a commit status "cla" on the head and, when
// someone has not signed, one comment edited in place.

// StatusCLA is the commit status context of the CLA check.
const StatusCLA = "cla"

const claMarker = "<!-- envwick:cla -->"

// maxSigners bounds a signers list read from a URL or a repository.
const maxSigners = 32 << 20

// claGitHub is what the CLA check needs of GitHub.
type claGitHub interface {
	PullRequest(ctx context.Context, repo string, number int) (*gh.PullRequest, error)
	PullRequestCommits(ctx context.Context, repo string, number int) ([]*gh.RepositoryCommit, error)
	SetStatus(ctx context.Context, repo, sha string, s Status) error
	MarkedComment(ctx context.Context, repo string, number int, marker, body string, onlyEdit bool) error
	Comment(ctx context.Context, repo string, number int, body string) error
}

type cla struct {
	gh    claGitHub
	http  *http.Client
	token string
	log   *slog.Logger

	mu    sync.Mutex
	lists map[string]*signerList // source -> last read
}

// signerList is a signers list and what identifies its version (an ETag
// or a commit).
type signerList struct {
	version string
	logins  map[string]bool
}

func newCLA(api claGitHub, hc *http.Client, git *gitRunner, log *slog.Logger) *cla {
	return &cla{gh: api, http: hc, token: git.token, log: log, lists: map[string]*signerList{}}
}

func (c *cla) onPullRequest(ctx context.Context, ev *githubbot.Event, repo string, cfg Repository) error {
	e := ev.Payload.(*gh.PullRequestEvent)
	switch e.GetAction() {
	case "opened", "reopened", "synchronize":
		return c.check(ctx, repo, cfg.CLA, e.GetPullRequest())
	}
	return nil
}

func (c *cla) command(ctx context.Context, inv *invocation) error {
	pr, err := inv.pull(ctx, c.gh)
	if err != nil {
		return err
	}
	if pr.GetState() != "open" {
		return replyTo(ctx, c.gh, inv, "this pull request is closed; the CLA is checked on open pull requests.")
	}
	return c.check(ctx, inv.repo, inv.cfg.CLA, pr)
}

// check runs the check on pr and posts its outcome.
func (c *cla) check(ctx context.Context, repo string, cfg *CLA, pr *gh.PullRequest) error {
	signers, err := c.signers(ctx, cfg)
	if err != nil {
		return err
	}
	commits, err := c.gh.PullRequestCommits(ctx, repo, pr.GetNumber())
	if err != nil {
		return err
	}
	var missing, unlinked []string
	for _, rc := range commits {
		u := rc.GetAuthor()
		login := strings.ToLower(u.GetLogin())
		switch {
		case login == "":
			a := rc.GetCommit().GetAuthor()
			unlinked = append(unlinked, fmt.Sprintf("`%.7s` by %s", rc.GetSHA(), a.GetName()))
		case isBot(u), signers[login], slices.ContainsFunc(cfg.Exempt, func(x string) bool { return strings.EqualFold(x, login) }):
		case !slices.Contains(missing, u.GetLogin()):
			missing = append(missing, u.GetLogin())
		}
	}
	sha := pr.GetHead().GetSHA()
	if len(missing) == 0 && len(unlinked) == 0 {
		if err := c.gh.SetStatus(ctx, repo, sha, Status{Context: StatusCLA, State: "success", Description: "Every commit author has signed the CLA"}); err != nil {
			return err
		}
		return c.gh.MarkedComment(ctx, repo, pr.GetNumber(), claMarker, "Every commit author has signed the CLA now. Thank you!", true)
	}
	var desc []string
	var body strings.Builder
	body.WriteString("**CLA:** before this pull request can be merged, every commit author must sign the contributor licence agreement.\n\n")
	for _, m := range missing {
		desc = append(desc, "@"+m)
		fmt.Fprintf(&body, "- @%s has not signed: please sign at %s\n", m, cfg.SignURL)
	}
	for _, u := range unlinked {
		fmt.Fprintf(&body, "- commit %s is not linked to a GitHub account: add the commit's email address to your GitHub account (or amend the commit with one that is), then sign at %s\n", u, cfg.SignURL)
	}
	if len(unlinked) > 0 {
		desc = append(desc, fmt.Sprintf("%d unlinked commit(s)", len(unlinked)))
	}
	body.WriteString("\nOnce signed, comment `/check-cla` to check again.")
	st := Status{Context: StatusCLA, State: "failure", Description: "Not signed: " + strings.Join(desc, ", "), TargetURL: cfg.SignURL}
	if err := c.gh.SetStatus(ctx, repo, sha, st); err != nil {
		return err
	}
	return c.gh.MarkedComment(ctx, repo, pr.GetNumber(), claMarker, body.String(), false)
}

// signers returns the signers (lower-case logins), re-reading the source
// only when it changed.
func (c *cla) signers(ctx context.Context, cfg *CLA) (map[string]bool, error) {
	if cfg.SignersURL != "" {
		return c.fromURL(ctx, cfg.SignersURL)
	}
	return c.fromGit(ctx, cfg.SignersGit)
}

func (c *cla) cached(source string) *signerList {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.lists[source]
}

func (c *cla) store(source string, l *signerList) map[string]bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.lists[source] = l
	return l.logins
}

func (c *cla) fromURL(ctx context.Context, u string) (map[string]bool, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, fmt.Errorf("cla signers URL: %w", err)
	}
	old := c.cached(u)
	if old != nil && old.version != "" {
		req.Header.Set("If-None-Match", old.version)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return nil, fmt.Errorf("reading the CLA signers: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode == http.StatusNotModified && old != nil {
		return old.logins, nil
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("reading the CLA signers: %s", resp.Status)
	}
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxSigners+1))
	if err != nil {
		return nil, fmt.Errorf("reading the CLA signers: %w", err)
	}
	logins, err := parseSigners(data)
	if err != nil {
		return nil, fmt.Errorf("reading the CLA signers from %s: %w", u, err)
	}
	return c.store(u, &signerList{version: resp.Header.Get("ETag"), logins: logins}), nil
}

// fromGit reads the signers file of a branch with go-git, cloning (in
// memory, one commit deep) only when the branch moved.
func (c *cla) fromGit(ctx context.Context, f *GitFile) (map[string]bool, error) {
	branch := f.Branch
	if branch == "" {
		branch = "main"
	}
	var auth *githttp.BasicAuth
	if c.token != "" && strings.HasPrefix(f.URL, "http") {
		auth = &githttp.BasicAuth{Username: "x-access-token", Password: c.token}
	}
	source := f.URL + "@" + branch + ":" + f.Path
	remote := git.NewRemote(memory.NewStorage(), &gitconfig.RemoteConfig{Name: "origin", URLs: []string{f.URL}})
	listOpts := &git.ListOptions{}
	if auth != nil {
		listOpts.Auth = auth
	}
	refs, err := remote.ListContext(ctx, listOpts)
	if err != nil {
		return nil, fmt.Errorf("reading the CLA signers repository: %w", err)
	}
	name := plumbing.NewBranchReferenceName(branch)
	head := ""
	for _, r := range refs {
		if r.Name() == name {
			head = r.Hash().String()
		}
	}
	if head == "" {
		return nil, fmt.Errorf("reading the CLA signers: no branch %s in %s", branch, f.URL)
	}
	if old := c.cached(source); old != nil && old.version == head {
		return old.logins, nil
	}
	cloneOpts := &git.CloneOptions{URL: f.URL, ReferenceName: name, SingleBranch: true, Depth: 1, NoCheckout: true, Tags: git.NoTags}
	if auth != nil {
		cloneOpts.Auth = auth
	}
	repo, err := git.CloneContext(ctx, memory.NewStorage(), nil, cloneOpts)
	if err != nil {
		return nil, fmt.Errorf("reading the CLA signers repository: %w", err)
	}
	ref, err := repo.Reference(name, true)
	if err != nil {
		return nil, fmt.Errorf("reading the CLA signers repository: %w", err)
	}
	commit, err := repo.CommitObject(ref.Hash())
	if err != nil {
		return nil, fmt.Errorf("reading the CLA signers repository: %w", err)
	}
	file, err := commit.File(f.Path)
	if err != nil {
		return nil, fmt.Errorf("reading the CLA signers: %s: %w", f.Path, err)
	}
	if file.Size > maxSigners {
		return nil, fmt.Errorf("reading the CLA signers: %s is larger than %d bytes", f.Path, maxSigners)
	}
	text, err := file.Contents()
	if err != nil {
		return nil, fmt.Errorf("reading the CLA signers: %w", err)
	}
	logins, err := parseSigners([]byte(text))
	if err != nil {
		return nil, fmt.Errorf("reading the CLA signers from %s: %w", source, err)
	}
	return c.store(source, &signerList{version: ref.Hash().String(), logins: logins}), nil
}

// parseSigners reads JSON (an array of logins, or of objects with "login"
// or "github") or CSV (a "login" or "github" column, else the first).
func parseSigners(data []byte) (map[string]bool, error) {
	if len(data) > maxSigners {
		return nil, fmt.Errorf("larger than %d bytes", maxSigners)
	}
	out := map[string]bool{}
	add := func(s string) {
		if s = strings.TrimPrefix(strings.TrimSpace(s), "@"); s != "" {
			out[strings.ToLower(s)] = true
		}
	}
	trimmed := bytes.TrimSpace(data)
	if bytes.HasPrefix(trimmed, []byte("[")) {
		var raw []json.RawMessage
		if err := json.Unmarshal(trimmed, &raw); err != nil {
			return nil, fmt.Errorf("not a JSON array: %w", err)
		}
		for i, r := range raw {
			var s string
			if json.Unmarshal(r, &s) == nil {
				add(s)
				continue
			}
			var o struct{ Login, GitHub string }
			if err := json.Unmarshal(r, &o); err != nil {
				return nil, fmt.Errorf("entry %d: want a login or an object with login", i)
			}
			add(o.Login + o.GitHub)
		}
		return out, nil
	}
	r := csv.NewReader(bytes.NewReader(data))
	r.FieldsPerRecord = -1
	r.TrimLeadingSpace = true
	rows, err := r.ReadAll()
	if err != nil {
		return nil, fmt.Errorf("not CSV: %w", err)
	}
	col := 0
	if len(rows) > 0 {
		for i, h := range rows[0] {
			if h = strings.ToLower(strings.TrimSpace(h)); h == "login" || h == "github" {
				col, rows = i, rows[1:]
				break
			}
		}
	}
	for _, row := range rows {
		if col < len(row) {
			add(row[col])
		}
	}
	return out, nil
}
