package commit

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/envwick/envwick/bots/commit/committest"
	"github.com/envwick/envwick/envs"
)

func newRepo(t *testing.T, files map[string]string) *committest.Repo {
	return committest.New(t, files)
}

func count(t *testing.T, r *committest.Repo) int { return len(r.Commits(t)) }

func testEnv(name string) *envs.Environment {
	return &envs.Environment{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec: envs.EnvironmentSpec{
			Owner:        envs.Owner{GitHub: "jane"},
			Installation: envs.Installation{Size: "miniSingleton", Version: "abc123"},
		},
	}
}

var jane = Meta{
	Actor:     Person{Name: "Jane Doe", Email: "jane@example.com"},
	Login:     "jane",
	Requester: Requester{GitHub: "jane"},
	Source:    "https://github.com/org/repo/pull/1",
	Command:   `label "Setup Cloud Test Server"`,
	Delivery:  "",
}

func withDelivery(m Meta, id string) Meta { m.Delivery = id; return m }

func TestCreateWritesFileAuthorAndTrailers(t *testing.T) {
	repo := newRepo(t, nil)
	c := New(repo, Options{})
	res, err := c.Create(context.Background(), withDelivery(jane, "d-1"), testEnv("repo-pr-1"))
	if err != nil {
		t.Fatal(err)
	}
	if !res.Changed || res.Commit == "" || res.Path != "environments/repo-pr-1.yaml" {
		t.Fatalf("result = %+v", res)
	}
	got := repo.Commits(t)[0]
	if got.Author.Name != jane.Actor.Name || got.Author.Email != jane.Actor.Email {
		t.Errorf("author = %v", got.Author)
	}
	if got.Committer.Name != committest.Bot.Name {
		t.Errorf("committer = %v", got.Committer)
	}
	for k, v := range map[string]string{
		TrailerRequestedBy: "jane",
		TrailerSource:      "https://github.com/org/repo/pull/1",
		TrailerDelivery:    "d-1",
		TrailerCommand:     `label "Setup Cloud Test Server"`,
	} {
		if got := committest.Trailer(got, k); got != v {
			t.Errorf("trailer %s = %q, want %q", k, got, v)
		}
	}
	if !strings.HasPrefix(got.Message, "Create environment repo-pr-1") {
		t.Errorf("message = %q", got.Message)
	}
	data, _ := repo.File(t, res.Path)
	if !strings.HasPrefix(data, envs.SchemaComment) {
		t.Errorf("not canonical:\n%s", data)
	}
	e, err := parse(res.Path, []byte(data))
	if err != nil {
		t.Fatal(err)
	}
	if e.Name != "repo-pr-1" || e.Spec.Installation.Version != "abc123" {
		t.Errorf("written = %+v", e)
	}
}

func TestNothingCommittedWhen(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct {
		name    string
		run     func(c *Committer) (Result, error)
		wantErr func(error) bool
	}{
		{"put unchanged", func(c *Committer) (Result, error) { return c.Put(ctx, jane, testEnv("a")) }, nil},
		{"update unchanged", func(c *Committer) (Result, error) {
			return c.Update(ctx, jane, "a", SetVersion("", "abc123"))
		}, nil},
		{"create existing", func(c *Committer) (Result, error) { return c.Create(ctx, jane, testEnv("a")) },
			func(err error) bool { return errors.Is(err, ErrExists) }},
		{"update missing", func(c *Committer) (Result, error) { return c.Update(ctx, jane, "b", Keep(true)) },
			func(err error) bool { return errors.Is(err, ErrNotFound) }},
		{"delete missing", func(c *Committer) (Result, error) { return c.Delete(ctx, jane, "b") },
			func(err error) bool { return errors.Is(err, ErrNotFound) }},
		{"invalid size", func(c *Committer) (Result, error) { return c.Update(ctx, jane, "a", SetSize("huge")) },
			func(err error) bool { var inv *InvalidError; return errors.As(err, &inv) }},
		{"invalid name", func(c *Committer) (Result, error) { return c.Put(ctx, jane, testEnv("Bad_Name")) },
			func(err error) bool { var inv *InvalidError; return errors.As(err, &inv) }},
		{"no owner", func(c *Committer) (Result, error) {
			e := testEnv("c")
			e.Spec.Owner = envs.Owner{}
			return c.Put(ctx, jane, e)
		}, func(err error) bool { var inv *InvalidError; return errors.As(err, &inv) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			repo := newRepo(t, nil)
			c := New(repo, Options{})
			if _, err := c.Create(ctx, jane, testEnv("a")); err != nil {
				t.Fatal(err)
			}
			res, err := tc.run(c)
			if tc.wantErr == nil && err != nil || tc.wantErr != nil && !tc.wantErr(err) {
				t.Fatalf("error = %v", err)
			}
			if res.Changed || count(t, repo) != 1 {
				t.Fatalf("something was committed: %+v, %d commits", res, count(t, repo))
			}
		})
	}
}

