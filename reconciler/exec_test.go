package reconciler

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/envwick/envwick/envs"
	"github.com/envwick/envwick/reconciler/platform"
	"github.com/envwick/envwick/reconciler/platform/provisioner"
	"github.com/envwick/envwick/reconciler/platform/provisionersim"
)

func TestExecRunsAllowedMmctlCommands(t *testing.T) {
	h := newHarness(t, func(o *provisionersim.Options) {
		o.Exec = func(_ context.Context, _ provisioner.Installation, command string, args []string) ([]byte, error) {
			switch args[0] {
			case "post":
				return []byte(strings.Repeat("é", MaxExecOutput)), nil
			case "team":
				if args[1] == "create" {
					return []byte("Error: team name taken"), errors.New("exit 1")
				}
			}
			return []byte("ran " + command + " " + strings.Join(args, " ") + "\n"), nil
		}
	})
	r := h.reconciler()
	h.put(env("exec"), env("sleepy", func(e *envs.Environment) { e.Spec.State = envs.StateHibernated }))
	h.pass(r)
	h.settle()
	h.pass(r)
	h.settle()
	h.pass(r)
	for _, tc := range []struct {
		name    string
		req     ExecRequest
		wantErr error
		want    string
		failed  bool
		cut     bool
	}{
		{name: "user command", req: ExecRequest{Environment: "exec", Args: []string{"user", "list", "--all"}}, want: "ran mmctl user list --all --local"},
		{name: "local mode once", req: ExecRequest{Environment: "exec", Args: []string{"version", "--local"}}, want: "ran mmctl version --local"},
		{name: "admin-only for a user", req: ExecRequest{Environment: "exec", Args: []string{"config", "get", "SqlSettings.DataSource"}}, wantErr: ErrExecAdminOnly},
		{name: "admin-only for an admin", req: ExecRequest{Environment: "exec", Args: []string{"config", "get", "X"}, Admin: true}, want: "ran mmctl config get X --local"},
		{name: "not allowed", req: ExecRequest{Environment: "exec", Args: []string{"license", "get"}, Admin: true}, wantErr: ErrExecNotAllowed},
		{name: "prefix only", req: ExecRequest{Environment: "exec", Args: []string{"user"}}, wantErr: ErrExecNotAllowed},
		{name: "nothing asked", req: ExecRequest{Environment: "exec"}, wantErr: ErrExecNotAllowed},
		{name: "unknown environment", req: ExecRequest{Environment: "nope", Args: []string{"version"}}, wantErr: ErrUnknownEnvironment},
		{name: "hibernated", req: ExecRequest{Environment: "sleepy", Args: []string{"version"}}, wantErr: platform.ErrNotRunning},
		{name: "failed command", req: ExecRequest{Environment: "exec", Args: []string{"team", "create", "--name", "x"}, Admin: true}, want: "Error: team name taken", failed: true},
		{name: "long output cut", req: ExecRequest{Environment: "exec", Args: []string{"post", "list", "town-square"}}, cut: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res, err := r.Exec(h.ctx, tc.req)
			if tc.wantErr != nil {
				if !errors.Is(err, tc.wantErr) {
					t.Fatalf("err = %v, want %v", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if tc.want != "" && !strings.Contains(res.Output, tc.want) {
				t.Errorf("output = %q, want %q", res.Output, tc.want)
			}
			if res.Failed != tc.failed || res.Truncated != tc.cut {
				t.Errorf("failed, truncated = %v, %v; want %v, %v", res.Failed, res.Truncated, tc.failed, tc.cut)
			}
			if len(res.Output) > MaxExecOutput || !strings.HasPrefix(res.Command, "mmctl "+tc.req.Args[0]) {
				t.Errorf("result %q (%d bytes)", res.Command, len(res.Output))
			}
		})
	}
	if _, err := allowedMmctl([]string{"user", "search", "x\ny"}, false); err == nil {
		t.Error("an argument with a line break was accepted")
	}
}

// onlyPlatform hides a provider's optional capabilities.
type onlyPlatform struct{ platform.Platform }

func TestExecWithoutTheCapability(t *testing.T) {
	h := newHarness(t)
	r, err := New(h.storeRep, onlyPlatform{h.platform}, h.config())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := r.Exec(h.ctx, ExecRequest{Environment: "x", Args: []string{"version"}}); !errors.Is(err, ErrExecUnsupported) {
		t.Fatalf("err = %v, want ErrExecUnsupported", err)
	}
}
