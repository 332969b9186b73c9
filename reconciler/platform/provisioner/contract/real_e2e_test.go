//go:build e2e

package contract_test

import (
	"fmt"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/envwick/envwick/reconciler/platform/provisioner"
	"github.com/envwick/envwick/reconciler/platform/provisioner/contract"
)

// TestRealProvisioner holds the real Mattermost Cloud provisioner (v0.92,
// started by e2e/peers/up.sh with its supervisors off) to the contract.
// Installations are moved on in its PostgreSQL database, as its
// supervisors would move them. See docs/provisioner.md for the variables.
func TestRealProvisioner(t *testing.T) {
	url, db := os.Getenv("ENVWICK_E2E_PROVISIONER_URL"), os.Getenv("ENVWICK_E2E_PROVISIONER_DB")
	if url == "" || db == "" {
		t.Skip("ENVWICK_E2E_PROVISIONER_URL and ENVWICK_E2E_PROVISIONER_DB are not set: " +
			"start the real provisioner with 'make e2e' (e2e/peers/up.sh) to run the contract against it")
	}
	psql := os.Getenv("ENVWICK_E2E_PSQL")
	if psql == "" {
		psql = "psql"
	}
	// e2e/peers/up.sh starts the provisioner with --deploy-mysql-operator
	// and --deploy-minio-operator; say "none" if yours does not.
	rules := provisioner.ServerRules{DeployMySQLOperator: true, DeployMinioOperator: true}
	if os.Getenv("ENVWICK_E2E_PROVISIONER_OPERATORS") == "none" {
		rules = provisioner.ServerRules{}
	}
	client, err := provisioner.New(provisioner.Options{URL: url, APIKey: os.Getenv("ENVWICK_E2E_PROVISIONER_API_KEY")})
	if err != nil {
		t.Fatal(err)
	}
	contract.Run(t, contract.Target{
		Client:  client,
		Owner:   fmt.Sprintf("envwick-contract-%d", time.Now().UnixNano()),
		Rules:   rules,
		Advance: func(t *testing.T, id, state string) { t.Helper(); advanceSQL(t, psql, db, id, state) },
	})
}

// advanceSQL sets an installation's state in the provisioner's database.
// Reaching "deleted" also marks the installation and its domain names
// deleted, as the provisioner's final deletion cleanup does. Values go in
// as psql variables, quoted by psql.
const advanceStatement = `
UPDATE installation SET state = :'state',
	deleteat = CASE WHEN :'state' = 'deleted' AND deleteat = 0
		THEN (extract(epoch from clock_timestamp()) * 1000)::bigint ELSE deleteat END
	WHERE id = :'id' RETURNING id;
UPDATE installationdns SET deleteat = (extract(epoch from clock_timestamp()) * 1000)::bigint
	WHERE installationid = :'id' AND :'state' = 'deleted' AND deleteat = 0;
`

func advanceSQL(t *testing.T, psql, db, id, state string) {
	t.Helper()
	cmd := exec.Command(psql, "-X", "-q", "-t", "-A", "-v", "ON_ERROR_STOP=1",
		"-v", "id="+id, "-v", "state="+state, "-d", db, "-f", "-")
	cmd.Stdin = strings.NewReader(advanceStatement)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("moving installation %s to %s in the provisioner database: %v: %s", id, state, err, out)
	}
	if !strings.Contains(string(out), id) {
		t.Fatalf("moving installation %s to %s: no such installation in the database (psql said %q)", id, state, out)
	}
}