func TestUpdateAndDelete(t *testing.T) {
	ctx := context.Background()
	repo := newRepo(t, nil)
	c := New(repo, Options{})
	if _, err := c.Create(ctx, jane, testEnv("a")); err != nil {
		t.Fatal(err)
	}
	res, err := c.Update(ctx, jane, "a", SetState(envs.StateHibernated), SetEnv(map[string]string{"MM_X": "1"}), Keep(true))
	if err != nil || !res.Changed {
		t.Fatalf("update: %+v, %v", res, err)
	}
	e := res.Environment
	if e.Spec.State != envs.StateHibernated || e.Spec.Installation.Env["MM_X"] != "1" || !e.Spec.Lifecycle.Keep {
		t.Fatalf("updated = %+v", e.Spec)
	}
	res, err = c.Update(ctx, jane, "a", SetState(envs.StateRunning), SetEnv(map[string]string{"MM_X": ""}))
	if err != nil || res.Environment.Spec.State != "" || res.Environment.Spec.Installation.Env != nil {
		t.Fatalf("wake: %+v, %v", res.Environment.Spec, err)
	}
	res, err = c.Delete(ctx, jane, "a")
	if err != nil || !res.Changed {
		t.Fatalf("delete: %+v, %v", res, err)
	}
	if _, ok := repo.File(t, "environments/a.yaml"); ok {
		t.Fatal("file still there")
	}
	if msg := repo.Commits(t)[0].Message; !strings.HasPrefix(msg, "Delete environment a") {
		t.Errorf("message = %q", msg)
	}
}

func TestUpsertRecreates(t *testing.T) {
	ctx := context.Background()
	repo := newRepo(t, nil)
	c := New(repo, Options{})
	create := func() *envs.Environment { return testEnv("a") }
	res, err := c.Upsert(ctx, jane, "a", create, SetVersion("", "def456"))
	if err != nil || !res.Changed || res.Environment.Spec.Installation.Version != "def456" {
		t.Fatalf("upsert on missing: %+v, %v", res, err)
	}
	res, err = c.Upsert(ctx, jane, "a", create, SetVersion("", "def456"))
	if err != nil || res.Changed {
		t.Fatalf("upsert at same version committed: %+v, %v", res, err)
	}
}

func TestDeliverySeenBeforeChangesNothing(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "deliveries")
	ledger, err := OpenLedger(path, 0)
	if err != nil {
		t.Fatal(err)
	}
	repo := newRepo(t, nil)
	c := New(repo, Options{Ledger: ledger})
	m := withDelivery(jane, "d-1")
	if _, err := c.Create(ctx, m, testEnv("a")); err != nil {
		t.Fatal(err)
	}
	// Replays of a non-idempotent command: extend twice would move the
	// expiry twice.
	ext := withDelivery(jane, "d-2")
	extend := Extend(24*time.Hour, time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC), week)
	if res, err := c.Update(ctx, ext, "a", extend); err != nil || !res.Changed {
		t.Fatalf("extend: %+v, %v", res, err)
	}
	if res, err := c.Update(ctx, ext, "a", extend); err != nil || !res.Duplicate || res.Changed {
		t.Fatalf("replayed extend: %+v, %v", res, err)
	}
	// A restart: a new ledger from the same file, a new Committer.
	if err := ledger.Close(); err != nil {
		t.Fatal(err)
	}
	ledger, err = OpenLedger(path, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer ledger.Close()
	c = New(repo, Options{Ledger: ledger})
	if res, err := c.Update(ctx, ext, "a", extend); err != nil || !res.Duplicate {
		t.Fatalf("replayed extend after restart: %+v, %v", res, err)
	}
	if count(t, repo) != 2 {
		t.Fatalf("%d commits, want 2", count(t, repo))
	}
	// A permanent refusal is remembered too; a replay is not tried again.
	bad := withDelivery(jane, "d-3")
	if _, err := c.Update(ctx, bad, "a", SetSize("huge")); err == nil {
		t.Fatal("want error")
	}
	if res, err := c.Update(ctx, bad, "a", SetSize("huge")); err != nil || !res.Duplicate {
		t.Fatalf("replayed refusal: %+v, %v", res, err)
	}
}

func TestConcurrentSameDeliveryCommitsOnce(t *testing.T) {
	ctx := context.Background()
	repo := newRepo(t, nil)
	c := New(repo, Options{})
	if _, err := c.Create(ctx, jane, testEnv("a")); err != nil {
		t.Fatal(err)
	}
	m := withDelivery(jane, "same")
	extend := Extend(time.Hour, time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC), week)
	var wg sync.WaitGroup
	for range 20 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := c.Update(ctx, m, "a", extend); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	if count(t, repo) != 2 {
		t.Fatalf("%d commits, want 2", count(t, repo))
	}
}

