package reconciler

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/plumbing"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/envwick/envwick/bots/commit"
	"github.com/envwick/envwick/envs"
	"github.com/envwick/envwick/envs/store"
	"github.com/envwick/envwick/reconciler/platform/provisioner"
	"github.com/envwick/envwick/reconciler/platform/provisionersim"
)

const testOwner = "envwick-test"

// harness is a real envs repository (local git), the real simulator served
// over loopback HTTP and the real provisioner client.
type harness struct {
	t        testing.TB
	ctx      context.Context
	repo     *store.Repo
	dir      string
	storeRep *StoreRepository
	sim      *provisionersim.Sim
	srv      *httptest.Server
	client   *provisioner.Client
	platform *provisioner.Platform
	clock    *fakeClock
	notes    *recordingNotifier
	// mutations counts non-GET API requests.
	mutations atomic.Int64
	requests  atomic.Int64
	// onMutation, when set, is called with each non-GET API request.
	onMutation atomic.Pointer[func(*http.Request)]
}

type harnessOption func(*provisionersim.Options)

func newHarness(t testing.TB, opts ...harnessOption) *harness {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	h := &harness{t: t, ctx: ctx, clock: &fakeClock{t: time.Now().UTC().Truncate(time.Second)}, notes: &recordingNotifier{}}
	h.dir = t.TempDir()
	repo, err := store.Open(ctx, store.Options{Dir: h.dir, Committer: store.Signature{Name: "envwick", Email: "envwick@example.com"}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { repo.Close() })
	h.repo = repo
	h.storeRep = &StoreRepository{Repo: repo}
	timing := provisionersim.Timing{Creation: time.Minute, Update: time.Minute, Hibernation: time.Minute,
		WakeUp: time.Minute, DeletionPendingPrep: time.Minute, Deletion: time.Minute}
	so := provisionersim.Options{Timing: &timing, DeletionPendingTime: time.Minute, FlushInterval: time.Hour}
	for _, o := range opts {
		o(&so)
	}
	sim, err := provisionersim.New(so)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sim.Close() })
	h.sim = sim
	inner := sim.Handler()
	h.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h.requests.Add(1)
		if r.Method != http.MethodGet {
			h.mutations.Add(1)
			if f := h.onMutation.Load(); f != nil {
				(*f)(r)
			}
		}
		inner.ServeHTTP(w, r)
	}))
	t.Cleanup(h.srv.Close)
	client, err := provisioner.New(provisioner.Options{URL: h.srv.URL, Retry: provisioner.Retry{MaxAttempts: 1}})
	if err != nil {
		t.Fatal(err)
	}
	h.client = client
	h.platform = &provisioner.Platform{Client: client, Domain: "envwick.test", PageSize: 50}
	return h
}

func quietLogger() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

func (h *harness) config() Config {
	return Config{
		Owner: Owner{OwnerID: testOwner},
		// The committing service the bots use, as cmd/envwick wires it.
		Housekeeper: commit.Housekeeper{Committer: commit.New(h.repo, commit.Options{Logger: quietLogger()})},
		Clock:       h.clock,
		Notifier:    h.notes,
		Logger:      quietLogger(),
		BackoffBase: time.Nanosecond,
		BackoffMax:  time.Nanosecond,
	}
}

func (h *harness) reconciler(mut ...func(*Config)) *Reconciler {
	h.t.Helper()
	cfg := h.config()
	for _, m := range mut {
		m(&cfg)
	}
	r, err := New(h.storeRep, h.platform, cfg)
	if err != nil {
		h.t.Fatal(err)
	}
	return r
}

// env is a valid environment with explicit platform settings.
func env(name string, mut ...func(*envs.Environment)) *envs.Environment {
	e := &envs.Environment{
		TypeMeta:   metav1.TypeMeta{APIVersion: envs.APIVersion, Kind: envs.Kind},
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec: envs.EnvironmentSpec{
			Owner: envs.Owner{GitHub: "alice"},
			Installation: envs.Installation{Version: "10.5.0", Size: "miniSingleton", License: "enterprise",
				Affinity: "multitenant", Database: "aws-multitenant-rds-postgres", Filestore: "bifrost"},
		},
	}
	for _, m := range mut {
		m(e)
	}
	return e
}

