//go:build e2e

package e2e

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	coordinationv1 "k8s.io/client-go/kubernetes/typed/coordination/v1"

	"github.com/envwick/envwick/envs/store"
	"github.com/envwick/envwick/envs/store/gittest"
)

// replica is one `envwick serve --leader-elect` process.
type replica struct {
	t        *testing.T
	name     string
	args     []string
	url      string
	logBase  string
	logPath  string // of the current process: each start writes a log of its own
	starts   int
	cmd      *exec.Cmd
	exited   chan error
	identity string
}

var identityRE = regexp.MustCompile(`"identity":"([^"]+)"`)

func (r *replica) start(bin string) {
	r.t.Helper()
	r.starts++
	r.logPath = fmt.Sprintf("%s.%d", r.logBase, r.starts)
	logf, err := os.OpenFile(r.logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		r.t.Fatal(err)
	}
	r.cmd = exec.Command(bin, r.args...)
	r.cmd.Stdout, r.cmd.Stderr = logf, logf
	if err := r.cmd.Start(); err != nil {
		r.t.Fatal(err)
	}
	r.exited = make(chan error, 1)
	go func() { r.exited <- r.cmd.Wait(); logf.Close() }()
	r.identity = ""
	r.t.Cleanup(func() { r.cmd.Process.Kill() })
}

// readIdentity finds the Lease identity the current process logs.
func (r *replica) readIdentity(ctx context.Context) string {
	r.t.Helper()
	for r.identity == "" {
		data, _ := os.ReadFile(r.logPath)
		if m := identityRE.FindSubmatch(data); m != nil {
			r.identity = string(m[1])
		}
		if r.identity != "" {
			break
		}
		select {
		case <-ctx.Done():
			r.t.Fatalf("%s never logged its lease identity (log %s)", r.name, r.logPath)
		case <-time.After(50 * time.Millisecond):
		}
	}
	return r.identity
}

