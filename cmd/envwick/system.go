package main

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/spf13/pflag"

	"github.com/envwick/envwick/bots/commit"
	"github.com/envwick/envwick/envs"
	"github.com/envwick/envwick/envs/store"
	"github.com/envwick/envwick/reconciler"
	"github.com/envwick/envwick/reconciler/leader"
	"github.com/envwick/envwick/reconciler/licenses"
	"github.com/envwick/envwick/reconciler/metrics"
	"github.com/envwick/envwick/reconciler/platform"
	"github.com/envwick/envwick/reconciler/usage"
)

// systemConfig is everything the long-lived parts are built from. Every
// flag falls back to an ENVWICK_* environment variable; secrets are read
// only from the environment or from files, and never logged.
type systemConfig struct {
	DataDir string

	RepoURL    string
	RepoDir    string
	Branch     string
	SSHKeyFile string
	// Secrets are not kept in this struct: they are read when needed from
	// their ENVWICK_* variable or from the file a *File field names.
	RepoTokenFile string

	// Platform names the provider (platformProviders).
	Platform              string
	ProvisionerURL        string
	ProvisionerAPIKeyFile string
	Domain                string
	PageSize              int

	OwnerID string
	GroupID string

	Concurrency       int
	RequestRate       float64
	MaxDeleteShare    float64
	MaxDeleteCount    int
	AllowMassDeletion bool

	HibernateAfterIdle    time.Duration
	DeleteAfterHibernated time.Duration
	NoHousekeeping        bool
	LicenseDir            string
	StatusInterval        time.Duration

	// Policy is what every bot's commits obey (serve and dev).
	Policy policyConfig

	Listen   string
	Interval time.Duration
	// PollInterval is how often the remote's head is read (0: never).
	PollInterval time.Duration
	// PublicURL is where the provisioner reaches this envwick's webhooks.
	PublicURL                   string
	WebhookSecretFile           string
	ProvisionerWebhookTokenFile string
	// Leader gates the passes behind a Kubernetes Lease (serve only).
	Leader leaderConfig

	LogFormat string
	LogLevel  string

	// Image configures the wait for an environment's image.
	Image imageConfig
	// Usage configures the usage source (serve and dev only).
	Usage *usageConfig
	// Local, set by dev, runs the bots with generated secrets and no
	// servers (local.go).
	Local *localMode

	// Attach plugs bots into the system after it is built and before it
	// runs; each returns a function stopping the bot (nil when it is off).
	Attach []func(context.Context, *System) (func(), error)
}

// env returns the ENVWICK_ variable for a flag name.
func envName(flag string) string {
	return "ENVWICK_" + strings.ToUpper(strings.ReplaceAll(flag, "-", "_"))
}

func envString(flag, def string) string {
	if v, ok := os.LookupEnv(envName(flag)); ok {
		return v
	}
	return def
}

func envInt(flag string, def int) int {
	if n, err := strconv.Atoi(envString(flag, "")); err == nil {
		return n
	}
	return def
}

func envFloat(flag string, def float64) float64 {
	if f, err := strconv.ParseFloat(envString(flag, ""), 64); err == nil {
		return f
	}
	return def
}

func envBool(flag string, def bool) bool {
	if b, err := strconv.ParseBool(envString(flag, "")); err == nil {
		return b
	}
	return def
}

func envDuration(flag string, def time.Duration) time.Duration {
	if d, err := envs.ParseDuration(envString(flag, "")); err == nil {
		return d
	}
	return def
}

// durationValue is a duration flag that reads what environment files do: Go
// durations plus days and weeks ("7d", "2w"), as its ENVWICK_* variable
// does, and shows days in --help ("7d", not "168h0m0s").
type durationValue time.Duration

// durationVar registers a duration flag on fs that reads envs durations.
func durationVar(fs *pflag.FlagSet, p *time.Duration, name string, def time.Duration, usage string) {
	*p = def
	fs.Var((*durationValue)(p), name, usage)
}

