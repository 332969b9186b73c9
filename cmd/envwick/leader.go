package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/spf13/pflag"
	coordinationv1 "k8s.io/client-go/kubernetes/typed/coordination/v1"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/envwick/envwick/reconciler/leader"
	"github.com/envwick/envwick/reconciler/platform"
)

// serviceAccountNamespace is where Kubernetes tells a pod its namespace.
const serviceAccountNamespace = "/var/run/secrets/kubernetes.io/serviceaccount/namespace"

// leaderConfig is `serve --leader-elect`: replicas share one Lease and only
// its holder runs reconcile passes (and so housekeeping); every replica
// serves the webhooks, slash commands and dashboard.
type leaderConfig struct {
	Enabled       bool
	LeaseName     string
	Namespace     string
	Kubeconfig    string
	LeaseDuration time.Duration
	RenewDeadline time.Duration
	RetryPeriod   time.Duration
}

func (c *leaderConfig) addFlags(fs *pflag.FlagSet) {
	fs.BoolVar(&c.Enabled, "leader-elect", envBool("leader-elect", false), "run passes only while holding a Kubernetes Lease, so replicas can run side by side ["+envName("leader-elect")+"]")
	fs.StringVar(&c.LeaseName, "leader-elect-lease-name", envString("leader-elect-lease-name", "envwick"), "name of the Lease ["+envName("leader-elect-lease-name")+"]")
	fs.StringVar(&c.Namespace, "leader-elect-namespace", envString("leader-elect-namespace", ""), "namespace of the Lease (default: the pod's, else \"default\") ["+envName("leader-elect-namespace")+"]")
	fs.StringVar(&c.Kubeconfig, "kubeconfig", envString("kubeconfig", os.Getenv("KUBECONFIG")), "kubeconfig file for the Lease (default: $KUBECONFIG, else the in-cluster service account) ["+envName("kubeconfig")+"]")
	durationVar(fs, &c.LeaseDuration, "leader-elect-lease-duration", envDuration("leader-elect-lease-duration", leader.DefaultLeaseDuration), "how long the others wait after the leader's last renewal before taking over ["+envName("leader-elect-lease-duration")+"]")
	durationVar(fs, &c.RenewDeadline, "leader-elect-renew-deadline", envDuration("leader-elect-renew-deadline", leader.DefaultRenewDeadline), "how long the leader tries to renew before it stops passing ["+envName("leader-elect-renew-deadline")+"]")
	durationVar(fs, &c.RetryPeriod, "leader-elect-retry-period", envDuration("leader-elect-retry-period", leader.DefaultRetryPeriod), "how often replicas try to acquire or renew the Lease ["+envName("leader-elect-retry-period")+"]")
}

// elector builds the leader elector: a Leases client from the kubeconfig
// or the in-cluster service account, and an identity unique to this
// process (the pod name, which a restarted pod keeps, plus a random part).
func (c *leaderConfig) elector(s *System) (*leader.Elector, error) {
	var cfg *rest.Config
	var err error
	if c.Kubeconfig != "" {
		cfg, err = clientcmd.BuildConfigFromFlags("", c.Kubeconfig)
	} else {
		cfg, err = rest.InClusterConfig()
	}
	if err != nil {
		return nil, fmt.Errorf("--leader-elect: reaching the Kubernetes API (set --kubeconfig outside a cluster): %w", err)
	}
	cfg.UserAgent = "envwick"
	client, err := coordinationv1.NewForConfig(cfg)
	if err != nil {
		return nil, fmt.Errorf("--leader-elect: %w", err)
	}
	ns := c.Namespace
	if ns == "" {
		ns = "default"
		if b, err := os.ReadFile(serviceAccountNamespace); err == nil && strings.TrimSpace(string(b)) != "" {
			ns = strings.TrimSpace(string(b))
		}
	}
	host, err := os.Hostname()
	if err != nil {
		return nil, fmt.Errorf("--leader-elect: naming this replica: %w", err)
	}
	suffix := make([]byte, 4)
	_, _ = rand.Read(suffix)
	return leader.New(leader.Options{
		Client: client, Namespace: ns, Name: c.LeaseName,
		Identity:      host + "_" + hex.EncodeToString(suffix),
		LeaseDuration: c.LeaseDuration, RenewDeadline: c.RenewDeadline, RetryPeriod: c.RetryPeriod,
		Logger: s.Logger.With("component", "leader"),
	})
}

