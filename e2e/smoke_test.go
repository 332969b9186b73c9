//go:build e2e

package e2e

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"os/exec"
	"slices"
	"strings"
	"testing"
	"time"
)

// env returns the named variables, skipping the test when any is unset (the
// peers are not running).
func env(t *testing.T, names ...string) []string {
	t.Helper()
	values := make([]string, len(names))
	for i, n := range names {
		values[i] = os.Getenv(n)
		if values[i] == "" {
			t.Skipf("%s not set: start the peers with e2e/peers/up.sh (or run make e2e)", n)
		}
	}
	return values
}

func randomName(t *testing.T, prefix string) string {
	t.Helper()
	b := make([]byte, 5)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return prefix + hex.EncodeToString(b)
}

// call sends a JSON request and decodes a JSON answer into out (when not nil),
// failing the test unless the status is want.
func call(t *testing.T, method, url string, header http.Header, in, out any, want int) http.Header {
	t.Helper()
	var body io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			t.Fatal(err)
		}
		body = bytes.NewReader(b)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, method, url, body)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	for k, v := range header {
		req.Header[k] = v
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("%s %s: reading body: %v", method, url, err)
	}
	if resp.StatusCode != want {
		t.Fatalf("%s %s: status %d, want %d: %s", method, url, resp.StatusCode, want, data)
	}
	if out != nil {
		if err := json.Unmarshal(data, out); err != nil {
			t.Fatalf("%s %s: decoding %s: %v", method, url, data, err)
		}
	}
	return resp.Header
}

type installation struct {
	ID       string
	Name     string
	OwnerID  string
	State    string
	DNSNames []string `json:"DNSNames"`
}

// TestProvisionerAnswers creates an installation on the real provisioner, finds
// it in the listing, moves it to stable in the provisioner's database (its
// supervisors are off) and deletes it, which from stable enters the
// deletion-pending window.
func TestProvisionerAnswers(t *testing.T) {
	v := env(t, "ENVWICK_E2E_PROVISIONER_URL", "ENVWICK_E2E_PROVISIONER_DB")
	base, db := v[0], v[1]
	name := randomName(t, "smoke")
	owner := "envwick-e2e-smoke"

	var created installation
	call(t, http.MethodPost, base+"/api/installations", nil, map[string]any{
		"Name":        name,
		"OwnerID":     owner,
		"DNSNames":    []string{name + ".e2e.envwick.test"},
		"Annotations": []string{"envwick-e2e"},
	}, &created, http.StatusAccepted)
	if created.ID == "" || created.Name != name || created.State != "creation-requested" {
		t.Fatalf("created %+v, want name %s in creation-requested", created, name)
	}

	var listed []installation
	call(t, http.MethodGet, base+"/api/installations?owner="+owner+"&page=0&per_page=100", nil, nil, &listed, http.StatusOK)
	if !slices.ContainsFunc(listed, func(i installation) bool { return i.ID == created.ID }) {
		t.Fatalf("installation %s not in listing %+v", created.ID, listed)
	}

	psql := os.Getenv("ENVWICK_E2E_PSQL")
	if psql == "" {
		psql = "psql"
	}
	cmd := exec.Command(psql, "-X", "-q", "-v", "ON_ERROR_STOP=1", "-v", "id="+created.ID, "-d", db, "-f", "-")
	cmd.Stdin = strings.NewReader("UPDATE installation SET state = 'stable' WHERE id = :'id';")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("moving %s to stable: %v: %s", created.ID, err, out)
	}
	var got installation
	call(t, http.MethodGet, base+"/api/installation/"+created.ID, nil, nil, &got, http.StatusOK)
	if got.State != "stable" {
		t.Fatalf("state after SQL update = %q, want stable", got.State)
	}

	call(t, http.MethodDelete, base+"/api/installation/"+created.ID, nil, nil, nil, http.StatusAccepted)
	call(t, http.MethodGet, base+"/api/installation/"+created.ID, nil, nil, &got, http.StatusOK)
	if got.State != "deletion-pending-requested" {
		t.Fatalf("state after delete = %q, want deletion-pending-requested", got.State)
	}
}

// TestMattermostAnswers logs in as the system admin up.sh created, creates a
// team, and a bot with a personal access token that can call the API: what the
// chat bot's end-to-end test relies on.
func TestMattermostAnswers(t *testing.T) {
	v := env(t, "ENVWICK_E2E_MATTERMOST_URL", "ENVWICK_E2E_MATTERMOST_ADMIN_USER", "ENVWICK_E2E_MATTERMOST_ADMIN_PASSWORD")
	base, user, password := v[0]+"/api/v4", v[1], v[2]

	h := call(t, http.MethodPost, base+"/users/login", nil, map[string]string{"login_id": user, "password": password}, nil, http.StatusOK)
	auth := http.Header{"Authorization": {"Bearer " + h.Get("Token")}}

	var me struct{ ID, Roles string }
	call(t, http.MethodGet, base+"/users/me", auth, nil, &me, http.StatusOK)
	if !strings.Contains(me.Roles, "system_admin") {
		t.Fatalf("%s has roles %q, want system_admin", user, me.Roles)
	}

	teamName := randomName(t, "smoke")
	var team, found struct {
		ID   string `json:"id"`
		Name string `json:"name"`
	}
	call(t, http.MethodPost, base+"/teams", auth, map[string]string{"name": teamName, "display_name": teamName, "type": "O"}, &team, http.StatusCreated)
	call(t, http.MethodGet, base+"/teams/name/"+teamName, auth, nil, &found, http.StatusOK)
	if found.ID == "" || found.ID != team.ID {
		t.Fatalf("team by name = %+v, want id %s", found, team.ID)
	}

	var bot struct {
		UserID string `json:"user_id"`
	}
	call(t, http.MethodPost, base+"/bots", auth, map[string]string{"username": randomName(t, "bot"), "display_name": "smoke"}, &bot, http.StatusCreated)
	var token struct {
		Token string `json:"token"`
	}
	call(t, http.MethodPost, base+"/users/"+bot.UserID+"/tokens", auth, map[string]string{"description": "smoke"}, &token, http.StatusOK)
	var botMe struct {
		ID    string `json:"id"`
		IsBot bool   `json:"is_bot"`
	}
	call(t, http.MethodGet, base+"/users/me", http.Header{"Authorization": {"Bearer " + token.Token}}, nil, &botMe, http.StatusOK)
	if botMe.ID != bot.UserID || !botMe.IsBot {
		t.Fatalf("bot token authenticates as %+v, want bot %s", botMe, bot.UserID)
	}
}
