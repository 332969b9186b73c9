package store_test

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	git "github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/plumbing"

	"github.com/envwick/envwick/envs"
	"github.com/envwick/envwick/envs/store"
)

func TestLoadReportsEachBadFileAndLoadsTheRest(t *testing.T) {
	r := open(t, store.Options{})
	ctx := ctxT(t)
	res := commit(t, r, store.Change{Apply: func(tx *store.Tx) error {
		tx.Write(envPath("good"), envYAML("good", "jane"))
		tx.Write(envPath("team/also-good"), envYAML("also-good", "joe"))
		tx.Write(envPath("syntax"), []byte("apiVersion: envwick.dev/v1alpha1\nkind: Environment\nmetadata:\n  name: syntax\n spec: [\n"))
		tx.Write(envPath("unknown"), append(envYAML("unknown", "jane"), "  colour: blue\n"...))
		tx.Write(envPath("a/dup"), envYAML("dup", "jane"))
		tx.Write(envPath("b/dup"), envYAML("dup", "joe"))
		tx.Write("environments/README.md", []byte("not an environment"))
		tx.Write("docs/x.yaml", []byte("not an environment either"))
		return nil
	}})
	snap, err := r.Load(ctx, res.Commit)
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	if snap.Commit != res.Commit {
		t.Errorf("Commit = %s; want %s", snap.Commit, res.Commit)
	}
	names := make([]string, 0, len(snap.Environments))
	for n := range snap.Environments {
		names = append(names, n)
	}
	slices.Sort(names)
	if want := []string{"also-good", "dup", "good", "syntax", "unknown"}; !slices.Equal(names, want) {
		t.Fatalf("environments = %v; want %v (a broken file must not go missing)", names, want)
	}
	for _, tc := range []struct {
		name, path string
		wantErr    []string // substrings; nil means it loads
	}{
		{"good", envPath("good"), nil},
		{"also-good", envPath("team/also-good"), nil},
		{"syntax", envPath("syntax"), []string{envPath("syntax") + ":"}},
		{"unknown", envPath("unknown"), []string{envPath("unknown") + ":", "colour"}},
	} {
		e := snap.Environments[tc.name]
		if e.Path != tc.path || e.Name != tc.name || e.Blob == "" {
			t.Errorf("%s: entry %+v", tc.name, e)
		}
		if tc.wantErr == nil {
			if e.Err != nil || e.Env == nil || e.Env.Name != tc.name {
				t.Errorf("%s: Env=%v Err=%v; want it loaded", tc.name, e.Env, e.Err)
			}
			continue
		}
		if e.Err == nil || e.Env != nil {
			t.Errorf("%s: Env=%v Err=%v; want an error and no Env", tc.name, e.Env, e.Err)
			continue
		}
		var ps envs.Problems
		if !errors.As(e.Err, &ps) || ps[0].Line == 0 {
			t.Errorf("%s: error %v carries no line", tc.name, e.Err)
		}
		for _, want := range tc.wantErr {
			if !strings.Contains(e.Err.Error(), want) {
				t.Errorf("%s: error %q does not mention %q", tc.name, e.Err, want)
			}
		}
	}
	// Both files of the duplicated name carry an error naming the other.
	var dups []store.Entry
	for _, f := range snap.Files {
		if f.Name == "dup" {
			dups = append(dups, f)
		}
	}
	if len(dups) != 2 {
		t.Fatalf("files named dup: %+v; want both", dups)
	}
	for i, d := range dups {
		other := dups[1-i].Path
		if d.Err == nil || d.Env != nil || !strings.Contains(d.Err.Error(), other) {
			t.Errorf("%s: Err=%v; want an error naming %s", d.Path, d.Err, other)
		}
	}
	if len(snap.Files) != 6 {
		t.Errorf("%d files; want 6 (README.md and docs/ are not environments)", len(snap.Files))
	}
}

