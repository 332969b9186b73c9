package githubbot

import (
	"bytes"
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	gh "github.com/google/go-github/v57/github"

	"github.com/envwick/envwick/bots/commit/committest"
	"github.com/envwick/envwick/bots/github/fakegithub"
	"github.com/envwick/envwick/envs"
	"github.com/envwick/envwick/reconciler"
)

const (
	repoName = "Codertocat/Hello-World"
	headSHA  = "ec26c3e57ca3a959ca5aad62de7213c562f8c821"
	envName  = "hello-world-pr-2"
	envPath  = "environments/hello-world-pr-2.yaml"
)

// Every handled example parses with go-github and is accepted.
func TestRealPayloadsAccepted(t *testing.T) {
	for _, name := range []string{
		"pull_request.labeled.0", "pull_request.labeled.1", "pull_request.unlabeled.0", "pull_request.unlabeled.1",
		"pull_request.synchronize.0", "pull_request.closed.0", "pull_request.closed.1",
		"pull_request.reopened.0", "pull_request.reopened.1", "pull_request.opened.0",
		"issue_comment.created.0", "issue_comment.created.1", "issue_comment.created.2",
		"issue_comment.created.3", "issue_comment.created.4",
	} {
		event, _, _ := strings.Cut(name, ".")
		p := example(t, name)
		if _, err := gh.ParseWebHook(event, p.bytes(t)); err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
	r := newRig(t, rigOptions{})
	// The examples' label is "bug", no template: nothing to commit, but
	// every one is accepted.
	for _, name := range []string{"pull_request.labeled.0", "pull_request.unlabeled.0", "pull_request.closed.1", "issue_comment.created.0"} {
		event, _, _ := strings.Cut(name, ".")
		if code, body := r.send(event, example(t, name)); code != http.StatusAccepted {
			t.Errorf("%s: %d %s", name, code, body)
		}
	}
	if n := r.commits(); n != 0 {
		t.Errorf("%d commits for events that ask for nothing", n)
	}
	code, _ := r.send("ping", example(t, "ping.0"))
	if code != http.StatusOK {
		t.Errorf("ping: %d", code)
	}
}

func TestBadInputRefusedAndNothingCommitted(t *testing.T) {
	r := newRig(t, rigOptions{config: func(c *Config) { c.MaxPayload = 64 << 10 }})
	good := example(t, "pull_request.labeled.0").withLabel(LabelCloud).bytes(t)
	big := append(bytes.Clone(good[:len(good)-1]), []byte(`,"padding":"`+strings.Repeat("x", 70<<10)+`"}`)...)
	malformed := []byte(`{"action": "labeled", "number": `)
	for _, tc := range []struct {
		name    string
		method  string
		body    []byte
		headers map[string]string
		want    int
	}{
		{"unsigned", "POST", good, map[string]string{"X-Hub-Signature-256": ""}, http.StatusUnauthorized},
		{"wrong secret", "POST", good, map[string]string{"X-Hub-Signature-256": sign(good, "not-the-secret")}, http.StatusUnauthorized},
		{"signature of other body", "POST", good, map[string]string{"X-Hub-Signature-256": sign(malformed, testSecret)}, http.StatusUnauthorized},
		{"sha1 only", "POST", good, map[string]string{"X-Hub-Signature-256": "", "X-Hub-Signature": "sha1=0000"}, http.StatusUnauthorized},
		{"oversized", "POST", big, nil, http.StatusRequestEntityTooLarge},
		{"malformed", "POST", malformed, nil, http.StatusBadRequest},
		{"no delivery", "POST", good, map[string]string{"X-GitHub-Delivery": ""}, http.StatusBadRequest},
		{"not POST", "GET", nil, nil, http.StatusMethodNotAllowed},
	} {
		t.Run(tc.name, func(t *testing.T) {
			req, _ := http.NewRequest(tc.method, r.url, bytes.NewReader(tc.body))
			req.Header.Set("Content-Type", "application/json")
			req.Header.Set("X-GitHub-Event", "pull_request")
			req.Header.Set("X-GitHub-Delivery", newDelivery())
			req.Header.Set("X-Hub-Signature-256", sign(tc.body, testSecret))
			for k, v := range tc.headers {
				if v == "" {
					req.Header.Del(k)
				} else {
					req.Header.Set(k, v)
				}
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != tc.want {
				t.Errorf("status %d, want %d", resp.StatusCode, tc.want)
			}
		})
	}
	r.wait()
	if n := r.commits(); n != 0 {
		t.Fatalf("%d commits after refused input", n)
	}
}

func TestRefusesToStartWithoutSecret(t *testing.T) {
	clients, err := NewClients(Access{Token: "x"})
	if err != nil {
		t.Fatal(err)
	}
	for _, secrets := range [][]string{nil, {""}, {"a", "b", "c"}} {
		if _, err := New(Options{Config: Config{Secrets: secrets}, GitHub: clients}); err == nil {
			t.Errorf("secrets %q accepted", secrets)
		}
	}
}

func TestTwoSecretsForRotation(t *testing.T) {
	r := newRig(t, rigOptions{config: func(c *Config) { c.Secrets = []string{"old-secret", testSecret} }})
	body := example(t, "pull_request.labeled.0").withLabel(LabelCloud).bytes(t)
	for i, secret := range []string{"old-secret", testSecret} {
		req, _ := http.NewRequest("POST", r.url, bytes.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("X-GitHub-Event", "pull_request")
		req.Header.Set("X-GitHub-Delivery", newDelivery())
		req.Header.Set("X-Hub-Signature-256", sign(body, secret))
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusAccepted {
			t.Errorf("secret %d: status %d", i, resp.StatusCode)
		}
	}
}

func TestPullRequestLifecycle(t *testing.T) {
	r := newRig(t, rigOptions{})
	labeled := example(t, "pull_request.labeled.0").withLabel(LabelCloudHA)

	// labeled -> the environment file.
	if code, _ := r.send("pull_request", labeled); code != http.StatusAccepted {
		t.Fatalf("labeled: %d", code)
	}
	data, ok := r.repo.File(t, envPath)
	if !ok {
		t.Fatal("no environment file after labeled")
	}
	e, err := envs.Parse(envPath, []byte(data))
	if err != nil {
		t.Fatalf("committed file does not parse: %v\n%s", err, data)
	}
	pr := e.Spec.Source.PullRequest
	if e.Spec.Owner.GitHub != "Codertocat" || pr == nil || pr.Repository != repoName || pr.Number != 2 ||
		pr.HeadSHA != headSHA || pr.Label != LabelCloudHA || e.Spec.Installation.Size != "miniHA" ||
		e.Spec.Installation.License != "e20" || e.Spec.Installation.Version != headSHA {
		t.Errorf("environment = %+v", e.Spec)
	}
	c := r.repo.Commits(t)[0]
	if c.Author.Name != "Codertocat" || !strings.HasSuffix(c.Author.Email, "+Codertocat@users.noreply.github.com") {
		t.Errorf("author = %s <%s>", c.Author.Name, c.Author.Email)
	}
	if got := committest.Trailer(c, "Source"); got != "https://github.com/Codertocat/Hello-World/pull/2" {
		t.Errorf("Source = %q", got)
	}
	if committest.Trailer(c, "Delivery") == "" || committest.Trailer(c, "Requested-by") != "Codertocat" {
		t.Errorf("trailers missing:\n%s", c.Message)
	}
	if body := r.envComment(2); !strings.Contains(body, "being created") {
		t.Errorf("comment = %q", body)
	}
	if st := r.gh.Statuses(repoName, headSHA); len(st) != 1 || st[0].GetState() != "pending" || st[0].GetContext() != DefaultStatusContext {
		t.Errorf("statuses = %v", st)
	}

	// synchronize at the same SHA: nothing to commit.
	sync := example(t, "pull_request.synchronize.0").withPRLabels(LabelCloudHA)
	r.send("pull_request", sync)
	if n := r.commits(); n != 1 {
		t.Errorf("synchronize at the same SHA committed: %d commits", n)
	}
	// synchronize at a new SHA: the version moves.
	const newSHA = "0123456789abcdef0123456789abcdef01234567"
	r.send("pull_request", example(t, "pull_request.synchronize.0").withPRLabels(LabelCloudHA).withHead(newSHA))
	data, _ = r.repo.File(t, envPath)
	if !strings.Contains(data, "version: "+newSHA) || !strings.Contains(data, "headSHA: "+newSHA) || !strings.Contains(data, "size: miniHA") {
		t.Errorf("after push:\n%s", data)
	}
	if body := r.envComment(2); !strings.Contains(body, "being updated to 0123456") {
		t.Errorf("comment = %q", body)
	}

	// unlabeled -> removed.
	r.send("pull_request", example(t, "pull_request.unlabeled.0").withLabel(LabelCloudHA).withPRLabels())
	if _, ok := r.repo.File(t, envPath); ok {
		t.Error("environment still there after unlabeled")
	}
	// reopened with the label -> recreated.
	r.send("pull_request", example(t, "pull_request.reopened.0").withPRLabels(LabelCloud))
	data, ok = r.repo.File(t, envPath)
	if !ok || !strings.Contains(data, "size: miniSingleton") {
		t.Fatalf("not recreated on reopen:\n%s", data)
	}
	// closed (merged) -> removed.
	r.send("pull_request", example(t, "pull_request.closed.0").withPRLabels(LabelCloud).withMerged())
	if _, ok := r.repo.File(t, envPath); ok {
		t.Error("environment still there after merge")
	}
	if got := committest.Trailer(r.repo.Commits(t)[0], "Command"); got != "merge" {
		t.Errorf("Command = %q", got)
	}
	// closed again (not merged): nothing left to remove, nothing committed.
	before := r.commits()
	r.send("pull_request", example(t, "pull_request.closed.1").withPRLabels(LabelCloud))
	if r.commits() != before {
		t.Error("closing with nothing to remove committed")
	}
	if body := r.envComment(2); !strings.Contains(body, "being destroyed") {
		t.Errorf("comment = %q", body)
	}
}

func TestForksNotServedByDefault(t *testing.T) {
	fork := func(t *testing.T) payload {
		p := example(t, "pull_request.labeled.0").withLabel(LabelCloud)
		p.obj("pull_request", "head", "repo")["full_name"] = "someone/Hello-World"
		return p
	}
	r := newRig(t, rigOptions{})
	r.send("pull_request", fork(t))
	if n := r.commits(); n != 0 {
		t.Fatalf("fork PR got an environment: %d commits", n)
	}
	if cs := r.comments(2); len(cs) != 1 || !strings.Contains(cs[0].GetBody(), "fork") {
		t.Errorf("no explanation for the fork: %v", cs)
	}
	served := newRig(t, rigOptions{config: func(c *Config) { c.ServeForks = true }})
	served.send("pull_request", fork(t))
	if n := served.commits(); n != 1 {
		t.Fatalf("ServeForks: %d commits, want 1", n)
	}
}

func TestUnservedRepositoryIgnored(t *testing.T) {
	r := newRig(t, rigOptions{config: func(c *Config) { c.Repositories = []string{"mattermost/mattermost"} }})
	r.send("pull_request", example(t, "pull_request.labeled.0").withLabel(LabelCloud))
	if n := r.commits(); n != 0 {
		t.Fatalf("%d commits for a repository not served", n)
	}
}

func TestReplayedDeliveryChangesNothingAcrossRestart(t *testing.T) {
	dir := t.TempDir()
	repo := committest.New(t, nil)
	fake := func() rigOptions { return rigOptions{dataDir: dir, repo: repo} }
	r := newRig(t, fake())
	labeled := example(t, "pull_request.labeled.0").withLabel(LabelCloud)
	const id = "d1a7c0de-0000-4000-8000-000000000001"
	if code, _ := r.sendAs("pull_request", id, labeled); code != http.StatusAccepted {
		t.Fatal(code)
	}
	if code, body := r.sendAs("pull_request", id, labeled); code != http.StatusOK || !strings.Contains(body, "seen before") {
		t.Fatalf("replay: %d %s", code, body)
	}
	// Someone removes the environment; a replay of the old label event
	// must not bring it back, also after a restart.
	r.send("pull_request", example(t, "pull_request.unlabeled.0").withLabel(LabelCloud).withPRLabels())
	r.stop()
	r = newRig(t, fake())
	if code, _ := r.sendAs("pull_request", id, labeled); code != http.StatusOK {
		t.Fatalf("replay after restart: %d", code)
	}
	if n := r.commits(); n != 2 {
		t.Fatalf("%d commits, want 2 (label, unlabel)", n)
	}
}

func TestSpooledEventsSurviveRestart(t *testing.T) {
	dir := t.TempDir()
	repo := committest.New(t, nil)
	// Accept an event without running the bot's workers, as if it crashed
	// right after replying.
	clients, _ := NewClients(Access{Token: "x", BaseURL: "http://127.0.0.1:1/"})
	cfg := Config{Secrets: []string{testSecret}}
	r1 := newRig(t, rigOptions{dataDir: dir, repo: repo})
	r1.stop()
	bot, err := New(Options{Config: cfg, GitHub: clients, Committer: r1.bot.committer, DataDir: dir, Logger: testLogger()})
	if err != nil {
		t.Fatal(err)
	}
	rec := httptest.NewRecorder()
	bot.ServeHTTP(rec, signedRequest(t, "pull_request", example(t, "pull_request.labeled.0").withLabel(LabelCloud).bytes(t)))
	if rec.Code != http.StatusAccepted {
		t.Fatalf("status %d", rec.Code)
	}
	bot.Close()
	if n := len(repo.Commits(t)); n != 0 {
		t.Fatalf("committed before running: %d", n)
	}
	// A spool file cut short by a crash while it was written (never
	// acknowledged) is set aside, not handled and not fatal.
	cut := filepath.Join(dir, "spool", "00000000000000000099-cut.json")
	if err := os.WriteFile(cut, []byte(`{"seq":99,"event":"pull_request","delivery":"cut"}`+"\n"+`{"action":"lab`), 0o644); err != nil {
		t.Fatal(err)
	}
	// The restarted bot handles what was accepted.
	r2 := newRig(t, rigOptions{dataDir: dir, repo: repo})
	r2.wait()
	if n := r2.commits(); n != 1 {
		t.Fatalf("%d commits after restart, want 1", n)
	}
	if _, err := os.Stat(filepath.Join(dir, "spool", "failed", "00000000000000000099-cut.json")); err != nil {
		t.Errorf("cut spool file not set aside: %v", err)
	}
	if left, _ := filepath.Glob(filepath.Join(dir, "spool", "*.json")); len(left) != 0 {
		t.Errorf("spool not emptied: %v", left)
	}
}

func TestNotifierEditsOneCommentAndStatus(t *testing.T) {
	r := newRig(t, rigOptions{config: func(c *Config) {
		c.EnvsRepository, c.LogsURL = "org/envs", "https://logs.example.com/i/{id}?env={name}"
	}})
	r.send("pull_request", example(t, "pull_request.labeled.0").withLabel(LabelCloud))
	env := func(sha string) *envs.Environment {
		return &envs.Environment{
			Spec: envs.EnvironmentSpec{Source: envs.Source{PullRequest: &envs.PullRequestSource{
				Repository: repoName, Number: 2, HeadSHA: sha}}},
			Status: envs.EnvironmentStatus{Installation: &envs.InstallationStatus{ID: "inst-2", URL: "https://hello-world-pr-2.test.mattermost.cloud"}},
		}
	}
	ctx := context.Background()
	notify := func(tr reconciler.Transition) {
		t.Helper()
		tr.Name = envName
		r.bot.Notify(ctx, tr)
		r.wait()
	}
	notify(reconciler.Transition{Kind: reconciler.TransitionReady, Environment: env(headSHA), Commit: "aaaaaaa1"})
	body := r.envComment(2)
	if !strings.Contains(body, "is ready at https://hello-world-pr-2.test.mattermost.cloud") || !strings.Contains(body, "credentials") ||
		!strings.Contains(body, "Logs: https://logs.example.com/i/inst-2?env="+envName) {
		t.Errorf("ready comment = %q", body)
	}
	sts := r.gh.Statuses(repoName, headSHA)
	last := sts[len(sts)-1]
	if last.GetState() != "success" || last.GetTargetURL() != "https://hello-world-pr-2.test.mattermost.cloud" {
		t.Errorf("status = %v", last)
	}
	// The same transition again: the status is unchanged and not posted.
	n := len(sts)
	notify(reconciler.Transition{Kind: reconciler.TransitionReady, Environment: env(headSHA), Commit: "aaaaaaa1"})
	if got := len(r.gh.Statuses(repoName, headSHA)); got != n {
		t.Errorf("unchanged status posted again: %d statuses, want %d", got, n)
	}
	notify(reconciler.Transition{Kind: reconciler.TransitionFailed, Environment: env(headSHA), Message: "installation creation-failed"})
	if body := r.envComment(2); !strings.Contains(body, "failed: installation creation-failed") || !strings.Contains(body, "To retry") {
		t.Errorf("failed comment = %q", body)
	}
	sts = r.gh.Statuses(repoName, headSHA)
	if last := sts[len(sts)-1]; last.GetState() != "failure" || !strings.Contains(last.GetDescription(), "creation-failed") {
		t.Errorf("status = %v", last)
	}
	// Deleted arrives without a spec: the bot still knows the pull request.
	notify(reconciler.Transition{Kind: reconciler.TransitionDeleted})
	if body := r.envComment(2); !strings.Contains(body, "is destroyed") {
		t.Errorf("deleted comment = %q", body)
	}
	sts = r.gh.Statuses(repoName, headSHA)
	if last := sts[len(sts)-1]; last.GetDescription() != "Test server destroyed" || last.GetTargetURL() != "" {
		t.Errorf("status after deletion = %v", last)
	}
	// The envs repository commit got its status.
	if st := r.gh.Statuses("org/envs", "aaaaaaa1"); len(st) != 1 || st[0].GetState() != "success" || st[0].GetContext() != "envwick/reconcile" {
		t.Errorf("envs commit statuses = %v", st)
	}
	// A restarted bot finds the comment by its marker instead of adding one.
	r2 := newRig(t, rigOptions{gh: r.gh, repo: r.repo})
	r2.bot.Notify(ctx, reconciler.Transition{Kind: reconciler.TransitionReady, Name: envName, Environment: env(headSHA)})
	r2.wait()
	if body := r2.envComment(2); !strings.Contains(body, "is ready") {
		t.Errorf("after restart comment = %q", body)
	}
	// Credentials never reach GitHub.
	for _, c := range r.comments(2) {
		if strings.Contains(strings.ToLower(c.GetBody()), "password:") {
			t.Errorf("comment carries credentials: %q", c.GetBody())
		}
	}
}

func TestRateLimitsWaitedOut(t *testing.T) {
	for _, tc := range []struct {
		name  string
		limit fakegithub.Limit
	}{
		{"primary", fakegithub.Primary},
		{"secondary", fakegithub.Secondary},
		{"429", fakegithub.TooMany},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := newRig(t, rigOptions{})
			// The first two requests are limited; the bot waits and
			// retries, and the comment still gets written.
			r.gh.InjectLimits(10*time.Millisecond, tc.limit, tc.limit)
			r.send("pull_request", example(t, "pull_request.labeled.0").withLabel(LabelCloud))
			if body := r.envComment(2); !strings.Contains(body, "being created") {
				t.Fatalf("comment after rate limit = %q", body)
			}
			// list comments twice limited, then list, create comment, list
			// statuses, create status.
			if n := len(r.gh.Requests()); n != 6 {
				t.Errorf("%d requests, want 6", n)
			}
		})
	}
}

func signedRequest(t *testing.T, event string, body []byte) *http.Request {
	req := httptest.NewRequest(http.MethodPost, "/", bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-GitHub-Event", event)
	req.Header.Set("X-GitHub-Delivery", newDelivery())
	req.Header.Set("X-Hub-Signature-256", sign(body, testSecret))
	return req
}

func TestExpiringCommentSaysWhatHappens(t *testing.T) {
	deadline := time.Date(2026, 3, 3, 10, 0, 0, 0, time.UTC)
	for _, c := range []struct {
		what reconciler.HousekeepingAction
		want string
	}{
		{reconciler.HousekeepHibernate, "will be hibernated at Tue, 03 Mar 2026 10:00:00 UTC for lack of activity. Push a commit or comment `/env extend 3d`"},
		{reconciler.HousekeepDelete, "will be deleted at Tue, 03 Mar 2026 10:00:00 UTC. Comment `/env extend 3d` to keep it longer."},
	} {
		t.Run(string(c.what), func(t *testing.T) {
			r := newRig(t, rigOptions{})
			e := &envs.Environment{Spec: envs.EnvironmentSpec{Source: envs.Source{PullRequest: &envs.PullRequestSource{
				Repository: repoName, Number: 2, HeadSHA: headSHA}}}}
			r.bot.Notify(context.Background(), reconciler.Transition{Kind: reconciler.TransitionExpiring, Name: envName,
				Environment: e, Deadline: deadline, DeadlineAction: c.what})
			r.wait()
			if body := r.envComment(2); !strings.Contains(body, c.want) {
				t.Errorf("comment = %q, want %q in it", body, c.want)
			}
		})
	}
}

// A deleted transition carries the last known source: a bot that never
// saw the environment (a fresh data folder) still finds the pull request.
func TestDeletedReachesPullRequestFromLastKnownSource(t *testing.T) {
	r := newRig(t, rigOptions{})
	e := &envs.Environment{Spec: envs.EnvironmentSpec{Source: envs.Source{PullRequest: &envs.PullRequestSource{
		Repository: repoName, Number: 2, HeadSHA: headSHA}}}}
	r.bot.Notify(context.Background(), reconciler.Transition{Kind: reconciler.TransitionDeleted, Name: envName, Environment: e})
	r.wait()
	if body := r.envComment(2); !strings.Contains(body, "is destroyed") {
		t.Errorf("deleted comment = %q", body)
	}
}

// TestLongStatusDescription: a description over GitHub's 140 characters
// is shortened on a character boundary, so GitHub accepts it and it stays
// valid UTF-8.
func TestLongStatusDescription(t *testing.T) {
	r := newRig(t, rigOptions{})
	const sha = "0123456789abcdef0123456789abcdef01234567"
	desc := "Test server failed: " + strings.Repeat("é", 100) // two bytes each: byte 137 is mid-character
	if err := r.bot.fb.setStatus(context.Background(), "octo/repo", sha, "envwick/test", "failure", desc, ""); err != nil {
		t.Fatalf("setting a long status: %v", err)
	}
	sts := r.gh.Statuses("octo/repo", sha)
	if len(sts) != 1 {
		t.Fatalf("statuses = %d, want 1", len(sts))
	}
	got := sts[0].GetDescription()
	if len(got) > 140 || !utf8.ValidString(got) || !strings.HasSuffix(got, "é...") || !strings.HasPrefix(desc, strings.TrimSuffix(got, "...")) {
		t.Errorf("description %q (%d bytes)", got, len(got))
	}
}

// A create waiting for its image says so on the pull request, naming the
// image, with a pending commit status.
func TestWaitingForImageComment(t *testing.T) {
	r := newRig(t, rigOptions{})
	e := &envs.Environment{Spec: envs.EnvironmentSpec{Source: envs.Source{PullRequest: &envs.PullRequestSource{
		Repository: repoName, Number: 2, HeadSHA: headSHA}}}}
	r.bot.Notify(context.Background(), reconciler.Transition{Kind: reconciler.TransitionWaitingForImage, Name: envName, Environment: e,
		Reason: envs.ReasonWaitingForImage, Message: "image registry.test/mm:" + headSHA + " is not in its registry yet: waiting for it"})
	r.wait()
	if body := r.envComment(2); !strings.Contains(body, "is waiting for its image (image registry.test/mm:"+headSHA) {
		t.Errorf("comment = %q", body)
	}
	sts := r.gh.Statuses(repoName, headSHA)
	if len(sts) == 0 || sts[len(sts)-1].GetState() != "pending" || !strings.Contains(sts[len(sts)-1].GetDescription(), "Waiting for the image") {
		t.Errorf("statuses %v", sts)
	}
}
