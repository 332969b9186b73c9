// Package store is the envs repository on git: the one place envwick reads
// environments from and writes intent to. It keeps a local clone in a
// directory, fetches from and pushes to a remote (a path, file://, git://,
// http(s):// with a token, or ssh:// with a key), loads every environment at
// a commit with parsed files cached by blob hash, and turns change functions
// into commits pushed with optimistic retry and grouped pushes.
//
// Every git operation goes through go-git; the git binary is never run. A
// pull request can be previewed: FetchRef brings its head in (a fork's
// refs/pull/N/head) and PreviewMerge builds, locally, the commit merging it.
package store

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	git "github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/plumbing"
	"k8s.io/utils/lru"
)

const (
	// DefaultBranch is the branch environments live on unless Options says
	// otherwise.
	DefaultBranch = "main"
	// StatusBranch is where the reconciler records status, one file per
	// environment under status/, so status never conflicts with spec edits.
	StatusBranch = "envwick/status"
	// DefaultMaxPushAttempts bounds the optimistic push retries.
	DefaultMaxPushAttempts = 10
	// DefaultCacheEntries bounds the parsed-environment cache.
	DefaultCacheEntries = 25000
)

var (
	// ErrNoChange, returned by Change.Apply, means the change is already in
	// place: no commit is made.
	ErrNoChange = errors.New("no change")
	// ErrNotFound: the path, commit or branch does not exist.
	ErrNotFound = errors.New("not found")
	// ErrPushConflict: the remote kept moving and the change could not be
	// pushed within MaxPushAttempts.
	ErrPushConflict = errors.New("remote kept moving")
	// ErrClosed: the Repo was closed.
	ErrClosed = errors.New("repository closed")
)

// Signature is a git identity.
type Signature struct {
	Name  string
	Email string
}

// Options configure Open.
type Options struct {
	// URL of the remote; empty keeps a local-only repository in Dir.
	URL string
	// Dir holds the local clone (a bare repository); reopened across
	// restarts. Required.
	Dir string
	// Branch environments live on; DefaultBranch when empty.
	Branch string
	// Auth for the remote.
	Auth Auth
	// Committer is the bot identity every commit carries as committer.
	Committer Signature
	// MaxPushAttempts bounds optimistic retries; DefaultMaxPushAttempts
	// when zero.
	MaxPushAttempts int
	// CacheEntries bounds the parsed environments kept in memory;
	// DefaultCacheEntries when zero.
	CacheEntries int
	// Logger receives what the store does; nothing is logged when nil.
	Logger *slog.Logger
	// Now stamps commits; time.Now when nil. Tests set a clock.
	Now func() time.Time
}

// Repo is an envs repository. It is safe for concurrent use.
type Repo struct {
	branch    string
	committer Signature
	maxPush   int
	now       func() time.Time
	log       *slog.Logger
	remoteURL string // redacted, for messages

	st     *lockedStorage
	repo   *git.Repository
	remote remote // nil for a local-only repository

	// netMu serialises fetches, pushes and compaction, so a fetch that
	// started before a push landed cannot move a tracking ref back behind
	// it.
	netMu sync.Mutex
	// gen is held for reading by every operation that reads objects, and
	// for writing by compaction while it swaps the storage.
	gen      sync.RWMutex
	dir      string
	maxPacks int

	// deliveries indexes the Delivery trailers of each branch's history,
	// read at Open, on every fetch and before every build.
	deliveries deliveryIndex

	parsed *lru.Cache // parseKey -> parsed
	parses atomic.Int64
	since  *lru.Cache // sinceKey -> time.Time
	trees  *treeCache // decoded trees (see getTree)

	ctx    context.Context // cancelled by Close; bounds in-flight pushes
	cancel context.CancelFunc
	wg     sync.WaitGroup

	mu      sync.Mutex
	closed  bool
	writers map[string]*writer
	subs    map[chan string]struct{}
}

