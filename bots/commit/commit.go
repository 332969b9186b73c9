// Package commit is the one way bots change the envs repository: it turns an
// intent (create, replace, update, hibernate, extend, keep, delete an
// environment) into a validated environment file and a commit whose author is
// the person who acted, with trailers saying who asked, from where and under
// which webhook delivery.
//
// A Committer never commits invalid environments (the caller gets an
// *InvalidError naming every problem and nothing is written), never commits
// what its Policy refuses (a *PolicyError: quotas, ownership, extension and
// kept caps, checked inside the change against the head it is applied to),
// never commits when nothing changes, and never acts twice on the same
// delivery ID, also after a restart when it is given a persistent Ledger.
//
// Typical use by a bot:
//
//	c := commit.New(repo, commit.Options{Ledger: ledger})
//	res, err := c.Put(ctx, commit.Meta{
//		Actor:    commit.Person{Name: "Jane Doe", Email: "jane@example.com"},
//		Login:    "jane",
//		Source:   "https://github.com/org/repo/pull/12",
//		Delivery: deliveryID,
//		Command:  `label "Setup Cloud Test Server"`,
//	}, env)
//	switch {
//	case errors.As(err, new(*commit.InvalidError)): // tell the user what is wrong
//	case errors.As(err, new(*commit.PolicyError)):  // tell the user which limit
//	case err != nil:                                // transient: retry later
//	case res.Duplicate:                             // seen before: nothing done
//	case !res.Changed:                              // already so: nothing committed
//	}
package commit

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"path"
	"strings"
	"sync"
	"time"

	"github.com/envwick/envwick/envs"
	"github.com/envwick/envwick/envs/store"
)

// Trailer keys written on every bot commit. Requested-by, Source and Delivery
// are part of the envs repository contract (docs/architecture.md); Command
// records the command or event that asked, in the words of the tool it came
// from.
const (
	TrailerRequestedBy = "Requested-by"
	TrailerSource      = "Source"
	TrailerDelivery    = store.TrailerDelivery
	TrailerCommand     = "Command"
)

// DefaultDir is the directory of the envs repository new environment files
// are written to, as environments/<name>.yaml.
const DefaultDir = envs.Dir

var (
	// ErrNotFound: the environment to update or delete does not exist.
	ErrNotFound = errors.New("environment not found")
	// ErrExists: Create found an environment of that name already.
	ErrExists = errors.New("environment already exists")
)

// InvalidError says why an environment was refused. Nothing was committed.
type InvalidError struct {
	// Name is the environment that was refused.
	Name string
	// Problems lists every problem, each saying what is valid.
	Problems envs.Problems
}

func (e *InvalidError) Error() string {
	return fmt.Sprintf("environment %s is not valid:\n%s", e.Name, e.Problems.Error())
}

// Person is someone who acted: the commit author.
type Person struct {
	Name  string
	Email string
}

func (p Person) String() string {
	switch {
	case p.Email == "":
		return p.Name
	case p.Name == "":
		return "<" + p.Email + ">"
	}
	return p.Name + " <" + p.Email + ">"
}

// Meta says who asked for a change, from where, and under which delivery. It
// becomes the commit's author and trailers.
type Meta struct {
	// Actor is the person who acted: the commit author. The committer is
	// always the bot identity configured in the store.
	Actor Person
	// Login is the actor's handle on the tool they used (a GitHub login or a
	// Mattermost username). It goes in the Requested-by trailer.
	Login string
	// Requester is who asks, as the Policy sees them.
	Requester Requester
	// Source is where the request came from: a pull request URL or a chat
	// channel.
	Source string
	// Delivery is the webhook delivery ID (or any ID unique per request). A
	// delivery seen before changes nothing. Empty disables de-duplication.
	Delivery string
	// Command is the command or event that asked, for example
	// `/env extend 3d` or `label "Setup Cloud Test Server"`.
	Command string
	// Reason, if set, is the commit message body: a sentence saying why.
	Reason string
}