func (d *durationValue) String() string { return envs.FormatDuration(time.Duration(*d)) }
func (d *durationValue) Type() string   { return "duration" }
func (d *durationValue) Set(s string) error {
	v, err := envs.ParseDuration(s)
	if err != nil {
		return err
	}
	*d = durationValue(v)
	return nil
}

// checkEnvFlags fails on an ENVWICK_* variable that does not parse as its
// flag's type. The env* helpers fall back to the default on such a value,
// so without this ENVWICK_INTERVAL=5 would silently mean the default
// interval. Flags set on the command line win, so their variables are not
// looked at.
func checkEnvFlags(fs *pflag.FlagSet) error {
	var errs []error
	fs.VisitAll(func(f *pflag.Flag) {
		name := envName(f.Name)
		v, ok := os.LookupEnv(name)
		if !ok || v == "" || f.Changed || !strings.Contains(f.Usage, "["+name+"]") {
			return
		}
		var err error
		switch f.Value.Type() {
		case "int", "int64":
			_, err = strconv.ParseInt(v, 10, 64)
		case "float64":
			_, err = strconv.ParseFloat(v, 64)
		case "bool":
			_, err = strconv.ParseBool(v)
		case "duration":
			_, err = envs.ParseDuration(v)
		}
		if err != nil {
			errs = append(errs, fmt.Errorf("%s=%q is not a valid %s for --%s", name, v, f.Value.Type(), f.Name))
		}
	})
	return errors.Join(errs...)
}

// addFlags registers the flags every reconciler command shares.
func (c *systemConfig) addFlags(fs *pflag.FlagSet) {
	s := func(p *string, name, def, usage string) {
		fs.StringVar(p, name, envString(name, def), usage+" ["+envName(name)+"]")
	}
	s(&c.DataDir, "data-dir", ".envwick", "folder for local state: clones, the dev repository and simulator")
	s(&c.RepoURL, "repo-url", "", "envs repository URL (path, file://, http(s)://, ssh://); default: the dev repository in the data dir")
	s(&c.RepoDir, "repo-dir", "", "local clone of the envs repository (default: in the data dir)")
	s(&c.Branch, "branch", store.DefaultBranch, "branch people edit")
	s(&c.SSHKeyFile, "ssh-key-file", "", "private key for ssh:// repository URLs")
	s(&c.RepoTokenFile, "repo-token-file", "", "file holding the HTTP(S) token for the envs repository (or set ENVWICK_REPO_TOKEN)")
	s(&c.Platform, "platform", "provisioner", "platform provider: "+platformNames())
	s(&c.ProvisionerURL, "provisioner-url", "", "provisioner API URL; default: the simulator of a running 'envwick dev'")
	s(&c.ProvisionerAPIKeyFile, "provisioner-api-key-file", "", "file holding the provisioner API key (or set ENVWICK_PROVISIONER_API_KEY)")
	s(&c.Domain, "domain", "envwick.test", "domain installation DNS names are made under")
	fs.IntVar(&c.PageSize, "page-size", envInt("page-size", 500), "installations per list request ["+envName("page-size")+"]")
	s(&c.OwnerID, "owner-id", "envwick", "provisioner OwnerID marking the installations envwick may change")
	s(&c.GroupID, "group-id", "", "provisioner group every installation joins (optional)")
	fs.IntVar(&c.Concurrency, "concurrency", envInt("concurrency", 10), "provisioner changes in flight at once ["+envName("concurrency")+"]")
	fs.Float64Var(&c.RequestRate, "request-rate", envFloat("request-rate", 150), "most provisioner requests per second when applying ["+envName("request-rate")+"]")
	fs.Float64Var(&c.MaxDeleteShare, "max-delete-share", envFloat("max-delete-share", 0.2), "largest share of owned installations one pass may delete ["+envName("max-delete-share")+"]")
	fs.IntVar(&c.MaxDeleteCount, "max-delete-count", envInt("max-delete-count", 0), "largest number one pass may delete (0: no limit besides the share) ["+envName("max-delete-count")+"]")
	fs.BoolVar(&c.AllowMassDeletion, "allow-mass-deletion", envBool("allow-mass-deletion", false), "override the mass-deletion guard ["+envName("allow-mass-deletion")+"]")
	durationVar(fs, &c.HibernateAfterIdle, "hibernate-after-idle", envDuration("hibernate-after-idle", 7*24*time.Hour), "hibernate environments idle this long ["+envName("hibernate-after-idle")+"]")
	durationVar(fs, &c.DeleteAfterHibernated, "delete-after-hibernated", envDuration("delete-after-hibernated", 14*24*time.Hour), "delete environments hibernated this long ["+envName("delete-after-hibernated")+"]")
	durationVar(fs, &c.StatusInterval, "status-interval", envDuration("status-interval", 30*time.Second), "shortest time between two status commits touching one environment ["+envName("status-interval")+"]")
	fs.BoolVar(&c.NoHousekeeping, "no-housekeeping", envBool("no-housekeeping", false), "record deadlines but commit no housekeeping ["+envName("no-housekeeping")+"]")
	c.Image.addFlags(fs)
	s(&c.LicenseDir, "license-dir", "", "folder of license texts, one file per license name (also ENVWICK_LICENSE_<NAME>; see docs/operations.md)")
	s(&c.LogFormat, "log-format", "json", "log format: json or text")
	s(&c.LogLevel, "log-level", "info", "log level: debug, info, warn, error")
}

