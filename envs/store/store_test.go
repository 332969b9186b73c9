package store_test

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/envwick/envwick/envs"
	"github.com/envwick/envwick/envs/store"
	"github.com/envwick/envwick/envs/store/gittest"
)

func TestCommitAndCloneOverEachTransport(t *testing.T) {
	for _, rm := range transports(t) {
		t.Run(rm.name, func(t *testing.T) {
			ctx := ctxT(t)
			a := open(t, store.Options{URL: rm.url, Auth: rm.auth})
			if h, err := a.Head(""); err != nil || h != "" {
				t.Fatalf("Head of an empty remote = %q, %v; want empty", h, err)
			}
			res := commit(t, a, store.Change{
				Message: "Create env demo",
				Author:  store.Signature{Name: "Jane Doe", Email: "jane@example.com"},
				Trailers: []store.Trailer{
					{Key: "Requested-by", Value: "jane"},
					{Key: "Source", Value: "https://github.com/acme/app/pull/7"},
					{Key: "Delivery", Value: "72d3162e-cc78-11e3-81ab-4c9367dc0958"},
				},
				Apply: writeFile(envPath("demo"), envYAML("demo", "jane")),
			})
			if res.NoChange || res.Commit == "" || res.Attempts != 1 {
				t.Fatalf("Commit = %+v; want a new commit pushed at the first attempt", res)
			}

			log := gittest.Log(t, rm.bare, "main")
			if len(log) != 1 || log[0].Hash.String() != res.Commit {
				t.Fatalf("remote main = %v; want the one commit %s", log, res.Commit)
			}
			c := log[0]
			if c.Author.Name != "Jane Doe" || c.Author.Email != "jane@example.com" {
				t.Errorf("author = %s <%s>; want the requester", c.Author.Name, c.Author.Email)
			}
			if c.Committer.Name != "envwick-bot" || c.Committer.Email != "bot@envwick.test" {
				t.Errorf("committer = %s <%s>; want the bot", c.Committer.Name, c.Committer.Email)
			}
			wantMsg := "Create env demo\n\nRequested-by: jane\nSource: https://github.com/acme/app/pull/7\nDelivery: 72d3162e-cc78-11e3-81ab-4c9367dc0958\n"
			if c.Message != wantMsg {
				t.Errorf("message = %q; want %q", c.Message, wantMsg)
			}

			// A second clone sees the commit and the environment.
			b := open(t, store.Options{URL: rm.url, Auth: rm.auth})
			head, err := b.Sync(ctx)
			if err != nil || head != res.Commit {
				t.Fatalf("Sync = %q, %v; want %s", head, err, res.Commit)
			}
			snap, err := b.Load(ctx, head)
			if err != nil {
				t.Fatal(err)
			}
			e, ok := snap.Environments["demo"]
			if !ok || e.Err != nil || e.Env.Spec.Owner.GitHub != "jane" {
				t.Fatalf("Load: demo = %+v; want the parsed environment", e)
			}
		})
	}
}

func TestWrongTokenIsRefusedWithoutLeakingIt(t *testing.T) {
	root := t.TempDir()
	h := gittest.StartHTTP(t, root, "right-token")
	gittest.InitBare(t, root, "envs.git")
	for _, tc := range []struct {
		name string
		auth store.Auth
	}{
		{"wrong token", store.Auth{Token: "wrong-token-123"}},
		{"no token", store.Auth{}},
		{"token func", store.Auth{TokenFunc: func(context.Context) (string, error) { return "wrong-token-123", nil }}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := store.Open(ctxT(t), store.Options{URL: h.URL("envs.git"), Dir: t.TempDir(), Auth: tc.auth})
			if err == nil {
				t.Fatal("Open succeeded with a bad token")
			}
			if strings.Contains(err.Error(), "wrong-token-123") {
				t.Errorf("error leaks the token: %v", err)
			}
			if !strings.Contains(err.Error(), "authentication") {
				t.Errorf("error = %v; want it to say authentication failed", err)
			}
		})
	}
	if s := fmt.Sprint(store.Auth{Token: "wrong-token-123"}); strings.Contains(s, "wrong-token-123") {
		t.Errorf("Auth prints its token: %s", s)
	}
}

