package githubbot

import (
	"context"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/envwick/envwick/bots/commit"
	"github.com/envwick/envwick/bots/commit/committest"
	"github.com/envwick/envwick/envs/store"
	"github.com/envwick/envwick/envs/store/gittest"
	"github.com/envwick/envwick/reconciler"
	"github.com/envwick/envwick/reconciler/platform/provisioner"
	"github.com/envwick/envwick/reconciler/platform/provisionersim"
)

// loop is the whole system for an end-to-end test.
type loop struct {
	t      *testing.T
	r      *rig
	sim    *provisionersim.Sim
	client *provisioner.Client
	rec    *reconciler.Reconciler
}

const e2eOwner = "envwick-e2e"

func newLoop(t *testing.T, faults provisionersim.Faults) *loop {
	root := t.TempDir()
	bare := gittest.InitBare(t, root, "envs.git")
	daemon := gittest.StartDaemon(t, root)
	repo := committest.Open(t, store.Options{URL: daemon.URL("envs.git"), Dir: t.TempDir()}, bare, nil)

	timing := provisionersim.Timing{Creation: time.Minute, Update: time.Minute, Hibernation: time.Minute,
		WakeUp: time.Minute, DeletionPendingPrep: time.Minute, Deletion: time.Minute}
	sim, err := provisionersim.New(provisionersim.Options{Timing: &timing, DeletionPendingTime: time.Minute,
		FlushInterval: time.Hour, Faults: faults})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sim.Close() })
	simSrv := httptest.NewServer(sim.Handler())
	t.Cleanup(simSrv.Close)
	client, err := provisioner.New(provisioner.Options{URL: simSrv.URL})
	if err != nil {
		t.Fatal(err)
	}
	r := newRig(t, rigOptions{repo: repo})
	rec, err := reconciler.New(&reconciler.StoreRepository{Repo: repo.Repo},
		&provisioner.Platform{Client: client, Domain: "envwick.test"},
		reconciler.Config{Owner: reconciler.Owner{OwnerID: e2eOwner}, Notifier: r.bot, Logger: testLogger(),
			Housekeeper: commit.Housekeeper{Committer: commit.New(repo, commit.Options{Logger: testLogger()})},
			BackoffBase: time.Nanosecond, BackoffMax: time.Nanosecond})
	if err != nil {
		t.Fatal(err)
	}
	return &loop{t: t, r: r, sim: sim, client: client, rec: rec}
}

// live lists the installations not deleted.
func (l *loop) live() []*provisioner.Installation {
	all, err := l.client.ListAllInstallations(context.Background(), provisioner.ListOptions{OwnerID: e2eOwner})
	if err != nil {
		l.t.Fatal(err)
	}
	var out []*provisioner.Installation
	for _, in := range all {
		if in.State != "deleted" {
			out = append(out, in)
		}
	}
	return out
}

// converge runs reconcile passes, moving the simulator's clock on, until
// done holds.
func (l *loop) converge(what string, done func() bool) {
	l.t.Helper()
	for range 12 {
		if _, err := l.rec.Pass(context.Background(), reconciler.PassOptions{}); err != nil {
			l.t.Fatalf("%s: pass: %v", what, err)
		}
		l.r.wait()
		if done() {
			return
		}
		l.sim.Advance(time.Minute)
	}
	l.t.Fatalf("%s: not reached; comment:\n%s\ninstallations: %d", what, l.r.envComment(2), len(l.live()))
}

// TestEndToEnd runs the whole loop with real parts: webhooks into the bot,
// commits to an envs repository pushed to a git daemon on loopback, the
// reconciler against the provisioner simulator over HTTP, and its
// transitions back to the fake GitHub as one comment and a commit status.
func TestEndToEnd(t *testing.T) {
	l := newLoop(t, provisionersim.Faults{})
	r, live, converge := l.r, l.live, l.converge
	lastStatus := func(sha string) (state, target string) {
		sts := r.gh.Statuses(repoName, sha)
		if len(sts) == 0 {
			return "", ""
		}
		return sts[len(sts)-1].GetState(), sts[len(sts)-1].GetTargetURL()
	}

	// Label -> commit -> installation -> the comment reads ready with the
	// URL, and the head commit's status is success with it as target.
	r.send("pull_request", example(t, "pull_request.labeled.0").withLabel(LabelCloud))
	converge("ready", func() bool { return strings.Contains(r.envComment(2), "is ready at https://") })
	ins := live()
	if len(ins) != 1 || ins[0].Version != headSHA {
		t.Fatalf("installations = %+v", ins)
	}
	state, target := lastStatus(headSHA)
	if state != "success" || !strings.HasPrefix(target, "https://") || !strings.Contains(r.envComment(2), target) {
		t.Errorf("status %s %q; comment:\n%s", state, target, r.envComment(2))
	}

	// Push -> the installation runs the new head.
	const newSHA = "0123456789abcdef0123456789abcdef01234567"
	r.send("pull_request", example(t, "pull_request.synchronize.0").withPRLabels(LabelCloud).withHead(newSHA))
	converge("updated", func() bool {
		in := live()
		return len(in) == 1 && in[0].Version == newSHA && strings.Contains(r.envComment(2), "is updated to 0123456")
	})
	if state, _ := lastStatus(newSHA); state != "success" {
		for _, s := range r.gh.Statuses(repoName, newSHA) {
			t.Logf("new %s %s", s.GetState(), s.GetDescription())
		}
		for _, s := range r.gh.Statuses(repoName, headSHA) {
			t.Logf("old %s %s", s.GetState(), s.GetDescription())
		}
		t.Errorf("status on the new head = %q", state)
	}

	// Unlabel -> the installation is deleted.
	r.send("pull_request", example(t, "pull_request.unlabeled.0").withLabel(LabelCloud).withPRLabels())
	converge("deleted after unlabel", func() bool { return len(live()) == 0 && strings.Contains(r.envComment(2), "is destroyed") })

	// Label again, then close -> deleted.
	r.send("pull_request", example(t, "pull_request.labeled.1").withLabel(LabelCloud).withHead(newSHA))
	converge("ready again", func() bool { return len(live()) == 1 && strings.Contains(r.envComment(2), "is ready") })
	r.send("pull_request", example(t, "pull_request.closed.0").withPRLabels(LabelCloud))
	converge("deleted after close", func() bool { return len(live()) == 0 && strings.Contains(r.envComment(2), "is destroyed") })
	if n := len(r.comments(2)); n != 1 {
		t.Errorf("%d comments on the pull request, want the one edited in place", n)
	}
}

// A creation that fails on the platform: the comment says why and how to
// retry, the status is failure.
func TestEndToEndFailure(t *testing.T) {
	l := newLoop(t, provisionersim.Faults{CreationFailureRate: 1})
	l.r.send("pull_request", example(t, "pull_request.labeled.0").withLabel(LabelCloud))
	l.converge("failed", func() bool { return strings.Contains(l.r.envComment(2), "failed:") })
	body := l.r.envComment(2)
	if !strings.Contains(body, "To retry") {
		t.Errorf("failed comment = %q", body)
	}
	sts := l.r.gh.Statuses(repoName, headSHA)
	if last := sts[len(sts)-1]; last.GetState() != "failure" || !strings.HasPrefix(last.GetDescription(), "Test server failed: ") {
		t.Errorf("status = %s %q", last.GetState(), last.GetDescription())
	}
}