// addServeFlags registers the flags of the long-running commands (serve,
// dev): the shared ones, the bots' ones, whose bots it attaches, and the
// server's own.
func (c *systemConfig) addServeFlags(fs *pflag.FlagSet, listen string) {
	c.addFlags(fs)
	c.Policy.addFlags(fs)
	github := &githubConfig{}
	github.addFlags(fs)
	chat := &chatConfig{}
	chat.addFlags(fs)
	dash := &dashboardConfig{}
	dash.addFlags(fs)
	c.Attach = append(c.Attach, github.attach, chat.attach, dash.attach)
	c.Usage = &usageConfig{}
	c.Usage.addFlags(fs)
	fs.StringVar(&c.Listen, "listen", envString("listen", listen), "address for metrics, health and webhooks ["+envName("listen")+"]")
	durationVar(fs, &c.Interval, "interval", envDuration("interval", time.Minute), "time between periodic passes ["+envName("interval")+"]")
	durationVar(fs, &c.PollInterval, "poll-interval", envDuration("poll-interval", 30*time.Second), "time between reads of the envs repository's head on the remote (an ls-remote), which start a pass on a push that sent no webhook; 0 disables ["+envName("poll-interval")+"]")
	fs.StringVar(&c.PublicURL, "public-url", envString("public-url", ""), "URL the provisioner reaches this envwick at, to register its webhook ["+envName("public-url")+"]")
	fs.StringVar(&c.ProvisionerWebhookTokenFile, "provisioner-webhook-token-file", envString("provisioner-webhook-token-file", ""), "file holding the token the provisioner's webhooks must carry (or set ENVWICK_PROVISIONER_WEBHOOK_TOKEN); without one /webhooks/provisioner is off ["+envName("provisioner-webhook-token-file")+"]")
	fs.StringVar(&c.WebhookSecretFile, "webhook-secret-file", envString("webhook-secret-file", ""), "file holding the GitHub push webhook secret (or set ENVWICK_WEBHOOK_SECRET) ["+envName("webhook-secret-file")+"]")
}

// secret reads a secret from an environment variable or a file.
func secret(envVar, file string) (string, error) {
	if file != "" {
		b, err := os.ReadFile(file)
		if err != nil {
			return "", fmt.Errorf("reading secret file: %w", err)
		}
		return strings.TrimSpace(string(b)), nil
	}
	return os.Getenv(envVar), nil
}