// runPasses runs the reconcile passes: always, or with --leader-elect only
// while this replica holds the Lease. Everything else the system serves
// (webhooks, slash commands, dashboard, metrics) runs on every replica:
// they only commit, which any number of writers may do.
func (s *System) runPasses(ctx context.Context) error {
	if !s.Config.Leader.Enabled {
		return s.Runner.Run(ctx)
	}
	e, err := s.Config.Leader.elector(s)
	if err != nil {
		return err
	}
	s.elector.Store(e)
	s.Registry.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "envwick_leader",
		Help: "1 while this replica holds the leader Lease and runs reconcile passes, else 0.",
	}, func() float64 {
		if e.Leading() {
			return 1
		}
		return 0
	}))
	go s.followRepo(ctx, e)
	return e.Run(ctx, func(ctx context.Context) {
		// The provisioner's webhook points at the Service, whichever
		// replica answers; the leader keeps it registered.
		if s.Config.PublicURL != "" {
			if err := s.registerProvisionerWebhook(ctx, s.Config.PublicURL); err != nil && ctx.Err() == nil {
				s.Logger.Warn("registering the provisioner webhook failed; periodic passes still follow the platform", "error", err)
			}
		}
		if err := s.Runner.Run(ctx); err != nil {
			s.Logger.Error("reconcile passes stopped", "error", err)
		}
	})
}

// Leading reports whether this replica does the fleet's work that must run
// once: passes, housekeeping and the chat bot's daily report. Without
// --leader-elect it always does; with it, while it holds the Lease.
func (s *System) Leading() bool {
	if !s.Config.Leader.Enabled {
		return true
	}
	e := s.elector.Load()
	return e != nil && e.Leading()
}

// followRepo fetches the envs repository every interval while this
// replica follows: the leader's passes fetch for it, a follower has no
// passes, and its dashboard, and its bots' view of other replicas'
// deliveries, would otherwise stand still.
func (s *System) followRepo(ctx context.Context, e *leader.Elector) {
	every := s.Config.Interval
	if every <= 0 {
		every = time.Minute
	}
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		if e.Leading() {
			continue
		}
		if _, err := s.Repo.Sync(ctx); err != nil && ctx.Err() == nil {
			s.Logger.Warn("fetching the envs repository", "error", err)
		}
	}
}

// readiness answers /readyz: ready when the envs repository is open and the
// platform answers. A follower is ready too: it serves everything but
// passes. The platform probe is cached briefly, so probes from kubelet and
// load balancers cost at most one request per readyTTL.
type readiness struct {
	sys *System
	ttl time.Duration

	mu      sync.Mutex
	checked time.Time
	err     error
}

const readyTTL = 5 * time.Second

func (rd *readiness) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if err := rd.check(r.Context()); err != nil {
		http.Error(w, "not ready: "+err.Error(), http.StatusServiceUnavailable)
		return
	}
	role := "serving"
	if e := rd.sys.elector.Load(); e != nil {
		role = "follower"
		if e.Leading() {
			role = "leader"
		}
	}
	fmt.Fprintln(w, "ok", role)
}

func (rd *readiness) check(ctx context.Context) error {
	if _, err := rd.sys.Repo.Head(""); err != nil {
		return fmt.Errorf("envs repository: %w", err)
	}
	rd.mu.Lock()
	defer rd.mu.Unlock()
	if time.Since(rd.checked) < rd.ttl {
		return rd.err
	}
	ctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	// One small request: a name no installation has.
	err := rd.sys.Platform.ListInstallations(ctx, platform.ListFilter{OwnerID: rd.sys.Config.OwnerID, Name: "envwick-readyz-probe"},
		func([]platform.Installation) error { return nil })
	if err != nil {
		err = fmt.Errorf("platform: %w", err)
		if errors.Is(ctx.Err(), context.DeadlineExceeded) {
			err = errors.New("platform: no answer within 3s")
		}
	}
	rd.checked, rd.err = time.Now(), err
	return err
}