func TestWrongSSHKeyOrHostIsRefused(t *testing.T) {
	root := t.TempDir()
	s := gittest.StartSSH(t, root)
	gittest.InitBare(t, root, "envs.git")
	otherKey, otherPub := gittest.NewKeyFile(t, t.TempDir())
	for _, tc := range []struct {
		name string
		auth store.Auth
		want string
	}{
		{"unknown client key", store.Auth{SSHKeyFile: otherKey, SSHKnownHostsFile: s.KnownHostsFile}, "unable to authenticate"},
		{"unexpected host key", store.Auth{SSHKeyFile: s.KeyFile, SSHKnownHostsFile: s.WriteKnownHosts(t, t.TempDir(), otherPub)}, "key mismatch"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := store.Open(ctxT(t), store.Options{URL: s.URL("envs.git"), Dir: t.TempDir(), Auth: tc.auth})
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Open: err = %v; want it to say %q", err, tc.want)
			}
		})
	}
}

func TestRetryReappliesOnNewHead(t *testing.T) {
	root := t.TempDir()
	d := gittest.StartDaemon(t, root)
	bare := gittest.InitBare(t, root, "envs.git")
	ctx := ctxT(t)
	a := open(t, store.Options{URL: d.URL("envs.git")})
	b := open(t, store.Options{URL: d.URL("envs.git")})

	// A counter file: each change increments what it reads.
	var runs atomic.Int32
	incr := func(tx *store.Tx) error {
		runs.Add(1)
		n := 0
		if data, ok := tx.Read("counter"); ok {
			fmt.Sscan(string(data), &n)
		}
		tx.Write("counter", fmt.Appendf(nil, "%d\n", n+1))
		return nil
	}
	commit(t, a, store.Change{Message: "a: 1", Apply: incr})
	if _, err := b.Sync(ctx); err != nil {
		t.Fatal(err)
	}
	commit(t, b, store.Change{Message: "b: 2", Apply: incr})

	// a has not seen b's commit: its first push is rejected, it fetches and
	// runs the change again on b's head.
	runs.Store(0)
	res := commit(t, a, store.Change{Message: "a: 3", Apply: incr})
	if res.Attempts != 2 || runs.Load() != 2 {
		t.Errorf("attempts = %d, Apply ran %d times; want 2 and 2", res.Attempts, runs.Load())
	}
	got, err := gittest.ReadFile(t, bare, "main", "counter")
	if err != nil || string(got) != "3\n" {
		t.Fatalf("counter = %q, %v; want 3: no change may be lost", got, err)
	}
	straightHistory(t, bare, 3)
}

// TestConcurrentWriters: 8 clones each commit 25 changes to one remote.
// Every change lands as its own commit, in a straight history. Over git
// daemon each writer's changes arrive concurrently (as a bot's do, so its
// pushes are grouped); over a local path, where pushes cost no process, they
// arrive one by one, so nearly every push races the other clones.
func TestConcurrentWriters(t *testing.T) {
	root := t.TempDir()
	d := gittest.StartDaemon(t, root)
	for _, tc := range []struct {
		name       string
		url        string
		concurrent bool
	}{
		{"git-daemon", d.URL("daemon.git"), true},
		{"local-path", filepath.Join(root, "path.git"), false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel() // much of each is waiting: on git processes, on backoff
			bare := gittest.InitBare(t, root, filepath.Base(tc.url))
			concurrentWriters(t, tc.url, bare, tc.concurrent)
		})
	}
}

func concurrentWriters(t *testing.T, url, bare string, concurrent bool) {
	const writers, perWriter = 8, 25
	ctx := ctxT(t)
	repos := make([]*store.Repo, writers)
	for i := range repos {
		repos[i] = open(t, store.Options{URL: url, MaxPushAttempts: 100})
	}
	var mu sync.Mutex
	var commits []string
	change := func(w, i int) {
		name := fmt.Sprintf("w%d-%02d", w, i)
		res, err := repos[w].Commit(ctx, store.Change{
			Message:  "Create " + name,
			Trailers: []store.Trailer{{Key: "Delivery", Value: name}},
			Apply:    writeFile(envPath(name), envYAML(name, "jane")),
		})
		if err != nil {
			t.Errorf("%s: %v", name, err)
			return
		}
		mu.Lock()
		commits = append(commits, res.Commit)
		mu.Unlock()
	}
	var wg sync.WaitGroup
	for w := range writers {
		if concurrent {
			for i := range perWriter {
				wg.Go(func() { change(w, i) })
			}
			continue
		}
		wg.Go(func() {
			for i := range perWriter {
				change(w, i)
			}
		})
	}
	wg.Wait()

	inLog := straightHistory(t, bare, writers*perWriter)
	for _, h := range commits {
		if _, ok := inLog[h]; !ok {
			t.Errorf("commit %s is not in the history", h)
		}
	}
	reader := open(t, store.Options{URL: url})
	head, err := reader.Sync(ctx)
	if err != nil {
		t.Fatal(err)
	}
	snap, err := reader.Load(ctx, head)
	if err != nil {
		t.Fatal(err)
	}
	for w := range writers {
		for i := range perWriter {
			name := fmt.Sprintf("w%d-%02d", w, i)
			if e, ok := snap.Environments[name]; !ok || e.Err != nil {
				t.Errorf("%s at head: %+v", name, e)
			}
		}
	}
}