// secretList reads secrets that come several at once (a current and a
// next one, or one per sender): from file when it is set, else from
// fromEnv, split at any of seps, blanks dropped.
func secretList(fromEnv, file, seps, what string) ([]string, error) {
	raw := fromEnv
	if file != "" {
		b, err := os.ReadFile(file)
		if err != nil {
			return nil, fmt.Errorf("reading %s: %w", what, err)
		}
		raw = string(b)
	}
	var out []string
	for _, s := range strings.FieldsFunc(raw, func(r rune) bool { return strings.ContainsRune(seps, r) }) {
		if s = strings.TrimSpace(s); s != "" {
			out = append(out, s)
		}
	}
	return out, nil
}

// logger builds the structured logger; a level or format it does not know is
// an error rather than a quiet fallback, so a typo does not hide debug logs.
func (c *systemConfig) logger(w io.Writer) (*slog.Logger, error) {
	var level slog.Level
	if err := level.UnmarshalText([]byte(c.LogLevel)); err != nil {
		return nil, fmt.Errorf("--log-level %q: use debug, info, warn or error", c.LogLevel)
	}
	opts := &slog.HandlerOptions{Level: level}
	switch c.LogFormat {
	case "text":
		return slog.New(slog.NewTextHandler(w, opts)), nil
	case "json":
		return slog.New(slog.NewJSONHandler(w, opts)), nil
	default:
		return nil, fmt.Errorf("--log-format %q: use json or text", c.LogFormat)
	}
}

// devRepoPath is the envs repository 'envwick dev' keeps in the data dir;
// devProvisionerFile names the simulator URL of a running 'envwick dev'.
func devRepoPath(dataDir string) string        { return filepath.Join(dataDir, "envs.git") }
func devProvisionerFile(dataDir string) string { return filepath.Join(dataDir, "provisioner-url") }

// System is envwick's long-lived parts, built from configuration. Commands
// build one, and serve/dev run it; the bots plug in here (Notifiers,
// Activity, Mux).
type System struct {
	Config *systemConfig
	Logger *slog.Logger
	Repo   *store.Repo
	// Platform is the provider --platform chose.
	Platform   platform.Platform
	Reconciler *reconciler.Reconciler
	Runner     *reconciler.Runner
	// elector is set with --leader-elect once passes start; read by
	// handlers and bots on other goroutines, hence atomic.
	elector atomic.Pointer[leader.Elector]
	// Activity is what the bots report activity to.
	Activity *reconciler.Activity
	// Usage asks installations how they are used; nil when off.
	Usage *usage.Source
	// Notifiers receive every transition; bots append theirs before Run.
	Notifiers *reconciler.FanOut
	Metrics   *metrics.Metrics
	Registry  *prometheus.Registry
	// Licenses holds the license texts by name; nil when none are
	// configured. Bots check license names against it.
	Licenses *licenses.Store
	// Mux serves /metrics, /healthz, /readyz and the webhooks; bots add
	// their handlers.
	Mux *http.ServeMux
	// closers release what buildSystem opened.
	closers []func() error
}

