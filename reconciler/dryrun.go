package reconciler

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/envwick/envwick/envs"
	"github.com/envwick/envwick/envs/store"
)

// DryRunInput says what a dry run plans: the environment files at a commit
// of the envs repository, or a set of files given as they are (a work
// tree). Either way they are planned against the fleet as it is now, with
// the status recorded so far and the repository-level rules: a name used
// by one file only, and the mass-deletion guard.
type DryRunInput struct {
	// Commit is a full commit hash of the envs repository.
	Commit string
	// Files, when Commit is empty, are the environment files to plan (for
	// a work tree, from envs.ReadDir; DesiredFromDocuments turns documents
	// into them). Names used by more than one file must already carry the
	// error saying so, as envs.ReadDir and the store do.
	Files []Desired
	// Source names what Files are, for Plan.Source ("work tree ./envs").
	Source string
	// AllowedDeletions is what the override file of Files allows
	// (ParseAllowedDeletions); with Commit it is read at the commit.
	AllowedDeletions int
	// AllowMassDeletion overrides the mass-deletion guard.
	AllowMassDeletion bool
}

// DryRun plans without changing anything: it observes every owned
// installation, plans in.Commit or in.Files, and works out the housekeeping
// that would be due. No provisioner change, no commit, no notification, no
// metric: the fleet's gauges stay those of the last pass. It waits for a
// pass in progress, as passes do for each other.
func (r *Reconciler) DryRun(ctx context.Context, in DryRunInput) (*Plan, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	guard := r.cfg.Guard
	guard.Override = guard.Override || in.AllowMassDeletion
	list := in.Files
	if in.Commit != "" {
		var err error
		if list, err = r.repo.Environments(ctx, in.Commit); err != nil {
			return nil, fmt.Errorf("loading environments at %s: %w", short(in.Commit), err)
		}
		if guard, err = r.massDeletionOverride(ctx, in.Commit, PassOptions{AllowMassDeletion: in.AllowMassDeletion}); err != nil {
			return nil, err
		}
	} else {
		list = slices.Clone(list)
		slices.SortStableFunc(list, func(a, b Desired) int { return strings.Compare(a.Path, b.Path) })
		guard.Allow = max(guard.Allow, in.AllowedDeletions)
	}
	desired, _ := r.desiredFrom(list)
	if err := r.loadStatus(ctx); err != nil {
		return nil, err
	}
	actual, err := r.ext.Observe(ctx)
	if err != nil {
		return nil, err
	}
	p := plan(planInput{commit: in.Commit, desired: desired, actual: actual.byEnv, status: r.status, guard: guard})
	p.Invalid = invalidFiles(desired)
	p.Source = in.Source
	_, _, p.Housekeeping = r.record(ctx, p, desired, nil, r.cfg.Clock.Now())
	return p, nil
}

// desiredFrom indexes files by name, keeping the first by path of files
// that share one (the others go to its Also), and applies defaults, reusing
// the defaulted copy of a blob seen by the last pass. It returns the cache
// of defaulted copies for this set.
func (r *Reconciler) desiredFrom(list []Desired) (map[string]*Desired, map[string]*envs.Environment) {
	out := make(map[string]*Desired, len(list))
	cache := make(map[string]*envs.Environment, len(list))
	for i := range list {
		d := &list[i]
		if first, ok := out[d.Name]; ok {
			first.Also = append(first.Also, *d)
			continue
		}
		if d.Err == nil && d.Env != nil {
			key := d.Blob
			e, ok := r.defaulted[key]
			if !ok || key == "" {
				e = envs.WithDefaults(d.Env, r.cfg.Defaults)
			}
			cache[key] = e
			d.Env = e
		}
		out[d.Name] = d
	}
	return out, cache
}

// fileKey identifies the files behind an environment: its file's blob, and
// those of other files claiming its name. An incremental pass compares it
// with the last pass's, so a file added elsewhere with the same name puts
// the environment in scope although its own file did not change.
func fileKey(d *Desired) string {
	if len(d.Also) == 0 {
		return d.Blob
	}
	var b strings.Builder
	b.WriteString(d.Blob)
	for _, o := range d.Also {
		b.WriteString(" " + o.Path + "=" + o.Blob)
	}
	return b.String()
}