// TestGroupedPushes: changes that arrive while a push is in flight are
// pushed together, each still its own commit.
func TestGroupedPushes(t *testing.T) {
	const changes = 200
	root := t.TempDir()
	h := gittest.StartHTTP(t, root, "tok")
	bare := gittest.InitBare(t, root, "envs.git")
	ctx := ctxT(t)
	r := open(t, store.Options{URL: h.URL("envs.git"), Auth: store.Auth{Token: "tok"}})
	before := h.ReceivePacks()

	results := make([]store.Result, changes)
	var wg sync.WaitGroup
	for i := range changes {
		wg.Go(func() {
			name := fmt.Sprintf("env-%03d", i)
			res, err := r.Commit(ctx, store.Change{
				Message: "Create " + name,
				Apply:   writeFile(envPath(name), envYAML(name, "jane")),
			})
			if err != nil {
				t.Errorf("%s: %v", name, err)
			}
			results[i] = res
		})
	}
	wg.Wait()

	pushes := h.ReceivePacks() - before
	t.Logf("%d changes in %d pushes", changes, pushes)
	if pushes > changes/10 {
		t.Errorf("%d pushes for %d concurrent changes; want them grouped (at most %d)", pushes, changes, changes/10)
	}
	log := gittest.Log(t, bare, "main")
	byHash := straightHistory(t, bare, changes)
	for i, res := range results {
		j, ok := byHash[res.Commit]
		if !ok {
			t.Errorf("change %d: commit %s not in history", i, res.Commit)
			continue
		}
		// The commit holds exactly this change.
		want := fmt.Sprintf("Create env-%03d\n", i)
		if log[j].Message != want {
			t.Errorf("change %d: commit message %q; want %q", i, log[j].Message, want)
		}
		stats, err := log[j].Stats()
		if err != nil {
			t.Fatal(err)
		}
		if len(stats) != 1 || stats[0].Name != envPath(fmt.Sprintf("env-%03d", i)) {
			t.Errorf("change %d: commit touches %v; want only its own file", i, stats)
		}
	}
}

func TestNoChangeMakesNoCommit(t *testing.T) {
	r := open(t, store.Options{})
	first := commit(t, r, store.Change{Apply: writeFile(envPath("a"), envYAML("a", "jane"))})
	for _, tc := range []struct {
		name  string
		apply func(*store.Tx) error
	}{
		{"ErrNoChange", func(*store.Tx) error { return store.ErrNoChange }},
		{"same content", writeFile(envPath("a"), envYAML("a", "jane"))},
		{"nothing edited", func(*store.Tx) error { return nil }},
		{"delete missing file", func(tx *store.Tx) error { tx.Delete(envPath("missing")); return nil }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res := commit(t, r, store.Change{Apply: tc.apply})
			if !res.NoChange || res.Commit != first.Commit {
				t.Errorf("Commit = %+v; want NoChange at %s", res, first.Commit)
			}
			if h, _ := r.Head(""); h != first.Commit {
				t.Errorf("head moved to %s", h)
			}
		})
	}
}