// buildSystem opens the envs repository and the platform and builds the
// reconciler. cloneName names the local clone in the data dir, so commands
// running side by side do not share one. Whatever it opened is released
// in one place when a later step fails; on success System.Close does it.
func buildSystem(ctx context.Context, c *systemConfig, logOut io.Writer, cloneName string) (sys *System, err error) {
	log, err := c.logger(logOut)
	if err != nil {
		return nil, err
	}
	s := &System{Config: c, Logger: log, Activity: reconciler.NewActivity(), Registry: prometheus.NewRegistry(), Mux: http.NewServeMux()}
	defer func() {
		if err != nil {
			s.Close()
		}
	}()
	s.Registry.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	s.Metrics = metrics.New(s.Registry)
	fan := reconciler.FanOut{reconciler.LogNotifier{Logger: log}}
	s.Notifiers = &fan

	repo, err := c.openRepo(ctx, log, cloneName)
	if err != nil {
		return nil, err
	}
	s.Repo = repo
	s.closers = append(s.closers, repo.Close)

	if s.Licenses, err = openLicenses(c.LicenseDir, log); err != nil {
		return nil, err
	}
	p, closePlatform, err := openPlatform(ctx, c, s)
	if err != nil {
		return nil, err
	}
	s.Platform = p
	if closePlatform != nil {
		s.closers = append(s.closers, closePlatform)
	}

	if s.Usage, err = c.Usage.build(c.DataDir, func() []reconciler.RunningInstallation { return s.Reconciler.Running() }); err != nil {
		return nil, err
	}
	maxUsers := 0
	if c.Usage != nil {
		maxUsers = c.Usage.MaxUsers
	}
	images, err := c.Image.resolver()
	if err != nil {
		return nil, err
	}
	defaults := envs.DefaultDefaults()
	defaults.HibernateAfterIdle = envs.Duration{Duration: c.HibernateAfterIdle}
	defaults.DeleteAfterHibernated = envs.Duration{Duration: c.DeleteAfterHibernated}
	s.Reconciler, err = reconciler.New(&reconciler.StoreRepository{Repo: repo}, p,
		reconciler.Config{
			Owner:          reconciler.Owner{OwnerID: c.OwnerID, GroupID: c.GroupID},
			Defaults:       defaults,
			Guard:          reconciler.GuardPolicy{MaxShare: c.MaxDeleteShare, MaxCount: c.MaxDeleteCount, Override: c.AllowMassDeletion},
			Housekeeping:   reconciler.HousekeepingPolicy{Disabled: c.NoHousekeeping},
			Housekeeper:    commit.Housekeeper{Committer: commit.New(repo, commit.Options{Logger: log.With("component", "housekeeping")})},
			Concurrency:    c.Concurrency,
			RequestRate:    c.RequestRate,
			StatusInterval: c.StatusInterval,
			Logger:         log.With("component", "reconciler"),
			Notifier:       s.Notifiers,
			Activity:       s.Activity,
			Usage:          usageSource(s.Usage),
			MaxUsers:       maxUsers,
			Images:         images,
			ImageDeadline:  c.Image.Deadline,
			Metrics:        s.Metrics,
			Licenses:       reconcilerLicenses(s.Licenses),
			// Runner is set before any pass can start a load.
			OnTestData: func(string) {
				if s.Runner != nil {
					s.Runner.Trigger("test data loaded")
				}
			},
		})
	if err != nil {
		return nil, err
	}
	return s, nil
}

// openRepo opens the envs repository the configuration names (the dev
// repository in the data dir by default), in a clone of its own named
// cloneName.
func (c *systemConfig) openRepo(ctx context.Context, log *slog.Logger, cloneName string) (*store.Repo, error) {
	repoURL := c.RepoURL
	if repoURL == "" {
		if _, err := os.Stat(devRepoPath(c.DataDir)); err != nil {
			return nil, errors.New("no envs repository: set --repo-url (ENVWICK_REPO_URL), or start 'envwick dev' first")
		}
		repoURL = devRepoPath(c.DataDir)
	}
	repoDir := c.RepoDir
	if repoDir == "" {
		repoDir = filepath.Join(c.DataDir, "clones", cloneName)
	}
	token, err := secret("ENVWICK_REPO_TOKEN", c.RepoTokenFile)
	if err != nil {
		return nil, err
	}
	repo, err := store.Open(ctx, store.Options{
		URL: repoURL, Dir: repoDir, Branch: c.Branch,
		Auth:      store.Auth{Token: token, SSHKeyFile: c.SSHKeyFile},
		Committer: store.Signature{Name: "envwick", Email: "envwick@localhost"},
		Logger:    log.With("component", "store"),
	})
	if err != nil {
		return nil, fmt.Errorf("opening the envs repository: %w", err)
	}
	return repo, nil
}