// Result says what a call did.
type Result struct {
	// Name is the environment acted on.
	Name string
	// Path is its file in the envs repository.
	Path string
	// Commit is the new commit, empty when nothing was committed.
	Commit string
	// Changed is true when a commit was made.
	Changed bool
	// Duplicate is true when the delivery was seen before and nothing was
	// done.
	Duplicate bool
	// Environment is the environment as committed (nil after a delete).
	Environment *envs.Environment
}

// Options configure a Committer. The zero value works.
type Options struct {
	// Dir is where new environment files go; default "environments".
	Dir string
	// Ledger remembers delivery IDs. Nil keeps them in memory only, so a
	// replay after a restart is not recognised by the ledger.
	Ledger *Ledger
	// Policy is the rules every change obeys; zero fields take their
	// defaults (see Policy).
	Policy Policy
	// Now is the clock, for Extend and the Policy; default time.Now.
	Now func() time.Time
	// Logger; default slog.Default().
	Logger *slog.Logger
}

// Committer turns intents into commits. It is safe for concurrent use; the
// store groups concurrent commits into few pushes.
type Committer struct {
	repo   Repo
	dir    string
	ledger *Ledger
	policy Policy
	now    func() time.Time
	log    *slog.Logger

	mu       sync.Mutex
	inflight map[string]bool
}

// New returns a Committer writing to repo.
func New(repo Repo, opts Options) *Committer {
	c := &Committer{
		repo:     repo,
		dir:      opts.Dir,
		ledger:   opts.Ledger,
		policy:   opts.Policy.WithDefaults(),
		now:      opts.Now,
		log:      opts.Logger,
		inflight: map[string]bool{},
	}
	if c.dir == "" {
		c.dir = DefaultDir
	}
	if c.ledger == nil {
		c.ledger = MemoryLedger()
	}
	if c.now == nil {
		c.now = time.Now
	}
	if c.log == nil {
		c.log = slog.Default()
	}
	return c
}

// Now returns the Committer's clock reading, so callers build mutations
// (such as Extend) on the same clock.
func (c *Committer) Now() time.Time { return c.now() }

// Policy returns the rules the Committer applies, defaults filled in.
func (c *Committer) Policy() Policy { return c.policy }

// Extension is Extend by d on the Committer's clock, from the Policy's
// DefaultTTL for an environment without a time to live of its own. It
// refuses an extension longer than the Policy's MaxExtension even when the
// environment has no end of life to move.
func (c *Committer) Extension(d time.Duration) Mutation {
	extend, limit := Extend(d, c.now(), c.policy.DefaultTTL), c.policy.MaxExtension
	return func(e *envs.Environment) error {
		if limit >= 0 && d > limit {
			return &PolicyError{Kind: KindExtension, Name: e.Name, Owner: e.Spec.Owner, MaxDuration: limit, Duration: d}
		}
		return extend(e)
	}
}

// Path returns where a new environment of that name is written.
func (c *Committer) Path(name string) string { return path.Join(c.dir, name+envs.Ext) }

// Create commits a new environment; ErrExists if one of that name exists.
func (c *Committer) Create(ctx context.Context, m Meta, e *envs.Environment) (Result, error) {
	return c.do(ctx, m, e.Name, "Create", func(cur *envs.Environment) (*envs.Environment, error) {
		if cur != nil {
			return nil, fmt.Errorf("creating %s: %w", e.Name, ErrExists)
		}
		return e.DeepCopy(), nil
	})
}

// Put creates the environment or replaces the existing one's content with
// e's, keeping the existing file's comments and layout where unchanged. No
// commit when the result equals what is there.
func (c *Committer) Put(ctx context.Context, m Meta, e *envs.Environment) (Result, error) {
	return c.do(ctx, m, e.Name, "Apply", func(*envs.Environment) (*envs.Environment, error) {
		return e.DeepCopy(), nil
	})
}

