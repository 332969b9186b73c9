package localgithub_test

import (
	"bytes"
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	gh "github.com/google/go-github/v57/github"

	githubbot "github.com/envwick/envwick/bots/github"
	"github.com/envwick/envwick/bots/github/localgithub"
)

// client is the go-github client the bot would use on s.
func client(t *testing.T, s *localgithub.Server) *gh.Client {
	t.Helper()
	cs, err := githubbot.NewClients(githubbot.Access{BaseURL: localgithub.BaseURL, Token: "local", Transport: s.Transport()})
	if err != nil {
		t.Fatal(err)
	}
	cl, err := cs.For(context.Background(), "acme/app")
	if err != nil {
		t.Fatal(err)
	}
	return cl
}

// What the bot posts is printed, tagged by where it would go, and read
// back as GitHub would answer.
func TestPostsArePrintedAndReadBack(t *testing.T) {
	ctx := context.Background()
	var out bytes.Buffer // posts print as the requests are served, here
	s := localgithub.New(&out)
	cl := client(t, s)

	c, _, err := cl.Issues.CreateComment(ctx, "acme", "app", 12, &gh.IssueComment{Body: gh.String("<!-- envwick:env=app-pr-12 -->\nBeing created.\nMore.")})
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := cl.Issues.EditComment(ctx, "acme", "app", c.GetID(), &gh.IssueComment{Body: gh.String("Ready.")}); err != nil {
		t.Fatal(err)
	}
	list, _, err := cl.Issues.ListComments(ctx, "acme", "app", 12, nil)
	if err != nil || len(list) != 1 || list[0].GetBody() != "Ready." {
		t.Fatalf("comments = %v, %v; want the one edited comment", list, err)
	}
	sha := strings.Repeat("ab", 20)
	if _, _, err := cl.Repositories.CreateStatus(ctx, "acme", "app", sha, &gh.RepoStatus{State: gh.String("pending"), Context: gh.String("envwick/test-server"), Description: gh.String("Creating")}); err != nil {
		t.Fatal(err)
	}
	sts, _, err := cl.Repositories.ListStatuses(ctx, "acme", "app", sha, nil)
	if err != nil || len(sts) != 1 || sts[0].GetState() != "pending" {
		t.Fatalf("statuses = %v, %v", sts, err)
	}
	p, _, err := cl.Repositories.GetPermissionLevel(ctx, "acme", "app", "alice")
	if err != nil || p.GetPermission() != localgithub.Permission {
		t.Fatalf("permission = %v, %v", p, err)
	}
	if _, _, err := cl.Git.GetRef(ctx, "acme", "app", "heads/main"); err == nil {
		t.Error("an endpoint the local GitHub does not serve answered")
	}

	want := []string{
		"[github acme/app#12 comment] Being created.\n    More.",
		"[github acme/app#12 comment edited] Ready.",
		"[github acme/app@abababa status] envwick/test-server: pending Creating",
	}
	if got := out.String(); got != strings.Join(want, "\n")+"\n" {
		t.Errorf("console:\n%s\nwant:\n%s", got, strings.Join(want, "\n"))
	}
	if posts := s.Posts(1); len(posts) != 2 || posts[0].Kind != "comment edited" {
		t.Errorf("posts after the first: %+v", posts)
	}
}

// A pull request is known once the bot accepted a webhook about it; a
// refused webhook teaches nothing.
func TestObserveLearnsPullRequestsFromAcceptedWebhooks(t *testing.T) {
	payload, err := githubbot.ExamplePayload("pull_request", "labeled")
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		name   string
		status int
		known  bool
	}{
		{"accepted", http.StatusAccepted, true},
		{"refused", http.StatusUnauthorized, false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			s := localgithub.New(&bytes.Buffer{})
			h := s.Observe(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(tt.status) }))
			req := httptest.NewRequest(http.MethodPost, githubbot.WebhookPath, bytes.NewReader(payload))
			req.Header.Set(gh.EventTypeHeader, "pull_request")
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)
			if rec.Code != tt.status {
				t.Fatalf("HTTP %d, want the bot's %d", rec.Code, tt.status)
			}
			pr, _, err := client(t, s).PullRequests.Get(context.Background(), "Codertocat", "Hello-World", 2)
			if known := err == nil; known != tt.known {
				t.Fatalf("pull request known = %v (%v), want %v", known, err, tt.known)
			}
			if tt.known && pr.GetHead().GetSHA() != "ec26c3e57ca3a959ca5aad62de7213c562f8c821" {
				t.Errorf("head = %s", pr.GetHead().GetSHA())
			}
		})
	}
}