// Close releases what buildSystem opened, last opened first.
func (s *System) Close() error {
	var errs []error
	for i := len(s.closers) - 1; i >= 0; i-- {
		errs = append(errs, s.closers[i]())
	}
	s.closers = nil
	return errors.Join(errs...)
}

// Run serves HTTP on ln's address and runs the reconciler until ctx ends.
func (s *System) Run(ctx context.Context, addr string) (string, func() error, error) {
	s.Runner = &reconciler.Runner{
		Reconciler: s.Reconciler,
		Interval:   s.Config.Interval,
		Commits:    s.Repo.Subscribe(ctx),
		Poll:       s.Repo.RemoteHead,
		// A zero interval disables the poll.
		PollInterval: s.Config.PollInterval,
		Logger:       s.Logger.With("component", "runner"),
	}
	s.Mux.Handle("GET /metrics", promhttp.HandlerFor(s.Registry, promhttp.HandlerOpts{}))
	s.Mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) { fmt.Fprintln(w, "ok") })
	s.Mux.Handle("GET /readyz", &readiness{sys: s, ttl: readyTTL})
	hookToken, err := s.Config.provisionerWebhookToken()
	if err != nil {
		return "", nil, err
	}
	if wp, ok := s.Platform.(webhookPlatform); ok && hookToken != "" {
		s.Mux.Handle("/webhooks/provisioner", wp.WebhookHandler(s.Runner, s.Logger, hookToken))
	}
	hookSecret, err := secret("ENVWICK_WEBHOOK_SECRET", s.Config.WebhookSecretFile)
	if err != nil {
		return "", nil, err
	}
	if hookSecret != "" {
		s.Mux.Handle("/webhooks/github", &reconciler.PushWebhook{Secret: []byte(hookSecret), Trigger: s.Runner, Logger: s.Logger})
	}
	srv, url, err := listen(addr, boundBodies(s.Mux, maxRequestBody))
	if err != nil {
		return "", nil, err
	}
	s.runUsage(ctx)
	done := make(chan error, 1)
	go func() { done <- s.runPasses(ctx) }()
	wait := func() error {
		err := <-done
		shut, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		srv.Shutdown(shut)
		return err
	}
	return url, wait, nil
}

// registerProvisionerWebhook points the platform's state-change webhooks
// at this envwick, replacing earlier registrations of the owner. A platform
// without webhooks is followed by periodic passes alone.
func (s *System) registerProvisionerWebhook(ctx context.Context, publicURL string) error {
	r, ok := s.Platform.(webhookPlatform)
	if !ok {
		return nil
	}
	token, err := s.Config.provisionerWebhookToken()
	if err != nil || token == "" {
		return cmp.Or(err, errors.New("no provisioner webhook token configured (--provisioner-webhook-token-file)"))
	}
	return r.RegisterWebhook(ctx, s.Config.OwnerID, strings.TrimSuffix(publicURL, "/")+"/webhooks/provisioner", token)
}

// runSystem builds the system, serves and runs it until ctx ends. started
// is called once it is serving, with its URL; stopped (optional) once it
// has stopped. Parts that plug into a running system (the bots: handlers
// on Mux, notifiers, activity) are attached here, between building and
// running, so serve and dev get them alike.
func runSystem(ctx context.Context, cfg *systemConfig, logOut io.Writer, cloneName string, started func(*System, string), stopped func()) error {
	sys, err := buildSystem(ctx, cfg, logOut, cloneName)
	if err != nil {
		return err
	}
	defer sys.Close()
	for _, attach := range cfg.Attach {
		stop, err := attach(ctx, sys)
		if err != nil {
			return err
		}
		if stop != nil {
			defer stop()
		}
	}
	url, wait, err := sys.Run(ctx, cfg.Listen)
	if err != nil {
		return err
	}
	started(sys, url)
	err = wait()
	if stopped != nil {
		stopped()
	}
	return err
}
