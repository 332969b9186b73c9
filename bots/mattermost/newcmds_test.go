package mattermost

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/fluxcd/pkg/apis/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/envwick/envwick/bots/commit"
	"github.com/envwick/envwick/envs"
	"github.com/envwick/envwick/reconciler"
)

// TestNewSubcommandsRefuseWithoutCommitting: for every subcommand added
// at the plugin's level, bad arguments, someone else's environment and an
// unknown environment each get a clear reply and commit nothing.
func TestNewSubcommandsRefuseWithoutCommitting(t *testing.T) {
	w := newWorld(t, nil)
	w.run(w.alice, "create mine")
	w.run(w.carol, "create hers")
	w.run(w.carol, "create hers2")
	w.run(w.carol, "deletion-lock hers")
	w.status["mine"] = envs.EnvironmentStatus{Installation: &envs.InstallationStatus{State: "stable"},
		Conditions: []metav1.Condition{{Type: meta.ReadyCondition, Status: metav1.ConditionTrue, Reason: envs.ReasonAvailable}}}
	start := w.head()
	tests := []struct {
		who, text string
		want      []string
	}{
		{w.alice, "restart", []string{"`/cloud restart`: Missing NAME."}},
		{w.alice, "restart mine extra", []string{`Unexpected argument "extra"`}},
		{w.alice, "restart ghost", []string{"no environment named **ghost**"}},
		{w.carol, "restart mine", []string{"belongs to @alice", "may restart it"}},
		{w.alice, "retry", []string{"Missing NAME"}},
		{w.alice, "retry ghost", []string{"no environment named **ghost**"}},
		{w.carol, "retry mine", []string{"belongs to @alice", "may retry it"}},
		{w.alice, "retry mine", []string{"**mine** has not failed (ready)"}},
		{w.alice, "share", []string{"Missing NAME"}},
		{w.alice, "share mine --allow", []string{"Unknown flag: --allow", "--allow-updates"}},
		{w.alice, "share ghost", []string{"no environment named **ghost**"}},
		{w.carol, "share mine", []string{"belongs to @alice", "only its owner or an admin may share it"}},
		{w.alice, "unshare", []string{"Missing NAME"}},
		{w.alice, "unshare ghost", []string{"no environment named **ghost**"}},
		{w.carol, "unshare mine", []string{"belongs to @alice"}},
		{w.alice, "unshare mine", []string{"**mine** is not shared"}},
		{w.alice, "deletion-lock", []string{"Missing NAME"}},
		{w.alice, "deletion-lock ghost", []string{"no environment named **ghost**"}},
		{w.carol, "deletion-lock mine", []string{"belongs to @alice"}},
		{w.carol, "deletion-lock hers2", []string{"You already deletion-lock 1 environment (hers)"}},
		{w.carol, "deletion-lock hers", []string{"**hers** is deletion-locked already"}},
		{w.alice, "deletion-unlock", []string{"Missing NAME"}},
		{w.alice, "deletion-unlock ghost", []string{"no environment named **ghost**"}},
		{w.alice, "deletion-unlock hers", []string{"belongs to @carol"}},
		{w.alice, "deletion-unlock mine", []string{"**mine** is not deletion-locked"}},
		{w.alice, "mmctl", []string{"Missing NAME and ARGS"}},
		{w.alice, "mmctl mine", []string{"Missing ARGS"}},
		{w.alice, "mmctl ghost user list", []string{"no environment named **ghost**"}},
		{w.carol, "mmctl mine user list", []string{"belongs to @alice", "may mmctl it"}},
		{w.alice, "mmctl mine user list --all", []string{"`/cloud mmctl` is not configured"}},
		{w.alice, "status extra", []string{`Unexpected argument "extra"`}},
		{w.alice, "list --shared", []string{"Unknown flag: --shared", "--shared-installations"}},
		{w.alice, "upgrade mine --version 10.6.0", []string{"`/cloud upgrade` is now `/cloud update`"}},
	}
	for _, tt := range tests {
		t.Run(tt.text, func(t *testing.T) {
			contains(t, w.run(tt.who, tt.text), tt.want...)
			if h := w.head(); h != start {
				t.Fatalf("a commit was made: %s", h)
			}
		})
	}
}

func TestRestartRollsThePods(t *testing.T) {
	w := newWorld(t, nil)
	w.run(w.alice, "create app --env A=1")
	contains(t, w.run(w.alice, "restart app"), "Restarting **app**", "(commit ")
	env := w.env("app").Spec.Installation.Env
	if env["A"] != "1" || env[commit.RestartEnv] != testNow.Format("2006-01-02T15:04:05Z07:00") {
		t.Fatalf("env %v", env)
	}
	if c := w.lastCommit(); !strings.Contains(c.Message, "Command: /cloud restart app") || !strings.Contains(c.Message, "Requested-by: alice") {
		t.Errorf("commit message %q", c.Message)
	}
	w.run(w.alice, "hibernate app")
	before := w.head()
	contains(t, w.run(w.alice, "restart app"), "is hibernated", "/cloud wake-up app")
	if w.head() != before {
		t.Fatal("restarting a hibernated environment committed")
	}
}