func TestExtend(t *testing.T) {
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	at := func(d time.Duration) *metav1.Time { return &metav1.Time{Time: now.Add(d)} }
	for _, tc := range []struct {
		name       string
		lc         envs.Lifecycle
		by         time.Duration
		defaultTTL time.Duration
		wantExp    *metav1.Time
		wantTTL    time.Duration
		wantErr    bool
	}{
		{"future expiry moves", envs.Lifecycle{ExpiresAt: at(time.Hour)}, 24 * time.Hour, 0, at(25 * time.Hour), 0, false},
		{"past expiry counts from now", envs.Lifecycle{ExpiresAt: at(-time.Hour)}, 24 * time.Hour, 0, at(24 * time.Hour), 0, false},
		{"ttl grows", envs.Lifecycle{TTL: envs.NewDuration(72 * time.Hour)}, 24 * time.Hour, 0, nil, 96 * time.Hour, false},
		{"default ttl grows", envs.Lifecycle{}, 48 * time.Hour, 7 * 24 * time.Hour, nil, 9 * 24 * time.Hour, false},
		{"no lifetime stays so", envs.Lifecycle{}, 48 * time.Hour, 0, nil, 0, false},
		{"zero refused", envs.Lifecycle{}, 0, 0, nil, 0, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := testEnv("a")
			e.Spec.Lifecycle = tc.lc
			err := Extend(tc.by, now, tc.defaultTTL)(e)
			if (err != nil) != tc.wantErr {
				t.Fatalf("error = %v", err)
			}
			if tc.wantErr {
				return
			}
			lc := e.Spec.Lifecycle
			if tc.wantExp != nil && (lc.ExpiresAt == nil || !lc.ExpiresAt.Equal(tc.wantExp)) {
				t.Errorf("expiresAt = %v, want %v", lc.ExpiresAt, tc.wantExp)
			}
			if tc.wantExp == nil && tc.wantTTL == 0 && (lc.TTL != nil || lc.ExpiresAt != nil) {
				t.Errorf("lifecycle set: %+v", lc)
			}
			if tc.wantTTL != 0 && (lc.TTL == nil || lc.TTL.Duration != tc.wantTTL) {
				t.Errorf("ttl = %v, want %v", lc.TTL, tc.wantTTL)
			}
		})
	}
}

func TestLedgerForgetsOldestAndCompacts(t *testing.T) {
	path := filepath.Join(t.TempDir(), "d", "ledger")
	l, err := OpenLedger(path, 3)
	if err != nil {
		t.Fatal(err)
	}
	for i := range 10 {
		if added, err := l.Add(fmt.Sprint(i)); err != nil || !added {
			t.Fatalf("add %d: %v %v", i, added, err)
		}
	}
	if added, _ := l.Add("9"); added {
		t.Error("9 added twice")
	}
	if l.Len() != 3 || l.Seen("6") || !l.Seen("7") {
		t.Fatalf("len %d, seen 6 %v, seen 7 %v", l.Len(), l.Seen("6"), l.Seen("7"))
	}
	if _, err := l.Add("bad\nid"); err == nil {
		t.Error("multi-line ID accepted")
	}
	l.Close()
	l, err = OpenLedger(path, 3)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	if l.Len() != 3 || !l.Seen("9") || l.Seen("0") {
		t.Fatalf("after reopen: len %d", l.Len())
	}
}

func TestUpdateKeepsHandWrittenComments(t *testing.T) {
	ctx := context.Background()
	hand := `apiVersion: envwick.dev/v1alpha1
kind: Environment
metadata:
  name: demo # the sales demo, keep it tidy
spec:
  owner:
    github: jane
  # Bigger than usual: the demo has many users.
  installation:
    size: miniHA
    version: "10.5.0"
`
	repo := newRepo(t, map[string]string{"environments/team/demo.yaml": hand})
	c := New(repo, Options{})
	res, err := c.Update(ctx, jane, "demo", Keep(true))
	if err != nil || !res.Changed {
		t.Fatalf("update: %+v, %v", res, err)
	}
	if res.Path != "environments/team/demo.yaml" {
		t.Errorf("path = %s", res.Path)
	}
	got, _ := repo.File(t, "environments/team/demo.yaml")
	for _, want := range []string{"# the sales demo, keep it tidy", "# Bigger than usual", "keep: true", `version: "10.5.0"`} {
		if !strings.Contains(got, want) {
			t.Errorf("edited file lost %q:\n%s", want, got)
		}
	}
}

const week = 7 * 24 * time.Hour