// Update applies mutations to an existing environment; ErrNotFound if there
// is none.
func (c *Committer) Update(ctx context.Context, m Meta, name string, muts ...Mutation) (Result, error) {
	return c.do(ctx, m, name, "Update", func(cur *envs.Environment) (*envs.Environment, error) {
		if cur == nil {
			return nil, fmt.Errorf("updating %s: %w", name, ErrNotFound)
		}
		return mutate(cur, muts)
	})
}

// Upsert applies mutations to the existing environment, or when there is
// none, to the one create returns (for example a PR push recreating an
// environment that housekeeping deleted while the PR kept its label).
func (c *Committer) Upsert(ctx context.Context, m Meta, name string, create func() *envs.Environment, muts ...Mutation) (Result, error) {
	return c.do(ctx, m, name, "Update", func(cur *envs.Environment) (*envs.Environment, error) {
		if cur == nil {
			cur = create()
		}
		return mutate(cur, muts)
	})
}

// Delete removes the environment's file; the reconciler then deletes its
// installation. ErrNotFound if there is none.
func (c *Committer) Delete(ctx context.Context, m Meta, name string) (Result, error) {
	return c.do(ctx, m, name, "Delete", func(cur *envs.Environment) (*envs.Environment, error) {
		if cur == nil {
			return nil, fmt.Errorf("deleting %s: %w", name, ErrNotFound)
		}
		return nil, nil
	})
}

func mutate(cur *envs.Environment, muts []Mutation) (*envs.Environment, error) {
	next := cur.DeepCopy()
	for _, m := range muts {
		if err := m(next); err != nil {
			return nil, err
		}
	}
	return next, nil
}

// desire computes the wanted environment from the current one (nil when
// absent). It returns nil to delete. It runs inside the store's Apply, so it
// may run more than once and must depend only on its argument.
type desire func(cur *envs.Environment) (*envs.Environment, error)

// permanent reports errors that a retry of the same request cannot fix; the
// delivery is recorded so a replay does not try again.
func permanent(err error) bool {
	var inv *InvalidError
	var pol *PolicyError
	return errors.As(err, &inv) || errors.As(err, &pol) || errors.Is(err, ErrNotFound) || errors.Is(err, ErrExists)
}

func (c *Committer) do(ctx context.Context, m Meta, name, verb string, want desire) (Result, error) {
	return c.commit(ctx, change{meta: m, name: name, verb: verb, message: message(verb, name, m), want: want})
}

// change is one intent on its way to a commit.
type change struct {
	meta    Meta
	name    string
	verb    string
	message string
	want    desire
	// housekeeping: the change is a housekeeping decision. No requester
	// rule applies, and a file gone or broken since the decision was made
	// is left alone (its author fixes it; the next pass decides again).
	housekeeping bool
}