func TestApplyErrorsAreTheCallersOnly(t *testing.T) {
	r := open(t, store.Options{})
	ctx := ctxT(t)
	boom := errors.New("boom")
	var wg sync.WaitGroup
	var okCount atomic.Int32
	for i := range 20 {
		wg.Go(func() {
			apply := writeFile(fmt.Sprintf("f%d", i), []byte("x"))
			switch i % 4 {
			case 1:
				apply = func(*store.Tx) error { return boom }
			case 2:
				apply = func(tx *store.Tx) error { tx.Write("../escape", nil); return nil }
			case 3:
				apply = func(*store.Tx) error { panic("change bug") }
			}
			_, err := r.Commit(ctx, store.Change{Message: fmt.Sprint("change ", i), Apply: apply})
			switch i % 4 {
			case 0:
				if err != nil {
					t.Errorf("change %d: %v", i, err)
				}
				okCount.Add(1)
			case 1:
				if !errors.Is(err, boom) {
					t.Errorf("change %d: err = %v; want boom", i, err)
				}
			case 2:
				if err == nil || !strings.Contains(err.Error(), "invalid path") {
					t.Errorf("change %d: err = %v; want invalid path", i, err)
				}
			case 3:
				if err == nil || !strings.Contains(err.Error(), "panicked") {
					t.Errorf("change %d: err = %v; want the panic reported", i, err)
				}
			}
		})
	}
	wg.Wait()
	head, _ := r.Head("")
	files, err := r.Changed(ctx, "", head)
	if err != nil {
		t.Fatal(err)
	}
	if len(files) != int(okCount.Load()) {
		t.Errorf("head holds %v; want only the %d good changes", files, okCount.Load())
	}
}

func TestCancelledCommit(t *testing.T) {
	r := open(t, store.Options{})
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := r.Commit(ctx, store.Change{Message: "late", Apply: writeFile("f", []byte("x"))})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v; want context.Canceled", err)
	}
}

func TestStatusBranchIsAnOrphan(t *testing.T) {
	root := t.TempDir()
	d := gittest.StartDaemon(t, root)
	bare := gittest.InitBare(t, root, "envs.git")
	r := open(t, store.Options{URL: d.URL("envs.git")})
	commit(t, r, store.Change{Apply: writeFile(envPath("a"), envYAML("a", "jane"))})
	res := commit(t, r, store.Change{Branch: store.StatusBranch, Message: "Status", Apply: writeFile("status/a.yaml", []byte("ready: true\n"))})
	log := gittest.Log(t, bare, store.StatusBranch)
	if len(log) != 1 || log[0].Hash.String() != res.Commit || log[0].NumParents() != 0 {
		t.Fatalf("status branch = %v; want one parentless commit", log)
	}
	files, err := r.Changed(ctxT(t), "", res.Commit)
	if err != nil || !slices.Equal(files, []string{"status/a.yaml"}) {
		t.Fatalf("status branch holds %v, %v; want only status/a.yaml", files, err)
	}
	if h, _ := r.Head(store.StatusBranch); h != res.Commit {
		t.Errorf("Head(status) = %s; want %s", h, res.Commit)
	}
	// A no-op on a branch that does not exist reports no commit.
	none := commit(t, r, store.Change{Branch: "envwick/other", Apply: func(*store.Tx) error { return nil }})
	if !none.NoChange || none.Commit != "" {
		t.Errorf("no-op on a missing branch = %+v; want NoChange and no commit", none)
	}
}

func TestTxReadWriteListFind(t *testing.T) {
	r := open(t, store.Options{})
	commit(t, r, store.Change{Apply: func(tx *store.Tx) error {
		tx.Write(envPath("team-a/one"), envYAML("one", "jane"))
		tx.Write(envPath("two"), envYAML("two", "jane"))
		tx.Write("README.md", []byte("hello"))
		return nil
	}})
	commit(t, r, store.Change{Apply: func(tx *store.Tx) error {
		if p, ok := tx.FindEnvironment("one"); !ok || p != envPath("team-a/one") {
			t.Errorf("FindEnvironment(one) = %q, %v", p, ok)
		}
		if _, ok := tx.FindEnvironment("nope"); ok {
			t.Error("FindEnvironment(nope) found something")
		}
		tx.Delete(envPath("two"))
		if _, ok := tx.FindEnvironment("two"); ok {
			t.Error("FindEnvironment sees a file deleted in the same change")
		}
		tx.Write(envPath("three"), envYAML("three", "jane"))
		if p, ok := tx.FindEnvironment("three"); !ok || p != envPath("three") {
			t.Errorf("FindEnvironment(three) = %q, %v; want the file written in this change", p, ok)
		}
		if got, want := tx.List("environments/"), []string{envPath("team-a/one"), envPath("three")}; !slices.Equal(got, want) {
			t.Errorf("List = %v; want %v", got, want)
		}
		if data, ok := tx.Read("README.md"); !ok || string(data) != "hello" {
			t.Errorf("Read(README.md) = %q, %v", data, ok)
		}
		if _, ok := tx.Read(envPath("two")); ok {
			t.Error("Read sees a deleted file")
		}
		return nil
	}})
	head, _ := r.Head("")
	files, err := r.Changed(ctxT(t), "", head)
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"README.md", envPath("team-a/one"), envPath("three")}; !slices.Equal(files, want) {
		t.Errorf("files = %v; want %v", files, want)
	}
	_, err = r.Commit(ctxT(t), store.Change{Message: "file over folder", Apply: func(tx *store.Tx) error {
		tx.Write("environments", []byte("x"))
		return nil
	}})
	if err == nil || !strings.Contains(err.Error(), "is a folder") {
		t.Errorf("writing over a folder: err = %v", err)
	}
}

