package commit

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/envwick/envwick/envs"
)

// memRepo is an envs repository in memory: each Commit applies its change to
// a copy of the tree and keeps it only when Apply succeeds and changed
// something, like the store does.
type memRepo struct {
	mu      sync.Mutex
	files   map[string][]byte
	commits []Change
}

type memTree struct {
	files   map[string][]byte
	changed bool
}

func (t *memTree) Read(p string) ([]byte, error) {
	d, ok := t.files[p]
	if !ok {
		return nil, fmt.Errorf("%s: not found", p)
	}
	return d, nil
}
func (t *memTree) Write(p string, d []byte) error { t.files[p] = d; t.changed = true; return nil }
func (t *memTree) Delete(p string) error          { delete(t.files, p); t.changed = true; return nil }
func (t *memTree) FindEnvironment(name string) (string, bool, error) {
	for p := range t.files {
		if strings.HasPrefix(p, "environments/") && strings.TrimSuffix(filepath.Base(p), ".yaml") == name {
			return p, true, nil
		}
	}
	return "", false, nil
}

func (r *memRepo) Commit(_ context.Context, c Change) (string, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.files == nil {
		r.files = map[string][]byte{}
	}
	t := &memTree{files: maps.Clone(r.files)}
	if err := c.Apply(t); errors.Is(err, ErrNoChange) {
		return "", nil
	} else if err != nil {
		return "", err
	}
	if !t.changed {
		return "", nil
	}
	r.files = t.files
	r.commits = append(r.commits, c)
	return fmt.Sprintf("c%d", len(r.commits)), nil
}

func (r *memRepo) count() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.commits)
}

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
	Actor:    Person{Name: "Jane Doe", Email: "jane@example.com"},
	Login:    "jane",
	Source:   "https://github.com/org/repo/pull/1",
	Command:  `label "Setup Cloud Test Server"`,
	Delivery: "",
}

func withDelivery(m Meta, id string) Meta { m.Delivery = id; return m }

func TestCreateWritesFileAuthorAndTrailers(t *testing.T) {
	repo := &memRepo{}
	c := New(repo, Options{})
	res, err := c.Create(context.Background(), withDelivery(jane, "d-1"), testEnv("repo-pr-1"))
	if err != nil {
		t.Fatal(err)
	}
	if !res.Changed || res.Commit == "" || res.Path != "environments/repo-pr-1.yaml" {
		t.Fatalf("result = %+v", res)
	}
	got := repo.commits[0]
	if got.Author != jane.Actor {
		t.Errorf("author = %v", got.Author)
	}
	want := []Trailer{
		{TrailerRequestedBy, "jane"},
		{TrailerSource, "https://github.com/org/repo/pull/1"},
		{TrailerDelivery, "d-1"},
		{TrailerCommand, `label "Setup Cloud Test Server"`},
	}
	if fmt.Sprint(got.Trailers) != fmt.Sprint(want) {
		t.Errorf("trailers = %v, want %v", got.Trailers, want)
	}
	if !strings.HasPrefix(got.Message, "Create environment repo-pr-1") {
		t.Errorf("message = %q", got.Message)
	}
	e, err := parse(res.Path, repo.files[res.Path])
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
			repo := &memRepo{}
			c := New(repo, Options{})
			if _, err := c.Create(ctx, jane, testEnv("a")); err != nil {
				t.Fatal(err)
			}
			before := maps.Clone(repo.files)
			res, err := tc.run(c)
			if tc.wantErr == nil && err != nil || tc.wantErr != nil && !tc.wantErr(err) {
				t.Fatalf("error = %v", err)
			}
			if res.Changed || repo.count() != 1 || !maps.EqualFunc(before, repo.files, func(a, b []byte) bool { return string(a) == string(b) }) {
				t.Fatalf("something was committed: %+v, %d commits", res, repo.count())
			}
		})
	}
}

func TestUpdateAndDelete(t *testing.T) {
	ctx := context.Background()
	repo := &memRepo{}
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
	if _, ok := repo.files["environments/a.yaml"]; ok {
		t.Fatal("file still there")
	}
	if !strings.HasPrefix(repo.commits[len(repo.commits)-1].Message, "Delete environment a") {
		t.Errorf("message = %q", repo.commits[len(repo.commits)-1].Message)
	}
}

func TestUpsertRecreates(t *testing.T) {
	ctx := context.Background()
	repo := &memRepo{}
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
	repo := &memRepo{}
	c := New(repo, Options{Ledger: ledger})
	m := withDelivery(jane, "d-1")
	if _, err := c.Create(ctx, m, testEnv("a")); err != nil {
		t.Fatal(err)
	}
	// Replays of a non-idempotent command: extend twice would move the
	// expiry twice.
	ext := withDelivery(jane, "d-2")
	extend := Extend(24*time.Hour, time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC), 0)
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
	if repo.count() != 2 {
		t.Fatalf("%d commits, want 2", repo.count())
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
	repo := &memRepo{}
	c := New(repo, Options{})
	if _, err := c.Create(ctx, jane, testEnv("a")); err != nil {
		t.Fatal(err)
	}
	m := withDelivery(jane, "same")
	extend := Extend(time.Hour, time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC), 0)
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
	if repo.count() != 2 {
		t.Fatalf("%d commits, want 2", repo.count())
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
	repo := &memRepo{files: map[string][]byte{"environments/team/demo.yaml": []byte(hand)}}
	c := New(repo, Options{})
	res, err := c.Update(ctx, jane, "demo", Keep(true))
	if err != nil || !res.Changed {
		t.Fatalf("update: %+v, %v", res, err)
	}
	if res.Path != "environments/team/demo.yaml" {
		t.Errorf("path = %s", res.Path)
	}
	got := string(repo.files["environments/team/demo.yaml"])
	for _, want := range []string{"# the sales demo, keep it tidy", "# Bigger than usual", "keep: true", `version: "10.5.0"`} {
		if !strings.Contains(got, want) {
			t.Errorf("edited file lost %q:\n%s", want, got)
		}
	}
}
