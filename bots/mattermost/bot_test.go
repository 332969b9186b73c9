package mattermost

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	git "github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/object"
	"github.com/mattermost/mattermost/server/public/model"

	"github.com/envwick/envwick/bots/commit"
	"github.com/envwick/envwick/envs"
	"github.com/envwick/envwick/envs/store"
	"github.com/fluxcd/pkg/apis/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

const (
	cmdToken = "slash-token-1"
	botToken = "bot-token"
)

// world is a bot wired to a real envs repository, a fake Mattermost server
// and an HTTP server on loopback.
type world struct {
	t        testing.TB
	mm       *fakeMM
	repo     *store.Repo
	dir      string
	bot      *Bot
	srv      *httptest.Server
	botID    string
	alice    string
	bob      string
	carol    string
	activity *recorder
	status   statusMap
	seq      atomic.Int64
}

type recorder struct {
	mu   sync.Mutex
	what []string
}

func (r *recorder) RecordActivity(_ context.Context, name string, _ time.Time, what string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.what = append(r.what, name+": "+what)
}

type statusMap map[string]envs.EnvironmentStatus

func (s statusMap) EnvironmentStatus(name string) (envs.EnvironmentStatus, bool) {
	st, ok := s[name]
	return st, ok
}

var testNow = time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC)

func newWorld(t testing.TB, tweak func(*Config)) *world {
	t.Helper()
	return newWorldWith(t, tweak, nil)
}

// testPolicy is the committer's policy a world starts with.
var testPolicy = commit.Policy{MaxEnvironments: 2, MaxKept: 1, MaxExtension: 7 * 24 * time.Hour, MaxLifetime: 7 * 24 * time.Hour}

