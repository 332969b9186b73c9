package mattermost

import (
	"bytes"
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/envwick/envwick/bots/commit"
	"github.com/envwick/envwick/envs"
	"github.com/envwick/envwick/envs/store"
	"github.com/envwick/envwick/reconciler"
)

// With no Mattermost server, a command works as the form's user and the
// direct message about the environment is printed to the console, named
// by that user and with the generated passwords masked.
func TestConsoleChatPrintsDirectMessagesMasked(t *testing.T) {
	ctx := context.Background()
	repo, err := store.Open(ctx, store.Options{Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	defer repo.Close()
	var out bytes.Buffer
	bot, err := New(Config{Tokens: []string{cmdToken}}, Deps{
		Committer: commit.New(repo, commit.Options{}), Environments: StoreEnvironments{Repo: repo},
		Chat: NewConsoleChat(&out), Logger: slog.New(slog.DiscardHandler),
	})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(bot.Handler())
	defer srv.Close()
	form := url.Values{"text": {"create app"}, "user_id": {"u1d"}, "user_name": {"alice"}, "channel_id": {"chan1"}, "team_id": {"team1"}}
	req, _ := http.NewRequest(http.MethodPost, srv.URL+CommandPath, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Authorization", "Token "+cmdToken)
	resp, err := http.DefaultClient.Do(req)
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("/cloud create: %v %v", resp, err)
	}
	resp.Body.Close()

	all, err := StoreEnvironments{Repo: repo}.Environments(ctx)
	if err != nil || len(all) != 1 {
		t.Fatalf("environments after create: %v, %v", all, err)
	}
	install := newFakeMM(t) // the new installation, where accounts are made
	e := all[0].DeepCopy()
	e.Status = envs.EnvironmentStatus{Installation: &envs.InstallationStatus{URL: install.URL()}}
	bot.Notify(ctx, reconciler.Transition{Kind: reconciler.TransitionReady, Name: "app", Environment: e, At: testNow})
	bot.Close()

	got := out.String()
	contains(t, got, "[mattermost @alice DM] :white_check_mark: **app** is ready: "+install.URL(), "sysadmin-", "<25 characters, not shown on a console>")
	if len(install.passwords) != 2 {
		t.Fatalf("%d accounts created on the installation, want 2", len(install.passwords))
	}
	for user, pw := range install.passwords {
		if strings.Contains(got, pw) {
			t.Errorf("the password of %s was printed:\n%s", user, got)
		}
	}
}
