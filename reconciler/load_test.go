package reconciler

import (
	"fmt"
	"reflect"
	"testing"

	"github.com/envwick/envwick/envs"
)

// Loading a commit from the one before reads only the changed files, and
// gives what a full load gives; where a name is or becomes shared by two
// files it leaves the decision to a full load.
func TestLoadChanged(t *testing.T) {
	h := newHarness(t)
	h.put(env("keep"), env("edit"), env("gone"), env("move"), env("dup"))
	broken := []byte("apiVersion: envwick.dev/v1alpha1\nkind: Environment\nmetadata: {name: broken}\n")
	for _, c := range []struct {
		name        string
		change      func() string
		incremental bool
	}{
		{"nothing changed", func() string { return h.commit("Other file", map[string][]byte{"README.md": []byte("hi\n")}, nil) }, true},
		{"one file edited", func() string {
			return h.put(env("edit", func(e *envs.Environment) { e.Spec.Installation.Version = "10.6.0" }))
		}, true},
		{"one file added", func() string { return h.put(env("added")) }, true},
		{"one file removed", func() string { return h.remove("gone") }, true},
		{"a file moved", func() string {
			data, _ := h.file(envs.PathFor("move"))
			return h.commit("Move", map[string][]byte{"environments/sub/move.yaml": data}, []string{envs.PathFor("move")})
		}, true},
		{"a file broken", func() string { return h.commit("Break", map[string][]byte{envs.PathFor("broken"): broken}, nil) }, true},
		{"a broken file fixed", func() string { return h.put(env("broken")) }, false},
		{"a second file for a name", func() string {
			data, _ := h.file(envs.PathFor("dup"))
			return h.commit("Duplicate", map[string][]byte{"environments/other/dup.yaml": data}, nil)
		}, false},
		{"the duplicate removed", func() string { return h.commit("Unduplicate", nil, []string{"environments/other/dup.yaml"}) }, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			r := h.reconciler()
			head, _ := h.repo.Head("")
			if _, err := r.loadDesired(h.ctx, head); err != nil {
				t.Fatal(err)
			}
			commit := c.change()
			ok, err := r.loadChanged(h.ctx, commit)
			if err != nil {
				t.Fatal(err)
			}
			if ok != c.incremental {
				t.Errorf("incremental %v, want %v", ok, c.incremental)
			}
			got, err := r.loadDesired(h.ctx, commit)
			if err != nil {
				t.Fatal(err)
			}
			want, err := h.reconciler().loadDesired(h.ctx, commit)
			if err != nil {
				t.Fatal(err)
			}
			if g, w := describeDesired(got), describeDesired(want); !reflect.DeepEqual(g, w) {
				t.Errorf("loaded\n%v\nwant (a full load)\n%v", g, w)
			}
		})
	}
}

func describeDesired(m map[string]*Desired) map[string]string {
	out := map[string]string{}
	for name, d := range m {
		s := fmt.Sprintf("%s %s %s", d.Name, d.Path, d.Blob)
		if d.Err != nil {
			s += " error: " + d.Err.Error()
		} else {
			s += fmt.Sprintf(" %s %s", d.Env.Spec.Installation.Version, d.Env.Spec.State)
		}
		out[name] = s
	}
	return out
}