// put commits environment files to the branch people edit.
func (h *harness) put(es ...*envs.Environment) string {
	h.t.Helper()
	files := map[string][]byte{}
	for _, e := range es {
		data, err := envs.Marshal(e)
		if err != nil {
			h.t.Fatal(err)
		}
		files[envs.PathFor(e.Name)] = data
	}
	return h.commit("Put environments", files, nil)
}

func (h *harness) commit(msg string, put map[string][]byte, del []string) string {
	h.t.Helper()
	res, err := h.repo.Commit(h.ctx, store.Change{Message: msg, Apply: func(tx *store.Tx) error {
		for p, d := range put {
			tx.Write(p, d)
		}
		for _, p := range del {
			tx.Delete(p)
		}
		return nil
	}})
	if err != nil {
		h.t.Fatal(err)
	}
	return res.Commit
}

func (h *harness) remove(names ...string) string {
	h.t.Helper()
	var paths []string
	for _, n := range names {
		paths = append(paths, envs.PathFor(n))
	}
	return h.commit("Remove environments", nil, paths)
}

func (h *harness) pass(r *Reconciler, opts ...PassOptions) *Result {
	h.t.Helper()
	var o PassOptions
	if len(opts) > 0 {
		o = opts[0]
	}
	res, err := r.Pass(h.ctx, o)
	if err != nil {
		h.t.Fatalf("pass: %v", err)
	}
	return res
}

// settle lets the simulator finish every transition in progress.
func (h *harness) settle() {
	for range 6 {
		h.sim.Advance(time.Minute)
	}
}

// owned lists the live (not deleted) installations of the test owner.
func (h *harness) owned() []*provisioner.Installation {
	h.t.Helper()
	all, err := h.client.ListAllInstallations(h.ctx, provisioner.ListOptions{OwnerID: testOwner})
	if err != nil {
		h.t.Fatal(err)
	}
	var out []*provisioner.Installation
	for _, in := range all {
		if !provisioner.Classify(in.State).Gone() {
			out = append(out, in)
		}
	}
	return out
}

func (h *harness) statusHead() string {
	head, err := h.repo.Head(StatusBranch)
	if err != nil {
		h.t.Fatal(err)
	}
	return head
}

func (h *harness) readStatus(name string) *Status {
	h.t.Helper()
	all, err := h.storeRep.ReadStatus(h.ctx)
	if err != nil {
		h.t.Fatal(err)
	}
	return all[name]
}

type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

type recordingNotifier struct {
	mu sync.Mutex
	ts []Transition
}

func (n *recordingNotifier) Notify(_ context.Context, t Transition) {
	n.mu.Lock()
	n.ts = append(n.ts, t)
	n.mu.Unlock()
}

// take returns and forgets the transitions so far.
func (n *recordingNotifier) take() []Transition {
	n.mu.Lock()
	defer n.mu.Unlock()
	out := n.ts
	n.ts = nil
	return out
}

func kinds(ts []Transition) map[string]TransitionKind {
	out := map[string]TransitionKind{}
	for _, t := range ts {
		out[t.Name] = t.Kind
	}
	return out
}

// message returns the commit message of a commit, read with go-git.
func (h *harness) message(commit string) string {
	h.t.Helper()
	g, err := git.PlainOpen(h.dir)
	if err != nil {
		h.t.Fatal(err)
	}
	c, err := g.CommitObject(plumbing.NewHash(commit))
	if err != nil {
		h.t.Fatal(err)
	}
	return c.Message
}

func (h *harness) file(path string) ([]byte, bool) {
	h.t.Helper()
	head, err := h.repo.Head("")
	if err != nil {
		h.t.Fatal(err)
	}
	data, err := h.repo.ReadFile(h.ctx, head, path)
	if errors.Is(err, store.ErrNotFound) {
		return nil, false
	}
	if err != nil {
		h.t.Fatal(err)
	}
	return data, true
}
