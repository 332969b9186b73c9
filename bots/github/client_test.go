package githubbot

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	gh "github.com/google/go-github/v57/github"

	"github.com/envwick/envwick/bots/github/fakegithub"
)

func TestAppAuthUsesInstallationTokens(t *testing.T) {
	fake := fakegithub.New()
	t.Cleanup(fake.Close)
	fake.SetInstallation("org/one", 41)
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	pemKey := pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(key)})
	clients, err := NewClients(Access{BaseURL: fake.BaseURL(), AppID: 7, PrivateKey: pemKey, InstallationID: 99, Logger: testLogger()})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	for _, tc := range []struct{ repo, wantToken string }{
		{"org/one", "ghs_installation_41"},   // looked up with the app JWT
		{"org/other", "ghs_installation_99"}, // not found: the configured default
	} {
		cl, err := clients.For(ctx, tc.repo)
		if err != nil {
			t.Fatal(err)
		}
		owner, name, _ := strings.Cut(tc.repo, "/")
		if _, _, err := cl.Issues.CreateComment(ctx, owner, name, 1, &gh.IssueComment{Body: gh.String("hi")}); err != nil {
			t.Fatal(err)
		}
		reqs := fake.Requests()
		if got := reqs[len(reqs)-1].Auth; got != "token "+tc.wantToken {
			t.Errorf("%s: Authorization = %q, want token %s", tc.repo, got, tc.wantToken)
		}
	}
	// An event's installation is remembered: no lookup.
	clients.Remember("org/third", 5)
	cl, _ := clients.For(ctx, "org/third")
	cl.Issues.CreateComment(ctx, "org", "third", 1, &gh.IssueComment{Body: gh.String("hi")})
	reqs := fake.Requests()
	if got := reqs[len(reqs)-1].Auth; got != "token ghs_installation_5" {
		t.Errorf("remembered installation: Authorization = %q", got)
	}
	if _, err := NewClients(Access{AppID: 7}); err == nil {
		t.Error("app without key accepted")
	}
	if _, err := NewClients(Access{}); err == nil {
		t.Error("no credentials accepted")
	}
}

// An event's installation (derived onto a real example, which has none)
// is the one whose token the feedback uses.
func TestEventInstallationUsed(t *testing.T) {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	pemKey := pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(key)})
	r := newRig(t, rigOptions{access: func(base string) Access {
		return Access{BaseURL: base, AppID: 7, PrivateKey: pemKey, Logger: testLogger()}
	}})
	r.send("pull_request", example(t, "pull_request.labeled.0").withLabel(LabelCloud).withInstallation(77))
	if r.commits() != 1 {
		t.Fatalf("%d commits", r.commits())
	}
	var comments int
	for _, req := range r.gh.Requests() {
		if req.Method == "POST" && strings.HasSuffix(req.Path, "/comments") {
			comments++
			if req.Auth != "token ghs_installation_77" {
				t.Errorf("comment posted with %q, want installation 77's token", req.Auth)
			}
		}
		if strings.HasSuffix(req.Path, "/installation") {
			t.Error("looked up the installation the event named")
		}
	}
	if comments != 1 {
		t.Errorf("%d comments posted", comments)
	}
}

func TestRateLimitBeyondMaxWaitReturned(t *testing.T) {
	fake := fakegithub.New()
	t.Cleanup(fake.Close)
	clients, err := NewClients(Access{BaseURL: fake.BaseURL(), Token: "t", MaxRetryWait: time.Second, Logger: testLogger()})
	if err != nil {
		t.Fatal(err)
	}
	fake.InjectLimits(time.Hour, fakegithub.Secondary)
	cl, _ := clients.For(context.Background(), "org/repo")
	start := time.Now()
	_, _, err = cl.Issues.CreateComment(context.Background(), "org", "repo", 1, &gh.IssueComment{Body: gh.String("hi")})
	if err == nil {
		t.Fatal("want the rate limit error")
	}
	if time.Since(start) > 30*time.Second {
		t.Error("waited although the wait exceeds MaxRetryWait")
	}
	if n := len(fake.Requests()); n != 1 {
		t.Errorf("%d requests, want 1", n)
	}
}

func TestEnvironmentName(t *testing.T) {
	for _, tc := range []struct {
		repo   string
		number int
		want   string
	}{
		{"mattermost/mattermost", 31337, "mattermost-pr-31337"},
		{"Codertocat/Hello-World", 2, "hello-world-pr-2"},
		{"org/mattermost-plugin_calls.v2", 5, "mattermost-plugin-calls-v2-pr-5"},
		{"org/" + strings.Repeat("a", 80), 123, strings.Repeat("a", 56) + "-pr-123"},
		{"org/___", 1, "repo-pr-1"},
	} {
		if got := EnvironmentName(tc.repo, tc.number); got != tc.want || len(got) > 63 {
			t.Errorf("EnvironmentName(%q, %d) = %q, want %q", tc.repo, tc.number, got, tc.want)
		}
	}
}

func TestRetryAfter(t *testing.T) {
	now := time.Unix(1_700_000_000, 0)
	tr := &rateLimitTransport{now: func() time.Time { return now }}
	for _, tc := range []struct {
		name    string
		status  int
		headers map[string]string
		body    string
		wait    time.Duration
		limited bool
	}{
		{"ok", 200, nil, "", 0, false},
		{"permission denied", 403, map[string]string{"X-RateLimit-Remaining": "4999"}, `{"message":"Resource not accessible by integration"}`, 0, false},
		{"retry-after", 403, map[string]string{"Retry-After": "7"}, "", 7 * time.Second, true},
		{"429 retry-after", 429, map[string]string{"Retry-After": "2"}, "", 2 * time.Second, true},
		{"primary, reset ahead", 403, map[string]string{"X-RateLimit-Remaining": "0", "X-RateLimit-Reset": "1700000030"}, "", 30 * time.Second, true},
		{"primary, reset passed", 429, map[string]string{"X-RateLimit-Remaining": "0", "X-RateLimit-Reset": "1699999990"}, "", 0, true},
		{"429 without a time", 429, nil, "", time.Minute, true},
		{"secondary without a time", 403, nil, `{"message":"You have exceeded a secondary rate limit."}`, time.Minute, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			resp := &http.Response{StatusCode: tc.status, Header: http.Header{}, Body: io.NopCloser(strings.NewReader(tc.body))}
			for k, v := range tc.headers {
				resp.Header.Set(k, v)
			}
			wait, limited := tr.retryAfter(resp)
			if wait != tc.wait || limited != tc.limited {
				t.Errorf("got %s %v, want %s %v", wait, limited, tc.wait, tc.limited)
			}
			// The body is still there for the caller.
			if data, _ := io.ReadAll(resp.Body); string(data) != tc.body {
				t.Errorf("body = %q", data)
			}
		})
	}
}
