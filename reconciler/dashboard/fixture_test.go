package dashboard_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/fluxcd/pkg/apis/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/yaml"

	"github.com/envwick/envwick/envs"
	"github.com/envwick/envwick/envs/store"
	"github.com/envwick/envwick/reconciler"
	"github.com/envwick/envwick/reconciler/dashboard"
)

// start is the fixtures' first commit time; every commit moves the clock.
var start = time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)

// fixture is a real envs repository (local-only, on disk) with a
// dashboard served over HTTP on loopback.
type fixture struct {
	t    testing.TB
	repo *store.Repo
	d    *dashboard.Dashboard
	srv  *httptest.Server

	mu  sync.Mutex
	now time.Time
}

func newFixture(t testing.TB, o dashboard.Options) *fixture {
	t.Helper()
	f := &fixture{t: t, now: start}
	repo, err := store.Open(ctx(t), store.Options{Dir: filepath.Join(t.TempDir(), "envs"), Now: f.clock, Committer: store.Signature{Name: "envwick", Email: "envwick@localhost"}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { repo.Close() })
	f.repo = repo
	o.Repo, o.Now = repo, f.clock
	if o.PollInterval == 0 {
		o.PollInterval = 20 * time.Millisecond
	}
	d, err := dashboard.New(o)
	if err != nil {
		t.Fatal(err)
	}
	f.d = d
	f.srv = httptest.NewServer(d)
	t.Cleanup(f.srv.Close)
	return f
}

func ctx(t testing.TB) context.Context {
	c, cancel := context.WithTimeout(context.Background(), time.Minute)
	t.Cleanup(cancel)
	return c
}

func (f *fixture) clock() time.Time {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.now
}

// advance moves the clock.
func (f *fixture) advance(d time.Duration) {
	f.mu.Lock()
	f.now = f.now.Add(d)
	f.mu.Unlock()
}

// commit writes files (nil content deletes) to a branch as one commit.
func (f *fixture) commit(branch, message string, author store.Signature, trailers []store.Trailer, files map[string][]byte) string {
	f.t.Helper()
	res, err := f.repo.Commit(ctx(f.t), store.Change{Branch: branch, Message: message, Author: author, Trailers: trailers, Apply: func(tx *store.Tx) error {
		for p, data := range files {
			if data == nil {
				tx.Delete(p)
			} else {
				tx.Write(p, data)
			}
		}
		return nil
	}})
	if err != nil {
		f.t.Fatal(err)
	}
	return res.Commit
}

// env commits environment files by name.
func (f *fixture) env(message string, files map[string]string) string {
	f.t.Helper()
	m := map[string][]byte{}
	for name, data := range files {
		m[envs.Dir+"/"+name+".yaml"] = []byte(data)
	}
	return f.commit("", message, store.Signature{}, nil, m)
}

// status commits status files to the status branch as one pass would.
func (f *fixture) status(sts ...*reconciler.Status) string {
	f.t.Helper()
	m := map[string][]byte{}
	for _, st := range sts {
		data, err := yaml.Marshal(st)
		if err != nil {
			f.t.Fatal(err)
		}
		m[reconciler.StatusPath(st.Name)] = data
	}
	return f.commit(reconciler.StatusBranch, "Record status", store.Signature{}, nil, m)
}

// get fetches a path and returns the status code, body and headers.
func (f *fixture) get(path string, header ...string) (int, string, http.Header) {
	f.t.Helper()
	req, err := http.NewRequestWithContext(ctx(f.t), http.MethodGet, f.srv.URL+path, nil)
	if err != nil {
		f.t.Fatal(err)
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		f.t.Fatal(err)
	}
	defer res.Body.Close()
	body, err := io.ReadAll(res.Body)
	if err != nil {
		f.t.Fatal(err)
	}
	return res.StatusCode, string(body), res.Header
}

// envFile is a valid environment file.
func envFile(name, github string, extra ...string) string {
	return fmt.Sprintf(`apiVersion: envwick.dev/v1alpha1
kind: Environment
metadata:
  name: %s
spec:
  owner:
    github: %s
%s`, name, github, strings.Join(extra, "\n"))
}

// st is a status whose Ready condition has reason (True for Available and
// Hibernated, as the reconciler records them).
func st(name, reason, message string, at time.Time) *reconciler.Status {
	status := metav1.ConditionFalse
	if reason == envs.ReasonAvailable || reason == envs.ReasonHibernated {
		status = metav1.ConditionTrue
	}
	s := &reconciler.Status{APIVersion: envs.APIVersion, Kind: reconciler.StatusKind, Name: name}
	s.Status.Conditions = []metav1.Condition{{Type: meta.ReadyCondition, Status: status, Reason: reason, Message: message, LastTransitionTime: metav1.Time{Time: at}}}
	s.Status.CreatedAt = &metav1.Time{Time: start}
	s.Status.Installation = &envs.InstallationStatus{Name: name + "-1", URL: "https://" + name + ".envwick.test", State: "stable", Version: "10.5.0"}
	return s
}
