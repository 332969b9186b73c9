package mattermost

import (
	"context"
	"log/slog"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/mattermost/mattermost/server/public/model"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/envwick/envwick/bots/commit"
	"github.com/envwick/envwick/envs"
	"github.com/envwick/envwick/reconciler"
)

// addChannel makes a channel the member may post to.
func (f *fakeMM) addChannel(id, member string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.channels[id] = [2]string{member, member}
}

// channelPosts returns the posts in a channel.
func (f *fakeMM) channelPosts(id string) []*model.Post {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []*model.Post
	for _, p := range f.posts {
		if p.ChannelId == id {
			out = append(out, p)
		}
	}
	return out
}

// deliver sends a transition and waits until it is delivered.
func (w *world) deliver(t reconciler.Transition) {
	w.t.Helper()
	w.bot.Notify(context.Background(), t)
	w.bot.Close()
}

func fleetWorld(t *testing.T, ledger string, tweak func(*Config)) *world {
	w := newWorld(t, func(c *Config) {
		c.FleetChannels, c.FleetLedger, c.ReportHour = []string{"fleet1"}, ledger, 9
		c.LogsURL = "https://logs.example.com/search?installation={id}&env={name}"
		if tweak != nil {
			tweak(c)
		}
	})
	w.mm.addChannel("fleet1", w.botID)
	return w
}

func TestFleetChannelHearsFailuresAndDeletionsOnce(t *testing.T) {
	ledger := filepath.Join(t.TempDir(), "fleet.json")
	w := fleetWorld(t, ledger, nil)
	w.run(w.alice, "create app")
	failed := w.transition(reconciler.TransitionFailed, "app", envs.EnvironmentStatus{Installation: &envs.InstallationStatus{ID: "inst-1"}})
	failed.Message = "installation is creation-failed"
	w.deliver(failed)
	posts := w.mm.channelPosts("fleet1")
	if len(posts) != 1 {
		t.Fatalf("%d fleet posts, want 1", len(posts))
	}
	contains(t, posts[0].Message, "**app** (owner @alice) failed: installation is creation-failed",
		"Logs: https://logs.example.com/search?installation=inst-1&env=app")
	// The owner's direct message carries the logs link and the retry.
	dm := w.mm.dms(w.botID, w.alice)
	if len(dm) != 1 {
		t.Fatalf("%d direct messages", len(dm))
	}
	contains(t, dm[0].Message, "`/cloud retry app`", "Logs: https://logs.example.com/search?installation=inst-1&env=app")

	// Heard again, or after a restart: not posted again.
	w.deliver(failed)
	w2 := fleetWorld(t, ledger, nil)
	w2.mm = w.mm
	w2.bot.chat = w.bot.chat
	w2.deliver(failed)
	if n := len(w.mm.channelPosts("fleet1")); n != 1 {
		t.Fatalf("%d fleet posts after a repeat and a restart, want 1", n)
	}
	w.deliver(reconciler.Transition{Kind: reconciler.TransitionDeleted, Name: "app", Commit: "c9",
		Environment: &envs.Environment{Spec: envs.EnvironmentSpec{Owner: envs.Owner{Mattermost: "alice"}}}})
	posts = w.mm.channelPosts("fleet1")
	if len(posts) != 2 || !strings.Contains(posts[1].Message, "**app** (owner @alice) is deleted") {
		t.Fatalf("fleet posts %v", posts)
	}
}

