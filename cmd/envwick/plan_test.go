package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"

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

// plan exits 2 while something would change and 0 once nothing would;
// reconcile --once applies; -o json is a Plan.
func TestPlanAndReconcileOnce(t *testing.T) {
	data := t.TempDir()
	if _, err := ensureDevRepo(context.Background(), devRepoPath(data), ""); err != nil {
		t.Fatal(err)
	}
	sim, err := provisionersim.New(provisionersim.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sim.Close() })
	url, err := sim.Start("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
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
	if code != 0 || !strings.Contains(out, "Applied") {
		t.Fatalf("reconcile --once: exit %d\n%s", code, out)
	}
	out, code = run(t, append([]string{"plan"}, common...)...)
	if code != 0 || !strings.Contains(out, "Nothing to change") {
		t.Fatalf("plan after reconciling: exit %d\n%s", code, out)
	}
}
