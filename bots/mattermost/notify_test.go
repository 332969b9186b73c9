package mattermost

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/mattermost/mattermost/server/public/model"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/envwick/envwick/envs"
	"github.com/envwick/envwick/reconciler"
	"github.com/envwick/envwick/reconciler/usage"
)

func timePtr(t time.Time) *metav1.Time { return &metav1.Time{Time: t} }

// transition builds a transition for an environment as the reconciler
// sends it: spec from the repository, status as recorded.
func (w *world) transition(kind reconciler.TransitionKind, name string, st envs.EnvironmentStatus) reconciler.Transition {
	var e *envs.Environment
	if cur := w.env(name); cur != nil {
		e = cur.DeepCopy()
		e.Status = st
	}
	return reconciler.Transition{Kind: kind, Name: name, Environment: e, At: testNow}
}

// notify sends a transition and waits until it is delivered.
func (w *world) notify(t reconciler.Transition) []*model.Post {
	w.t.Helper()
	w.bot.Notify(context.Background(), t)
	w.bot.Close()
	return w.mm.dms(w.botID, w.alice)
}

var credRE = regexp.MustCompile("- (system admin|user): `([^`]+)` / `([^`]+)`")

func TestReadyDirectMessageCarriesWorkingCredentials(t *testing.T) {
	w := newWorld(t, nil)
	install := newFakeMM(t) // the new installation: no accounts yet
	kept, err := usage.OpenCredentials(filepath.Join(t.TempDir(), "credentials.json"))
	if err != nil {
		t.Fatal(err)
	}
	w.bot.creds = kept
	w.run(w.alice, "create app")
	posts := w.notify(w.transition(reconciler.TransitionReady, "app",
		envs.EnvironmentStatus{Installation: &envs.InstallationStatus{ID: "inst-app", URL: install.URL()}}))
	if len(posts) != 1 {
		t.Fatalf("%d direct messages, want 1", len(posts))
	}
	msg := posts[0].Message
	contains(t, msg, "**app** is ready", install.URL())
	creds := credRE.FindAllStringSubmatch(msg, -1)
	if len(creds) != 2 || creds[0][1] != "system admin" || creds[1][1] != "user" {
		t.Fatalf("credentials in %q", msg)
	}
	for _, c := range creds {
		if !install.canLogin(c[2], c[3]) {
			t.Errorf("%s %s cannot log in", c[1], c[2])
		}
		if len(c[3]) < 20 {
			t.Errorf("password of %s is short", c[2])
		}
		if got := install.isAdmin(c[2]); got != (c[1] == "system admin") {
			t.Errorf("%s admin = %v", c[2], got)
		}
	}
	// The admin account is kept for the usage source, for this installation.
	if got, ok := kept.Get("app"); !ok || got.Username != creds[0][2] || got.Password != creds[0][3] ||
		got.InstallationID != "inst-app" || got.URL != install.URL() {
		t.Errorf("kept credential %v, %v: want the admin of inst-app", got, ok)
	}
	// Credentials stay out of git.
	for _, c := range creds {
		if strings.Contains(w.lastCommit().Message, c[3]) || strings.Contains(string(mustRead(t, w, "app")), c[3]) {
			t.Error("a password reached the envs repository")
		}
	}
}

func mustRead(t *testing.T, w *world, name string) []byte {
	t.Helper()
	data, err := envs.Marshal(w.env(name))
	if err != nil {
		t.Fatal(err)
	}
	return data
}

func TestReadyWithoutReachableInstallation(t *testing.T) {
	w := newWorld(t, nil)
	w.run(w.alice, "create app")
	posts := w.notify(w.transition(reconciler.TransitionReady, "app",
		envs.EnvironmentStatus{Installation: &envs.InstallationStatus{URL: "http://127.0.0.1:1"}}))
	if len(posts) != 1 {
		t.Fatalf("%d direct messages", len(posts))
	}
	contains(t, posts[0].Message, "is ready: http://127.0.0.1:1", "could not create accounts")
}

func TestTransitionMessages(t *testing.T) {
	tests := []struct {
		kind reconciler.TransitionKind
		msg  string
		want string
	}{
		{reconciler.TransitionUpdated, "", "The update of **app** is done. https://app.test"},
		{reconciler.TransitionFailed, "installation creation failed", ":warning: **app** failed: installation creation failed"},
		{reconciler.TransitionHibernated, "", "**app** is hibernated. `/cloud wake-up app`"},
		{reconciler.TransitionWokeUp, "", "**app** is awake again. https://app.test"},
	}
	w := newWorld(t, nil)
	w.run(w.alice, "create app")
	for i, tt := range tests {
		tr := w.transition(tt.kind, "app", envs.EnvironmentStatus{Installation: &envs.InstallationStatus{URL: "https://app.test"}})
		tr.Message = tt.msg
		posts := w.notify(tr)
		if len(posts) != i+1 {
			t.Fatalf("%s: %d messages", tt.kind, len(posts))
		}
		contains(t, posts[i].Message, tt.want)
	}
}

