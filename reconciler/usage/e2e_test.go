//go:build e2e

package usage_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mattermost/mattermost/server/public/model"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/envwick/envwick/bots/commit"
	"github.com/envwick/envwick/envs"
	"github.com/envwick/envwick/envs/store"
	"github.com/envwick/envwick/reconciler"
	"github.com/envwick/envwick/reconciler/platform/fake"
	"github.com/envwick/envwick/reconciler/usage"
)

type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = t
}

// TestUsageOfARealServer points an environment's installation at the real
// Mattermost server: a post keeps it awake past its idle period; a window
// without posts (on a fake clock) leads to the hibernation commit.
func TestUsageOfARealServer(t *testing.T) {
	mmURL, admin, password, teamID := os.Getenv("ENVWICK_E2E_MATTERMOST_URL"), os.Getenv("ENVWICK_E2E_MATTERMOST_ADMIN_USER"),
		os.Getenv("ENVWICK_E2E_MATTERMOST_ADMIN_PASSWORD"), os.Getenv("ENVWICK_E2E_MATTERMOST_TEAM_ID")
	if mmURL == "" || admin == "" || password == "" || teamID == "" {
		t.Skip("no Mattermost server: run through make e2e")
	}
	ctx := context.Background()
	b := make([]byte, 4)
	rand.Read(b)
	name := "usage-" + hex.EncodeToString(b)

	mm := model.NewAPIv4Client(mmURL)
	if _, _, err := mm.Login(ctx, admin, password); err != nil {
		t.Fatal(err)
	}
	ch, _, err := mm.CreateChannel(ctx, &model.Channel{TeamId: teamID, Name: name, DisplayName: name, Type: model.ChannelTypeOpen})
	if err != nil {
		t.Fatal(err)
	}

	day := 24 * time.Hour
	clk := &clock{t: time.Now().UTC().Add(-8 * day).Truncate(time.Second)}
	repo, err := store.Open(ctx, store.Options{Dir: t.TempDir(), Committer: store.Signature{Name: "envwick", Email: "envwick@example.com"}})
	if err != nil {
		t.Fatal(err)
	}
	defer repo.Close()
	p := &fake.Platform{URL: func(string) string { return mmURL }, Now: clk.Now}
	creds, err := usage.OpenCredentials(filepath.Join(t.TempDir(), "credentials.json"))
	if err != nil {
		t.Fatal(err)
	}
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	var rec *reconciler.Reconciler
	src := &usage.Source{Credentials: creds, Now: clk.Now, Logger: quiet,
		Targets: func() []reconciler.RunningInstallation { return rec.Running() }}
	rec, err = reconciler.New(&reconciler.StoreRepository{Repo: repo}, p, reconciler.Config{
		Owner: reconciler.Owner{OwnerID: "envwick-e2e"}, Clock: clk, Usage: src, Logger: quiet,
		Housekeeper: commit.Housekeeper{Committer: commit.New(repo, commit.Options{Logger: quiet})}})
	if err != nil {
		t.Fatal(err)
	}
	e := &envs.Environment{TypeMeta: metav1.TypeMeta{APIVersion: envs.APIVersion, Kind: envs.Kind},
		ObjectMeta: metav1.ObjectMeta{Name: name}, Spec: envs.EnvironmentSpec{Owner: envs.Owner{Mattermost: admin}}}
	data, err := envs.Marshal(e)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := repo.Commit(ctx, store.Change{Message: "Add " + name, Apply: func(tx *store.Tx) error {
		tx.Write(envs.PathFor(name), data)
		return nil
	}}); err != nil {
		t.Fatal(err)
	}
	pass := func() *reconciler.Result {
		t.Helper()
		res, err := rec.Pass(ctx, reconciler.PassOptions{})
		if err != nil {
			t.Fatal(err)
		}
		return res
	}
	pass()
	p.Settle()
	pass()
	st := rec.StatusOf(name)
	if st == nil || st.Status.Installation == nil || st.Status.Installation.URL != mmURL {
		t.Fatalf("status %+v: want a running installation at %s", st, mmURL)
	}
	// What the chat bot does when the installation is ready.
	if err := creds.KeepAdmin(name, st.Status.Installation.ID, mmURL, admin, password); err != nil {
		t.Fatal(err)
	}

	// Eight days on, past the idle period: a post keeps it awake.
	clk.Set(time.Now().UTC().Truncate(time.Second))
	post, _, err := mm.CreatePost(ctx, &model.Post{ChannelId: ch.Id, Message: "still testing here"})
	if err != nil {
		t.Fatal(err)
	}
	src.Sweep(ctx)
	u, ok := src.Usage(name)
	if !ok || u.Err != nil || u.LastPost.Before(time.UnixMilli(post.CreateAt).Truncate(time.Millisecond)) || u.ActiveUsers < 1 {
		t.Fatalf("usage %+v, %v: want the post at %s and an active user", u, ok, time.UnixMilli(post.CreateAt))
	}
	if res := pass(); len(res.Plan.Housekeeping) != 0 {
		t.Fatalf("hibernated although someone posted: %+v", res.Plan.Housekeeping)
	}
	if st := rec.StatusOf(name); st.Status.LastActivity == nil || st.Status.LastActivity.Time.Before(time.UnixMilli(post.CreateAt).Truncate(time.Second)) {
		t.Fatalf("lastActivity %v: want the post's time", st.Status.LastActivity)
	}

	// Eight more days without a post: hibernated through git.
	clk.Set(clk.Now().Add(8 * day))
	src.Sweep(ctx)
	res := pass()
	if res.Housekept != 1 || res.Plan.Housekeeping[0].Action != reconciler.HousekeepHibernate {
		t.Fatalf("housekeeping %+v, want the hibernation", res.Plan.Housekeeping)
	}
	head, err := repo.Sync(ctx)
	if err != nil {
		t.Fatal(err)
	}
	file, err := repo.ReadFile(ctx, head, envs.PathFor(name))
	if err != nil || !strings.Contains(string(file), "state: hibernated") {
		t.Fatalf("environment file after housekeeping: %s, %v", file, err)
	}
	if strings.Contains(string(file), password) {
		t.Error("the admin password reached the envs repository")
	}
}
