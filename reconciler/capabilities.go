package reconciler

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/fluxcd/pkg/runtime/conditions"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/envwick/envwick/envs"
	"github.com/envwick/envwick/reconciler/platform"
)

// What an environment asks of the platform beyond its installation's
// settings: the platform's deletion lock (spec.lifecycle.deletionLocked)
// and sample data (spec.installation.testData). Both use optional platform
// capabilities (platform.DeletionLocker, platform.Executor) and change only
// the new status of the environment.

// TestDataCommand is how sample data is loaded, as the Mattermost cloud
// plugin does: mmctl sampledata in local mode, in the installation.
var testDataCommand = []string{"mmctl", "sampledata", "--local"}

// defaultTestDataTimeout bounds one load (the real one takes minutes).
const defaultTestDataTimeout = 15 * time.Minute

// platformExtras applies the deletion lock and loads test data for every
// environment of the pass, recording both in next. A dry run does not
// call it.
func (r *Reconciler) platformExtras(ctx context.Context, p *Plan, desired map[string]*Desired, next map[string]*Status, now time.Time) {
	for i := range p.Items {
		it := &p.Items[i]
		d, st := desired[it.Name], next[it.Name]
		if d == nil || d.Err != nil || d.Env == nil || d.Env.Spec.Suspend || st == nil || it.Action == ActionDelete {
			continue
		}
		inst := it.Installation
		if inst == nil || st.Status.Installation == nil || st.Status.Installation.ID != inst.ID {
			continue // nothing observed yet, or a new installation: next pass
		}
		lockChanged := st.Status.DeletionLocked != d.Env.Spec.Lifecycle.DeletionLocked || inst.DeletionLocked != d.Env.Spec.Lifecycle.DeletionLocked
		if !lockChanged && !d.Env.Spec.Installation.TestData && st.Status.TestData == nil {
			continue
		}
		// next may share the recorded status: change a copy.
		st = st.DeepCopy()
		next[it.Name] = st
		if lockChanged {
			r.applyDeletionLock(ctx, d.Env, inst, st)
		}
		r.loadTestData(ctx, d.Env, inst, st, now)
	}
}

// applyDeletionLock makes the platform's lock match the spec.
func (r *Reconciler) applyDeletionLock(ctx context.Context, e *envs.Environment, inst *platform.Installation, st *Status) {
	want := e.Spec.Lifecycle.DeletionLocked
	if inst.DeletionLocked == want {
		st.Status.DeletionLocked = want
		return
	}
	if inst.Phase == platform.PhaseDeleting {
		return
	}
	locker, ok := r.ext.platform.(platform.DeletionLocker)
	if !ok {
		st.Status.LastError = "spec.lifecycle.deletionLocked: this platform has no deletion lock"
		return
	}
	err := r.ext.call(ctx, "lock", func(ctx context.Context) error {
		return locker.SetDeletionLock(ctx, inst.ID, want)
	})
	if err != nil {
		st.Status.LastError = fmt.Sprintf("setting the deletion lock of installation %s: %v", inst.ID, err)
		r.cfg.Logger.WarnContext(ctx, "deletion lock failed", "environment", e.Name, "error", err)
		return
	}
	st.Status.DeletionLocked = want
	r.cfg.Logger.InfoContext(ctx, "deletion lock set", "environment", e.Name, "installation", inst.ID, "locked", want)
}

// holdLocked holds back the deletion of an installation the platform's
// deletion lock protects: the platform would refuse it on every pass. The
// status says why (blockedWhy) until the lock is lifted.
func holdLocked(p *Plan) {
	for i := range p.Items {
		it := &p.Items[i]
		if it.Action == ActionDelete && it.Installation != nil && it.Installation.DeletionLocked {
			it.Blocked = true
			it.Stalled = fmt.Sprintf("installation %s is deletion-locked on the platform: unlock it to delete it", it.Installation.ID)
			it.Reason += " [held back by the platform's deletion lock]"
		}
	}
}

// blockedWhy is the reason and message of a held-back deletion.
func blockedWhy(p *Plan, it *Item) (string, string) {
	if it.Installation != nil && it.Installation.DeletionLocked {
		return envs.ReasonDeletionLocked, it.Stalled
	}
	return envs.ReasonDeletionBlocked, p.Guard
}

// testDataJobs are the sample-data loads in flight, one per environment,
// and their results until a pass records them. A load takes minutes, so it
// runs beside the passes rather than inside one.
type testDataJobs struct {
	mu      sync.Mutex
	running map[string]string // environment -> installation ID
	done    map[string]testDataResult
	wg      sync.WaitGroup
}

type testDataResult struct {
	installationID string
	err            error
}