// invalidFiles lists the files that do not parse or validate, by path.
func invalidFiles(desired map[string]*Desired) []InvalidFile {
	var out []InvalidFile
	add := func(d *Desired) {
		if d.Err == nil {
			return
		}
		var ps envs.Problems
		if !errors.As(d.Err, &ps) {
			ps = envs.Problems{{File: d.Path, Message: d.Err.Error()}}
		}
		out = append(out, InvalidFile{Name: d.Name, Path: d.Path, Problems: ps})
	}
	for _, d := range desired {
		add(d)
		for i := range d.Also {
			add(&d.Also[i])
		}
	}
	slices.SortFunc(out, func(a, b InvalidFile) int { return cmp.Compare(a.Path, b.Path) })
	return out
}

// DesiredFromDocuments turns parsed files (envs.ReadDir) into dry-run input.
// blob, when set, identifies each file's content the way the envs
// repository does (the git blob hash), so unchanged files match recorded
// status.
func DesiredFromDocuments(docs []envs.Document, blob func(path string) string) []Desired {
	out := make([]Desired, 0, len(docs))
	for _, d := range docs {
		x := Desired{Name: d.Name, Path: d.Path, Env: d.Env, Err: d.Err}
		if blob != nil {
			x.Blob = blob(d.Path)
		}
		out = append(out, x)
	}
	return out
}

// ParseAllowedDeletions reads the content of AllowDeletionsPath: a number of
// deletions one pass may make past the mass-deletion guard.
func ParseAllowedDeletions(data []byte) (int, error) {
	s := strings.TrimSpace(string(data))
	n, err := strconv.Atoi(s)
	if err != nil || n < 0 {
		return 0, fmt.Errorf("%s must hold a number of deletions, found %q", AllowDeletionsPath, s)
	}
	return n, nil
}

// Merger previews merging a commit into the branch people edit;
// StoreRepository implements it.
type Merger interface {
	PreviewMerge(ctx context.Context, head, ref string) (store.MergePreview, error)
}

// MergePlan is what a pass would do once a pull request on the envs
// repository is merged.
type MergePlan struct {
	Plan  *Plan
	Merge store.MergePreview
	// Introduced are the invalid files the merge is to blame for: files it
	// changes, and files valid (or absent) before it, such as a file
	// whose name a new file also takes.
	Introduced []InvalidFile
}

// PlanMerge is the dry run of a pull request on the envs repository: head
// (fetched through ref when no branch of the remote holds it, such as a
// fork's refs/pull/N/head) merged into the head of the branch people edit,
// planned against the fleet as it is now.
func (r *Reconciler) PlanMerge(ctx context.Context, head, ref string) (*MergePlan, error) {
	m, ok := r.repo.(Merger)
	if !ok {
		return nil, errors.New("this envs repository cannot preview merges")
	}
	prev, err := m.PreviewMerge(ctx, head, ref)
	if err != nil {
		return nil, fmt.Errorf("previewing the merge of %s: %w", short(head), err)
	}
	p, err := r.DryRun(ctx, DryRunInput{Commit: prev.Commit})
	if err != nil {
		return nil, err
	}
	p.Source = fmt.Sprintf("%s merged into %s", short(head), short(prev.Base))
	before, err := r.repo.Environments(ctx, prev.Base)
	if err != nil {
		return nil, fmt.Errorf("loading environments at %s: %w", short(prev.Base), err)
	}
	wasInvalid := map[string]bool{}
	for _, d := range before {
		wasInvalid[d.Path] = d.Err != nil
	}
	out := &MergePlan{Plan: p, Merge: prev}
	for _, f := range p.Invalid {
		if _, changed := slices.BinarySearch(prev.Changed, f.Path); changed || !wasInvalid[f.Path] {
			out.Introduced = append(out.Introduced, f)
		}
	}
	return out, nil
}

// PreviewMerge fetches head (through ref when needed) and builds, locally,
// the commit merging it into the branch's current head.
func (s *StoreRepository) PreviewMerge(ctx context.Context, head, ref string) (store.MergePreview, error) {
	base, err := s.Repo.Sync(ctx)
	if err != nil {
		return store.MergePreview{}, err
	}
	if err := s.Repo.FetchRef(ctx, head, ref); err != nil {
		return store.MergePreview{}, err
	}
	if base == "" {
		return store.MergePreview{}, fmt.Errorf("branch %s: %w", s.Repo.Branch(), store.ErrNotFound)
	}
	return s.Repo.PreviewMerge(ctx, base, head)
}
