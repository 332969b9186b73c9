package dashboard

import (
	"cmp"
	"context"
	"fmt"
	"maps"
	"runtime"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/envwick/envwick/envs/store"
	"github.com/envwick/envwick/reconciler"
)

// fleet is every environment at one pair of heads (the branch people edit
// and the status branch), indexed for the fleet view. It is rebuilt when
// either head moves and never changed after: requests share it.
type fleet struct {
	main, status string
	built        time.Time
	rows         []*Environment // sorted by name
	lower        []string       // rows[i].Name in lower case, for search
	byName       map[string]int
	files        map[string]store.Entry
	// statusBlobs is the blob of each status file, statusStates the state
	// it records (for the history of the fleet, which knows status only).
	statusBlobs  map[string]string
	statusStates map[string]string
	counts       map[string]int
	owners       []string
}

// heads are the commits the fleet is read at.
func (d *Dashboard) heads() (main, status string, err error) {
	if main, err = d.repo.Head(""); err != nil {
		return "", "", err
	}
	status, err = d.repo.Head(reconciler.StatusBranch)
	return main, status, err
}

// fleet returns the fleet at the current heads, rebuilding it when they
// moved. Heads are read from the local clone (what the reconciler last
// fetched or pushed), so a request never waits on the network.
func (d *Dashboard) fleet(ctx context.Context) (*fleet, error) {
	main, status, err := d.heads()
	if err != nil {
		return nil, fmt.Errorf("reading the envs repository heads: %w", err)
	}
	cur := d.cur.Load()
	if cur != nil && cur.main == main && cur.status == status {
		return cur, nil
	}
	// While another request or Run rebuilds, serve the index there is:
	// a page is never held up by a rebuild after a pass.
	if !d.buildMu.TryLock() {
		if cur != nil {
			return cur, nil
		}
		d.buildMu.Lock()
	}
	defer d.buildMu.Unlock()
	if f := d.cur.Load(); f != nil && f.main == main && f.status == status {
		return f, nil
	}
	f, err := d.build(ctx, main, status)
	if err != nil {
		return nil, err
	}
	// Live pages hear of every new fleet after the first, whoever asked
	// for it (Run's polling or a request).
	if d.cur.Swap(f) != nil {
		d.events.publish(eventOf(f))
	}
	return f, nil
}

func (d *Dashboard) build(ctx context.Context, main, status string) (*fleet, error) {
	f := &fleet{main: main, status: status, built: d.now(), files: map[string]store.Entry{}, statusBlobs: map[string]string{}, statusStates: map[string]string{}, counts: map[string]int{}}
	if main != "" {
		snap, err := d.repo.Load(ctx, main)
		if err != nil {
			return nil, fmt.Errorf("loading environments at %s: %w", main, err)
		}
		f.files = snap.Environments
	}
	statuses := map[string]*reconciler.Status{}
	if status != "" {
		files, err := d.repo.ListFiles(ctx, status, reconciler.StatusDir)
		if err != nil {
			return nil, fmt.Errorf("listing status at %s: %w", status, err)
		}
		var blobs []string
		names := map[string]string{}
		for _, sf := range files {
			if name, ok := reconciler.StatusName(sf.Path); ok {
				names[name] = sf.Blob
				blobs = append(blobs, sf.Blob)
			}
		}
		parsed, err := d.statuses(ctx, blobs)
		if err != nil {
			return nil, err
		}
		for name, blob := range names {
			f.statusBlobs[name] = blob
			if st := parsed[blob]; st != nil && st.Name == name {
				statuses[name] = st
				f.statusStates[name] = StatusState(st)
			} else {
				// A damaged status file: known to exist, state unknown.
				f.statusStates[name] = StateUnknown
			}
		}
	}
	names := slices.Collect(maps.Keys(f.files))
	for name := range f.statusBlobs {
		if _, ok := f.files[name]; !ok {
			names = append(names, name)
		}
	}
	slices.Sort(names)
	f.rows = make([]*Environment, len(names))
	f.lower = make([]string, len(names))
	f.byName = make(map[string]int, len(names))
	owners := map[string]bool{}
	for i, name := range names {
		var file *store.Entry
		if e, ok := f.files[name]; ok {
			file = &e
		}
		row := newEnvironment(name, file, statuses[name], d.githubURL)
		f.rows[i], f.lower[i], f.byName[name] = row, strings.ToLower(name), i
		f.counts[row.State]++
		if o := row.OwnerName(); o != "" {
			owners[o] = true
		}
	}
	f.owners = slices.Sorted(maps.Keys(owners))
	return f, nil
}

