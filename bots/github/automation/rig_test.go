package automation

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	gh "github.com/google/go-github/v57/github"

	"github.com/envwick/envwick/bots/commit"
	"github.com/envwick/envwick/bots/commit/committest"
	githubbot "github.com/envwick/envwick/bots/github"
	"github.com/envwick/envwick/bots/github/fakegithub"
	"github.com/envwick/envwick/envs/store/gittest"
)

const (
	testSecret = "s3cret-for-tests"
	gitToken   = "git-token-for-tests"
	testRepo   = "Codertocat/Hello-World"
)

// rig is the GitHub bot with the automation registered, wired to the fake
// GitHub, a real envs repository, and real git repositories over smart
// HTTP; its webhook endpoint is served on loopback.
type rig struct {
	t     testing.TB
	bot   *githubbot.Bot
	auto  *Automation
	gh    *fakegithub.Server
	envs  *committest.Repo
	git   *gittest.HTTP
	root  string
	url   string
	clock time.Time
}

func testLogger() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

func newRig(t testing.TB, repo Repository) *rig {
	t.Helper()
	fake := fakegithub.New()
	t.Cleanup(fake.Close)
	root := t.TempDir()
	r := &rig{t: t, gh: fake, envs: committest.New(t, nil), root: root, git: gittest.StartHTTP(t, root, gitToken),
		clock: time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)}
	clients, err := githubbot.NewClients(githubbot.Access{BaseURL: fake.BaseURL(), Token: "ghp_test", Logger: testLogger()})
	if err != nil {
		t.Fatal(err)
	}
	committer := commit.New(r.envs, commit.Options{Logger: testLogger()})
	r.bot, err = githubbot.New(githubbot.Options{Config: githubbot.Config{Secrets: []string{testSecret}, DefaultImage: "img"},
		GitHub: clients, Committer: committer, Logger: testLogger()})
	if err != nil {
		t.Fatal(err)
	}
	r.auto, err = New(Options{Config: Config{Repositories: map[string]Repository{testRepo: repo}}, GitHub: clients,
		Committer: committer, GitToken: gitToken, Logger: testLogger(), Now: func() time.Time { return r.clock }})
	if err != nil {
		t.Fatal(err)
	}
	r.auto.Register(r.bot)
	srv := httptest.NewServer(r.bot)
	t.Cleanup(srv.Close)
	r.url = srv.URL
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{}, 2)
	go func() { r.bot.Run(ctx); done <- struct{}{} }()
	go func() { r.auto.e2e.run(ctx); done <- struct{}{} }()
	t.Cleanup(func() { cancel(); <-done; <-done; r.bot.Close() })
	return r
}

// payload is a real webhook example, as a generic document so that tests
// derive the cases the examples lack.
type payload map[string]any

func example(t testing.TB, name string) payload {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("..", "testdata", "octokit", name+".json"))
	if err != nil {
		t.Fatal(err)
	}
	var p payload
	if err := json.Unmarshal(data, &p); err != nil {
		t.Fatal(err)
	}
	return p
}

func (p payload) obj(path ...string) map[string]any {
	m := map[string]any(p)
	for _, k := range path {
		next, ok := m[k].(map[string]any)
		if !ok {
			next = map[string]any{}
			m[k] = next
		}
		m = next
	}
	return m
}

// comment is a real issue_comment example made a comment on pull request
// number (or an issue, with onIssue) by login.
func comment(t testing.TB, number int, login, body string) payload {
	p := example(t, "issue_comment.created.0")
	issue := p.obj("issue")
	issue["number"] = number
	issue["pull_request"] = map[string]any{"url": fmt.Sprintf("https://api.github.com/repos/%s/pulls/%d", testRepo, number)}
	c := p.obj("comment")
	c["body"] = body
	u := p.obj("comment", "user")
	u["login"], u["type"] = login, "User"
	p.obj("sender")["login"] = login
	return p
}

func (p payload) onIssue() payload {
	delete(p.obj("issue"), "pull_request")
	return p
}

var deliveries atomic.Int64

func newDelivery() string { return fmt.Sprintf("72d3162e-cc78-11e3-81ab-%012d", deliveries.Add(1)) }

// send posts a signed event under a new delivery and waits until handled.
func (r *rig) send(event string, p payload) string {
	r.t.Helper()
	if event == "issue_comment" {
		// GitHub has the comment before it sends the event.
		c := p.obj("comment")
		c["id"] = r.gh.AddComment(testRepo, int(p.obj("issue")["number"].(int)), c["user"].(map[string]any)["login"].(string), c["body"].(string))
	}
	d := newDelivery()
	r.sendAs(event, d, p)
	return d
}

