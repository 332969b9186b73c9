package provisioner_test

import (
	"testing"

	"github.com/envwick/envwick/reconciler/platform"
	"github.com/envwick/envwick/reconciler/platform/platformtest"
	"github.com/envwick/envwick/reconciler/platform/provisioner"
	"github.com/envwick/envwick/reconciler/platform/provisionersim"
)

// TestPlatformConformance runs the provider suite against the provisioner
// client talking to the simulator over HTTP, the wire API the real
// provisioner speaks.
func TestPlatformConformance(t *testing.T) {
	client, sim := simSetup(t)
	platformtest.Run(t, platformtest.Target{
		Platform: &provisioner.Platform{Client: client, Domain: "conformance.test"},
		OwnerID:  "envwick",
		Request: func(name string) platform.InstallationRequest {
			return platform.InstallationRequest{
				Name: name, OwnerID: "envwick", Version: "10.5.0", Size: "miniSingleton",
				Database: provisioner.DatabasePerseus, Filestore: provisioner.FilestoreBifrost,
				Affinity: provisioner.AffinityMultiTenant,
			}
		},
		ExecLog: sim.ExecLog,
	})
}

// TestClassifyKnowsEveryState keeps the classification complete: a state
// added to the provisioner's list must be placed in a phase on purpose.
func TestClassifyKnowsEveryState(t *testing.T) {
	working := map[string]bool{
		provisioner.StateImportInProgress: true, provisioner.StateImportComplete: true,
		provisioner.StateDeletionCancellationRequested: true, provisioner.StateDBRestorationInProgress: true,
		provisioner.StateDBMigrationInProgress: true, provisioner.StateDBMigrationRollbackInProgress: true,
		provisioner.StateDNSMigrationHibernating: true,
	}
	for _, s := range provisioner.AllStates {
		got := provisioner.Classify(s)
		if got == platform.PhaseWorking && !working[s] {
			t.Errorf("state %s falls through to Working: give it a phase", s)
		}
		if got != platform.PhaseWorking && working[s] {
			t.Errorf("state %s is %s, listed here as Working", s, got)
		}
	}
}

// simClient starts a simulator with instant phases on loopback and returns
// a client of it.
func simClient(t *testing.T) *provisioner.Client {
	t.Helper()
	client, _ := simSetup(t)
	return client
}

func simSetup(t *testing.T) (*provisioner.Client, *provisionersim.Sim) {
	t.Helper()
	sim, err := provisionersim.New(provisionersim.Options{Timing: &provisionersim.Timing{}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sim.Close() })
	url, err := sim.Start("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	client, err := provisioner.New(provisioner.Options{URL: url})
	if err != nil {
		t.Fatal(err)
	}
	return client, sim
}
