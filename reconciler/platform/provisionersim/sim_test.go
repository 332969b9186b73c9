package provisionersim

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/envwick/envwick/reconciler/platform/provisioner"
)

// startSim runs a simulator on loopback and returns it with a client.
func startSim(t testing.TB, opts Options) (*Sim, *provisioner.Client) {
	t.Helper()
	sim, err := New(opts)
	if err != nil {
		t.Fatal(err)
	}
	url, err := sim.Start("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := sim.Close(); err != nil {
			t.Error(err)
		}
	})
	c, err := provisioner.New(provisioner.Options{URL: url, APIKey: opts.APIKey,
		Retry: provisioner.Retry{BaseDelay: time.Millisecond, MaxDelay: 10 * time.Millisecond, MaxRetryAfter: 10 * time.Millisecond}})
	if err != nil {
		t.Fatal(err)
	}
	return sim, c
}

func request(name string) provisioner.CreateInstallationRequest {
	return provisioner.CreateInstallationRequest{
		Name: name, OwnerID: "owner-1", DNSNames: []string{name + ".test.envwick.dev"},
		Database: provisioner.DatabaseMultiTenantRDSPostgres, Filestore: provisioner.FilestoreBifrost,
		Size: "miniSingleton", Annotations: []string{"envwick"},
		MattermostEnv: provisioner.EnvFromStrings(map[string]string{"MM_SERVICESETTINGS_ENABLEDEVELOPER": "true"}),
	}
}