func (r *replica) ready() (bool, string) {
	resp, err := http.Get(r.url + "/readyz")
	if err != nil {
		return false, err.Error()
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode == 200, strings.TrimSpace(string(b))
}

// waitWithin is waitFor bounded to d, so a failure shows then, not at the
// end of the test's time.
func waitWithin(t *testing.T, ctx context.Context, d time.Duration, what string, cond func() bool) {
	t.Helper()
	ctx, cancel := context.WithTimeout(ctx, d)
	defer cancel()
	waitFor(t, ctx, what, cond)
}

func freeAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

// installations lists what the simulator holds for the owner: name -> how
// many installations carry it, and how many are stable.
func installations(t *testing.T, sim string) (map[string]int, int) {
	t.Helper()
	var list []struct {
		Name  string
		State string
	}
	call(t, "GET", sim+"/api/installations?page=0&per_page=-1&owner=envwick&include_deleted=true", nil, nil, &list, 200)
	names := map[string]int{}
	stable := 0
	for _, in := range list {
		names[in.Name]++
		if in.State == "stable" {
			stable++
		}
	}
	return names, stable
}

// Two replicas against a real API server, the simulator and one git remote:
// kill -9 the leader during a wave of 100 creates, and the other takes the
// Lease over within 20 s with no duplicate installation and everything
// converging; SIGTERM the next leader, and the Lease moves within 5 s.
func TestLeaderFailover(t *testing.T) {
	cfg := kubeConfig(t)
	kubeconfig := os.Getenv("ENVWICK_E2E_KUBECONFIG")
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	leases, err := coordinationv1.NewForConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	lease := labelValue(randomName(t, "envwick-failover-"))
	holder := func() string {
		l, err := leases.Leases("default").Get(ctx, lease, metav1.GetOptions{})
		if err != nil || l.Spec.HolderIdentity == nil {
			return ""
		}
		return *l.Spec.HolderIdentity
	}

	dir := t.TempDir()
	bin := filepath.Join(dir, "envwick")
	build := exec.Command("go", "build", "-o", bin, "../cmd/envwick")
	build.Env = append(os.Environ(), "GOTOOLCHAIN=local")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("building envwick: %v\n%s", err, out)
	}

	// The simulator: installations become stable a second after creation.
	simCmd := exec.Command(bin, "provisioner-sim", "--listen", "127.0.0.1:0", "--creation-time", "1s", "--log-level", "error")
	simOut, err := simCmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := simCmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { simCmd.Process.Kill(); simCmd.Wait() })
	line, err := bufio.NewReader(simOut).ReadString('\n')
	if err != nil {
		t.Fatalf("reading the simulator's URL: %v", err)
	}
	go io.Copy(io.Discard, simOut)
	sim := strings.TrimSpace(line)

	// The envs repository: one remote, each replica with a clone of its own.
	root := t.TempDir()
	daemon := gittest.StartDaemon(t, root)
	gittest.InitBare(t, root, "envs.git")
	remote := daemon.URL("envs.git")
	people, err := store.Open(ctx, store.Options{URL: remote, Dir: filepath.Join(dir, "people")})
	if err != nil {
		t.Fatal(err)
	}
	defer people.Close()
	if _, err := people.Commit(ctx, store.Change{Message: "Seed", Apply: func(tx *store.Tx) error {
		tx.Write("README.md", []byte("envs\n"))
		return nil
	}}); err != nil {
		t.Fatal(err)
	}

	replicas := make([]*replica, 2)
	for i := range replicas {
		addr := freeAddr(t)
		replicas[i] = &replica{
			t: t, name: fmt.Sprintf("replica-%d", i), url: "http://" + addr,
			logBase: filepath.Join(dir, fmt.Sprintf("replica-%d.log", i)),
			args: []string{"serve", "--leader-elect", "--kubeconfig", kubeconfig,
				"--leader-elect-namespace", "default", "--leader-elect-lease-name", lease,
				// The default lease duration and renew deadline; a 1s retry
				// period, as a take-over after kill -9 takes the lease
				// duration plus up to two jittered retry periods (the
				// follower sees the last renewal up to one late, then tries
				// up to one after expiry): 19.8s at most with the 2s default,
				// too close to the 20s goal on a loaded 2-core machine.
				"--leader-elect-retry-period", "1s",
				"--repo-url", remote, "--provisioner-url", sim, "--listen", addr,
				"--data-dir", filepath.Join(dir, fmt.Sprintf("data-%d", i)),
				// No registry is reachable here to check image tags in.
				"--wait-for-image=false",
				"--interval", "1s", "--log-format", "json", "--log-level", "info"},
		}
		replicas[i].start(bin)
	}
	t.Cleanup(func() {
		if t.Failed() {
			for _, r := range replicas {
				data, _ := os.ReadFile(r.logPath)
				lines := strings.Split(strings.TrimSpace(string(data)), "\n")
				var bad []string
				for _, l := range lines {
					if strings.Contains(l, `"level":"WARN"`) || strings.Contains(l, `"level":"ERROR"`) {
						bad = append(bad, l)
					}
				}
				t.Logf("warnings and errors of %s:\n%s", r.name, strings.Join(bad[max(0, len(bad)-25):], "\n"))
				t.Logf("last lines of %s:\n%s", r.name, strings.Join(lines[max(0, len(lines)-15):], "\n"))
			}
		}
	})
	for _, r := range replicas {
		r.readIdentity(ctx)
	}
	byIdentity := func(id string) *replica {
		for _, r := range replicas {
			if r.identity == id {
				return r
			}
		}
		return nil
	}
	waitFor(t, ctx, "a leader", func() bool { return holder() != "" })
	for _, r := range replicas {
		waitFor(t, ctx, r.name+" ready", func() bool { ok, _ := r.ready(); return ok })
	}
	first := byIdentity(holder())
	if first == nil {
		t.Fatalf("lease holder %q is neither replica", holder())
	}
	if _, body := first.ready(); body != "ok leader" {
		t.Errorf("leader's /readyz says %q", body)
	}
	t.Logf("%s leads as %s", first.name, first.identity)

	// The wave: 100 environments, 5 a commit, as people merging pull
	// requests would push them.
	const total, perCommit = 100, 5
	var wave sync.WaitGroup
	pushed := make(chan int, total/perCommit)
	wave.Go(func() {
		for c := 0; c < total/perCommit; c++ {
			_, err := people.Commit(ctx, store.Change{Message: fmt.Sprintf("Add batch %d", c), Apply: func(tx *store.Tx) error {
				for i := range perCommit {
					name := fmt.Sprintf("wave-%03d", c*perCommit+i)
					tx.Write("environments/"+name+".yaml", fmt.Appendf(nil, `apiVersion: envwick.dev/v1alpha1
kind: Environment
metadata:
  name: %s
spec:
  owner:
    github: jane
  installation:
    size: miniSingleton
`, name))
				}
				return nil
			}})
			if err != nil {
				t.Errorf("pushing batch %d: %v", c, err)
				return
			}
			pushed <- c
			time.Sleep(200 * time.Millisecond)
		}
	})

	// Mid-wave, once the leader is creating: kill -9.
	waitWithin(t, ctx, time.Minute, "the leader creating installations", func() bool {
		names, _ := installations(t, sim)
		return len(names) >= 20
	})
	before, _ := installations(t, sim)
	killed := time.Now()
	if err := first.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	<-first.exited
	second := replicas[0]
	if second == first {
		second = replicas[1]
	}
	waitWithin(t, ctx, time.Minute, "the other replica to take the lease over", func() bool { return holder() == second.identity })
	took := time.Since(killed)
	t.Logf("kill -9 with %d installations made: %s took over in %s", len(before), second.name, took.Round(10*time.Millisecond))
	if took > 20*time.Second {
		t.Errorf("take-over after kill -9 took %s; want within 20s", took)
	}

	wave.Wait()
	var stable int
	var names map[string]int
	waitFor(t, ctx, "every environment to converge", func() bool {
		names, stable = installations(t, sim)
		return len(names) == total && stable == total
	})
	dups := 0
	for name, n := range names {
		if n > 1 {
			dups += n - 1
			t.Errorf("environment %s has %d installations", name, n)
		}
	}
	t.Logf("converged: %d installations, %d stable, %d duplicates", len(names), stable, dups)

	// The killed replica comes back as a follower; SIGTERM on the leader
	// hands the lease to it within 5 s.
	first.start(bin)
	waitFor(t, ctx, first.name+" back and ready", func() bool { ok, body := first.ready(); return ok && body == "ok follower" })
	first.readIdentity(ctx)
	if holder() != second.identity {
		t.Fatalf("the lease moved to %q on a follower's start", holder())
	}
	terminated := time.Now()
	if err := second.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	waitWithin(t, ctx, time.Minute, "the lease handed over on SIGTERM", func() bool { return holder() == first.identity })
	handed := time.Since(terminated)
	t.Logf("SIGTERM: %s took over in %s", first.name, handed.Round(10*time.Millisecond))
	if handed > 5*time.Second {
		t.Errorf("hand-over on SIGTERM took %s; want within 5s", handed)
	}
	select {
	case err := <-second.exited:
		if err != nil {
			t.Errorf("%s exited with %v after SIGTERM; want a clean exit", second.name, err)
		}
	case <-time.After(15 * time.Second):
		t.Errorf("%s still running 15s after SIGTERM", second.name)
	}
	if names2, _ := installations(t, sim); len(names2) != total {
		t.Errorf("%d installations after the hand-over; want %d", len(names2), total)
	}
}