func TestDeletedNoticeReachesTheOwnerWithoutSpec(t *testing.T) {
	w := newWorld(t, nil)
	w.run(w.alice, "create app")
	w.run(w.alice, "delete app")
	// As the reconciler sends it: the file is gone, only the status is left.
	posts := w.notify(reconciler.Transition{Kind: reconciler.TransitionDeleted, Name: "app",
		Environment: &envs.Environment{ObjectMeta: metav1.ObjectMeta{Name: "app"}}})
	if len(posts) != 1 || !strings.Contains(posts[0].Message, "**app** is deleted") {
		t.Fatalf("posts %+v", posts)
	}
}

// clickButton posts a button callback the way the Mattermost server does.
func (w *world) clickButton(userID string, ctx map[string]any) (int, string) {
	code, r := w.clickButtonFull(userID, ctx)
	return code, r.EphemeralText
}

func (w *world) clickButtonFull(userID string, ctx map[string]any) (int, model.PostActionIntegrationResponse) {
	w.t.Helper()
	body, _ := json.Marshal(model.PostActionIntegrationRequest{UserId: userID, ChannelId: "dm", PostId: "p1", Context: ctx})
	resp, err := http.Post(w.srv.URL+ActionsPath, "application/json", bytes.NewReader(body))
	if err != nil {
		w.t.Fatal(err)
	}
	defer resp.Body.Close()
	var r model.PostActionIntegrationResponse
	_ = json.NewDecoder(resp.Body).Decode(&r)
	return resp.StatusCode, r
}

func TestExpiryNoticeButtons(t *testing.T) {
	w := newWorld(t, nil)
	w.run(w.alice, "create app")
	tr := w.transition(reconciler.TransitionExpiring, "app", envs.EnvironmentStatus{})
	tr.Deadline = testNow.Add(20 * time.Hour)
	tr.Message = "hibernated for 14d without activity"
	posts := w.notify(tr)
	if len(posts) != 1 {
		t.Fatalf("%d messages", len(posts))
	}
	contains(t, posts[0].Message, "will be deleted at", "hibernated for 14d")
	atts := posts[0].Attachments()
	if len(atts) != 1 || len(atts[0].Actions) != 3 {
		t.Fatalf("attachments %+v", atts)
	}
	buttons := map[string]map[string]any{}
	for _, a := range atts[0].Actions {
		if a.Integration == nil || a.Integration.URL != "http://envwick.test"+ActionsPath {
			t.Fatalf("button %s integration %+v", a.Id, a.Integration)
		}
		buttons[a.Id] = a.Integration.Context
	}
	start := w.head()

	// Refused: tampered context, someone else clicking, a context signed
	// for another action.
	tampered := clone(buttons["keep"])
	tampered[ctxEnv] = "other"
	swapped := clone(buttons["delete"])
	swapped[ctxSig] = buttons["keep"][ctxSig]
	for _, c := range []struct {
		user string
		ctx  map[string]any
	}{{w.alice, tampered}, {w.carol, buttons["keep"]}, {w.alice, swapped}, {w.alice, map[string]any{}}} {
		if code, _ := w.clickButton(c.user, c.ctx); code != http.StatusForbidden {
			t.Errorf("HTTP %d, want 403", code)
		}
	}
	if w.head() != start {
		t.Fatal("a refused click committed")
	}

	code, full := w.clickButtonFull(w.alice, buttons["keep"])
	if code != 200 || !strings.Contains(full.EphemeralText, "protected from housekeeping") {
		t.Fatalf("keep: HTTP %d %q", code, full.EphemeralText)
	}
	// The notice loses its buttons and says what was done.
	if u := full.Update; u == nil || !strings.Contains(u.Message, "**app** will be deleted at") ||
		!strings.Contains(u.Message, "protected from housekeeping") || len(u.Attachments()) != 0 {
		t.Fatalf("update %+v", full.Update)
	}
	if !w.env("app").Spec.Lifecycle.Keep {
		t.Fatal("keep not committed")
	}
	c := w.lastCommit()
	contains(t, c.Message, "Requested-by: alice", "Command: /cloud keep app")
	// A second click on the same button does nothing more.
	after := w.head()
	if code, reply := w.clickButton(w.alice, buttons["keep"]); code != 200 || !strings.Contains(reply, "already done") {
		t.Fatalf("second click: HTTP %d %q", code, reply)
	}
	if w.head() != after {
		t.Fatal("second click committed")
	}
	code, reply := w.clickButton(w.alice, buttons["delete"])
	if code != 200 || !strings.Contains(reply, "Deleting **app**") || w.env("app") != nil {
		t.Fatalf("delete: HTTP %d %q", code, reply)
	}
	// After the deadline the buttons do nothing.
	w.bot.now = func() time.Time { return testNow.Add(21 * time.Hour) }
	if code, r := w.clickButtonFull(w.alice, buttons["extend"]); code != 200 || !strings.Contains(r.EphemeralText, "expired") || r.Update != nil {
		t.Fatalf("late click: HTTP %d %+v", code, r)
	}
}