func mustState(t *testing.T, c *provisioner.Client, id, want string) *provisioner.Installation {
	t.Helper()
	in, err := c.GetInstallation(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	if in.State != want {
		t.Fatalf("installation %s is %s, want %s", id, in.State, want)
	}
	return in
}

var testTiming = &Timing{
	Creation: 4 * time.Minute, Update: 2 * time.Minute, Hibernation: 2 * time.Minute,
	WakeUp: 2 * time.Minute, DeletionPendingPrep: 2 * time.Minute, Deletion: 3 * time.Minute,
}

func TestLifecycle(t *testing.T) {
	ctx := context.Background()
	sim, c := startSim(t, Options{Timing: testTiming, DeletionPendingTime: time.Hour})

	in, err := c.CreateInstallation(ctx, request("lifecycle"))
	if err != nil {
		t.Fatal(err)
	}
	if in.State != provisioner.StateCreationRequested || in.Size != "miniSingleton" || in.Version != "stable" ||
		in.URL != "https://lifecycle.test.envwick.dev" || in.Group() != "" || len(in.DNSRecords) != 1 ||
		in.AnnotationNames()[0] != "envwick" {
		t.Fatalf("created %+v", in)
	}
	// Each step of a phase takes its share of the phase's time.
	for _, want := range []string{provisioner.StateCreationPreProvisioning, provisioner.StateCreationInProgress,
		provisioner.StateCreationFinalTasks, provisioner.StateStable} {
		sim.Advance(time.Minute)
		mustState(t, c, in.ID, want)
	}

	if _, err := c.UpdateInstallation(ctx, in.ID, provisioner.PatchInstallationRequest{Version: ptr("10.5.0")}); err != nil {
		t.Fatal(err)
	}
	mustState(t, c, in.ID, provisioner.StateUpdateRequested)
	sim.Advance(2 * time.Minute)
	if got := mustState(t, c, in.ID, provisioner.StateStable); got.Version != "10.5.0" {
		t.Errorf("version %s", got.Version)
	}
	// A patch that changes nothing leaves the state alone.
	if got, err := c.UpdateInstallation(ctx, in.ID, provisioner.PatchInstallationRequest{Version: ptr("10.5.0")}); err != nil || got.State != provisioner.StateStable {
		t.Fatalf("no-op patch: %v %v", got, err)
	}

	if _, err := c.HibernateInstallation(ctx, in.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := c.HibernateInstallation(ctx, in.ID); !errors.Is(err, provisioner.ErrInvalidTransition) {
		t.Fatalf("second hibernate: %v", err)
	}
	sim.Advance(2 * time.Minute)
	mustState(t, c, in.ID, provisioner.StateHibernating)
	if _, err := c.UpdateInstallation(ctx, in.ID, provisioner.PatchInstallationRequest{Version: ptr("10.6.0")}); !errors.Is(err, provisioner.ErrInvalidTransition) {
		t.Fatalf("update while hibernating: %v", err)
	}
	if _, err := c.WakeUpInstallation(ctx, in.ID, &provisioner.PatchInstallationRequest{Version: ptr("10.6.0")}); err != nil {
		t.Fatal(err)
	}
	sim.Advance(time.Minute)
	mustState(t, c, in.ID, provisioner.StateUpdateInProgress)
	sim.Advance(time.Minute)
	if got := mustState(t, c, in.ID, provisioner.StateStable); got.Version != "10.6.0" {
		t.Errorf("wake-up patch not applied: %s", got.Version)
	}

	// Deletion waits in deletion-pending, where it can be cancelled.
	if err := c.DeleteInstallation(ctx, in.ID); err != nil {
		t.Fatal(err)
	}
	got := mustState(t, c, in.ID, provisioner.StateDeletionPendingRequested)
	if want := provisioner.Millis(sim.Now().Add(time.Hour)); got.DeletionPendingExpiry > want || got.DeletionPendingExpiry < want-5000 {
		t.Errorf("DeletionPendingExpiry %d, want about %d", got.DeletionPendingExpiry, want)
	}
	sim.Advance(2 * time.Minute)
	mustState(t, c, in.ID, provisioner.StateDeletionPending)
	if err := c.CancelInstallationDeletion(ctx, in.ID); err != nil {
		t.Fatal(err)
	}
	mustState(t, c, in.ID, provisioner.StateDeletionCancellationRequested)
	sim.Advance(2 * time.Minute)
	mustState(t, c, in.ID, provisioner.StateStable)

	// The name is in use while the installation lives, and reserved after.
	if _, err := c.CreateInstallation(ctx, request("lifecycle")); !errors.Is(err, provisioner.ErrNameInUse) {
		t.Fatalf("duplicate name: %v", err)
	}
	if err := c.DeleteInstallation(ctx, in.ID); err != nil {
		t.Fatal(err)
	}
	sim.Advance(2*time.Minute + time.Hour + 3*time.Minute)
	got = mustState(t, c, in.ID, provisioner.StateDeleted)
	if got.DeleteAt == 0 || got.DNSRecords[0].DeleteAt == 0 {
		t.Errorf("deleted installation not marked: %+v", got)
	}
	if _, err := c.GetInstallationByName(ctx, "lifecycle"); !errors.Is(err, provisioner.ErrNotFound) {
		t.Errorf("deleted installation still found by name: %v", err)
	}
	if _, err := c.CreateInstallation(ctx, request("lifecycle")); !errors.Is(err, provisioner.ErrNameInUse) {
		t.Fatalf("reserved name: %v", err)
	}
	sim.Advance(24 * time.Hour)
	again, err := c.CreateInstallation(ctx, request("lifecycle"))
	if err != nil {
		t.Fatalf("name after the reservation window: %v", err)
	}
	all, err := c.ListAllInstallations(ctx, provisioner.ListOptions{Name: "lifecycle", IncludeDeleted: true})
	if err != nil || len(all) != 2 || all[0].ID != in.ID || all[1].ID != again.ID {
		t.Errorf("listing with deleted: %v %v", all, err)
	}
}

func ptr[T any](v T) *T { return &v }

func TestDeleteDuringCreationSkipsPending(t *testing.T) {
	sim, c := startSim(t, Options{Timing: testTiming})
	in, err := c.CreateInstallation(context.Background(), request("early"))
	if err != nil {
		t.Fatal(err)
	}
	if err := c.DeleteInstallation(context.Background(), in.ID); err != nil {
		t.Fatal(err)
	}
	mustState(t, c, in.ID, provisioner.StateDeletionRequested)
	sim.Advance(3 * time.Minute)
	mustState(t, c, in.ID, provisioner.StateDeleted)
	if err := c.DeleteInstallation(context.Background(), in.ID); !errors.Is(err, provisioner.ErrInvalidTransition) {
		t.Errorf("deleting a deleted installation: %v", err)
	}
}

func TestScheduledDeletion(t *testing.T) {
	ctx := context.Background()
	sim, c := startSim(t, Options{Timing: &Timing{}, DeletionPendingTime: time.Hour})
	in, _ := c.CreateInstallation(ctx, request("scheduled"))
	sim.Advance(0)
	mustState(t, c, in.ID, provisioner.StateStable)
	if _, err := c.ScheduleInstallationDeletion(ctx, in.ID, sim.Now().Add(-time.Minute)); !errors.Is(err, provisioner.ErrBadRequest) {
		t.Errorf("schedule in the past: %v", err)
	}
	if _, err := c.ScheduleInstallationDeletion(ctx, in.ID, sim.Now().Add(10*time.Minute)); err != nil {
		t.Fatal(err)
	}
	sim.Advance(10 * time.Minute)
	mustState(t, c, in.ID, provisioner.StateDeletionPending)
	sim.Advance(time.Hour)
	mustState(t, c, in.ID, provisioner.StateDeleted)
}

func TestDisableSupervisorsFreezesStates(t *testing.T) {
	sim, c := startSim(t, Options{DisableSupervisors: true, Timing: &Timing{}})
	in, _ := c.CreateInstallation(context.Background(), request("frozen"))
	sim.Advance(48 * time.Hour)
	mustState(t, c, in.ID, provisioner.StateCreationRequested)
	if err := sim.SetState(in.ID, provisioner.StateStable); err != nil {
		t.Fatal(err)
	}
	mustState(t, c, in.ID, provisioner.StateStable)
	if err := sim.SetState(in.ID, "sideways"); err == nil {
		t.Error("unknown state accepted")
	}
}

func TestBadInput(t *testing.T) {
	_, c := startSim(t, Options{})
	ctx := context.Background()
	tests := map[string]func(r *provisioner.CreateInstallationRequest){
		"size":             func(r *provisioner.CreateInstallationRequest) { r.Size = "enormous" },
		"annotation":       func(r *provisioner.CreateInstallationRequest) { r.Annotations = []string{"Not_Lower"} },
		"database":         func(r *provisioner.CreateInstallationRequest) { r.Database = "sqlite" },
		"filestore":        func(r *provisioner.CreateInstallationRequest) { r.Filestore = "floppy" },
		"minio operator":   func(r *provisioner.CreateInstallationRequest) { r.Filestore = "" },
		"mysql operator":   func(r *provisioner.CreateInstallationRequest) { r.Database = "" },
		"no owner":         func(r *provisioner.CreateInstallationRequest) { r.OwnerID = "" },
		"dns mismatch":     func(r *provisioner.CreateInstallationRequest) { r.DNSNames = []string{"other.test.envwick.dev"} },
		"group selection":  func(r *provisioner.CreateInstallationRequest) { r.GroupSelectionAnnotations = []string{"abc"} },
		"empty env value":  func(r *provisioner.CreateInstallationRequest) { r.MattermostEnv = provisioner.EnvVarMap{"A": {}} },
		"space in license": func(r *provisioner.CreateInstallationRequest) { r.License = "e 20" },
	}
	for name, mod := range tests {
		t.Run(name, func(t *testing.T) {
			r := request("badinput")
			mod(&r)
			_, err := c.CreateInstallation(ctx, r)
			if !errors.Is(err, provisioner.ErrBadRequest) {
				t.Fatalf("want 400, got %v", err)
			}
		})
	}
	r := request("badinput")
	r.GroupID = "abcdefghijklmnopqrstuvwxyz"
	if _, err := c.CreateInstallation(ctx, r); !errors.Is(err, provisioner.ErrNotFound) {
		t.Errorf("unknown group: %v", err)
	}
}

func TestAnnotationsAndLocks(t *testing.T) {
	ctx := context.Background()
	sim, c := startSim(t, Options{Timing: &Timing{}})
	in, _ := c.CreateInstallation(ctx, request("locks"))
	sim.Advance(0)
	got, err := c.AddInstallationAnnotations(ctx, in.ID, "team-a", "qa-team")
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(got.AnnotationNames(), ",") != "envwick,team-a,qa-team" {
		t.Fatalf("annotations %v, %v", got.AnnotationNames(), err)
	}
	if _, err := c.AddInstallationAnnotations(ctx, in.ID, "qa-team"); !errors.Is(err, provisioner.ErrServer) {
		t.Errorf("duplicate annotation: %v", err)
	}
	if _, err := c.AddInstallationAnnotations(ctx, in.ID, "Q A"); !errors.Is(err, provisioner.ErrBadRequest) {
		t.Errorf("bad annotation: %v", err)
	}
	for range 2 { // removing is idempotent
		if err := c.DeleteInstallationAnnotation(ctx, in.ID, "qa-team"); err != nil {
			t.Fatal(err)
		}
	}
	if got := mustState(t, c, in.ID, provisioner.StateStable); strings.Join(got.AnnotationNames(), ",") != "envwick,team-a" {
		t.Errorf("after removal: %v", got.AnnotationNames())
	}

	if err := c.SetInstallationLock(ctx, in.ID, provisioner.LockAPI); err != nil {
		t.Fatal(err)
	}
	if _, err := c.HibernateInstallation(ctx, in.ID); !errors.Is(err, provisioner.ErrForbidden) {
		t.Errorf("hibernate API-locked: %v", err)
	}
	if _, err := c.AddInstallationAnnotations(ctx, in.ID, "more"); !errors.Is(err, provisioner.ErrForbidden) {
		t.Errorf("annotate API-locked: %v", err)
	}
	if err := c.SetInstallationLock(ctx, in.ID, provisioner.UnlockAPI); err != nil {
		t.Fatal(err)
	}
	if err := c.SetInstallationLock(ctx, in.ID, provisioner.LockDeletion); err != nil {
		t.Fatal(err)
	}
	if err := c.DeleteInstallation(ctx, in.ID); !errors.Is(err, provisioner.ErrForbidden) {
		t.Errorf("delete deletion-locked: %v", err)
	}
	locked := true
	list, err := c.ListInstallations(ctx, provisioner.ListOptions{DeletionLocked: &locked})
	if err != nil || len(list) != 1 {
		t.Errorf("deletion_locked filter: %v %v", list, err)
	}
}

func TestWebhooksOnEveryStateChange(t *testing.T) {
	ctx := context.Background()
	var mu sync.Mutex
	var got []provisioner.WebhookPayload
	var headers []string
	receiver := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var p provisioner.WebhookPayload
		if err := json.NewDecoder(r.Body).Decode(&p); err != nil {
			t.Error(err)
		}
		mu.Lock()
		got = append(got, p)
		headers = append(headers, r.Header.Get("X-Token")+"|"+r.Header.Get("X-From-Env"))
		mu.Unlock()
	}))
	t.Cleanup(receiver.Close)
	t.Setenv("ENVWICK_TEST_WEBHOOK_SECRET", "from-env")

	sim, c := startSim(t, Options{Timing: testTiming, Environment: "test"})
	hook, err := c.CreateWebhook(ctx, provisioner.CreateWebhookRequest{OwnerID: "envwick", URL: receiver.URL,
		Headers: []provisioner.WebhookHeader{{Key: "X-Token", Value: ptr("t0k")}, {Key: "X-From-Env", ValueFromEnv: ptr("ENVWICK_TEST_WEBHOOK_SECRET")}}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.CreateWebhook(ctx, provisioner.CreateWebhookRequest{OwnerID: "envwick", URL: "ftp://x"}); !errors.Is(err, provisioner.ErrBadRequest) {
		t.Errorf("ftp webhook: %v", err)
	}
	in, _ := c.CreateInstallation(ctx, request("hooked"))
	sim.Advance(4 * time.Minute)

	want := []string{"n/a>creation-requested", "creation-requested>creation-pre-provisioning",
		"creation-pre-provisioning>creation-in-progress", "creation-in-progress>creation-final-tasks",
		"creation-final-tasks>stable"}
	deadline := time.Now().Add(10 * time.Second)
	for {
		mu.Lock()
		n := len(got)
		mu.Unlock()
		if n >= len(want) || time.Now().After(deadline) {
			break
		}
		time.Sleep(5 * time.Millisecond)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(got) != len(want) {
		t.Fatalf("got %d webhooks, want %d: %+v", len(got), len(want), got)
	}
	for i, p := range got {
		if p.OldState+">"+p.NewState != want[i] || p.ID != in.ID || p.Type != "installation" || p.EventID == "" ||
			p.ExtraData["Name"] != "hooked" || p.ExtraData["Environment"] != "test" {
			t.Errorf("webhook %d: %+v", i, p)
		}
		if p.Timestamp < time.Now().Add(-time.Hour).UnixNano() { // nanoseconds, like the provisioner
			t.Errorf("timestamp %d is not in nanoseconds", p.Timestamp)
		}
		if headers[i] != "t0k|from-env" {
			t.Errorf("headers %q", headers[i])
		}
	}
	hooks, err := c.ListWebhooks(ctx, "envwick", false)
	if err != nil || len(hooks) != 1 || hooks[0].ID != hook.ID {
		t.Errorf("webhooks %v %v", hooks, err)
	}
	if err := c.DeleteWebhook(ctx, hook.ID); err != nil {
		t.Fatal(err)
	}
	if err := c.DeleteWebhook(ctx, hook.ID); !errors.Is(err, provisioner.ErrBadRequest) {
		t.Errorf("second delete: %v", err)
	}
}

func TestFaults(t *testing.T) {
	ctx := context.Background()
	sim, c := startSim(t, Options{Timing: &Timing{}})

	sim.SetFaults(Faults{ErrorRate: 1})
	if _, err := c.GetInstallationsStatus(ctx); !errors.Is(err, provisioner.ErrServer) {
		t.Errorf("error rate 1: %v", err)
	}
	sim.SetFaults(Faults{Outages: []Outage{{Start: sim.Now().Add(-time.Minute), End: sim.Now().Add(time.Hour)}}})
	_, err := c.GetInstallationsStatus(ctx)
	var apiErr *provisioner.APIError
	if !errors.As(err, &apiErr) || apiErr.StatusCode != 503 || apiErr.RetryAfter < 59*time.Minute {
		t.Errorf("outage: %v (%+v)", err, apiErr)
	}
	sim.Advance(2 * time.Hour) // the outage is over
	if _, err := c.GetInstallationsStatus(ctx); err != nil {
		t.Errorf("after the outage: %v", err)
	}

	sim.SetFaults(Faults{CreationFailureRate: 1})
	in, err := c.CreateInstallation(ctx, request("doomed"))
	if err != nil {
		t.Fatal(err)
	}
	sim.Advance(0)
	mustState(t, c, in.ID, provisioner.StateCreationFailed)
	sim.SetFaults(Faults{})
	if _, err := c.RetryCreateInstallation(ctx, in.ID); err != nil {
		t.Fatal(err)
	}
	sim.Advance(0)
	mustState(t, c, in.ID, provisioner.StateStable)

	// The admin route sets faults at runtime.
	req, _ := http.NewRequest(http.MethodPut, sim.URL()+"/_sim/faults", strings.NewReader(`{"errorRate":1,"errorStatus":500,"latency":"1ms"}`))
	resp, err := http.DefaultClient.Do(req)
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("PUT /_sim/faults: %v %v", resp, err)
	}
	resp.Body.Close()
	if f := sim.Faults(); f.ErrorStatus != 500 || f.Latency != Duration(time.Millisecond) {
		t.Errorf("faults %+v", f)
	}
	if _, err := c.GetInstallation(ctx, in.ID); provisioner.StatusCode(err) != 500 {
		t.Errorf("injected 500: %v", err)
	}
}

func TestStateSurvivesRestart(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	opts := Options{DataDir: dir, Timing: testTiming, FlushInterval: time.Hour}
	sim, err := New(opts)
	if err != nil {
		t.Fatal(err)
	}
	url, _ := sim.Start("127.0.0.1:0")
	c, _ := provisioner.New(provisioner.Options{URL: url})
	in, err := c.CreateInstallation(ctx, request("durable"))
	if err != nil {
		t.Fatal(err)
	}
	sim.Advance(2 * time.Minute)
	hook, err := c.CreateWebhook(ctx, provisioner.CreateWebhookRequest{OwnerID: "o", URL: "http://127.0.0.1:1/hook"})
	if err != nil {
		t.Fatal(err)
	}
	if err := sim.Close(); err != nil {
		t.Fatal(err)
	}

	sim2, c2 := startSim(t, opts)
	got := mustState(t, c2, in.ID, provisioner.StateCreationInProgress)
	if got.Name != "durable" || got.MattermostEnv["MM_SERVICESETTINGS_ENABLEDEVELOPER"].Value != "true" {
		t.Errorf("restored %+v", got)
	}
	if _, err := c2.GetWebhook(ctx, hook.ID); err != nil {
		t.Errorf("webhook lost: %v", err)
	}
	// Progression resumes, and the name is still taken.
	sim2.Advance(4 * time.Minute)
	mustState(t, c2, in.ID, provisioner.StateStable)
	if _, err := c2.CreateInstallation(ctx, request("durable")); !errors.Is(err, provisioner.ErrNameInUse) {
		t.Errorf("name after restart: %v", err)
	}
}

func TestExecAndInstallationURL(t *testing.T) {
	ctx := context.Background()
	sim, c := startSim(t, Options{Timing: testTiming, InstallationURL: "http://127.0.0.1:8065",
		Exec: func(ctx context.Context, in provisioner.Installation, command string, args []string) ([]byte, error) {
			if len(args) > 0 && args[0] == "fail" {
				return []byte("boom"), errors.New("exit 1")
			}
			return []byte(fmt.Sprintf("%s ran %s %v", in.Name, command, args)), nil
		}})
	in, _ := c.CreateInstallation(ctx, request("execme"))
	if in.SiteURL() != "http://127.0.0.1:8065" {
		t.Errorf("URL %s", in.SiteURL())
	}
	if _, err := c.ExecInstallation(ctx, in.ID, "mmctl", "version"); !errors.Is(err, provisioner.ErrNoClusterInstallation) {
		t.Errorf("exec before creation: %v", err)
	}
	sim.Advance(4 * time.Minute)
	out, err := c.ExecInstallation(ctx, in.ID, "mmctl", "sampledata", "--users", "10")
	if err != nil || string(out) != "execme ran mmctl [sampledata --users 10]" {
		t.Fatalf("exec: %q %v", out, err)
	}
	out, err = c.ExecInstallation(ctx, in.ID, "mmctl", "fail")
	if !errors.Is(err, provisioner.ErrConflict) || string(out) != "boom" {
		t.Errorf("failing exec: %q %v", out, err)
	}
	if _, err := c.ExecInstallation(ctx, in.ID, "bash"); !errors.Is(err, provisioner.ErrBadRequest) {
		t.Errorf("bash: %v", err)
	}
	if log := sim.ExecLog(in.ID); len(log) != 2 || log[0][1] != "sampledata" {
		t.Errorf("exec log %v", log)
	}
}

func TestAPIKeyRequired(t *testing.T) {
	sim, c := startSim(t, Options{APIKey: "s3cret"})
	if _, err := c.GetInstallationsStatus(context.Background()); err != nil {
		t.Fatal(err)
	}
	anon, _ := provisioner.New(provisioner.Options{URL: sim.URL()})
	if _, err := anon.GetInstallationsStatus(context.Background()); !errors.Is(err, provisioner.ErrUnauthorized) {
		t.Errorf("without key: %v", err)
	}
}

func TestRoutesLikeTheProvisioner(t *testing.T) {
	sim, _ := startSim(t, Options{})
	for _, tt := range []struct {
		method, path string
		status       int
	}{
		{"GET", "/api/installation/short", 404},
		{"GET", "/api/installation/abcdefghijklmnopqrstuvwxyz", 404},
		{"GET", "/api/installations?per_page=x", 400},
		{"GET", "/api/installations?include_deleted=maybe", 400},
		{"GET", "/api/installations", 200},
		{"GET", "/api/installations/count", 200},
		{"GET", "/_sim/healthz", 200},
	} {
		req, _ := http.NewRequest(tt.method, sim.URL()+tt.path, nil)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != tt.status {
			t.Errorf("%s %s: %d, want %d", tt.method, tt.path, resp.StatusCode, tt.status)
		}
	}
}

func TestCloseDoesNotWaitForSlowWebhooks(t *testing.T) {
	release := make(chan struct{})
	receiver := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select { // never answers while the simulator closes
		case <-release:
		case <-r.Context().Done():
		}
	}))
	defer func() {
		close(release)
		receiver.Close()
	}()
	sim, err := New(Options{Timing: &Timing{}})
	if err != nil {
		t.Fatal(err)
	}
	url, _ := sim.Start("127.0.0.1:0")
	c, _ := provisioner.New(provisioner.Options{URL: url})
	if _, err := c.CreateWebhook(context.Background(), provisioner.CreateWebhookRequest{OwnerID: "o", URL: receiver.URL}); err != nil {
		t.Fatal(err)
	}
	for i := range 3 { // several events queue up behind the hanging one
		if _, err := c.CreateInstallation(context.Background(), request(fmt.Sprintf("slow%d", i))); err != nil {
			t.Fatal(err)
		}
	}
	closed := make(chan error)
	go func() { closed <- sim.Close() }()
	select {
	case err := <-closed:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(4 * time.Second): // one delivery alone may take 5s
		t.Fatal("Close waits for webhook deliveries")
	}
}
