package store

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"regexp"
	"strings"
	"time"

	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/object"
	"github.com/go-git/go-git/v5/storage"
)

// maxBatch bounds the commits pushed at once, so a rejected push re-runs a
// bounded number of change functions.
const maxBatch = 256

// Trailer is a "Key: Value" line at the end of a commit message. envwick
// uses Requested-by (who asked), Source (a pull request URL or chat channel)
// and Delivery (the webhook delivery ID), so that git log is an audit log.
type Trailer struct {
	Key   string
	Value string
}

// Change is one intent to commit.
type Change struct {
	// Branch to commit to; the default branch when empty. A branch that
	// does not exist yet starts as an orphan holding only this change.
	Branch string
	// Message is the commit message; trailers are appended to it.
	Message string
	// Author is who asked for the change; the committer is the bot.
	Author Signature
	// Trailers are appended git-style.
	Trailers []Trailer
	// Apply edits the tree. Returning ErrNoChange, or editing nothing,
	// makes no commit. It may run again on a newer head after a rejected
	// push, so it must be a pure function of the tree it reads.
	Apply func(*Tx) error
}

// Result is what a Commit did.
type Result struct {
	// Commit is the new commit, or with NoChange the head the change was
	// found to be in place on (empty if the branch does not exist).
	Commit string
	// NoChange: the change was already in place; nothing was committed.
	NoChange bool
	// Attempts is how many pushes it took (0 for a local-only repository).
	Attempts int
}

// Commit applies a change to the branch head, commits it and pushes it,
// retrying on a newer head when the remote moved. Changes that arrive while
// a push is in flight are pushed together, each as its own commit. If ctx
// ends while the change is being pushed, Commit returns ctx's error but the
// change may still land.
func (r *Repo) Commit(ctx context.Context, c Change) (Result, error) {
	if c.Branch == "" {
		c.Branch = r.branch
	}
	if err := checkChange(c); err != nil {
		return Result{}, err
	}
	if err := ctx.Err(); err != nil {
		return Result{}, fmt.Errorf("committing %q: %w", subject(c.Message), context.Cause(ctx))
	}
	req := &request{ctx: ctx, change: c, done: make(chan outcome, 1)}
	if err := r.enqueue(req); err != nil {
		return Result{}, err
	}
	select {
	case o := <-req.done:
		return o.res, o.err
	case <-ctx.Done():
		return Result{}, fmt.Errorf("committing %q: %w", subject(c.Message), context.Cause(ctx))
	}
}