func (r *rig) sendAs(event, delivery string, p payload) {
	r.t.Helper()
	body, err := json.Marshal(p)
	if err != nil {
		r.t.Fatal(err)
	}
	req, _ := http.NewRequest(http.MethodPost, r.url, bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-GitHub-Event", event)
	req.Header.Set("X-GitHub-Delivery", delivery)
	m := hmac.New(sha256.New, []byte(testSecret))
	m.Write(body)
	req.Header.Set("X-Hub-Signature-256", "sha256="+hex.EncodeToString(m.Sum(nil)))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		r.t.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode >= 300 {
		r.t.Fatalf("webhook answered %d", resp.StatusCode)
	}
	r.wait()
}

func (r *rig) wait() {
	r.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := r.bot.Wait(ctx); err != nil {
		r.t.Fatal(err)
	}
	if err := r.auto.Wait(ctx); err != nil {
		r.t.Fatal(err)
	}
}

// comments returns the bodies of the bot's comments on a pull request.
func (r *rig) comments(number int) []string {
	var out []string
	for _, c := range r.gh.Comments(testRepo, number) {
		if c.GetUser().GetType() == "Bot" {
			out = append(out, c.GetBody())
		}
	}
	return out
}

// lastComment is the newest comment on a pull request.
func (r *rig) lastComment(number int) string {
	r.t.Helper()
	cs := r.comments(number)
	if len(cs) == 0 {
		r.t.Fatalf("no comment on #%d", number)
	}
	return cs[len(cs)-1]
}

// gitRepo is a bare repository served over HTTP, with a work clone to make
// commits in.
type gitRepo struct {
	t    testing.TB
	bare string
	work string
	url  string
}

// newGitRepo creates name.git with one commit on main holding files.
func (r *rig) newGitRepo(name string, files map[string]string) *gitRepo {
	r.t.Helper()
	g := &gitRepo{t: r.t, bare: gittest.InitBare(r.t, r.root, name+".git"), work: filepath.Join(r.root, name+"-work"), url: r.git.URL(name + ".git")}
	run(r.t, "", "init", "-q", "-b", "main", g.work)
	g.commit("main", "Initial commit", files)
	return g
}

// run runs git for a test, isolated from the machine's configuration.
func run(t testing.TB, dir string, args ...string) string {
	t.Helper()
	cmd := exec.Command("git", args...)
	cmd.Dir = dir
	cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + t.TempDir(), "GIT_CONFIG_NOSYSTEM=1", "GIT_CONFIG_GLOBAL=/dev/null",
		"GIT_AUTHOR_NAME=Test", "GIT_AUTHOR_EMAIL=test@example.com", "GIT_COMMITTER_NAME=Test", "GIT_COMMITTER_EMAIL=test@example.com"}
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("git %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return strings.TrimSpace(string(out))
}

// commit commits files on branch (creating it from the current HEAD) and
// pushes it; it returns the commit.
func (g *gitRepo) commit(branch, msg string, files map[string]string) string {
	g.t.Helper()
	switch {
	case g.has(branch):
		run(g.t, g.work, "checkout", "-q", branch)
	case g.has("HEAD"):
		run(g.t, g.work, "checkout", "-q", "-b", branch)
	}
	for p, c := range files {
		full := filepath.Join(g.work, p)
		os.MkdirAll(filepath.Dir(full), 0o755)
		if err := os.WriteFile(full, []byte(c), 0o644); err != nil {
			g.t.Fatal(err)
		}
	}
	run(g.t, g.work, "add", "-A")
	run(g.t, g.work, "commit", "-q", "--allow-empty", "-m", msg)
	run(g.t, g.work, "push", "-q", g.bare, branch)
	return g.head(branch)
}

func (g *gitRepo) has(branch string) bool {
	ref := branch
	if branch != "HEAD" {
		ref = "refs/heads/" + branch
	}
	cmd := exec.Command("git", "rev-parse", "-q", "--verify", ref)
	cmd.Dir = g.work
	return cmd.Run() == nil
}

// head returns a branch's commit in the bare repository ("" when none).
func (g *gitRepo) head(branch string) string {
	cmd := exec.Command("git", "rev-parse", "-q", "--verify", "refs/heads/"+branch)
	cmd.Dir = g.bare
	out, _ := cmd.Output()
	return strings.TrimSpace(string(out))
}

// checkout switches the work clone to an existing branch.
func (g *gitRepo) checkout(branch string) { run(g.t, g.work, "checkout", "-q", branch) }

// pull is a pull request of testRepo from branch into base of g.
func (g *gitRepo) pull(number int, branch, base string) *gh.PullRequest {
	repo := &gh.Repository{FullName: gh.String(testRepo), CloneURL: gh.String(g.url)}
	return &gh.PullRequest{
		Number: gh.Int(number), State: gh.String("open"), Title: gh.String("Update the README"),
		HTMLURL: gh.String(fmt.Sprintf("https://github.com/%s/pull/%d", testRepo, number)),
		User:    &gh.User{Login: gh.String("Codertocat")},
		Head:    &gh.PullRequestBranch{Ref: gh.String(branch), SHA: gh.String(g.head(branch)), Repo: repo, User: &gh.User{Login: gh.String("Codertocat")}},
		Base:    &gh.PullRequestBranch{Ref: gh.String(base), SHA: gh.String(g.head(base)), Repo: repo},
	}
}

func contains(list []string, want string) bool {
	for _, s := range list {
		if strings.Contains(s, want) {
			return true
		}
	}
	return false
}

// jsonRoundTrip turns a go-github value into the generic form payloads
// use.
func jsonRoundTrip(v any) (map[string]any, error) {
	data, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	var out map[string]any
	return out, json.Unmarshal(data, &out)
}