func TestLocalRepositoryReopens(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "envs")
	r, err := store.Open(ctxT(t), store.Options{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	initial, _ := r.Head("")
	if initial == "" {
		t.Fatal("a new local repository has no initial commit")
	}
	res := commit(t, r, store.Change{Apply: writeFile(envPath("a"), envYAML("a", "jane"))})
	if res.Attempts != 0 {
		t.Errorf("Attempts = %d; a local repository does not push", res.Attempts)
	}
	r.Close()
	r2 := open(t, store.Options{Dir: dir})
	if h, _ := r2.Head(""); h != res.Commit {
		t.Fatalf("reopened head = %s; want %s", h, res.Commit)
	}
	if got, err := r2.Changed(ctxT(t), initial, res.Commit); err != nil || !slices.Equal(got, []string{envPath("a")}) {
		t.Errorf("Changed = %v, %v", got, err)
	}
}

func TestSubscribe(t *testing.T) {
	r := open(t, store.Options{})
	ctx, cancel := context.WithCancel(ctxT(t))
	ch := r.Subscribe(ctx)
	res := commit(t, r, store.Change{Apply: writeFile("f", []byte("x"))})
	if got := <-ch; got != res.Commit {
		t.Errorf("notified %s; want %s", got, res.Commit)
	}
	// Status commits do not wake the reconciler.
	commit(t, r, store.Change{Branch: store.StatusBranch, Apply: writeFile("status/x", []byte("x"))})
	res2 := commit(t, r, store.Change{Apply: writeFile("f", []byte("y"))})
	if got := <-ch; got != res2.Commit {
		t.Errorf("notified %s; want %s", got, res2.Commit)
	}
	cancel()
	for range ch {
	}
}

// straightHistory checks that main of the bare repository holds want
// commits and no merge, and returns each commit's position, newest first.
func straightHistory(t *testing.T, bare string, want int) map[string]int {
	t.Helper()
	log := gittest.Log(t, bare, "main")
	if len(log) != want {
		t.Errorf("history has %d commits; want %d", len(log), want)
	}
	pos := make(map[string]int, len(log))
	for i, c := range log {
		pos[c.Hash.String()] = i
		if c.NumParents() > 1 {
			t.Errorf("merge commit %s", c.Hash)
		}
	}
	return pos
}

// TestCancelledWhileQueued: a change whose caller gave up while it waited
// behind another push is not committed.
func TestCancelledWhileQueued(t *testing.T) {
	r := open(t, store.Options{})
	ctx := ctxT(t)
	started, release := make(chan struct{}), make(chan struct{})
	first := make(chan error, 1)
	go func() {
		_, err := r.Commit(ctx, store.Change{Message: "slow", Apply: func(tx *store.Tx) error {
			close(started)
			<-release
			tx.Write("slow", []byte("x"))
			return nil
		}})
		first <- err
	}()
	<-started // the writer is busy with the first change

	cctx, cancel := context.WithCancel(ctx)
	second := make(chan error, 1)
	go func() {
		_, err := r.Commit(cctx, store.Change{Message: "abandoned", Apply: writeFile("abandoned", []byte("x"))})
		second <- err
	}()
	cancel()
	if err := <-second; !errors.Is(err, context.Canceled) {
		t.Fatalf("abandoned change: err = %v; want context.Canceled", err)
	}
	close(release)
	if err := <-first; err != nil {
		t.Fatal(err)
	}
	// Queued after the abandoned one, so done only once it was handled.
	last := commit(t, r, store.Change{Message: "after", Apply: writeFile("after", []byte("x"))})
	files, err := r.Changed(ctx, "", last.Commit)
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"after", "slow"}; !slices.Equal(files, want) {
		t.Errorf("head holds %v; want %v (the abandoned change must not land)", files, want)
	}
}

