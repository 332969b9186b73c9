// Package dashboard is envwick's read-only web view of the fleet: a page of
// every environment (counts by state, filters, sort, search, pages), one
// page per environment (its file as in git, conditions, status history and
// the git history of its file), a chart of the fleet by state over the last
// days, live updates by Server-Sent Events, and the same data as JSON under
// /api/v1/. It reads the envs repository and the status branch through
// envs/store and changes nothing.
//
// Pages are rendered on the server with html/template from embedded
// templates, so they work without JavaScript; one small script served from
// the same origin (the Content-Security-Policy allows nothing else) swaps
// in fresh parts of the page when a pass records status.
package dashboard

import (
	"cmp"
	"context"
	"crypto/subtle"
	"embed"
	"errors"
	"io/fs"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"k8s.io/utils/lru"

	"github.com/envwick/envwick/envs/store"
)

//go:embed templates static
var assets embed.FS

// Defaults of Options.
const (
	DefaultHistoryDays       = 30
	DefaultMaxHistoryCommits = 20000
	DefaultPollInterval      = time.Second
	DefaultCacheEntries      = 25000
	// MaxEventClients bounds the live connections served at once.
	MaxEventClients = 256
)

// Options configure a Dashboard.
type Options struct {
	// Repo is the envs repository; the dashboard only reads it.
	Repo *store.Repo
	// RepoURL is the envs repository's clone URL. When its host is a known
	// web host (github.com, gitlab.com, codeberg.org, bitbucket.org), files
	// and commits link there. Credentials in it are never shown.
	RepoURL string
	// GitHubURL is the web root pull requests are linked under;
	// https://github.com when empty.
	GitHubURL string
	// Token, when set, is required as "Authorization: Bearer TOKEN" (or as
	// the password of HTTP basic authentication, for browsers).
	Token string
	// UserHeader, when set, names the header a trusted reverse proxy (such
	// as oauth2-proxy) puts the signed-in user in; requests without it are
	// refused unless they carry Token. Only safe when nothing but the proxy
	// can reach envwick.
	UserHeader string
	// HistoryDays is how many days the chart and status history cover;
	// DefaultHistoryDays when zero.
	HistoryDays int
	// MaxHistoryCommits bounds the status commits kept in memory;
	// DefaultMaxHistoryCommits when zero.
	MaxHistoryCommits int
	// PollInterval is how often Run looks for new heads to tell live
	// pages about; DefaultPollInterval when zero.
	PollInterval time.Duration
	// CacheEntries bounds the parsed status files kept; DefaultCacheEntries
	// when zero.
	CacheEntries int
	// Now is the clock; time.Now when nil.
	Now    func() time.Time
	Logger *slog.Logger
}

// Dashboard serves the fleet view. It is safe for concurrent use.
type Dashboard struct {
	repo       *store.Repo
	web        webRepo
	hasWeb     bool
	githubURL  string
	token      string
	userHeader string
	days       int
	maxCommits int
	poll       time.Duration
	now        func() time.Time
	log        *slog.Logger
	pages      *pages
	static     http.Handler
	mux        *http.ServeMux

	cur         atomic.Pointer[fleet]
	buildMu     sync.Mutex
	statusCache *lru.Cache // status blob -> *reconciler.Status (nil: damaged)
	stateCache  *lru.Cache // status blob -> state
	fileLogs    *lru.Cache // fileLogKey -> fileLog
	charts      *lru.Cache // chartKey -> []byte

	histMu sync.Mutex
	hist   *history

	events broadcaster
}