func TestLoadParsesOnlyChangedFiles(t *testing.T) {
	r := open(t, store.Options{})
	ctx := ctxT(t)
	const n = 50
	first := commit(t, r, store.Change{Apply: func(tx *store.Tx) error {
		for i := range n {
			name := fmt.Sprintf("env-%02d", i)
			tx.Write(envPath(name), envYAML(name, "jane"))
		}
		return nil
	}})
	before := r.Parses()
	if _, err := r.Load(ctx, first.Commit); err != nil {
		t.Fatal(err)
	}
	if got := r.Parses() - before; got != n {
		t.Fatalf("first load parsed %d files; want %d", got, n)
	}
	second := commit(t, r, store.Change{Apply: writeFile(envPath("env-07"), envYAML("env-07", "joe"))})
	before = r.Parses()
	snap, err := r.Load(ctx, second.Commit)
	if err != nil {
		t.Fatal(err)
	}
	if got := r.Parses() - before; got != 1 {
		t.Errorf("re-load after one change parsed %d files; want 1", got)
	}
	if got := snap.Environments["env-07"].Env.Spec.Owner.GitHub; got != "joe" {
		t.Errorf("env-07 owner = %q; want the new content", got)
	}
	if got := snap.Environments["env-08"].Env.Spec.Owner.GitHub; got != "jane" {
		t.Errorf("env-08 owner = %q; want the cached content", got)
	}
	before = r.Parses()
	if _, err := r.Load(ctx, first.Commit); err != nil {
		t.Fatal(err)
	}
	if got := r.Parses() - before; got != 0 {
		t.Errorf("re-load of a loaded commit parsed %d files; want 0", got)
	}
}

func TestChangedAndReadFile(t *testing.T) {
	r := open(t, store.Options{})
	ctx := ctxT(t)
	a := commit(t, r, store.Change{Apply: func(tx *store.Tx) error {
		tx.Write(envPath("x"), envYAML("x", "jane"))
		tx.Write(envPath("y"), envYAML("y", "jane"))
		return nil
	}})
	b := commit(t, r, store.Change{Apply: func(tx *store.Tx) error {
		tx.Write(envPath("x"), envYAML("x", "joe"))
		tx.Delete(envPath("y"))
		tx.Write(envPath("sub/z"), envYAML("z", "jane"))
		return nil
	}})
	got, err := r.Changed(ctx, a.Commit, b.Commit)
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{envPath("sub/z"), envPath("x"), envPath("y")}; !slices.Equal(got, want) {
		t.Errorf("Changed = %v; want %v", got, want)
	}
	data, err := r.ReadFile(ctx, a.Commit, envPath("y"))
	if err != nil || !strings.Contains(string(data), "name: y") {
		t.Errorf("ReadFile(y at a) = %q, %v", data, err)
	}
	if _, err := r.ReadFile(ctx, b.Commit, envPath("y")); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("ReadFile(deleted) err = %v; want ErrNotFound", err)
	}
	if _, err := r.Load(ctx, strings.Repeat("0", 40)); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("Load(unknown commit) err = %v; want ErrNotFound", err)
	}
	if _, err := r.Load(ctx, "main"); err == nil {
		t.Error("Load(branch name) succeeded; want a full hash required")
	}
}

func TestLastChange(t *testing.T) {
	// A clock that moves a minute per commit, so commits tell apart.
	var mu sync.Mutex
	clock := time.Date(2026, 1, 2, 3, 4, 0, 0, time.UTC)
	now := func() time.Time {
		mu.Lock()
		defer mu.Unlock()
		clock = clock.Add(time.Minute)
		return clock
	}
	dir := t.TempDir()
	r := open(t, store.Options{Dir: dir, Now: now})
	ctx := ctxT(t)
	a := commit(t, r, store.Change{Apply: writeFile(envPath("x"), envYAML("x", "jane"))})
	var others []string
	for i := range 3 {
		name := fmt.Sprint("other-", i)
		others = append(others, commit(t, r, store.Change{Apply: writeFile(envPath(name), envYAML(name, "jane"))}).Commit)
	}
	b := commit(t, r, store.Change{Apply: writeFile(envPath("y"), envYAML("y", "jane"))})

	whenA, whenB := commitTime(t, dir, a.Commit), commitTime(t, dir, b.Commit)
	if whenA.Equal(whenB) {
		t.Fatal("clock did not move")
	}
	for range 2 { // the second time from the cache
		if got, err := r.LastChange(ctx, b.Commit, envPath("x")); err != nil || !got.Equal(whenA) {
			t.Errorf("LastChange(x) = %v, %v; want %v, when the commit that wrote it was made", got, err, whenA)
		}
		if got, err := r.LastChange(ctx, b.Commit, envPath("y")); err != nil || !got.Equal(whenB) {
			t.Errorf("LastChange(y) = %v, %v; want %v", got, err, whenB)
		}
	}
	if _, err := r.LastChange(ctx, others[0], envPath("y")); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("LastChange before the file existed: err = %v; want ErrNotFound", err)
	}
	// Changing x moves its time; y keeps its own.
	c := commit(t, r, store.Change{Apply: writeFile(envPath("x"), envYAML("x", "joe"))})
	if got, _ := r.LastChange(ctx, c.Commit, envPath("x")); !got.Equal(commitTime(t, dir, c.Commit)) {
		t.Errorf("LastChange(x) after an edit = %v; want the edit's time", got)
	}
	if got, _ := r.LastChange(ctx, c.Commit, envPath("y")); !got.Equal(whenB) {
		t.Errorf("LastChange(y) after editing x = %v; want %v", got, whenB)
	}
}