// TestCompaction: the packs that fetches leave behind are folded into one,
// and everything stays readable.
func TestCompaction(t *testing.T) {
	root := t.TempDir()
	d := gittest.StartDaemon(t, root)
	gittest.InitBare(t, root, "envs.git")
	ctx := ctxT(t)
	writer := open(t, store.Options{URL: d.URL("envs.git")})
	dir := filepath.Join(t.TempDir(), "reader")
	reader := open(t, store.Options{URL: d.URL("envs.git"), Dir: dir})
	reader.SetMaxPacks(3)
	var first, head string
	for i := range 6 {
		name := fmt.Sprint("env-", i)
		res := commit(t, writer, store.Change{Apply: writeFile(envPath(name), envYAML(name, "jane"))})
		if first == "" {
			first = res.Commit
		}
		var err error
		if head, err = reader.Sync(ctx); err != nil || head != res.Commit {
			t.Fatalf("Sync = %s, %v; want %s", head, err, res.Commit)
		}
		if n := countPacks(t, dir); n > 3 {
			t.Fatalf("after fetch %d the clone has %d packs; want at most 3", i+1, n)
		}
	}
	snap, err := reader.Load(ctx, head)
	if err != nil || len(snap.Environments) != 6 {
		t.Fatalf("Load after compaction: %d environments, %v; want 6", len(snap.Environments), err)
	}
	if _, err := reader.Load(ctx, first); err != nil {
		t.Errorf("Load of the first commit after compaction: %v", err)
	}
	if _, err := reader.LastChange(ctx, head, envPath("env-0")); err != nil {
		t.Errorf("LastChange across compacted history: %v", err)
	}
	// And the compacted clone still pushes.
	commit(t, reader, store.Change{Apply: writeFile(envPath("late"), envYAML("late", "jane"))})
}

func countPacks(t *testing.T, dir string) int {
	t.Helper()
	m, err := filepath.Glob(filepath.Join(dir, "objects", "pack", "*.pack"))
	if err != nil {
		t.Fatal(err)
	}
	return len(m)
}

func TestTxEnvironments(t *testing.T) {
	r := open(t, store.Options{})
	commit(t, r, store.Change{Apply: func(tx *store.Tx) error {
		tx.Write(envPath("team-a/one"), envYAML("one", "jane"))
		tx.Write(envPath("two"), envYAML("two", "joe"))
		tx.Write(envPath("broken"), []byte("spec: [\n"))
		tx.Write("README.md", []byte("hello"))
		return nil
	}})
	summary := func(docs []envs.Document) []string {
		var out []string
		for _, d := range docs {
			switch {
			case d.Err != nil:
				out = append(out, d.Path+" broken")
			default:
				out = append(out, d.Path+" "+d.Env.Spec.Owner.GitHub)
			}
		}
		return out
	}
	var got []string
	commit(t, r, store.Change{Apply: func(tx *store.Tx) error {
		tx.Delete(envPath("two"))
		tx.Write(envPath("three"), envYAML("three", "ann"))
		got = summary(tx.Environments())
		return nil
	}})
	want := []string{envPath("broken") + " broken", envPath("team-a/one") + " jane", envPath("three") + " ann"}
	if !slices.Equal(got, want) {
		t.Errorf("Environments = %v; want %v (the head and this change's own edits)", got, want)
	}

	// Unchanged files come from the parse cache: a second look parses
	// nothing new.
	before := r.Parses()
	commit(t, r, store.Change{Apply: func(tx *store.Tx) error {
		got = summary(tx.Environments())
		return store.ErrNoChange
	}})
	if !slices.Equal(got, want) {
		t.Errorf("Environments = %v; want %v", got, want)
	}
	if n := r.Parses() - before; n != 0 {
		t.Errorf("%d files parsed again; want every one from the cache", n)
	}
}
