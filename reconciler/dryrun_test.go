package reconciler

import (
	"fmt"
	"strings"
	"testing"

	"github.com/envwick/envwick/envs"
)

// A commit adding environments/sub/alpha.yaml, a second file named a, makes a
// invalid at once: the pass it triggers is incremental, yet a's status
// turns Invalid in that pass (not at the next full one), its installation
// is left alone, and both files are counted invalid. Removing the copy
// makes a Ready again, incrementally too.
func TestIncrementalPassChecksUniqueNames(t *testing.T) {
	h := newHarness(t)
	r := h.reconciler()
	h.put(env("alpha"), env("bravo"))
	h.pass(r)
	h.settle()
	h.pass(r)
	if st := h.readStatus("alpha"); readyReasonOf(st) != envs.ReasonAvailable {
		t.Fatalf("a is %s before the duplicate", readyReasonOf(st))
	}

	data, err := envs.Marshal(env("alpha", func(e *envs.Environment) { e.Spec.Installation.Version = "10.6.0" }))
	if err != nil {
		t.Fatal(err)
	}
	bravo, err := envs.Marshal(env("bravo", func(e *envs.Environment) { e.Spec.Installation.Version = "10.6.0" }))
	if err != nil {
		t.Fatal(err)
	}
	h.commit("Add a second alpha, update bravo", map[string][]byte{"environments/sub/alpha.yaml": data, envs.PathFor("bravo"): bravo}, nil)
	muts := h.mutations.Load()
	res := h.pass(r, PassOptions{Incremental: true})
	if !res.Incremental {
		t.Fatal("the pass after a one-file commit was not incremental")
	}
	if st := h.readStatus("alpha"); readyReasonOf(st) != envs.ReasonInvalid || !strings.Contains(st.Status.LastError, "environments/sub/alpha.yaml") {
		t.Errorf("a after the duplicate: reason %s, lastError %q; want Invalid naming the other file", readyReasonOf(st), st.Status.LastError)
	}
	if got := invalidPaths(res.Plan); got != "environments/alpha.yaml environments/sub/alpha.yaml" {
		t.Errorf("invalid files = %q, want both", got)
	}
	if h.mutations.Load() != muts+1 || len(h.owned()) != 2 {
		t.Errorf("%d mutations, %d installations; want bravo's update only", h.mutations.Load()-muts, len(h.owned()))
	}
	for _, it := range res.Plan.Items {
		if want := map[string]Action{"alpha": ActionNone, "bravo": ActionUpdate}[it.Name]; it.Action != want {
			t.Errorf("%s: %s, want %s", it.Name, it.Action, want)
		}
	}

	h.commit("Remove the second alpha", nil, []string{"environments/sub/alpha.yaml"})
	res = h.pass(r, PassOptions{Incremental: true})
	if !res.Incremental || len(res.Plan.Invalid) != 0 {
		t.Errorf("after removing the copy: incremental=%v invalid=%v", res.Incremental, res.Plan.Invalid)
	}
	if st := h.readStatus("alpha"); readyReasonOf(st) != envs.ReasonAvailable {
		t.Errorf("a after removing the copy is %s, want Available", readyReasonOf(st))
	}
}

func invalidPaths(p *Plan) string {
	var out []string
	for _, f := range p.Invalid {
		out = append(out, f.Path)
	}
	return strings.Join(out, " ")
}

// DryRun plans any commit, or any set of files, against the fleet as it is
// with the repository-level rules, and changes nothing.
func TestDryRun(t *testing.T) {
	h := newHarness(t)
	r := h.reconciler()
	var all []*envs.Environment
	for i := range 6 {
		all = append(all, env(fmt.Sprintf("d-%d", i)))
	}
	h.put(all...)
	h.pass(r)
	h.settle()
	h.pass(r)
	head := h.remove("d-0", "d-1", "d-2") // three of six: past the guard
	h.put(env("d-0"), env("d-1"), env("d-2"))
	status, muts := h.statusHead(), h.mutations.Load()
	h.notes.take()

	// An older commit than the head: the one that removed three files.
	p, err := r.DryRun(h.ctx, DryRunInput{Commit: head})
	if err != nil {
		t.Fatal(err)
	}
	if p.Commit != head || p.Guard == "" {
		t.Fatalf("dry run at %s: commit %s, guard %q", head[:8], p.Commit, p.Guard)
	}
	held := 0
	for _, it := range p.Items {
		if it.Action == ActionDelete && it.Blocked && strings.Contains(it.Reason, "held back by the mass-deletion guard") {
			held++
		}
	}
	if held != 3 || p.Changes() != 0 {
		t.Errorf("%d deletions held, %d changes; want 3 held and none to do:\n%+v", held, p.Changes(), p.Items)
	}

	// Files as a work tree has them: one changed, one added, one broken,
	// one name used twice; the override file allows the one deletion.
	docs := []envs.Document{}
	for _, e := range []*envs.Environment{env("d-0", func(e *envs.Environment) { e.Spec.Installation.Size = "miniHA" }),
		env("d-1"), env("d-2"), env("d-3"), env("d-4"), env("fresh")} {
		data, _ := envs.Marshal(e)
		docs = append(docs, envs.ParseDocument(envs.PathFor(e.Name), data))
	}
	dup, _ := envs.Marshal(env("d-4"))
	docs = append(docs, envs.ParseDocument("environments/team/d-4.yaml", dup),
		envs.ParseDocument("environments/broken.yaml", []byte("apiVersion: envwick.dev/v1alpha1\nkind: Environment\nmetadata:\n  name: broken\nspec:\n  owner: {}\n")))
	p, err = r.DryRun(h.ctx, DryRunInput{Files: DesiredFromDocuments(envs.CheckUnique(docs), nil), Source: "work tree", AllowedDeletions: 1})
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, it := range p.Items {
		got[it.Name] = string(it.Action)
		if it.Blocked {
			got[it.Name] += " (held)"
		}
	}
	want := map[string]string{"d-0": "update", "d-1": "none", "d-2": "none", "d-3": "none", "d-4": "none",
		"d-5": "delete", "fresh": "create", "broken": "none"}
	for name, w := range want {
		if got[name] != w {
			t.Errorf("%s: %q, want %q (all: %v)", name, got[name], w, got)
		}
	}
	if p.Source != "work tree" || p.Guard != "" {
		t.Errorf("source %q, guard %q", p.Source, p.Guard)
	}
	if got := invalidPaths(p); got != "environments/broken.yaml environments/d-4.yaml environments/team/d-4.yaml" {
		t.Errorf("invalid = %q", got)
	}
	if h.mutations.Load() != muts || h.statusHead() != status {
		t.Errorf("a dry run changed something: %d mutations, status %s -> %s", h.mutations.Load()-muts, status[:8], h.statusHead()[:8])
	}
	if ts := h.notes.take(); len(ts) != 0 {
		t.Errorf("dry runs notified: %v", kinds(ts))
	}
}