// commitTime reads a commit's committer time with go-git, independently of
// the store.
func commitTime(t *testing.T, dir, commit string) time.Time {
	t.Helper()
	repo, err := git.PlainOpen(dir)
	if err != nil {
		t.Fatal(err)
	}
	c, err := repo.CommitObject(plumbing.NewHash(commit))
	if err != nil {
		t.Fatal(err)
	}
	return c.Committer.When
}

// Changed descends only into folders that differ, and still reports a
// folder replaced by a file (and back) as every file it held.
func TestChangedFoldersAndFiles(t *testing.T) {
	r := open(t, store.Options{})
	ctx := ctxT(t)
	base := commit(t, r, store.Change{Apply: func(tx *store.Tx) error {
		tx.Write("docs/a/x", []byte("1"))
		tx.Write("docs/a/y", []byte("1"))
		tx.Write("docs/b", []byte("1"))
		tx.Write("same/z", []byte("1"))
		return nil
	}})
	commit(t, r, store.Change{Apply: func(tx *store.Tx) error {
		tx.Delete("docs/a/x")
		tx.Delete("docs/a/y")
		tx.Delete("docs/b")
		return nil
	}})
	next := commit(t, r, store.Change{Apply: func(tx *store.Tx) error {
		tx.Write("docs/a", []byte("now a file"))
		tx.Write("docs/b/inner", []byte("now a folder"))
		return nil
	}})
	for _, c := range []struct {
		from, to string
		want     []string
	}{
		{base.Commit, next.Commit, []string{"docs/a", "docs/a/x", "docs/a/y", "docs/b", "docs/b/inner"}},
		{next.Commit, base.Commit, []string{"docs/a", "docs/a/x", "docs/a/y", "docs/b", "docs/b/inner"}},
		{base.Commit, base.Commit, nil},
		{"", base.Commit, []string{"docs/a/x", "docs/a/y", "docs/b", "same/z"}},
	} {
		got, err := r.Changed(ctx, c.from, c.to)
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(got, c.want) {
			t.Errorf("Changed(%.7s, %.7s) = %v; want %v", c.from, c.to, got, c.want)
		}
	}
}

// LoadFiles reads the named environment files only, through the cache.
func TestLoadFiles(t *testing.T) {
	r := open(t, store.Options{})
	ctx := ctxT(t)
	c := commit(t, r, store.Change{Apply: func(tx *store.Tx) error {
		tx.Write(envPath("x"), envYAML("x", "jane"))
		tx.Write(envPath("sub/y"), []byte("kind: Nonsense\n"))
		tx.Write(envPath("z"), envYAML("z", "jane"))
		return nil
	}})
	parses := r.Parses()
	got, err := r.LoadFiles(ctx, c.Commit, []string{envPath("x"), envPath("sub/y"), envPath("gone"), "README.md"})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || got[0].Name != "x" || got[0].Env == nil || got[1].Name != "y" || got[1].Err == nil || got[1].Blob == "" {
		t.Fatalf("LoadFiles = %+v", got)
	}
	if n := r.Parses() - parses; n != 2 {
		t.Errorf("%d parses, want 2", n)
	}
	if _, err := r.LoadFiles(ctx, c.Commit, []string{envPath("x")}); err != nil || r.Parses()-parses != 2 {
		t.Errorf("a second load parsed again (%d parses, %v)", r.Parses()-parses, err)
	}
}
