package fake_test

import (
	"testing"

	"github.com/envwick/envwick/reconciler/platform"
	"github.com/envwick/envwick/reconciler/platform/fake"
	"github.com/envwick/envwick/reconciler/platform/platformtest"
)

func TestConformance(t *testing.T) {
	p := &fake.Platform{PendingDeletion: true}
	platformtest.Run(t, platformtest.Target{
		Platform: p,
		OwnerID:  "envwick",
		Request: func(name string) platform.InstallationRequest {
			return platform.InstallationRequest{Name: name, OwnerID: "envwick", Size: "small", Version: "1.0"}
		},
		Settle:  p.Settle,
		ExecLog: p.ExecLog,
	})
}

func TestFailedCreatesSettleFailed(t *testing.T) {
	p := &fake.Platform{FailCreates: true}
	in, err := p.CreateInstallation(t.Context(), platform.InstallationRequest{Name: "x", OwnerID: "o"})
	if err != nil {
		t.Fatal(err)
	}
	p.Settle()
	got, err := p.GetInstallation(t.Context(), in.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.Phase != platform.PhaseFailed {
		t.Fatalf("phase %s, want Failed", got.Phase)
	}
}