// statuses parses the status files of blobs, through a cache by blob hash
// (a pass changes a few files, so a rebuild parses a few). Blobs are read
// one after another (the storage serialises reads anyway) and parsed on
// every CPU. A file that does not parse maps to nil.
func (d *Dashboard) statuses(ctx context.Context, blobs []string) (map[string]*reconciler.Status, error) {
	out := make(map[string]*reconciler.Status, len(blobs))
	type job struct {
		blob string
		data []byte
	}
	var todo []string
	for _, b := range blobs {
		if v, ok := d.statusCache.Get(b); ok {
			out[b] = v.(*reconciler.Status)
		} else {
			todo = append(todo, b)
		}
	}
	if len(todo) == 0 {
		return out, nil
	}
	jobs := make(chan job, 64)
	var readErr error
	go func() {
		defer close(jobs)
		for _, b := range todo {
			data, err := d.repo.ReadBlob(ctx, b)
			if err != nil {
				readErr = fmt.Errorf("reading status: %w", err)
				return
			}
			jobs <- job{b, data}
		}
	}()
	var mu sync.Mutex
	var wg sync.WaitGroup
	for range min(runtime.GOMAXPROCS(0), len(todo)) {
		wg.Go(func() {
			for j := range jobs {
				st, err := reconciler.ParseStatus(j.data)
				if err != nil {
					st = nil
				}
				d.statusCache.Add(j.blob, st)
				mu.Lock()
				out[j.blob] = st
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	return out, readErr
}

// status reads one status file through the cache.
func (d *Dashboard) status(ctx context.Context, blob string) *reconciler.Status {
	if blob == "" {
		return nil
	}
	m, err := d.statuses(ctx, []string{blob})
	if err != nil {
		return nil
	}
	return m[blob]
}

// Query selects, orders and pages environments. The fleet page and the
// list API read it from the same URL parameters.
type Query struct {
	// Q is part of a name (case insensitive).
	Q string
	// Owner matches the GitHub login, Mattermost username or email.
	Owner string
	// Source is pullRequest, chat or manual.
	Source string
	// State is one of States.
	State string
	// Sort is a column (SortKeys), "-" first for descending.
	Sort    string
	Page    int
	PerPage int
}

// SortKeys are the columns the fleet can be sorted by.
var SortKeys = []string{"name", "owner", "source", "state", "version", "size", "age", "activity", "next", "expiry"}

// find returns the page of rows q selects and how many match in all.
func (f *fleet) find(q Query) ([]*Environment, int) {
	var sel []*Environment
	if q.Q == "" && q.Owner == "" && q.Source == "" && q.State == "" {
		sel = f.rows
	} else {
		needle := strings.ToLower(q.Q)
		for i, e := range f.rows {
			if needle != "" && !strings.Contains(f.lower[i], needle) {
				continue
			}
			if q.State != "" && e.State != q.State {
				continue
			}
			if q.Source != "" && e.Source.Kind != q.Source {
				continue
			}
			if q.Owner != "" && !strings.EqualFold(e.Owner.GitHub, q.Owner) && !strings.EqualFold(e.Owner.Mattermost, q.Owner) && !strings.EqualFold(e.Owner.Email, q.Owner) {
				continue
			}
			sel = append(sel, e)
		}
	}
	key, desc := strings.CutPrefix(q.Sort, "-")
	if key != "" && key != "name" || desc {
		sel = slices.Clone(sel)
		less := compareBy(key)
		slices.SortStableFunc(sel, func(a, b *Environment) int {
			c := less(a, b)
			if desc {
				c = -c
			}
			return cmp.Or(c, strings.Compare(a.Name, b.Name))
		})
	}
	n := len(sel)
	start := (q.Page - 1) * q.PerPage
	if start >= n {
		return nil, n
	}
	return sel[start:min(n, start+q.PerPage)], n
}

// compareBy orders two rows by a column; missing times sort last.
func compareBy(key string) func(a, b *Environment) int {
	str := func(f func(*Environment) string) func(a, b *Environment) int {
		return func(a, b *Environment) int { return strings.Compare(f(a), f(b)) }
	}
	tm := func(f func(*Environment) *time.Time) func(a, b *Environment) int {
		return func(a, b *Environment) int {
			x, y := f(a), f(b)
			switch {
			case x == nil && y == nil:
				return 0
			case x == nil:
				return 1
			case y == nil:
				return -1
			}
			return x.Compare(*y)
		}
	}
	switch key {
	case "owner":
		return str((*Environment).OwnerName)
	case "source":
		return str(func(e *Environment) string { return e.Source.Label })
	case "state":
		return func(a, b *Environment) int {
			return cmp.Compare(slices.Index(States, a.State), slices.Index(States, b.State))
		}
	case "version":
		return str(func(e *Environment) string { return e.Version })
	case "size":
		return str(func(e *Environment) string { return e.Size })
	case "age":
		// Oldest first: creation time ascending.
		return tm(func(e *Environment) *time.Time { return e.CreatedAt })
	case "activity":
		return tm(func(e *Environment) *time.Time { return e.LastActivity })
	case "next":
		return tm(func(e *Environment) *time.Time {
			if e.Next == nil {
				return nil
			}
			return &e.Next.At
		})
	case "expiry":
		return tm(func(e *Environment) *time.Time { return e.ExpiresAt })
	}
	return str(func(e *Environment) string { return e.Name })
}