func (c *Committer) commit(ctx context.Context, ch change) (Result, error) {
	m, name := ch.meta, ch.name
	res := Result{Name: name, Path: c.Path(name)}
	if problems := validName(name); problems != nil {
		return res, &InvalidError{Name: name, Problems: problems}
	}
	if m.Delivery != "" {
		if !c.claim(m.Delivery) {
			c.log.InfoContext(ctx, "delivery seen before; nothing done", "delivery", m.Delivery, "environment", name)
			res.Duplicate = true
			return res, nil
		}
		defer c.release(m.Delivery)
	}
	// One clock reading for every attempt: the change function must give
	// the same answer on a newer head for the same tree.
	now := c.now()

	var out Result
	sc := store.Change{
		Message:  ch.message,
		Author:   store.Signature{Name: m.Actor.Name, Email: m.Actor.Email},
		Trailers: trailers(m),
		Apply: unlessDelivered(m.Delivery, func(tx *store.Tx) error {
			out = res
			p, cur, err := readEnvironment(tx, name)
			if err != nil {
				var inv *InvalidError
				if ch.housekeeping && errors.As(err, &inv) {
					return store.ErrNoChange
				}
				return err
			}
			if p != "" {
				out.Path = p
			}
			if cur == nil && ch.housekeeping {
				return store.ErrNoChange
			}
			if !ch.housekeeping {
				if err := checkOwner(m.Requester, name, cur); err != nil {
					return err
				}
			}
			next, err := ch.want(cur)
			if err != nil {
				return err
			}
			if next != nil {
				next.Name = name
				if problems := validate(next); len(problems) > 0 {
					return &InvalidError{Name: name, Problems: problems}
				}
			}
			if !ch.housekeeping {
				if err := c.policy.check(m.Requester, now, name, cur, next, tx.Environments); err != nil {
					return err
				}
			}
			if next == nil {
				if cur == nil {
					return store.ErrNoChange
				}
				tx.Delete(out.Path)
				return nil
			}
			out.Environment = next
			if p == "" {
				data, err := marshal(next)
				if err != nil {
					return fmt.Errorf("writing environment %s: %w", name, err)
				}
				tx.Write(out.Path, data)
				return nil
			}
			orig, _ := tx.Read(p)
			data, err := edit(orig, next)
			if err != nil {
				return fmt.Errorf("editing %s: %w", p, err)
			}
			if string(orig) == string(data) {
				return store.ErrNoChange
			}
			tx.Write(p, data)
			return nil
		}),
	}
	sr, err := c.repo.Commit(ctx, sc)
	if c.deliveredElsewhere(ctx, m, name, err) {
		res.Duplicate = true
		return res, nil
	}
	if err != nil {
		if permanent(err) && m.Delivery != "" {
			c.record(ctx, m.Delivery)
		}
		return out, err
	}
	if !sr.NoChange {
		out.Commit = sr.Commit
		out.Changed = true
	}
	if m.Delivery != "" {
		c.record(ctx, m.Delivery)
	}
	c.log.InfoContext(ctx, "environment change", "environment", name, "verb", ch.verb, "commit", out.Commit,
		"actor", m.Login, "delivery", m.Delivery)
	return out, nil
}

// claim marks a delivery in flight; false when it was seen before or is in
// flight already.
func (c *Committer) claim(id string) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.inflight[id] || c.ledger.Seen(id) {
		return false
	}
	c.inflight[id] = true
	return true
}

func (c *Committer) release(id string) {
	c.mu.Lock()
	delete(c.inflight, id)
	c.mu.Unlock()
}

func (c *Committer) record(ctx context.Context, id string) {
	if _, err := c.ledger.Add(id); err != nil {
		// The commit is made; only replay protection across a restart is
		// weakened, and the Delivery trailer still records it.
		c.log.WarnContext(ctx, "recording delivery", "delivery", id, "error", err)
	}
}

// readEnvironment finds the environment's file and parses it. A file that
// does not parse is an error: a bot must not overwrite what a person wrote
// and broke; the person fixes it in a pull request.
func readEnvironment(tx *store.Tx, name string) (string, *envs.Environment, error) {
	p, ok := tx.FindEnvironment(name)
	if !ok {
		return "", nil, nil
	}
	data, ok := tx.Read(p)
	if !ok {
		return "", nil, fmt.Errorf("reading %s: found but unreadable", p)
	}
	e, err := parse(p, data)
	if err != nil {
		var ps envs.Problems
		if errors.As(err, &ps) {
			return "", nil, &InvalidError{Name: name, Problems: ps}
		}
		return "", nil, fmt.Errorf("parsing %s: %w", p, err)
	}
	return p, e, nil
}

func message(verb, name string, m Meta) string {
	subject := verb + " environment " + name
	if m.Reason == "" {
		return subject
	}
	return subject + "\n\n" + m.Reason
}

func trailers(m Meta) []store.Trailer {
	var ts []store.Trailer
	add := func(k, v string) {
		// Trailers are one line each; a value must not smuggle in another.
		v = strings.Join(strings.Fields(v), " ")
		if v != "" {
			ts = append(ts, store.Trailer{Key: k, Value: v})
		}
	}
	req := m.Login
	if req == "" {
		req = m.Actor.String()
	}
	add(TrailerRequestedBy, req)
	add(TrailerSource, m.Source)
	add(TrailerDelivery, m.Delivery)
	add(TrailerCommand, m.Command)
	return ts
}