var trailerKey = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9-]*$`)

func checkChange(c Change) error {
	if c.Apply == nil {
		return errors.New("committing: Change.Apply is nil")
	}
	if strings.TrimSpace(c.Message) == "" {
		return errors.New("committing: Change.Message is empty")
	}
	if err := checkBranch(c.Branch); err != nil {
		return fmt.Errorf("committing %q: %w", subject(c.Message), err)
	}
	for _, t := range c.Trailers {
		if !trailerKey.MatchString(t.Key) {
			return fmt.Errorf("committing %q: invalid trailer key %q", subject(c.Message), t.Key)
		}
	}
	return nil
}

// message is the full commit message: the text, a blank line and the
// trailers. Values are kept to one line so a value cannot forge a trailer.
func message(c Change) string {
	msg := strings.TrimRight(c.Message, "\n \t") + "\n"
	if len(c.Trailers) == 0 {
		return msg
	}
	var b strings.Builder
	b.WriteString(msg)
	b.WriteString("\n")
	for _, t := range c.Trailers {
		v := strings.Join(strings.Fields(t.Value), " ")
		fmt.Fprintf(&b, "%s: %s\n", t.Key, v)
	}
	return b.String()
}

func subject(msg string) string {
	s, _, _ := strings.Cut(strings.TrimSpace(msg), "\n")
	return s
}

type request struct {
	ctx    context.Context
	change Change
	done   chan outcome

	// Set by each build attempt.
	commit   plumbing.Hash
	noChange bool
	err      error
}

type outcome struct {
	res Result
	err error
}

func (q *request) finish(res Result, err error) {
	q.done <- outcome{res: res, err: err}
}

// writer owns one branch: the queue of changes and the goroutine that
// commits and pushes them.
type writer struct {
	branch  string
	queue   []*request
	running bool
}

func (r *Repo) enqueue(q *request) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed {
		return ErrClosed
	}
	w := r.writers[q.change.Branch]
	if w == nil {
		w = &writer{branch: q.change.Branch}
		r.writers[w.branch] = w
	}
	w.queue = append(w.queue, q)
	if !w.running {
		w.running = true
		r.wg.Add(1)
		go r.runWriter(w)
	}
	return nil
}

// runWriter drains a branch's queue: every change queued while the
// previous push was in flight goes into the next push.
func (r *Repo) runWriter(w *writer) {
	defer r.wg.Done()
	for {
		r.mu.Lock()
		n := min(len(w.queue), maxBatch)
		if n == 0 {
			w.running = false
			r.mu.Unlock()
			return
		}
		batch := append([]*request(nil), w.queue[:n]...)
		w.queue = append(w.queue[:0:0], w.queue[n:]...)
		r.mu.Unlock()
		r.commitBatch(w.branch, batch)
	}
}

// commitBatch builds one commit per change on the branch head and pushes
// them at once; when the remote moved, it fetches and builds them again.
func (r *Repo) commitBatch(branch string, batch []*request) {
	live := batch
	checked := false // fetched once to confirm a batch that pushes nothing
	for attempt := 1; ; attempt++ {
		live = dropCancelled(live)
		if len(live) == 0 {
			return
		}
		if err := r.ctx.Err(); err != nil {
			finishAll(live, fmt.Errorf("committing to %s: %w", branch, ErrClosed))
			return
		}
		base, err := r.head(branch)
		if err != nil {
			finishAll(live, err)
			return
		}
		tip, objects, err := r.build(base, live)
		if err != nil {
			finishAll(live, fmt.Errorf("committing to %s: %w", branch, err))
			return
		}
		if tip == base {
			// Nothing to push, so no rejected push would tell a stale
			// clone: a change found in place, or refused (not found, a
			// delivery not yet seen), may be answering an old head that
			// another writer has moved. Fetch once and rebuild if it moved.
			if !checked && r.remote != nil {
				checked = true
				if r.moved(branch, base) {
					attempt--
					continue
				}
			}
			r.finish(live, attempt-1)
			return
		}
		started := time.Now()
		err = r.publish(branch, base, tip, objects)
		round := time.Since(started)
		if err == nil {
			pushes := attempt
			if r.remote == nil {
				pushes = 0
			}
			r.log.Info("pushed", "branch", branch, "commits", countCommits(live), "head", tip.String(), "attempts", attempt)
			r.finish(live, pushes)
			if branch == r.branch {
				r.notify(tip)
			}
			return
		}
		if !errors.Is(err, errRejected) {
			failCommitted(live, fmt.Errorf("pushing to %s %s: %w", r.where(), branch, err))
			return
		}
		if attempt >= r.maxPush {
			r.log.Warn("giving up pushing", "branch", branch, "commits", countCommits(live), "attempts", attempt)
			failCommitted(live, fmt.Errorf("pushing to %s %s: gave up after %d attempts: %w", r.where(), branch, attempt, ErrPushConflict))
			return
		}
		r.log.Debug("push rejected, retrying on the new head", "branch", branch, "attempt", attempt)
		if !sleep(r.ctx, backoff(attempt, round)) {
			failCommitted(live, fmt.Errorf("pushing to %s %s: %w", r.where(), branch, ErrClosed))
			return
		}
	}
}

// build runs every change's Apply in order on the tree at base, writing one
// commit per change that edits something, and returns the last commit and
// every object written.
func (r *Repo) build(base plumbing.Hash, batch []*request) (plumbing.Hash, []plumbing.Hash, error) {
	r.gen.RLock()
	defer r.gen.RUnlock()
	baseTree := plumbing.ZeroHash
	if !base.IsZero() {
		c, err := object.GetCommit(r.st, base)
		if err != nil {
			return plumbing.ZeroHash, nil, fmt.Errorf("reading head %s: %w", base, err)
		}
		baseTree = c.TreeHash
	}
	tree := newBatchTree(r.st, baseTree)
	tree.parse = r.parseStored
	parent, parentTree := base, baseTree
	delivered, err := r.deliveredBefore(base, batch)
	if err != nil {
		return plumbing.ZeroHash, nil, err
	}
	for _, q := range batch {
		q.commit, q.noChange, q.err = plumbing.ZeroHash, false, nil
		tx := newTx(tree)
		tx.delivered = delivered.has
		err := runApply(q.change.Apply, tx)
		if errors.Is(err, ErrNoChange) {
			q.commit, q.noChange = parent, true
			continue
		}
		if err == nil {
			err = tx.err
		}
		if err != nil {
			q.err = fmt.Errorf("applying %q: %w", subject(q.change.Message), err)
			continue
		}
		changed, err := tx.apply()
		if err != nil {
			return plumbing.ZeroHash, nil, err
		}
		if !changed {
			q.commit, q.noChange = parent, true
			continue
		}
		th, err := tree.write()
		if err != nil {
			return plumbing.ZeroHash, nil, err
		}
		if th == parentTree {
			q.commit, q.noChange = parent, true
			continue
		}
		author := q.change.Author
		if author.Name == "" {
			author = r.committer
		}
		c, err := r.writeCommit(parent, th, message(q.change), author, r.now())
		if err != nil {
			return plumbing.ZeroHash, nil, err
		}
		tree.wrote(c)
		delivered.add(q.change.Trailers)
		q.commit, parent, parentTree = c, c, th
	}
	return parent, tree.written, nil
}

func runApply(apply func(*Tx) error, tx *Tx) (err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("change function panicked: %v", p)
		}
	}()
	return apply(tx)
}

// writeCommit stores a commit with author as author and the bot as
// committer.
func (r *Repo) writeCommit(parent, tree plumbing.Hash, msg string, author Signature, when time.Time) (plumbing.Hash, error) {
	c := &object.Commit{
		Author:    object.Signature{Name: author.Name, Email: author.Email, When: when},
		Committer: object.Signature{Name: r.committer.Name, Email: r.committer.Email, When: when},
		Message:   msg,
		TreeHash:  tree,
	}
	if !parent.IsZero() {
		c.ParentHashes = []plumbing.Hash{parent}
	}
	obj := r.st.NewEncodedObject()
	if err := c.Encode(obj); err != nil {
		return plumbing.ZeroHash, fmt.Errorf("encoding commit: %w", err)
	}
	h, err := r.st.SetEncodedObject(obj)
	if err != nil {
		return plumbing.ZeroHash, fmt.Errorf("storing commit: %w", err)
	}
	return h, nil
}

// publish moves the branch from base to tip: a push, or for a local-only
// repository a compare-and-swap of the branch. It returns errRejected when
// the branch had moved on.
func (r *Repo) publish(branch string, base, tip plumbing.Hash, objects []plumbing.Hash) error {
	name := plumbing.NewBranchReferenceName(branch)
	if r.remote == nil {
		var old *plumbing.Reference
		if !base.IsZero() {
			old = plumbing.NewHashReference(name, base)
		}
		err := r.st.CheckAndSetReference(plumbing.NewHashReference(name, tip), old)
		if errors.Is(err, storage.ErrReferenceHasChanged) {
			return errRejected
		}
		return err
	}
	r.netMu.Lock()
	defer r.netMu.Unlock()
	err := r.remote.push(r.ctx, branch, base, tip, objects)
	if err == nil {
		// The next fetch would record it too; until then a failure here
		// only costs one rejected push.
		if err := r.st.SetReference(plumbing.NewHashReference(r.headRef(branch), tip)); err != nil {
			r.log.Warn("recording pushed head", "branch", branch, "error", err)
		}
		return nil
	}
	if isPermanent(err) || r.ctx.Err() != nil {
		return err
	}
	// Whatever the server said, a branch that moved means a retry on the
	// new head can succeed; a branch that did not means it cannot.
	if ferr := r.remote.fetch(r.ctx); ferr != nil {
		return fmt.Errorf("%w (fetching afterwards: %v)", err, ferr)
	}
	now, herr := r.head(branch)
	if herr != nil {
		return herr
	}
	if now != base || errors.Is(err, errRejected) {
		return fmt.Errorf("%w: %v", errRejected, err)
	}
	return err
}

// moved fetches and reports whether the branch is no longer at base. A
// failed fetch is logged and reported as not moved: the answer on the
// local head stands, as it did before.
func (r *Repo) moved(branch string, base plumbing.Hash) bool {
	r.netMu.Lock()
	err := r.remote.fetch(r.ctx)
	r.netMu.Unlock()
	if err != nil {
		r.log.Warn("fetching to confirm a change found in place", "branch", branch, "error", err)
		return false
	}
	now, err := r.head(branch)
	return err == nil && now != base
}

// finish reports every request's outcome after its commits landed.
func (r *Repo) finish(batch []*request, attempts int) {
	for _, q := range batch {
		if q.err != nil {
			q.finish(Result{}, q.err)
			continue
		}
		res := Result{NoChange: q.noChange, Attempts: attempts}
		if !q.commit.IsZero() { // a no-op on a branch that does not exist yet
			res.Commit = q.commit.String()
		}
		q.finish(res, nil)
	}
}

// failCommitted reports err to every request whose Apply succeeded (a
// change found in place on a head that was never confirmed is not reported
// as done); the others keep their Apply's error.
func failCommitted(batch []*request, err error) {
	for _, q := range batch {
		if q.err != nil {
			q.finish(Result{}, q.err)
			continue
		}
		q.finish(Result{}, err)
	}
}

func finishAll(batch []*request, err error) {
	for _, q := range batch {
		q.finish(Result{}, err)
	}
}

func dropCancelled(batch []*request) []*request {
	live := batch[:0:0]
	for _, q := range batch {
		if err := q.ctx.Err(); err != nil {
			q.finish(Result{}, fmt.Errorf("committing %q: %w", subject(q.change.Message), context.Cause(q.ctx)))
			continue
		}
		live = append(live, q)
	}
	return live
}

func countCommits(batch []*request) int {
	n := 0
	for _, q := range batch {
		if q.err == nil && !q.noChange {
			n++
		}
	}
	return n
}

// backoff is a random delay ("full jitter") in a window that doubles with
// each attempt, starting from how long the failed round took (the push and
// the fetch after it) and capped at 16 rounds (within 250 ms to 4 s):
// writers that collided spread out over a time in which each of them can
// actually push, whether the server answers in milliseconds or in seconds,
// and none sleeps long after the others are done.
func backoff(attempt int, round time.Duration) time.Duration {
	w := max(round, 10*time.Millisecond)
	limit := min(max(16*w, 250*time.Millisecond), 4*time.Second)
	for i := 1; i < attempt && w < limit; i++ {
		w *= 2
	}
	return rand.N(min(w, limit) + 1)
}

func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}
