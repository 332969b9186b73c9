package contract_test

import (
	"testing"
	"time"

	"github.com/envwick/envwick/reconciler/platform/provisioner"
	"github.com/envwick/envwick/reconciler/platform/provisioner/contract"
	"github.com/envwick/envwick/reconciler/platform/provisionersim"
)

// TestSimulator holds the simulator to the contract, set up like the real
// server under test: supervisors off, so states move only through the API
// and Advance.
func TestSimulator(t *testing.T) {
	runAgainstSim(t, "envwick-contract", provisioner.ServerRules{})
}

// TestSimulatorWithOperators covers the other side of the operator rules:
// a server that deploys the operators accepts its default database and
// filestore.
func TestSimulatorWithOperators(t *testing.T) {
	runAgainstSim(t, "envwick-contract-operators", provisioner.ServerRules{DeployMySQLOperator: true, DeployMinioOperator: true})
}

// runAgainstSim runs the contract against a simulator with these rules and
// its supervisors off.
func runAgainstSim(t *testing.T, owner string, rules provisioner.ServerRules) {
	t.Helper()
	sim, err := provisionersim.New(provisionersim.Options{DisableSupervisors: true, Rules: rules})
	if err != nil {
		t.Fatal(err)
	}
	url, err := sim.Start("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sim.Close() })
	client, err := provisioner.New(provisioner.Options{URL: url, Retry: provisioner.Retry{BaseDelay: time.Millisecond}})
	if err != nil {
		t.Fatal(err)
	}
	contract.Run(t, contract.Target{
		Client: client, Owner: owner, Rules: rules,
		Advance: func(t *testing.T, id, state string) {
			t.Helper()
			if err := sim.SetState(id, state); err != nil {
				t.Fatalf("advancing %s to %s: %v", id, state, err)
			}
		},
	})
}