// loadTestData loads sample data once into an installation that asks for
// it, when it is first stable, and records the outcome: a failure is the
// TestData condition and is retried with backoff.
func (r *Reconciler) loadTestData(ctx context.Context, e *envs.Environment, inst *platform.Installation, st *Status, now time.Time) {
	if !e.Spec.Installation.TestData {
		return
	}
	td := st.Status.TestData
	if td == nil || td.InstallationID != inst.ID {
		td = &envs.TestDataStatus{InstallationID: inst.ID}
		st.Status.TestData = td
	}
	if td.LoadedAt != nil {
		return
	}
	jobs := &r.testData
	key := "testdata/" + e.Name
	jobs.mu.Lock()
	res, finished := jobs.done[e.Name]
	delete(jobs.done, e.Name)
	_, running := jobs.running[e.Name]
	jobs.mu.Unlock()
	setter := st.setter()
	defer st.apply(setter)
	if finished && res.installationID == inst.ID {
		if res.err == nil {
			td.LoadedAt, td.LastError = &metav1.Time{Time: now.UTC().Truncate(time.Second)}, ""
			delete(r.backoff, key)
			conditions.MarkTrue(setter, envs.TestDataCondition, envs.ReasonTestDataLoaded, "sample data loaded")
			r.cfg.Logger.InfoContext(ctx, "test data loaded", "environment", e.Name, "installation", inst.ID)
			return
		}
		td.Attempts++
		td.LastError = res.err.Error()
		b := r.backoff[key]
		b.failures++
		b.until = now.Add(r.backoffDelay(b.failures))
		r.backoff[key] = b
		r.cfg.Logger.WarnContext(ctx, "loading test data failed", "environment", e.Name, "attempts", td.Attempts, "error", res.err)
	}
	switch {
	case running:
		conditions.MarkFalse(setter, envs.TestDataCondition, envs.ReasonTestDataLoading, "loading sample data")
	case td.LastError != "" && (finished || now.Before(r.backoff[key].until)):
		// The pass that learns of a failure reports it; a later one retries.
		conditions.MarkFalse(setter, envs.TestDataCondition, envs.ReasonTestDataFailed, "loading sample data failed (attempt %d, retrying after %s): %s",
			td.Attempts, r.backoff[key].until.UTC().Format(time.RFC3339), td.LastError)
	case inst.Phase != platform.PhaseStable:
		conditions.MarkFalse(setter, envs.TestDataCondition, envs.ReasonTestDataLoading, "waiting for the installation to be stable")
	default:
		ex, ok := r.ext.platform.(platform.Executor)
		if !ok {
			td.LastError = "this platform cannot run commands in an installation"
			conditions.MarkFalse(setter, envs.TestDataCondition, envs.ReasonTestDataFailed, "%s", td.LastError)
			return
		}
		r.startTestData(ctx, ex, e.Name, inst.ID)
		conditions.MarkFalse(setter, envs.TestDataCondition, envs.ReasonTestDataLoading, "loading sample data")
	}
}

func (r *Reconciler) startTestData(ctx context.Context, ex platform.Executor, name, id string) {
	jobs := &r.testData
	jobs.mu.Lock()
	defer jobs.mu.Unlock()
	if jobs.running == nil {
		jobs.running, jobs.done = map[string]string{}, map[string]testDataResult{}
	}
	jobs.running[name] = id
	jobs.wg.Add(1)
	timeout := r.cfg.TestDataTimeout
	go func() {
		defer jobs.wg.Done()
		// The load outlives the pass that started it, not the process.
		ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), timeout)
		defer cancel()
		var out []byte
		err := r.ext.call(ctx, "exec", func(ctx context.Context) (err error) {
			out, err = ex.Exec(ctx, id, testDataCommand[0], testDataCommand[1:])
			return err
		})
		if err != nil {
			err = fmt.Errorf("%s: %w%s", strings.Join(testDataCommand, " "), err, outputTail(out))
		}
		jobs.mu.Lock()
		delete(jobs.running, name)
		jobs.done[name] = testDataResult{installationID: id, err: err}
		jobs.mu.Unlock()
		if r.cfg.OnTestData != nil {
			r.cfg.OnTestData(name)
		}
	}()
}

// outputTail is the end of a failed command's output, for its error.
func outputTail(out []byte) string {
	s := strings.TrimSpace(string(out))
	if s == "" {
		return ""
	}
	const max = 300
	if len(s) > max {
		s = "..." + s[len(s)-max:]
	}
	return ": " + s
}

// waitTestData waits for the loads in flight (tests, shutdown).
func (r *Reconciler) waitTestData() { r.testData.wg.Wait() }

// errNoInstallation: the environment has no installation to act on yet.
var errNoInstallation = errors.New("no installation yet")
