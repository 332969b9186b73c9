package githubbot

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
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	gh "github.com/google/go-github/v57/github"

	"github.com/envwick/envwick/bots/commit"
	"github.com/envwick/envwick/bots/commit/committest"
	"github.com/envwick/envwick/bots/github/fakegithub"
)

const testSecret = "s3cret-for-tests"

// payload is a real webhook example, as a generic document so that tests
// can derive the cases the examples lack.
type payload map[string]any

// example loads a real payload from testdata/octokit.
func example(t testing.TB, name string) payload {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("testdata", "octokit", name+".json"))
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

// withLabel makes the event's label, and the pull request's labels, name.
func (p payload) withLabel(name string) payload {
	p.obj("label")["name"] = name
	return p.withPRLabels(name)
}

func (p payload) withPRLabels(names ...string) payload {
	var labels []any
	for _, n := range names {
		labels = append(labels, map[string]any{"name": n, "id": 1, "color": "fc2929"})
	}
	p.obj("pull_request")["labels"] = labels
	return p
}

func (p payload) withHead(sha string) payload {
	p.obj("pull_request", "head")["sha"] = sha
	return p
}

func (p payload) withNumber(n int) payload {
	p["number"] = n
	p.obj("pull_request")["number"] = n
	p.obj("pull_request")["html_url"] = fmt.Sprintf("https://github.com/Codertocat/Hello-World/pull/%d", n)
	return p
}

func (p payload) withMerged() payload {
	p.obj("pull_request")["merged"] = true
	return p
}

func (p payload) withInstallation(id int64) payload {
	p.obj("installation")["id"] = id
	return p
}

// onPR turns a real issue_comment example into a comment on pull request
// number with body, by login.
func (p payload) onPR(number int, login, body string) payload {
	issue := p.obj("issue")
	issue["number"] = number
	issue["html_url"] = fmt.Sprintf("https://github.com/Codertocat/Hello-World/pull/%d", number)
	issue["pull_request"] = map[string]any{"url": fmt.Sprintf("https://api.github.com/repos/Codertocat/Hello-World/pulls/%d", number)}
	c := p.obj("comment")
	c["body"] = body
	u := p.obj("comment", "user")
	u["login"] = login
	u["type"] = "User"
	p.obj("sender")["login"] = login
	return p
}

func (p payload) bytes(t testing.TB) []byte {
	t.Helper()
	data, err := json.Marshal(p)
	if err != nil {
		t.Fatal(err)
	}
	return data
}

func sign(body []byte, secret string) string {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write(body)
	return "sha256=" + hex.EncodeToString(m.Sum(nil))
}

var deliveries atomic.Int64

func newDelivery() string {
	return fmt.Sprintf("72d3162e-cc78-11e3-81ab-%012d", deliveries.Add(1))
}

// send POSTs a signed webhook; it returns the status code and body.
func send(t testing.TB, url, event, delivery string, body []byte) (int, string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-GitHub-Event", event)
	req.Header.Set("X-GitHub-Delivery", delivery)
	req.Header.Set("X-Hub-Signature-256", sign(body, testSecret))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	out, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(out)
}

// rig is a bot wired to a real envs repository and the fake GitHub, its
// webhook endpoint served on loopback.
type rig struct {
	t      testing.TB
	bot    *Bot
	repo   *committest.Repo
	gh     *fakegithub.Server
	url    string
	cancel context.CancelFunc
	done   chan struct{}
}

type rigOptions struct {
	dataDir string
	config  func(*Config)
	repo    *committest.Repo
	gh      *fakegithub.Server
	status  StatusReader
	planner Planner
	policy  commit.Policy
	// access, when set, replaces token access to the fake (App mode).
	access func(base string) Access
}

func testLogger() *slog.Logger {
	return slog.New(slog.NewTextHandler(io.Discard, nil))
}

func newRig(t testing.TB, o rigOptions) *rig {
	t.Helper()
	if o.repo == nil {
		o.repo = committest.New(t, nil)
	}
	if o.gh == nil {
		o.gh = fakegithub.New()
		t.Cleanup(o.gh.Close)
	}
	cfg := Config{Secrets: []string{testSecret}, DefaultImage: "mattermostdevelopment/mattermost-enterprise-edition"}
	if o.config != nil {
		o.config(&cfg)
	}
	access := Access{BaseURL: o.gh.BaseURL(), Token: "ghp_test", Logger: testLogger()}
	if o.access != nil {
		access = o.access(o.gh.BaseURL())
	}
	clients, err := NewClients(access)
	if err != nil {
		t.Fatal(err)
	}
	var ledger *commit.Ledger
	if o.dataDir != "" {
		if ledger, err = commit.OpenLedger(filepath.Join(o.dataDir, "committed-deliveries"), 0); err != nil {
			t.Fatal(err)
		}
	}
	committer := commit.New(o.repo, commit.Options{Ledger: ledger, Policy: o.policy, Logger: testLogger()})
	bot, err := New(Options{Config: cfg, GitHub: clients, Committer: committer, DataDir: o.dataDir,
		Status: o.status, Planner: o.planner, Logger: testLogger()})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(bot)
	ctx, cancel := context.WithCancel(context.Background())
	r := &rig{t: t, bot: bot, repo: o.repo, gh: o.gh, url: srv.URL, cancel: cancel, done: make(chan struct{})}
	go func() { defer close(r.done); bot.Run(ctx) }()
	t.Cleanup(r.stop)
	t.Cleanup(srv.Close)
	return r
}

// stop ends the bot (idempotent), as a restart would.
func (r *rig) stop() {
	r.cancel()
	<-r.done
	r.bot.Close()
}

// send posts a signed event and waits until the bot has handled it.
func (r *rig) send(event string, p payload) (int, string) {
	r.t.Helper()
	return r.sendAs(event, newDelivery(), p)
}

func (r *rig) sendAs(event, delivery string, p payload) (int, string) {
	r.t.Helper()
	code, body := send(r.t, r.url, event, delivery, p.bytes(r.t))
	r.wait()
	return code, body
}

func (r *rig) wait() {
	r.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	if err := r.bot.Wait(ctx); err != nil {
		r.t.Fatalf("waiting for the bot: %v", err)
	}
}

func (r *rig) commits() int { return len(r.repo.Commits(r.t)) }

// lastComment returns the newest comment on a pull request.
func (r *rig) comments(number int) []*gh.IssueComment {
	return r.gh.Comments("Codertocat/Hello-World", number)
}

func (r *rig) envComment(number int) string {
	r.t.Helper()
	var found []string
	name := EnvironmentName("Codertocat/Hello-World", number)
	for _, c := range r.comments(number) {
		if strings.HasPrefix(c.GetBody(), Marker(name)) {
			found = append(found, c.GetBody())
		}
	}
	if len(found) > 1 {
		r.t.Fatalf("%d environment comments, want one edited in place", len(found))
	}
	if len(found) == 0 {
		return ""
	}
	return found[0]
}
