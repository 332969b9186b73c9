package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/envwick/envwick/envs"
	"github.com/envwick/envwick/envs/examples"
	"github.com/envwick/envwick/envs/store"
	"github.com/envwick/envwick/reconciler/dashboard"
)

// chromiumPath finds Debian's chromium (what .ci/run installs); the browser
// test skips without it.
func chromiumPath(t *testing.T) string {
	for _, name := range []string{os.Getenv("ENVWICK_CHROMIUM"), "chromium", "chromium-browser", "google-chrome"} {
		if name == "" {
			continue
		}
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	t.Skip("no chromium on PATH (apt-get install chromium); skipping the browser test")
	return ""
}

// syncBuffer is dev's stdout, read while dev writes it.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// browserSeed is the bundled examples plus a few more environments, one of
// them a file that does not parse.
func browserSeed(t *testing.T) string {
	dir := t.TempDir()
	err := fs.WalkDir(examples.FS(), envs.Dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		data, err := fs.ReadFile(examples.FS(), p)
		if err != nil {
			return err
		}
		target := filepath.Join(dir, strings.TrimPrefix(p, envs.Dir+"/"))
		if err := os.MkdirAll(filepath.Dir(target), 0o755); err != nil {
			return err
		}
		return os.WriteFile(target, data, 0o644)
	})
	if err != nil {
		t.Fatal(err)
	}
	extra := map[string]string{
		"webapp-pr-812.yaml": "apiVersion: envwick.dev/v1alpha1\nkind: Environment\nmetadata:\n  name: webapp-pr-812\nspec:\n  owner:\n    github: ann-lee\n  source:\n    pullRequest:\n      repository: mattermost/mattermost-webapp\n      number: 812\n  installation:\n    version: 10.6.0\n    size: miniSingleton\n",
		"qa-perf.yaml":       "apiVersion: envwick.dev/v1alpha1\nkind: Environment\nmetadata:\n  name: qa-perf\nspec:\n  owner:\n    mattermost: omar.qa\n  source:\n    chat:\n      user: omar.qa\n  installation:\n    version: 10.5.0\n    size: 1000users\n",
		"broken-demo.yaml":   "apiVersion: envwick.dev/v1alpha1\nkind: Environment\nmetadata:\n  name: broken-demo\nspec:\n  owner: [not, a, map\n",
	}
	for name, data := range extra {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// The dashboard of a running 'envwick dev' in a real browser: the seeded
// environments are listed, a filter narrows them, one opens, and a state
// change recorded by a pass arrives on the open page without a reload.
func TestDashboardInBrowser(t *testing.T) {
	chromium := chromiumPath(t)
	if testing.Short() {
		t.Skip("browser test skipped in -short")
	}
	dataDir := t.TempDir()
	ctx, cancel := context.WithCancel(context.Background())
	out := &syncBuffer{}
	root := newRootCmd()
	root.SetOut(out)
	root.SetErr(io.Discard)
	root.SetArgs([]string{"dev", "--data-dir", dataDir, "--listen", "127.0.0.1:0", "--interval", "1s", "--seed", browserSeed(t), "--log-level", "error"})
	done := make(chan error, 1)
	go func() { done <- root.ExecuteContext(ctx) }()
	t.Cleanup(func() { cancel(); <-done })

	base := ""
	banner := regexp.MustCompile(`dashboard\s+(http://\S+?)/\s`)
	waitFor(t, 60*time.Second, "the dev banner", func() bool {
		if m := banner.FindStringSubmatch(out.String()); m != nil {
			base = m[1]
		}
		return base != ""
	})
	waitFor(t, 90*time.Second, "every environment reconciled", func() bool {
		l := apiList(t, base+"/api/v1/environments")
		ready := l.Counts[dashboard.StateReady] + l.Counts[dashboard.StateInvalid]
		return l.Total == 6 && ready == 6
	})

	alloc, cancelAlloc := chromedp.NewExecAllocator(context.Background(), append(chromedp.DefaultExecAllocatorOptions[:], chromedp.ExecPath(chromium), chromedp.WindowSize(1440, 1000))...)
	defer cancelAlloc()
	browser, cancelBrowser := chromedp.NewContext(alloc)
	defer cancelBrowser()
	// The first Run starts the browser and must have no deadline.
	if err := chromedp.Do(browser, chromedp.Navigate(base+"/")); err != nil {
		t.Fatal(err)
	}
	b, cancelB := context.WithTimeout(browser, 2*time.Minute)
	defer cancelB()
	rows := func() []string {
		t.Helper()
		names, err := chromedp.Run(b, chromedp.Evaluate[[]string](`[...document.querySelectorAll("tr[data-name]")].map(r => r.dataset.name)`))
		if err != nil {
			t.Fatal(err)
		}
		return names
	}

	// Every seeded environment is listed.
	if got, want := rows(), []string{"broken-demo", "jane-plugins", "mattermost-pr-31337", "qa-perf", "sales-demo", "webapp-pr-812"}; !slices.Equal(got, want) {
		t.Fatalf("fleet page lists %v, want %v", got, want)
	}

	// Filter: the form narrows the fleet to one owner.
	if err := chromedp.Do(b,
		chromedp.SetValue(chromedp.CSS(`select[name="owner"]`), "ann-lee"),
		chromedp.Click(chromedp.CSS(`form.filters button`)),
		chromedp.WaitNotPresent(chromedp.CSS(`tr[data-name="sales-demo"]`)),
	); err != nil {
		t.Fatal(err)
	}
	if got := rows(); !slices.Equal(got, []string{"webapp-pr-812"}) {
		t.Fatalf("filtered by owner: %v", got)
	}

	// Open one: its page has its conditions, file and the history of it.
	if err := chromedp.Do(b,
		chromedp.Click(chromedp.CSS(`a[href="/environments/webapp-pr-812"]`)),
		chromedp.WaitVisible(chromedp.CSS(`#git-history`)),
	); err != nil {
		t.Fatal(err)
	}
	text, err := chromedp.Run(b, chromedp.Text(chromedp.CSS(`main`)))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"webapp-pr-812", "mattermost/mattermost-webapp#812", "Available", "Seed the dev envs repository", "size: miniSingleton", "(none) → provisioning"} {
		if !strings.Contains(text, want) {
			t.Errorf("environment page lacks %q", want)
		}
	}

	// Live: hibernate sales-demo by a commit, as a person would push one,
	// and watch the open fleet page change without a reload.
	if err := chromedp.Do(b,
		chromedp.Navigate(base+"/"),
		chromedp.WaitVisible(chromedp.CSS(`tr[data-name="sales-demo"][data-state="ready"]`)),
		chromedp.Poll[chromedp.Void](`document.getElementById("live") && !document.getElementById("live").hidden`, chromedp.WithPollingTimeout(20*time.Second)),
	); err != nil {
		t.Fatal(err)
	}
	if _, err := chromedp.Run(b, chromedp.Evaluate[bool](`window.sameDocument = true`)); err != nil {
		t.Fatal(err)
	}
	hibernate(t, filepath.Join(dataDir, "envs.git"), "sales-demo")
	state, err := chromedp.Run(b, chromedp.Poll[string](
		`window.sameDocument === true && document.querySelector('tr[data-name="sales-demo"]').dataset.state === "hibernated" && document.documentElement.dataset.updated && "hibernated"`,
		chromedp.WithPollingTimeout(90*time.Second), chromedp.WithPollingInterval(100*time.Millisecond)))
	if err != nil || state != "hibernated" {
		t.Fatalf("the state change did not arrive live: %q %v", state, err)
	}
	screenshot(t, b, "dashboard.png")
	if err := chromedp.Do(b, chromedp.Navigate(base+"/environments/sales-demo"), chromedp.WaitVisible(chromedp.CSS(`#git-history`))); err != nil {
		t.Fatal(err)
	}
	if text, _ := chromedp.Run(b, chromedp.Text(chromedp.CSS(`#git-history`))); !strings.Contains(text, "Hibernate sales-demo for the night") || !strings.Contains(text, "ann-lee") {
		t.Errorf("the hibernating commit is not in the file's history: %q", text)
	}
	screenshot(t, b, "dashboard-environment.png")
}

func waitFor(t *testing.T, limit time.Duration, what string, ok func() bool) {
	t.Helper()
	deadline := time.Now().Add(limit)
	for !ok() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

func apiList(t *testing.T, u string) dashboard.List {
	t.Helper()
	var l dashboard.List
	res, err := http.Get(u)
	if err != nil {
		return l
	}
	defer res.Body.Close()
	json.NewDecoder(res.Body).Decode(&l)
	return l
}

// hibernate commits "state: hibernated" to an environment from a clone of
// its own, pushed to the dev repository.
func hibernate(t *testing.T, remote, name string) {
	t.Helper()
	ctx := context.Background()
	repo, err := store.Open(ctx, store.Options{URL: remote, Dir: filepath.Join(t.TempDir(), "clone")})
	if err != nil {
		t.Fatal(err)
	}
	defer repo.Close()
	_, err = repo.Commit(ctx, store.Change{
		Message:  "Hibernate " + name + " for the night",
		Author:   store.Signature{Name: "Ann Lee", Email: "ann@example.com"},
		Trailers: []store.Trailer{{Key: "Requested-by", Value: "ann-lee"}},
		Apply: func(tx *store.Tx) error {
			p, ok := tx.FindEnvironment(name)
			if !ok {
				return fmt.Errorf("no %s", name)
			}
			data, _ := tx.Read(p)
			e, err := envs.Parse(p, data)
			if err != nil {
				return err
			}
			e.Spec.State = envs.StateHibernated
			edited, err := envs.Edit(data, e)
			if err != nil {
				return err
			}
			tx.Write(p, edited)
			return nil
		},
	})
	if err != nil {
		t.Fatal(err)
	}
}

// screenshot keeps a full-page PNG in ENVWICK_SCREENSHOT_DIR (docs/ keeps
// the ones the README shows); nothing is written without it.
func screenshot(t *testing.T, b context.Context, name string) {
	dir := os.Getenv("ENVWICK_SCREENSHOT_DIR")
	if dir == "" {
		return
	}
	png, err := chromedp.Run(b, chromedp.FullScreenshot(100))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, name), png, 0o644); err != nil {
		t.Fatal(err)
	}
}