// New builds a dashboard.
func New(o Options) (*Dashboard, error) {
	if o.Repo == nil {
		return nil, errors.New("dashboard: Options.Repo is required")
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	p, err := parsePages()
	if err != nil {
		return nil, err
	}
	static, err := fs.Sub(assets, "static")
	if err != nil {
		return nil, err
	}
	entries := cmp.Or(o.CacheEntries, DefaultCacheEntries)
	d := &Dashboard{
		repo:        o.Repo,
		githubURL:   strings.TrimSuffix(cmp.Or(o.GitHubURL, "https://github.com"), "/"),
		token:       o.Token,
		userHeader:  o.UserHeader,
		days:        cmp.Or(o.HistoryDays, DefaultHistoryDays),
		maxCommits:  cmp.Or(o.MaxHistoryCommits, DefaultMaxHistoryCommits),
		poll:        cmp.Or(o.PollInterval, DefaultPollInterval),
		now:         o.Now,
		log:         o.Logger,
		pages:       p,
		static:      http.StripPrefix("/static/", http.FileServerFS(static)),
		statusCache: lru.New(entries),
		stateCache:  lru.New(4 * entries),
		fileLogs:    lru.New(256),
		charts:      lru.New(8),
	}
	d.web, d.hasWeb = parseWebRepo(o.RepoURL)
	d.events.init()
	d.mux = http.NewServeMux()
	d.Mount(d.mux)
	return d, nil
}

// Routes are the paths the dashboard serves, as http.ServeMux patterns.
var Routes = []string{
	"GET /{$}",
	"GET /environments/{name}",
	"GET /fleet.svg",
	"GET /events",
	"GET /static/",
	"GET /api/v1/environments",
	"GET /api/v1/environments/{name}",
}

// Mount registers the dashboard's routes on mux (what `envwick serve`
// does with the system's mux).
func (d *Dashboard) Mount(mux *http.ServeMux) {
	handlers := []http.HandlerFunc{d.serveFleet, d.serveEnvironment, d.serveChart, d.serveEvents, d.serveStatic, d.serveAPIList, d.serveAPIEnvironment}
	for i, pattern := range Routes {
		mux.Handle(pattern, d.guard(handlers[i]))
	}
}

// ServeHTTP serves the dashboard's routes on their own.
func (d *Dashboard) ServeHTTP(w http.ResponseWriter, r *http.Request) { d.mux.ServeHTTP(w, r) }

// Run looks for new heads every PollInterval until ctx ends, rebuilding
// the fleet index (which tells live pages), so a page request after a pass
// rarely waits for the rebuild.
func (d *Dashboard) Run(ctx context.Context) error {
	t := time.NewTicker(d.poll)
	defer t.Stop()
	for {
		if _, err := d.fleet(ctx); err != nil {
			d.log.WarnContext(ctx, "reading the fleet", "error", err)
		}
		select {
		case <-ctx.Done():
			d.events.close()
			return nil
		case <-t.C:
		}
	}
}

// securityHeaders go on every response: a policy allowing nothing but this
// origin's script, styles, images and event stream, and no framing.
func securityHeaders(h http.Header) {
	h.Set("Content-Security-Policy", "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("X-Frame-Options", "DENY")
	h.Set("Referrer-Policy", "same-origin")
}

type userKey struct{}

// guard sets the security headers and, when access control is on, lets
// through only requests with the token or the proxy's user header.
func (d *Dashboard) guard(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		securityHeaders(w.Header())
		if d.token == "" && d.userHeader == "" {
			h.ServeHTTP(w, r)
			return
		}
		if d.userHeader != "" {
			if u := strings.TrimSpace(r.Header.Get(d.userHeader)); u != "" {
				h.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), userKey{}, u)))
				return
			}
		}
		if d.token != "" && d.tokenOK(r) {
			h.ServeHTTP(w, r)
			return
		}
		if d.token != "" {
			w.Header().Set("WWW-Authenticate", `Basic realm="envwick dashboard", charset="UTF-8"`)
		}
		http.Error(w, "sign in to see the envwick dashboard", http.StatusUnauthorized)
	})
}

func (d *Dashboard) tokenOK(r *http.Request) bool {
	got := ""
	if _, pass, ok := r.BasicAuth(); ok {
		got = pass
	} else if v, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer "); ok {
		got = strings.TrimSpace(v)
	}
	return got != "" && subtle.ConstantTimeCompare([]byte(got), []byte(d.token)) == 1
}

func userOf(r *http.Request) string {
	u, _ := r.Context().Value(userKey{}).(string)
	return u
}

func (d *Dashboard) serveStatic(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Cache-Control", "public, max-age=300")
	d.static.ServeHTTP(w, r)
}