func TestDailyReport(t *testing.T) {
	w := fleetWorld(t, filepath.Join(t.TempDir(), "fleet.json"), nil)
	w.run(w.alice, "create old")
	w.run(w.alice, "create soon")
	w.run(w.carol, "create fresh")
	w.run(w.carol, "hibernate fresh")
	ready := []metav1.Condition{{Type: "Ready", Status: metav1.ConditionTrue, Reason: envs.ReasonAvailable}}
	w.status["old"] = envs.EnvironmentStatus{Conditions: ready, Installation: &envs.InstallationStatus{State: "stable"},
		LastActivity: timePtr(testNow.Add(-3 * 24 * time.Hour))}
	w.status["soon"] = envs.EnvironmentStatus{Conditions: ready, Installation: &envs.InstallationStatus{State: "stable"},
		LastActivity: timePtr(testNow.Add(-time.Hour)), DeleteAt: timePtr(testNow.Add(5 * time.Hour))}
	w.status["fresh"] = envs.EnvironmentStatus{Conditions: ready, Installation: &envs.InstallationStatus{State: "hibernated"},
		LastActivity: timePtr(testNow.Add(-5 * 24 * time.Hour))}
	for range 2 {
		if err := w.bot.reportIfDue(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
	posts := w.mm.channelPosts("fleet1")
	if len(posts) != 1 {
		t.Fatalf("%d reports, want one a day", len(posts))
	}
	contains(t, posts[0].Message, "Test environments on 2026-03-02: 3", "| ready | 2 |", "| hibernated | 1 |",
		"| @alice | 2 |", "| @carol | 1 |", "Expiring in the next day:\n- soon (@alice, Mon 2 Mar 15:00 UTC)",
		"Idle for a day or more:\n- old (@alice, unused since Fri 27 Feb 10:00 UTC)")
	if strings.Contains(posts[0].Message, "- fresh") {
		t.Errorf("a hibernated environment listed as idle: %q", posts[0].Message)
	}
	// Before the hour, nothing.
	early := fleetWorld(t, "", func(c *Config) { c.ReportHour = 11 })
	if err := early.bot.reportIfDue(context.Background()); err != nil {
		t.Fatal(err)
	}
	if n := len(early.mm.channelPosts("fleet1")); n != 0 {
		t.Fatalf("%d reports before the hour", n)
	}
}

// prEnvironment commits a pull request's environment by GitHub user octo.
func (w *world) prEnvironment(name string) {
	w.t.Helper()
	e := &envs.Environment{
		TypeMeta:   metav1.TypeMeta{APIVersion: envs.APIVersion, Kind: envs.Kind},
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec: envs.EnvironmentSpec{Owner: envs.Owner{GitHub: "octo"},
			Source: envs.Source{PullRequest: &envs.PullRequestSource{Repository: "org/app", Number: 7, HeadSHA: "abc1234"}}},
	}
	c := commit.New(w.repo, commit.Options{Logger: slog.New(slog.DiscardHandler)})
	if _, err := c.Put(context.Background(), commit.Meta{Actor: commit.Person{Name: "octo"}, Requester: commit.Requester{GitHub: "octo"}}, e); err != nil {
		w.t.Fatal(err)
	}
}

func TestPullRequestCredentials(t *testing.T) {
	readyOn := func(w *world, url string) reconciler.Transition {
		return w.transition(reconciler.TransitionReady, "app-pr-7", envs.EnvironmentStatus{Installation: &envs.InstallationStatus{ID: "inst-7", URL: url}})
	}
	t.Run("mapped author gets a direct message", func(t *testing.T) {
		w := fleetWorld(t, "", func(c *Config) { c.GitHubUsers = map[string]string{"Octo": "carol"}; c.CredentialsChannel = "creds" })
		w.mm.addChannel("creds", w.botID)
		w.prEnvironment("app-pr-7")
		install := newFakeMM(t)
		w.deliver(readyOn(w, install.URL()))
		dm := w.mm.dms(w.botID, w.carol)
		if len(dm) != 1 {
			t.Fatalf("%d direct messages to the author", len(dm))
		}
		contains(t, dm[0].Message, "**app-pr-7** is ready", "system admin", "Logs: https://logs.example.com/search?installation=inst-7&env=app-pr-7")
		if n := len(w.mm.channelPosts("creds")); n != 0 {
			t.Errorf("%d posts in the credentials channel for a mapped author", n)
		}
	})
	t.Run("unmapped author: the private channel", func(t *testing.T) {
		w := fleetWorld(t, "", func(c *Config) { c.CredentialsChannel = "creds" })
		w.mm.addChannel("creds", w.botID)
		w.prEnvironment("app-pr-7")
		install := newFakeMM(t)
		w.deliver(readyOn(w, install.URL()))
		posts := w.mm.channelPosts("creds")
		if len(posts) != 1 {
			t.Fatalf("%d posts in the credentials channel", len(posts))
		}
		contains(t, posts[0].Message, "For org/app#7 (author octo on GitHub)", "**app-pr-7** is ready", "system admin")
	})
	t.Run("no mapping, no channel: nothing", func(t *testing.T) {
		w := fleetWorld(t, "", nil)
		w.prEnvironment("app-pr-7")
		install := newFakeMM(t)
		w.deliver(readyOn(w, install.URL()))
		w.mm.mu.Lock()
		defer w.mm.mu.Unlock()
		if len(w.mm.posts) != 0 {
			t.Errorf("told someone: %v", w.mm.posts)
		}
	})
}

// Only the replica that leads posts the daily report: each replica keeps
// its own record of reports posted, so two would both post.
func TestDailyReportOnlyWhereLeading(t *testing.T) {
	w := fleetWorld(t, filepath.Join(t.TempDir(), "fleet.json"), nil)
	w.run(w.alice, "create old")
	run := func(leading bool) {
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan struct{})
		go func() { defer close(done); w.bot.RunReports(ctx, func() bool { return leading }) }()
		// The leader's first round posts at once; a follower gets as long.
		deadline := time.Now().Add(time.Second)
		for len(w.mm.channelPosts("fleet1")) == 0 && time.Now().Before(deadline) {
			time.Sleep(10 * time.Millisecond)
		}
		cancel()
		<-done
	}
	run(false)
	if n := len(w.mm.channelPosts("fleet1")); n != 0 {
		t.Fatalf("a follower posted %d reports", n)
	}
	run(true)
	if n := len(w.mm.channelPosts("fleet1")); n != 1 {
		t.Fatalf("the leader posted %d reports, want 1", n)
	}
}
