package main

import (
	"bytes"
	"context"
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/fluxcd/pkg/apis/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/yaml"

	"github.com/envwick/envwick/envs"
	"github.com/envwick/envwick/envs/store"
	"github.com/envwick/envwick/reconciler"
	"github.com/envwick/envwick/reconciler/dashboard"
)

// statusRepo is an envs repository with two environments and the status a
// pass recorded for them.
func statusRepo(t *testing.T) string {
	t.Helper()
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "envs.git")
	repo, err := store.Open(ctx, store.Options{Dir: path})
	if err != nil {
		t.Fatal(err)
	}
	defer repo.Close()
	file := func(name, owner string) []byte {
		return []byte("apiVersion: envwick.dev/v1alpha1\nkind: Environment\nmetadata:\n  name: " + name + "\nspec:\n  owner:\n    github: " + owner + "\n")
	}
	write := func(branch, msg string, trailers []store.Trailer, files map[string][]byte) {
		if _, err := repo.Commit(ctx, store.Change{Branch: branch, Message: msg, Trailers: trailers, Apply: func(tx *store.Tx) error {
			for p, d := range files {
				tx.Write(p, d)
			}
			return nil
		}}); err != nil {
			t.Fatal(err)
		}
	}
	write("", "Create alpha and beta", []store.Trailer{{Key: "Requested-by", Value: "ann"}, {Key: "Command", Value: "/cloud create alpha"}},
		map[string][]byte{"environments/alpha.yaml": file("alpha", "ann"), "environments/beta.yaml": file("beta", "bob")})
	status := func(name, reason string, ok metav1.ConditionStatus) []byte {
		s := reconciler.Status{APIVersion: envs.APIVersion, Kind: reconciler.StatusKind, Name: name}
		s.Status.Conditions = []metav1.Condition{{Type: meta.ReadyCondition, Status: ok, Reason: reason, Message: "because " + reason, LastTransitionTime: metav1.Now()}}
		s.Status.Installation = &envs.InstallationStatus{URL: "https://" + name + ".envwick.test", State: "stable"}
		b, err := yaml.Marshal(s)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	write(reconciler.StatusBranch, "Record status", nil, map[string][]byte{
		reconciler.StatusPath("alpha"): status("alpha", envs.ReasonProvisioning, metav1.ConditionFalse),
		reconciler.StatusPath("beta"):  status("beta", envs.ReasonHibernated, metav1.ConditionTrue),
	})
	write(reconciler.StatusBranch, "Record status", nil, map[string][]byte{reconciler.StatusPath("alpha"): status("alpha", envs.ReasonAvailable, metav1.ConditionTrue)})
	return path
}

func runStatus(t *testing.T, repo string, args ...string) (string, error) {
	t.Helper()
	root := newRootCmd()
	var out bytes.Buffer
	root.SetOut(&out)
	root.SetErr(&bytes.Buffer{})
	root.SetArgs(append([]string{"status", "--repo-url", repo, "--data-dir", t.TempDir()}, args...))
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	err := root.ExecuteContext(ctx)
	return out.String(), err
}

func TestStatusCommand(t *testing.T) {
	repo := statusRepo(t)
	for _, tc := range []struct {
		name string
		args []string
		want []string
		not  []string
	}{
		{"fleet", nil, []string{"NAME", "alpha", "ready", "Available", "ann", "https://alpha.envwick.test", "beta", "hibernated", "2 of 2 environments (fleet: 1 ready, 1 hibernated)"}, nil},
		{"by state", []string{"--state", "hibernated"}, []string{"beta", "1 of 2"}, []string{"alpha"}},
		{"by owner", []string{"--owner", "ann"}, []string{"alpha"}, []string{"beta  "}},
		{"one", []string{"alpha"}, []string{"State:", "ready", "Conditions:", "because Available", "Status history:", "provisioning -> ready", "(none) -> provisioning", "Create alpha and beta", "/cloud create alpha"}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out, err := runStatus(t, repo, tc.args...)
			if err != nil {
				t.Fatal(err)
			}
			for _, w := range tc.want {
				if !strings.Contains(out, w) {
					t.Errorf("output lacks %q:\n%s", w, out)
				}
			}
			for _, n := range tc.not {
				if strings.Contains(out, n) {
					t.Errorf("output has %q:\n%s", n, out)
				}
			}
		})
	}

	out, err := runStatus(t, repo, "-o", "json", "--state", "ready")
	var l dashboard.List
	if err != nil || json.Unmarshal([]byte(out), &l) != nil || len(l.Items) != 1 || l.Items[0].Name != "alpha" || l.Total != 2 {
		t.Errorf("-o json = %v %s", err, out)
	}
	out, err = runStatus(t, repo, "-o", "yaml", "beta")
	var d dashboard.Detail
	if err != nil || yaml.Unmarshal([]byte(out), &d) != nil || d.Environment == nil || d.State != dashboard.StateHibernated {
		t.Errorf("-o yaml beta = %v %s", err, out)
	}
	if _, err := runStatus(t, repo, "nope"); err == nil || !strings.Contains(err.Error(), `no environment named "nope"`) {
		t.Errorf("unknown name: %v", err)
	}
	if _, err := runStatus(t, repo, "--state", "sleepy"); err == nil {
		t.Error("an unknown state is accepted")
	}
}