func TestSharing(t *testing.T) {
	w := newWorld(t, nil)
	w.run(w.alice, "create app")
	contains(t, w.run(w.carol, "list --shared-installations"), "Nobody shares an environment")
	contains(t, w.run(w.alice, "share app"), "shared with the team; others may not change it", "(commit ")
	if sh := w.env("app").Spec.Sharing; sh == nil || !sh.Shared || sh.AllowUpdates {
		t.Fatalf("sharing %+v", sh)
	}
	contains(t, w.run(w.carol, "list --shared-installations"), "Shared environments", "| app |", "| yes |")
	// Shared without updates: still only the owner may change it.
	contains(t, w.run(w.carol, "update app --version 10.6.0"), "belongs to @alice")

	contains(t, w.run(w.alice, "share app --allow-updates"), "others may update, restart and retry it")
	contains(t, w.run(w.carol, "update app --version 10.6.0"), "Updating **app**", "(commit ")
	if v := w.env("app").Spec.Installation.Version; v != "10.6.0" {
		t.Fatalf("version %q", v)
	}
	if c := w.lastCommit(); !strings.Contains(c.Message, "Requested-by: carol") {
		t.Errorf("the update is not carol's: %q", c.Message)
	}
	contains(t, w.run(w.carol, "restart app"), "Restarting **app**")
	// Others may change what it runs, not whether it exists or is shared.
	before := w.head()
	for verb, want := range map[string]string{"delete app": "may delete it", "hibernate app": "may hibernate it",
		"unshare app": "may unshare it", "deletion-lock app": "may deletion-lock it", "keep app": "may keep it"} {
		contains(t, w.run(w.carol, verb), "belongs to @alice", want)
	}
	if w.head() != before {
		t.Fatal("a refused command committed")
	}
	contains(t, w.run(w.alice, "unshare app"), "no longer shared")
	if w.env("app").Spec.Sharing != nil {
		t.Fatal("still shared")
	}
	contains(t, w.run(w.carol, "restart app"), "belongs to @alice")
}

func TestDeletionLock(t *testing.T) {
	w := newWorldWith(t, nil, func(p *commit.Policy) { p.MaxDeletionLocked = 2 })
	w.run(w.alice, "create a1")
	w.run(w.alice, "create a2")
	contains(t, w.run(w.alice, "deletion-lock a1"), "**a1** is deletion-locked", "(commit ")
	contains(t, w.run(w.alice, "deletion-lock a2"), "**a2** is deletion-locked")
	if !w.env("a1").Spec.Lifecycle.DeletionLocked || !w.env("a2").Spec.Lifecycle.DeletionLocked {
		t.Fatal("lock not committed")
	}
	contains(t, w.run(w.alice, "deletion-unlock a1"), "no longer deletion-locked")
	if w.env("a1").Spec.Lifecycle.DeletionLocked {
		t.Fatal("unlock not committed")
	}
}

func TestRetryBumpsTheCounter(t *testing.T) {
	w := newWorld(t, nil)
	w.run(w.alice, "create app")
	w.status["app"] = envs.EnvironmentStatus{LastError: "provisioner: 500",
		Conditions: []metav1.Condition{{Type: meta.StalledCondition, Status: metav1.ConditionTrue, Reason: envs.ReasonProvisionerError}}}
	for _, want := range []string{"1", "2"} {
		contains(t, w.run(w.alice, "retry app"), "Retrying **app**", "(commit ")
		if got := w.env("app").Annotations[envs.AnnotationRetry]; got != want {
			t.Fatalf("retry annotation %q, want %q", got, want)
		}
	}
	if c := w.lastCommit(); !strings.Contains(c.Message, "Requested-by: alice") || !strings.Contains(c.Message, "Command: /cloud retry app") {
		t.Errorf("commit message %q", c.Message)
	}
}

type fakeExec struct {
	got reconciler.ExecRequest
	res *reconciler.ExecResult
	err error
}

func (f *fakeExec) Exec(_ context.Context, req reconciler.ExecRequest) (*reconciler.ExecResult, error) {
	f.got = req
	return f.res, f.err
}

type fakeHealth struct {
	h   string
	err error
}

func (f fakeHealth) PlatformHealth(context.Context) (string, error) { return f.h, f.err }

func TestMmctlAndStatus(t *testing.T) {
	w := newWorld(t, nil)
	ex := &fakeExec{res: &reconciler.ExecResult{Command: "mmctl user list", Output: "alice\nbob\n", Truncated: true}}
	w.bot.exec = ex
	w.bot.health = fakeHealth{h: "provisioner healthy (2 clusters stable)"}
	w.run(w.alice, "create app")
	w.run(w.alice, "create app2")
	w.status["app"] = envs.EnvironmentStatus{Installation: &envs.InstallationStatus{State: "stable"},
		Conditions: []metav1.Condition{{Type: meta.ReadyCondition, Status: metav1.ConditionTrue, Reason: envs.ReasonAvailable}}}
	before := w.head()
	contains(t, w.run(w.alice, `mmctl app user list --all "a b"`), "```\nalice\nbob\n```", "(output cut)")
	if ex.got.Environment != "app" || !slices.Equal(ex.got.Args, []string{"user", "list", "--all", "a b"}) || ex.got.Admin {
		t.Fatalf("exec got %+v", ex.got)
	}
	ex.res = &reconciler.ExecResult{Command: "mmctl team list", Output: "Error: no teams", Failed: true}
	contains(t, w.run(w.alice, "mmctl app team list"), "`mmctl team list` failed on **app**", "Error: no teams")
	ex.err = errors.New(`"config set" is not allowed; allowed: user, team, channel`)
	contains(t, w.run(w.alice, "mmctl app config set X 1"), "did not run", `"config set" is not allowed`)
	contains(t, w.run(w.carol, "status"), "**2 environments**", "| ready | 1 |", "| requested | 1 |", "Platform: provisioner healthy")
	w.bot.health = fakeHealth{err: errors.New("connection refused")}
	contains(t, w.run(w.carol, "status"), "Platform: could not be read just now.")
	if w.head() != before {
		t.Fatal("mmctl or status committed")
	}
}
