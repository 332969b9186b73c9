package reconciler

import (
	"context"
	"fmt"

	"github.com/envwick/envwick/envs"
)

// changedFiles is what a Repository offers for loading a commit from an
// earlier one (StoreRepository does): the paths that differ, and those
// environment files alone.
type changedFiles interface {
	// Changed lists the paths that differ between two commits.
	Changed(ctx context.Context, from, to string) ([]string, error)
	// EnvironmentFiles returns the environment files among paths at
	// commit (a path without a file there is left out), without defaults
	// and without repository-level rules.
	EnvironmentFiles(ctx context.Context, commit string, paths []string) ([]Desired, error)
}

// maxChangedLoad is the most changed environment files loadChanged reads
// one by one; more and a full load is as cheap.
const maxChangedLoad = 100

// loadChanged brings what the last pass loaded up to commit by reading only
// the environment files that changed since, in place: one changed file
// among 10,000 costs that file, not a walk of 10,000 entries. It reports
// false, changing nothing, when a full load must decide: nothing loaded
// yet, a repository that cannot list changes, too many changes, or a name
// that is or becomes shared by two files (envs.CheckUnique judges those
// over every file, and an invalid file may be one of them).
func (r *Reconciler) loadChanged(ctx context.Context, commit string) (bool, error) {
	cf, ok := r.repo.(changedFiles)
	if !ok || r.loaded == nil || r.loadedCommit == "" {
		return false, nil
	}
	paths, err := cf.Changed(ctx, r.loadedCommit, commit)
	if err != nil {
		return false, nil // a full load says what is wrong, if anything is
	}
	changed := map[string]bool{} // environment files changed, by path
	names := map[string]bool{}   // their environments
	for _, p := range paths {
		if name, ok := envs.NameFromPath(p); ok && envs.IsEnvironmentPath(p) {
			changed[p], names[name] = true, true
		}
	}
	if len(changed) > maxChangedLoad {
		return false, nil
	}
	var files []Desired
	if len(changed) > 0 {
		list := make([]string, 0, len(changed))
		for p := range changed {
			list = append(list, p)
		}
		if files, err = cf.EnvironmentFiles(ctx, commit, list); err != nil {
			return false, fmt.Errorf("loading changed environment files at %s: %w", short(commit), err)
		}
	}
	now := map[string]*Desired{} // the changed files at commit, by name
	for i := range files {
		d := &files[i]
		if now[d.Name] != nil {
			return false, nil // two changed files claim one name
		}
		now[d.Name] = d
	}
	for name := range names {
		old := r.loaded[name]
		switch {
		case old == nil:
		case old.Err != nil:
			return false, nil // perhaps one of two files of this name
		case !changed[old.Path] && now[name] != nil:
			return false, nil // a second file for a name in use
		}
	}
	for name := range names {
		if old := r.loaded[name]; old != nil && old.Env != nil {
			delete(r.defaulted, old.Blob)
		}
		d := now[name]
		if d == nil {
			delete(r.loaded, name)
			continue
		}
		if d.Err == nil && d.Env != nil {
			e, ok := r.defaulted[d.Blob]
			if !ok || d.Blob == "" {
				e = envs.WithDefaults(d.Env, r.cfg.Defaults)
			}
			r.defaulted[d.Blob] = e
			d.Env = e
		}
		r.loaded[name] = d
	}
	r.loadedCommit = commit
	return true, nil
}

var _ changedFiles = (*StoreRepository)(nil)