// newWorldWith is newWorld with the committer's policy tweaked too.
func newWorldWith(t testing.TB, tweak func(*Config), policy func(*commit.Policy)) *world {
	t.Helper()
	w := &world{t: t, mm: newFakeMM(t), activity: &recorder{}, status: statusMap{}}
	w.botID = w.mm.addUser("envwick", "", "", "")
	w.mm.addToken(w.botID, botToken)
	w.alice = w.mm.addUser("alice", "alice@example.com", "Alice", "Liddell")
	w.bob = w.mm.addUser("bob", "bob@elsewhere.org", "Bob", "")
	w.carol = w.mm.addUser("carol", "carol@example.com", "", "")
	ctx := context.Background()
	w.dir = t.TempDir()
	repo, err := store.Open(ctx, store.Options{Dir: w.dir, Committer: store.Signature{Name: "envwick", Email: "envwick@example.com"}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { repo.Close() })
	w.repo = repo
	cfg := Config{
		Tokens:              []string{"other-token", cmdToken},
		ServerURL:           w.mm.URL(),
		BotToken:            botToken,
		PublicURL:           "http://envwick.test",
		ActionKey:           []byte("0123456789abcdef0123456789abcdef"),
		AllowedEmailDomains: []string{"example.com"},
		AllowedTeams:        []string{"team1", "qa"},
		Admins:              []string{"root"},
		ReplyBudget:         10 * time.Second,
	}
	if tweak != nil {
		tweak(&cfg)
	}
	pol := testPolicy
	if policy != nil {
		policy(&pol)
	}
	bot, err := New(cfg, Deps{
		Committer:    commit.New(repo, commit.Options{Policy: pol, Now: func() time.Time { return testNow }, Logger: slog.New(slog.DiscardHandler)}),
		Environments: StoreEnvironments{Repo: repo},
		Status:       w.status,
		Activity:     w.activity,
		Logger:       slog.New(slog.DiscardHandler),
		Now:          func() time.Time { return testNow },
	})
	if err != nil {
		t.Fatal(err)
	}
	w.bot = bot
	w.srv = httptest.NewServer(bot.Handler())
	t.Cleanup(w.srv.Close)
	t.Cleanup(bot.Close)
	return w
}

// command posts a slash command the way Mattermost does and returns the
// HTTP status and the reply text.
func (w *world) command(token, userID, text string, extra ...string) (int, string) {
	w.t.Helper()
	form := url.Values{
		"text": {text}, "user_id": {userID}, "user_name": {"ignored"}, "channel_id": {"chan1"},
		"channel_name": {"town-square"}, "team_id": {"team1"}, "team_domain": {"myteam"},
		"command": {"/cloud"}, "response_url": {w.mm.URL() + "/hooks/commands/abc"}, "trigger_id": {fmt.Sprintf("trig-%d", w.seq.Add(1))},
	}
	for i := 0; i+1 < len(extra); i += 2 {
		form.Set(extra[i], extra[i+1])
	}
	req, err := http.NewRequest(http.MethodPost, w.srv.URL+CommandPath, strings.NewReader(form.Encode()))
	if err != nil {
		w.t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if token != "" {
		req.Header.Set("Authorization", "Token "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		w.t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		return resp.StatusCode, string(body)
	}
	var cr model.CommandResponse
	if err := json.Unmarshal(body, &cr); err != nil {
		w.t.Fatalf("reply %q: %v", body, err)
	}
	if cr.ResponseType != model.CommandResponseTypeEphemeral {
		w.t.Errorf("reply type %q, want ephemeral", cr.ResponseType)
	}
	return resp.StatusCode, cr.Text
}

func (w *world) run(userID, text string) string {
	w.t.Helper()
	code, reply := w.command(cmdToken, userID, text)
	if code != http.StatusOK {
		w.t.Fatalf("/cloud %s: HTTP %d %s", text, code, reply)
	}
	return reply
}

func (w *world) head() string {
	w.t.Helper()
	h, err := w.repo.Head(w.repo.Branch())
	if err != nil {
		w.t.Fatal(err)
	}
	return h
}

func (w *world) lastCommit() *object.Commit {
	w.t.Helper()
	g, err := git.PlainOpen(w.dir)
	if err != nil {
		w.t.Fatal(err)
	}
	c, err := g.CommitObject(plumbing.NewHash(w.head()))
	if err != nil {
		w.t.Fatal(err)
	}
	return c
}

// env reads an environment at the branch head; nil when absent.
func (w *world) env(name string) *envs.Environment {
	w.t.Helper()
	snap, err := w.repo.Load(context.Background(), w.head())
	if err != nil {
		w.t.Fatal(err)
	}
	e, ok := snap.Environments[name]
	if !ok {
		return nil
	}
	if e.Err != nil {
		w.t.Fatalf("environment %s: %v", name, e.Err)
	}
	return e.Env
}

func contains(t *testing.T, got string, want ...string) {
	t.Helper()
	for _, s := range want {
		if !strings.Contains(got, s) {
			t.Errorf("reply %q\ndoes not contain %q", got, s)
		}
	}
}

func TestCreateCommitsAsThePerson(t *testing.T) {
	w := newWorld(t, nil)
	before := w.head()
	reply := w.run(w.alice, `create Conf42 --license e20 --test-data --env "MM_GREETING=hello world",MM_X=1`)
	contains(t, reply, "Creating **conf42**", "commit ")
	if w.head() == before {
		t.Fatal("no commit")
	}
	c := w.lastCommit()
	if c.Author.Name != "Alice Liddell" || c.Author.Email != "alice@example.com" {
		t.Errorf("author %s <%s>", c.Author.Name, c.Author.Email)
	}
	if c.Committer.Name != "envwick" {
		t.Errorf("committer %s", c.Committer.Name)
	}
	for _, tr := range []string{
		"Requested-by: alice",
		"Source: " + w.mm.URL() + "/myteam/channels/town-square",
		`Command: /cloud create Conf42 --license e20 --test-data --env "MM_GREETING=hello world",MM_X=1`,
		"Delivery: trig-1",
	} {
		if !strings.Contains(c.Message, tr) {
			t.Errorf("commit message lacks %q:\n%s", tr, c.Message)
		}
	}
	e := w.env("conf42")
	if e == nil {
		t.Fatal("environments/conf42.yaml not committed")
	}
	if e.Spec.Owner != (envs.Owner{Mattermost: "alice", Email: "alice@example.com"}) {
		t.Errorf("owner %+v", e.Spec.Owner)
	}
	if c := e.Spec.Source.Chat; c == nil || *c != (envs.ChatSource{User: "alice", UserID: w.alice, Channel: "chan1", Team: "team1"}) {
		t.Errorf("source %+v", e.Spec.Source.Chat)
	}
	in := e.Spec.Installation
	if in.License != "e20" || !in.TestData || in.Env["MM_GREETING"] != "hello world" || in.Env["MM_X"] != "1" || in.Size != "" {
		t.Errorf("installation %+v", in)
	}
	w.activity.mu.Lock()
	defer w.activity.mu.Unlock()
	if len(w.activity.what) != 1 || !strings.HasPrefix(w.activity.what[0], "conf42: /cloud create by @alice") {
		t.Errorf("activity %q", w.activity.what)
	}
}

func TestRefusedRequestsCommitNothing(t *testing.T) {
	w := newWorld(t, nil)
	w.run(w.alice, "create mine")
	w.run(w.carol, "create hers")
	w.run(w.carol, "keep hers")
	w.run(w.carol, "create hers2")
	start := w.head()

	tests := []struct {
		name   string
		token  string
		user   string
		text   string
		extra  []string
		status int
		want   []string
	}{
		{name: "no token", user: w.alice, text: "create x", status: http.StatusUnauthorized},
		{name: "wrong token", token: "nope", user: w.alice, text: "create x", status: http.StatusUnauthorized},
		{name: "token prefix", token: cmdToken[:5], user: w.alice, text: "create x", status: http.StatusUnauthorized},
		{name: "no user", token: cmdToken, user: "", text: "create x", status: http.StatusBadRequest},
		{name: "email domain", token: cmdToken, user: w.bob, text: "create bobs", status: 200, want: []string{"only for people with an email address in example.com"}},
		{name: "team", token: cmdToken, user: w.alice, text: "create x", extra: []string{"team_id", "t9", "team_domain", "other"}, status: 200, want: []string{"not available in this team"}},
		{name: "team by name", token: cmdToken, user: w.alice, text: "list --frob", extra: []string{"team_id", "t9", "team_domain", "QA"}, status: 200, want: []string{"Unknown flag: --frob"}},
		{name: "unknown user", token: cmdToken, user: "nobody", text: "create x", status: 200, want: []string{"could not look you up"}},
		{name: "someone else's delete", token: cmdToken, user: w.carol, text: "delete mine", status: 200, want: []string{"belongs to @alice", "only its owner or an admin may delete"}},
		{name: "someone else's update", token: cmdToken, user: w.carol, text: "update mine --size miniHA", status: 200, want: []string{"belongs to @alice"}},
		{name: "someone else's hibernate", token: cmdToken, user: w.carol, text: "hibernate mine", status: 200, want: []string{"belongs to @alice"}},
		{name: "someone else's extend", token: cmdToken, user: w.carol, text: "extend mine 1d", status: 200, want: []string{"belongs to @alice"}},
		{name: "someone else's keep", token: cmdToken, user: w.carol, text: "keep mine", status: 200, want: []string{"belongs to @alice"}},
		{name: "over quota", token: cmdToken, user: w.carol, text: "create third", status: 200, want: []string{"You already have 2 environments (hers, hers2)"}},
		{name: "keep cap", token: cmdToken, user: w.carol, text: "keep hers2", status: 200, want: []string{"You already keep 1 environment (hers)"}},
		{name: "name in use", token: cmdToken, user: w.carol, text: "create mine", status: 200, want: []string{"**mine** is already in use (owner @alice)"}},
		{name: "no such environment", token: cmdToken, user: w.alice, text: "delete ghost", status: 200, want: []string{"no environment named **ghost**"}},
		{name: "bad flag value", token: cmdToken, user: w.alice, text: "create y --size huge", status: 200, want: []string{`Invalid size "huge"`, "miniSingleton"}},
		{name: "extend too long", token: cmdToken, user: w.alice, text: "extend mine 30d", status: 200, want: []string{"at most 7d at a time"}},
		{name: "help", token: cmdToken, user: w.bob, text: "help", status: 200, want: []string{"Subcommands:"}},
		{name: "help of one", token: cmdToken, user: w.bob, text: "help create", status: 200, want: []string{"`/cloud create NAME [flags]`: create an environment", "- `--license LICENSE`: license (one of enterprise,"}},
		{name: "--help", token: cmdToken, user: w.bob, text: "extend --help", status: 200, want: []string{"`/cloud extend NAME DURATION`", "Who may run it: its owner or an admin."}},
		{name: "parse error", token: cmdToken, user: w.alice, text: "extend mine", status: 200, want: []string{"`/cloud extend`: Missing DURATION.", "`/cloud extend NAME DURATION`"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, reply := w.command(tt.token, tt.user, tt.text, tt.extra...)
			if code != tt.status {
				t.Fatalf("HTTP %d, want %d (%s)", code, tt.status, reply)
			}
			contains(t, reply, tt.want...)
			if h := w.head(); h != start {
				t.Fatalf("a commit was made: %s", h)
			}
		})
	}
	// A GET is not a command.
	resp, err := http.Get(w.srv.URL + CommandPath)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusMethodNotAllowed {
		t.Errorf("GET: HTTP %d", resp.StatusCode)
	}
}

func TestOwnerCommands(t *testing.T) {
	w := newWorld(t, nil)
	w.run(w.alice, "create app --version 10.5.0 --env A=1,B=2")
	w.status["app"] = envs.EnvironmentStatus{Installation: &envs.InstallationStatus{URL: "https://app.test", State: "stable"}}

	steps := []struct {
		who   string
		text  string
		reply string
		check func(*envs.Environment) bool
	}{
		{w.alice, "update app --version 10.6.0 --size miniHA --clear-env A --env C=3", "Updating **app**", func(e *envs.Environment) bool {
			in := e.Spec.Installation
			return in.Version == "10.6.0" && in.Size == "miniHA" && len(in.Env) == 2 && in.Env["B"] == "2" && in.Env["C"] == "3"
		}},
		{w.alice, "hibernate app", "Hibernating **app**", func(e *envs.Environment) bool { return e.Spec.State == envs.StateHibernated }},
		{w.alice, "wake-up app", "Waking **app** up", func(e *envs.Environment) bool { return e.Spec.State == "" }},
		{w.alice, "keep app", "protected from housekeeping", func(e *envs.Environment) bool { return e.Spec.Lifecycle.Keep }},
		{w.alice, "unkeep app", "no longer protected", func(e *envs.Environment) bool { return !e.Spec.Lifecycle.Keep }},
		// An admin may act on anyone's environment.
		{w.mm.addUser("root", "root@example.com", "", ""), "hibernate app", "Hibernating **app**", func(e *envs.Environment) bool { return e.Spec.State == envs.StateHibernated }},
	}
	for _, s := range steps {
		before := w.head()
		contains(t, w.run(s.who, s.text), s.reply, "(commit ")
		if w.head() == before {
			t.Fatalf("%s: no commit", s.text)
		}
		if e := w.env("app"); e == nil || !s.check(e) {
			t.Fatalf("%s: environment %+v", s.text, e)
		}
	}
	// Info and list read the repository and the status.
	contains(t, w.run(w.carol, "info app"), "**app** (owner @alice)", "https://app.test", "Version: 10.6.0", "Environment variables: B, C")
	contains(t, w.run(w.alice, "list"), "Your environments", "| app |", "https://app.test")
	contains(t, w.run(w.carol, "list"), "You have no environments")
	contains(t, w.run(w.carol, "list --all"), "All environments", "| app |")

	before := w.head()
	contains(t, w.run(w.alice, "delete app"), "Deleting **app**")
	if w.head() == before || w.env("app") != nil {
		t.Fatal("delete committed nothing")
	}
}

func TestExtend(t *testing.T) {
	w := newWorld(t, nil)
	w.run(w.alice, "create app")
	// Without a fixed end of life, extend is activity only.
	before := w.head()
	contains(t, w.run(w.alice, "extend app 2d"), "no fixed end of life")
	if w.head() != before {
		t.Fatal("extend without a deadline committed")
	}

	w2 := newWorldWith(t, nil, func(p *commit.Policy) { p.DefaultTTL = 48 * time.Hour })
	w2.run(w2.alice, "create app")
	contains(t, w2.run(w2.alice, "extend app 3d"), "Extended **app** by 3d")
	if e := w2.env("app"); e.Spec.Lifecycle.TTL == nil || e.Spec.Lifecycle.TTL.Duration != 5*24*time.Hour {
		t.Fatalf("lifecycle %+v", e.Spec.Lifecycle)
	}
	// The time to live may not grow past the policy's lifetime.
	contains(t, w2.run(w2.alice, "extend app 3d"), "lifetime of 8d; the limit is 7d")

	// An explicit expiry counts even before the reconciler recorded one.
	w3 := newWorld(t, nil)
	w3.run(w3.alice, "create app")
	if _, err := w3.bot.commits.Update(context.Background(), commit.Meta{Actor: commit.Person{Name: "a"}, Requester: commit.Requester{Admin: true}}, "app",
		func(e *envs.Environment) error {
			e.Spec.Lifecycle.ExpiresAt = timePtr(testNow.Add(6 * 24 * time.Hour))
			return nil
		}); err != nil {
		t.Fatal(err)
	}
	contains(t, w3.run(w3.alice, "extend app 2d"), "the limit is 7d from now")
	contains(t, w3.run(w3.alice, "extend app 1d"), "Extended **app** by 1d")
	if x := w3.env("app").Spec.Lifecycle.ExpiresAt; x == nil || !x.Equal(timePtr(testNow.Add(7*24*time.Hour))) {
		t.Fatalf("expiresAt %v", x)
	}
}

func TestSlowCommandFollowsUpThroughResponseURL(t *testing.T) {
	w := newWorld(t, func(c *Config) { c.ReplyBudget = 50 * time.Millisecond })
	release := make(chan struct{})
	w.bot.envs = gatedEnvironments{inner: w.bot.envs, gate: release}
	code, reply := w.command(cmdToken, w.alice, "create slow")
	if code != 200 || !strings.Contains(reply, "Working on it") {
		t.Fatalf("HTTP %d %q", code, reply)
	}
	close(release)
	deadline := time.Now().Add(10 * time.Second)
	for len(w.mm.commandResponses()) == 0 {
		if time.Now().After(deadline) {
			t.Fatal("no follow-up through the response URL")
		}
		time.Sleep(10 * time.Millisecond)
	}
	r := w.mm.commandResponses()[0]
	if r.ResponseType != model.CommandResponseTypeEphemeral || !strings.Contains(r.Text, "Creating **slow**") {
		t.Fatalf("follow-up %+v", r)
	}
	if w.env("slow") == nil {
		t.Fatal("not committed")
	}
}

// gatedEnvironments holds reads until the gate opens: a slow repository.
type gatedEnvironments struct {
	inner Environments
	gate  chan struct{}
}

func (g gatedEnvironments) Environments(ctx context.Context) ([]*envs.Environment, error) {
	select {
	case <-g.gate:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	return g.inner.Environments(ctx)
}

func TestConfigValidation(t *testing.T) {
	deps := Deps{Committer: commit.New(nil, commit.Options{}), Environments: StoreEnvironments{}}
	for _, c := range []Config{
		{},
		{Tokens: []string{""}},
		{Tokens: []string{"t"}, ServerURL: "chat.example.com", BotToken: "b"},
		{Tokens: []string{"t"}, ServerURL: "https://chat.example.com"},
	} {
		if _, err := New(c, deps); err == nil {
			t.Errorf("New(%+v) accepted", c)
		} else if strings.Contains(err.Error(), "secret") {
			t.Errorf("error mentions a secret: %v", err)
		}
	}
	if _, err := New(Config{Tokens: []string{"t"}}, Deps{}); err == nil {
		t.Error("New without a committer accepted")
	}
	// A button the policy would refuse every time.
	short := Deps{Committer: commit.New(nil, commit.Options{Policy: commit.Policy{MaxExtension: time.Hour}}), Environments: StoreEnvironments{}}
	if _, err := New(Config{Tokens: []string{"t"}, ButtonExtension: 2 * time.Hour}, short); err == nil || !strings.Contains(err.Error(), "button extension (2h)") {
		t.Errorf("a button longer than the maximum extension: %v", err)
	}
}

// BenchmarkCreateCommand measures a /cloud create from the form post to the
// reply, commit included, on a local envs repository that grows by one
// environment per iteration.
func BenchmarkCreateCommand(b *testing.B) {
	w := newWorldWith(b, nil, func(p *commit.Policy) { p.MaxEnvironments, p.MaxUnits = -1, -1 })
	b.ResetTimer()
	for i := range b.N {
		if _, reply := w.command(cmdToken, w.alice, fmt.Sprintf("create bench%d", i)); !strings.Contains(reply, "Creating") {
			b.Fatalf("reply %q", reply)
		}
	}
}

func TestWithoutServerTheFormNamesThePerson(t *testing.T) {
	w := newWorld(t, func(c *Config) { c.AllowedEmailDomains = nil })
	w.bot.chat = noChat{}
	reply := w.run(w.alice, "create local")
	contains(t, reply, "Creating **local**")
	if e := w.env("local"); e == nil || e.Spec.Owner.Mattermost != "ignored" {
		t.Fatalf("environment %+v", e)
	}
	if c := w.lastCommit(); c.Author.Name != "ignored" {
		t.Errorf("author %q", c.Author.Name)
	}
}

// /cloud info says what an environment waits for, and the digest its tag
// resolved to.
func TestInfoShowsTheWaitForTheImage(t *testing.T) {
	w := newWorld(t, nil)
	w.run(w.alice, "create app")
	msg := "image registry.test/mm:abc is not in its registry yet: waiting for it"
	w.status["app"] = envs.EnvironmentStatus{
		Conditions: []metav1.Condition{{Type: meta.ReadyCondition, Status: metav1.ConditionFalse, Reason: envs.ReasonWaitingForImage, Message: msg}},
		Image:      &envs.ImageStatus{Reference: "registry.test/mm:abc", Digest: "sha256:123"},
	}
	contains(t, w.run(w.alice, "info app"), "waitingforimage", "- WaitingForImage: "+msg, "- Image digest: sha256:123")
}

// A version left to the fleet's default shows the one the installation
// runs, or says it is the default; never a blank cell.
func TestListShowsDefaultedVersion(t *testing.T) {
	w := newWorld(t, nil)
	w.run(w.alice, "create pinned --version 10.5.0")
	w.run(w.alice, "create running")
	w.run(w.carol, "create waiting")
	w.status["running"] = envs.EnvironmentStatus{Installation: &envs.InstallationStatus{URL: "https://running.test", State: "stable", Version: "10.11.0"}}
	contains(t, w.run(w.alice, "list"), "| 10.5.0 |", "| 10.11.0 (default) |")
	contains(t, w.run(w.carol, "list"), "| waiting | requested |  | @carol | default |")
}
