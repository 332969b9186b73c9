package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/envwick/envwick/envs/store/gittest"
	"github.com/envwick/envwick/reconciler"
	"github.com/envwick/envwick/reconciler/platform/provisionersim"
)

// run runs the envwick command line and returns its output and exit code.
func run(t *testing.T, args ...string) (string, int) {
	t.Helper()
	root := newRootCmd()
	var out, errOut bytes.Buffer
	root.SetOut(&out)
	root.SetErr(&errOut)
	root.SetArgs(args)
	err := root.ExecuteContext(context.Background())
	var ec exitCoder
	switch {
	case err == nil:
		return out.String(), 0
	case errors.As(err, &ec):
		return out.String(), ec.ExitCode()
	default:
		t.Fatalf("envwick %s: %v\n%s", strings.Join(args, " "), err, errOut.String())
		return "", 1
	}
}

// startSim serves the provisioner simulator on loopback.
func startSim(t *testing.T) (*provisionersim.Sim, string) {
	t.Helper()
	sim, err := provisionersim.New(provisionersim.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sim.Close() })
	url, err := sim.Start("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	return sim, url
}

// plan exits 2 while something would change and 0 once nothing would;
// reconcile --once applies; -o json is a Plan.
func TestPlanAndReconcileOnce(t *testing.T) {
	data := t.TempDir()
	if _, err := ensureDevRepo(context.Background(), devRepoPath(data), ""); err != nil {
		t.Fatal(err)
	}
	_, url := startSim(t)
	common := []string{"--data-dir", data, "--provisioner-url", url, "--log-level", "error"}

	out, code := run(t, append([]string{"plan"}, common...)...)
	if code != 2 || !strings.Contains(out, "create") {
		t.Fatalf("plan before reconciling: exit %d\n%s", code, out)
	}
	out, code = run(t, append([]string{"plan", "-o", "json"}, common...)...)
	var p reconciler.Plan
	if err := json.Unmarshal([]byte(out), &p); err != nil || code != 2 || p.Changes() == 0 {
		t.Fatalf("plan -o json: exit %d, %v\n%s", code, err, out)
	}

	out, code = run(t, append([]string{"reconcile", "--once"}, common...)...)
	if code != 0 || !strings.Contains(out, "Done: created ") || !strings.Contains(out, "Status recorded") {
		t.Fatalf("reconcile --once: exit %d\n%s", code, out)
	}
	out, code = run(t, append([]string{"plan"}, common...)...)
	if code != 0 || !strings.Contains(out, "Nothing to change") {
		t.Fatalf("plan after reconciling: exit %d\n%s", code, out)
	}
}

// plan --dir plans a clone as it is on disk (an unpushed commit, new and
// broken files not committed), finding the repository and the running
// simulator from the clone's origin alone; invalid files are listed at
// file:line:column with exit 1. plan --commit plans a branch that is not
// the head.
func TestPlanWorkTreeAndCommit(t *testing.T) {
	data := t.TempDir()
	if _, err := ensureDevRepo(context.Background(), devRepoPath(data), ""); err != nil {
		t.Fatal(err)
	}
	sim, url := startSim(t)
	if err := os.WriteFile(devProvisionerFile(data), []byte(url+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	common := []string{"--data-dir", data, "--log-level", "error"}
	if out, code := run(t, append([]string{"reconcile", "--once"}, common...)...); code != 0 {
		t.Fatalf("reconcile --once: exit %d\n%s", code, out)
	}
	for range 6 {
		sim.Advance(time.Minute) // the creations finish
	}
	if out, code := run(t, append([]string{"reconcile", "--once"}, common...)...); code != 0 || !strings.Contains(out, "Done: no change was needed.") {
		t.Fatalf("reconcile --once once stable: exit %d\n%s", code, out)
	}

	work := filepath.Join(t.TempDir(), "envs")
	gittest.Git(t, filepath.Dir(work), "clone", "-q", devRepoPath(data), work)
	demo := filepath.Join(work, "environments", "sales-demo.yaml")
	orig, err := os.ReadFile(demo)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(orig), "version: '10.5.0'") {
		t.Fatalf("the example changed; this test edits its version:\n%s", orig)
	}
	if err := os.WriteFile(demo, []byte(strings.Replace(string(orig), "version: '10.5.0'", "version: '10.6.0'", 1)), 0o644); err != nil {
		t.Fatal(err)
	}
	gittest.Git(t, work, "commit", "-q", "-am", "Bigger demo") // not pushed
	write := func(rel, content string) { gittest.WriteFile(t, work, rel, []byte(content)) }
	write("environments/team/fresh-one.yaml", "apiVersion: envwick.dev/v1alpha1\nkind: Environment\nmetadata:\n  name: fresh-one\nspec:\n  owner:\n    github: jane\n")
	write("environments/broken.yaml", "apiVersion: envwick.dev/v1alpha1\nkind: Environment\nmetadata:\n  name: broken\nspec:\n  owner:\n    github: jane\n  installation:\n    size: huge\n")

	t.Chdir(t.TempDir()) // no data folder here: the clone says where things are
	out, code := run(t, "plan", "--dir", work, "--log-level", "error")
	brokenAt := filepath.Join(work, "environments", "broken.yaml") + ":9:11: spec.installation.size:"
	for _, want := range []string{"Plan of work tree " + work, "update  sales-demo", "create  fresh-one", brokenAt,
		"1 invalid environment file, left as they are until fixed"} {
		if !strings.Contains(out, want) {
			t.Errorf("plan --dir lacks %q:\n%s", want, out)
		}
	}
	if code != 1 {
		t.Errorf("plan --dir with an invalid file: exit %d, want 1", code)
	}
	if err := os.Remove(filepath.Join(work, "environments", "broken.yaml")); err != nil {
		t.Fatal(err)
	}
	if out, code := run(t, "plan", "--dir", work, "--log-level", "error", "-o", "json"); code != 2 {
		t.Errorf("plan --dir with changes only: exit %d, want 2\n%s", code, out)
	}

	// The unpushed commit, pushed to a branch: --commit plans it; main has
	// nothing to do.
	gittest.Git(t, work, "push", "-q", "origin", "HEAD:refs/heads/bigger-demo")
	out, code = run(t, append([]string{"plan", "--commit", "bigger-demo"}, common...)...)
	if code != 2 || !strings.Contains(out, "update  sales-demo") || strings.Contains(out, "fresh-one") {
		t.Errorf("plan --commit bigger-demo: exit %d\n%s", code, out)
	}
	if out, code := run(t, append([]string{"plan", "--commit", "main"}, common...)...); code != 0 {
		t.Errorf("plan --commit main: exit %d\n%s", code, out)
	}
	root := newRootCmd()
	root.SetOut(io.Discard)
	root.SetArgs(append([]string{"plan", "--commit", "no-such-branch"}, common...))
	if err := root.ExecuteContext(context.Background()); err == nil || !strings.Contains(err.Error(), `"no-such-branch"`) {
		t.Errorf("plan --commit of nothing: %v", err)
	}
}