// Open opens the local clone in o.Dir, creating it when absent, and
// fetches from the remote. A new local-only repository gets an initial
// empty commit on the branch.
func Open(ctx context.Context, o Options) (*Repo, error) {
	if o.Dir == "" {
		return nil, errors.New("opening envs repository: Options.Dir is required")
	}
	if o.Branch == "" {
		o.Branch = DefaultBranch
	}
	if err := checkBranch(o.Branch); err != nil {
		return nil, err
	}
	if o.MaxPushAttempts <= 0 {
		o.MaxPushAttempts = DefaultMaxPushAttempts
	}
	if o.CacheEntries <= 0 {
		o.CacheEntries = DefaultCacheEntries
	}
	if o.Committer.Name == "" {
		o.Committer.Name = "envwick"
	}
	if o.Committer.Email == "" {
		o.Committer.Email = "envwick@localhost"
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if err := os.MkdirAll(o.Dir, 0o755); err != nil {
		return nil, fmt.Errorf("opening envs repository: %w", err)
	}
	st := &lockedStorage{s: openStorage(o.Dir)}
	repo, err := openOrInit(st, o.Dir, o.Branch)
	if err != nil {
		_ = st.Close()
		return nil, err
	}
	rctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	r := &Repo{
		branch:    o.Branch,
		committer: o.Committer,
		maxPush:   o.MaxPushAttempts,
		now:       o.Now,
		dir:       o.Dir,
		maxPacks:  defaultMaxPacks,
		log:       o.Logger.With("repo", redactURL(o.URL), "dir", o.Dir),
		remoteURL: redactURL(o.URL),
		st:        st,
		repo:      repo,
		parsed:    lru.New(o.CacheEntries),
		since:     lru.New(4 * o.CacheEntries),
		trees:     newTreeCache(treeCacheEntries),
		ctx:       rctx,
		cancel:    cancel,
		writers:   map[string]*writer{},
		subs:      map[chan string]struct{}{},
	}
	if o.URL == "" {
		err = r.ensureInitialCommit()
	} else {
		r.remote, _, err = newRemote(repo, st, o.URL, o.Auth)
		if err == nil {
			_, err = r.Sync(ctx)
		}
	}
	if err != nil {
		r.Close()
		return nil, fmt.Errorf("opening envs repository %s: %w", r.where(), err)
	}
	return r, nil
}

func openOrInit(st *lockedStorage, dir, branch string) (*git.Repository, error) {
	if _, err := os.Stat(filepath.Join(dir, "HEAD")); err == nil {
		repo, err := git.Open(st, nil)
		if err != nil {
			return nil, fmt.Errorf("opening local clone %s: %w", dir, err)
		}
		return repo, nil
	}
	repo, err := git.InitWithOptions(st, nil, git.InitOptions{DefaultBranch: plumbing.NewBranchReferenceName(branch)})
	if err != nil {
		return nil, fmt.Errorf("creating local clone %s: %w", dir, err)
	}
	return repo, nil
}

// ensureInitialCommit gives a new local-only repository its branch.
func (r *Repo) ensureInitialCommit() error {
	head, err := r.head(r.branch)
	if err != nil || !head.IsZero() {
		return err
	}
	tree, err := newBatchTree(r.st, plumbing.ZeroHash).write()
	if err != nil {
		return err
	}
	c, err := r.writeCommit(plumbing.ZeroHash, tree, "Initialise envs repository\n", r.committer, r.now())
	if err != nil {
		return err
	}
	return r.st.CheckAndSetReference(plumbing.NewHashReference(plumbing.NewBranchReferenceName(r.branch), c), nil)
}

// Branch is the branch environments live on.
func (r *Repo) Branch() string { return r.branch }

// where names the repository in errors.
func (r *Repo) where() string {
	if r.remoteURL != "" {
		return r.remoteURL
	}
	return "(local)"
}

// headRef is the ref holding what this clone knows of a branch: the
// remote-tracking ref when there is a remote, the branch itself otherwise.
func (r *Repo) headRef(branch string) plumbing.ReferenceName {
	if r.remote != nil {
		return plumbing.ReferenceName(trackingPrefix + branch)
	}
	return plumbing.NewBranchReferenceName(branch)
}

func (r *Repo) head(branch string) (plumbing.Hash, error) {
	ref, err := r.st.Reference(r.headRef(branch))
	if errors.Is(err, plumbing.ErrReferenceNotFound) {
		return plumbing.ZeroHash, nil
	}
	if err != nil {
		return plumbing.ZeroHash, fmt.Errorf("reading branch %s: %w", branch, err)
	}
	return ref.Hash(), nil
}

// Head returns the commit a branch ("" for the default branch) was at when
// last fetched or pushed, without contacting the remote; empty when the
// branch does not exist yet.
func (r *Repo) Head(branch string) (string, error) {
	if branch == "" {
		branch = r.branch
	}
	h, err := r.head(branch)
	if err != nil || h.IsZero() {
		return "", err
	}
	return h.String(), nil
}

// Sync fetches every branch from the remote and returns the head of the
// default branch (empty when it does not exist yet).
func (r *Repo) Sync(ctx context.Context) (string, error) {
	if r.remote != nil {
		r.netMu.Lock()
		err := r.remote.fetch(ctx)
		if err == nil {
			if cerr := r.compact(ctx); cerr != nil {
				r.log.Warn("compacting the clone", "error", cerr)
			}
		}
		r.netMu.Unlock()
		if err != nil {
			return "", fmt.Errorf("fetching from %s: %w", r.where(), err)
		}
		// Other writers' deliveries are known from here on; a failure is
		// retried by the next build, which needs the scan.
		if err := r.scanDeliveries(r.branch); err != nil {
			r.log.Warn("reading Delivery trailers", "error", err)
		}
	}
	return r.Head("")
}

// Subscribe returns a channel that receives the new head of the default
// branch after each commit this Repo pushes to it. It is a wake-up signal
// (for an immediate reconcile pass): when the reader falls behind, values
// are dropped, so read Head for the latest. The channel closes when ctx is
// done or the Repo is closed.
func (r *Repo) Subscribe(ctx context.Context) <-chan string {
	ch := make(chan string, 16)
	r.mu.Lock()
	if r.closed {
		r.mu.Unlock()
		close(ch)
		return ch
	}
	r.subs[ch] = struct{}{}
	r.mu.Unlock()
	go func() {
		select {
		case <-ctx.Done():
		case <-r.ctx.Done():
		}
		r.mu.Lock()
		if _, ok := r.subs[ch]; ok {
			delete(r.subs, ch)
			close(ch)
		}
		r.mu.Unlock()
	}()
	return ch
}

func (r *Repo) notify(commit plumbing.Hash) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for ch := range r.subs {
		select {
		case ch <- commit.String():
		default:
		}
	}
}

// Parses counts environment files parsed since Open. Loads served from the
// cache do not add to it; tests and benchmarks use it to prove that
// re-loading after one file changed parses one file.
func (r *Repo) Parses() int64 { return r.parses.Load() }

// Close stops the writers (commits in flight fail with ErrClosed or a
// cancelled push) and releases the local clone.
func (r *Repo) Close() error {
	r.mu.Lock()
	if r.closed {
		r.mu.Unlock()
		return nil
	}
	r.closed = true
	r.mu.Unlock()
	r.cancel()
	r.wg.Wait()
	return r.st.Close()
}

// checkBranch rejects branch names git would refuse.
func checkBranch(b string) error {
	if err := plumbing.NewBranchReferenceName(b).Validate(); err != nil {
		return fmt.Errorf("branch %q: %w", b, err)
	}
	return nil
}
