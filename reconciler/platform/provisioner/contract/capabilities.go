package contract

import (
	"errors"
	"testing"

	"github.com/envwick/envwick/reconciler/platform"
	"github.com/envwick/envwick/reconciler/platform/provisioner"
)

// licenseText: the license is a text the server stores as sent and gives
// back on every read, and a patch replaces it (what the reconciler relies
// on to send license texts and to see a renewed one).
func (s *suite) licenseText(t *testing.T) {
	ctx := t.Context()
	first := "ZW52d2ljay1jb250cmFjdC1saWNlbnNlLW9uZQ+/AAAA" + s.run + "=="
	second := "ZW52d2ljay1jb250cmFjdC1saWNlbnNlLXR3bw+/BBBB" + s.run + "=="
	req := s.request(s.name("license"), s.Owner)
	req.License = first
	in := s.mustCreate(t, req)
	if in.License != first {
		t.Errorf("create answered license %d bytes, want the %d sent", len(in.License), len(first))
	}
	s.Advance(t, in.ID, provisioner.StateStable)
	if got := s.expectState(t, in.ID, provisioner.StateStable); got.License != first {
		t.Errorf("read back license of %d bytes, want the text sent", len(got.License))
	}
	list, err := s.Client.ListInstallations(ctx, provisioner.ListOptions{Name: in.Name})
	if err != nil || len(list) != 1 || list[0].License != first {
		t.Errorf("listing gives the license back: %d installations, %v", len(list), err)
	}
	got, err := s.Client.UpdateInstallation(ctx, in.ID, provisioner.PatchInstallationRequest{License: &second})
	if err != nil {
		t.Fatal(err)
	}
	if got.State != provisioner.StateUpdateRequested || got.License != second {
		t.Errorf("after patching the license: state %s, license changed %v", got.State, got.License == second)
	}
	if got := s.expectState(t, in.ID, provisioner.StateUpdateRequested); got.License != second {
		t.Error("the patched license did not persist")
	}
}

// exec: the exec API's wire format as far as the server answers it
// without a cluster: a command other than mmctl or mattermost is a 400
// (checked before the cluster installation), an unknown cluster
// installation a 404, and an installation not yet on a cluster has no
// cluster installation to run in.
func (s *suite) exec(t *testing.T) {
	ctx := t.Context()
	unknown := "abcdefghijklmnopqrstuvwxyz"
	_, err := s.Client.ExecClusterInstallation(ctx, unknown, "bash", "-c", "true")
	expectErr(t, err, provisioner.ErrBadRequest, "exec of a command that is not permitted")
	_, err = s.Client.ExecClusterInstallation(ctx, unknown, "mmctl", "version", "--local")
	expectErr(t, err, provisioner.ErrNotFound, "exec in an unknown cluster installation")
	_, err = s.Client.ExecClusterInstallation(ctx, unknown, "mattermost", "version")
	expectErr(t, err, provisioner.ErrNotFound, "exec of mattermost in an unknown cluster installation")

	in := s.mustCreate(t, s.request(s.name("exec"), s.Owner))
	cis, err := s.Client.ListClusterInstallations(ctx, provisioner.ClusterInstallationListOptions{InstallationID: in.ID})
	if err != nil || len(cis) != 0 {
		t.Fatalf("cluster installations of an installation in creation-requested: %v, %v", cis, err)
	}
	p := &provisioner.Platform{Client: s.Client, Domain: s.Domain}
	_, err = p.Exec(ctx, in.ID, "mmctl", []string{"sampledata", "--local"})
	if !errors.Is(err, platform.ErrNotRunning) {
		t.Errorf("exec before the installation is on a cluster: %v, want ErrNotRunning", err)
	}
}