func clone(m map[string]any) map[string]any {
	out := map[string]any{}
	for k, v := range m {
		out[k] = v
	}
	return out
}

func TestExpiryNoticeWording(t *testing.T) {
	for _, c := range []struct {
		name    string
		what    reconciler.HousekeepingAction
		buttons bool
		want    []string
	}{
		{"deletion with buttons", reconciler.HousekeepDelete, true, []string{"**app** will be deleted at", "hibernated for 14d"}},
		{"hibernation with buttons", reconciler.HousekeepHibernate, true, []string{"**app** will be hibernated at", "no activity for 7d"}},
		{"deletion without buttons", reconciler.HousekeepDelete, false, []string{"will be deleted at", "`/cloud extend app 3d` or `/cloud keep app` keeps it longer"}},
		{"hibernation without buttons", reconciler.HousekeepHibernate, false, []string{"will be hibernated at", "counts as use and keeps it running", "`/cloud keep app`"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			w := newWorld(t, func(cfg *Config) {
				if !c.buttons {
					cfg.PublicURL = ""
				}
			})
			w.run(w.alice, "create app")
			tr := w.transition(reconciler.TransitionExpiring, "app", envs.EnvironmentStatus{})
			tr.Deadline, tr.DeadlineAction = testNow.Add(20*time.Hour), c.what
			tr.Message = map[reconciler.HousekeepingAction]string{
				reconciler.HousekeepDelete:    "hibernated for 14d without activity",
				reconciler.HousekeepHibernate: "no activity for 7d",
			}[c.what]
			posts := w.notify(tr)
			if len(posts) != 1 {
				t.Fatalf("%d messages", len(posts))
			}
			contains(t, posts[0].Message, c.want...)
			if got := len(posts[0].Attachments()); got != map[bool]int{true: 1, false: 0}[c.buttons] {
				t.Errorf("%d attachments", got)
			}
		})
	}
}

// On a hibernation notice, Extend is a command like any other: it counts as
// activity, and the notice it replaces still says hibernation.
func TestHibernationNoticeExtendButton(t *testing.T) {
	w := newWorld(t, nil)
	w.run(w.alice, "create app")
	tr := w.transition(reconciler.TransitionExpiring, "app", envs.EnvironmentStatus{})
	tr.Deadline, tr.DeadlineAction = testNow.Add(20*time.Hour), reconciler.HousekeepHibernate
	posts := w.notify(tr)
	if len(posts) != 1 || len(posts[0].Attachments()) != 1 {
		t.Fatalf("messages %+v", posts)
	}
	buttons := map[string]map[string]any{}
	for _, a := range posts[0].Attachments()[0].Actions {
		buttons[a.Id] = a.Integration.Context
	}
	// The deadline's kind is signed: passing it off as a deletion fails.
	relabelled := clone(buttons["extend"])
	delete(relabelled, ctxAt)
	if code, _ := w.clickButton(w.alice, relabelled); code != http.StatusForbidden {
		t.Errorf("relabelled button: HTTP %d, want 403", code)
	}
	code, r := w.clickButtonFull(w.alice, buttons["extend"])
	if code != 200 || r.Update == nil || !strings.Contains(r.Update.Message, "**app** will be hibernated at") {
		t.Fatalf("extend: HTTP %d %+v", code, r)
	}
	w.activity.mu.Lock()
	defer w.activity.mu.Unlock()
	if n := len(w.activity.what); n == 0 || !strings.HasPrefix(w.activity.what[n-1], "app: /cloud extend by @alice") {
		t.Errorf("activity %q", w.activity.what)
	}
}

// A deleted environment's transition carries only its last known owner and
// source; that is enough to reach the owner, with nothing remembered.
func TestDeletedNoticeFromLastKnownSource(t *testing.T) {
	w := newWorld(t, nil)
	e := &envs.Environment{}
	e.Name = "gone"
	e.Spec.Source.Chat = &envs.ChatSource{User: "alice", UserID: w.alice}
	posts := w.notify(reconciler.Transition{Kind: reconciler.TransitionDeleted, Name: "gone", Environment: e, At: testNow})
	if len(posts) != 1 {
		t.Fatalf("%d messages, want 1", len(posts))
	}
	contains(t, posts[0].Message, "**gone** is deleted")
}
