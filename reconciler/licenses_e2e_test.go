//go:build e2e

package reconciler

import (
	"bytes"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/envwick/envwick/envs"
	"github.com/envwick/envwick/envs/store"
	"github.com/envwick/envwick/reconciler/licenses"
	"github.com/envwick/envwick/reconciler/platform/provisioner"
)

// TestLicenseTextReachesTheRealProvisioner sends an environment's license
// through a pass to the real provisioner (e2e/peers/up.sh) and reads the
// installation back: it holds the text, while status and logs hold the name.
func TestLicenseTextReachesTheRealProvisioner(t *testing.T) {
	url := os.Getenv("ENVWICK_E2E_PROVISIONER_URL")
	if url == "" {
		t.Skip("ENVWICK_E2E_PROVISIONER_URL is not set: start the provisioner with e2e/peers/up.sh provisioner")
	}
	ctx := t.Context()
	text := fmt.Sprintf("ZW52d2ljay1lMmUtbGljZW5zZQ+/%d==", time.Now().UnixNano())
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "e20"), []byte(text+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	lic, err := licenses.New(licenses.Options{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	repoDir := t.TempDir()
	repo, err := store.Open(ctx, store.Options{Dir: repoDir, Committer: store.Signature{Name: "envwick", Email: "envwick@example.com"}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { repo.Close() })
	client, err := provisioner.New(provisioner.Options{URL: url, APIKey: os.Getenv("ENVWICK_E2E_PROVISIONER_API_KEY")})
	if err != nil {
		t.Fatal(err)
	}
	owner := fmt.Sprintf("envwick-e2e-license-%d", time.Now().UnixNano())
	var logs bytes.Buffer
	r, err := New(&StoreRepository{Repo: repo}, &provisioner.Platform{Client: client, Domain: "e2e.envwick.test"}, Config{
		Owner: Owner{OwnerID: owner}, Licenses: lic, Notifier: &recordingNotifier{},
		Logger: slog.New(slog.NewJSONHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
	})
	if err != nil {
		t.Fatal(err)
	}
	e := env("lic-e2e", func(e *envs.Environment) { e.Spec.Installation.License = "e20" })
	data, err := envs.Marshal(e)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := repo.Commit(ctx, store.Change{Message: "Put lic-e2e", Apply: func(tx *store.Tx) error {
		tx.Write(envs.PathFor(e.Name), data)
		return nil
	}}); err != nil {
		t.Fatal(err)
	}
	res, err := r.Pass(ctx, PassOptions{})
	if err != nil || len(res.Errors) != 0 {
		t.Fatalf("pass: %v %v", err, res.Errors)
	}
	list, err := client.ListAllInstallations(ctx, provisioner.ListOptions{OwnerID: owner})
	if err != nil || len(list) != 1 {
		t.Fatalf("installations of %s: %d, %v", owner, len(list), err)
	}
	t.Cleanup(func() { client.DeleteInstallation(t.Context(), list[0].ID) })
	got, err := client.GetInstallation(ctx, list[0].ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.License != text {
		t.Fatalf("the real provisioner holds a license of %d bytes, not the text of e20 (%d bytes)", len(got.License), len(text))
	}
	status, err := gitObjectsOf(repoDir)
	if err != nil {
		t.Fatal(err)
	}
	for where, s := range map[string]string{"git": status, "logs": logs.String()} {
		if strings.Contains(s, text) {
			t.Errorf("the license text reached %s", where)
		}
	}
}
