package reconciler

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/plumbing"

	"github.com/envwick/envwick/envs"
	"github.com/envwick/envwick/reconciler/licenses"
	"github.com/envwick/envwick/reconciler/platform/provisionersim"
)

// recordingMetrics keeps every metric call as text, to grep.
type recordingMetrics struct {
	mu  sync.Mutex
	buf strings.Builder
}

func (m *recordingMetrics) add(format string, a ...any) {
	m.mu.Lock()
	fmt.Fprintf(&m.buf, format+"\n", a...)
	m.mu.Unlock()
}
func (m *recordingMetrics) PassDone(d time.Duration, err error) { m.add("pass %v", err) }
func (m *recordingMetrics) Action(a Action, r string)           { m.add("action %s %s", a, r) }
func (m *recordingMetrics) APICall(v, r string)                 { m.add("api %s %s", v, r) }
func (m *recordingMetrics) Environments(c map[EnvironmentKey]int) {
	m.add("envs %v", c)
}
func (m *recordingMetrics) Guard(b bool)       { m.add("guard %v", b) }
func (m *recordingMetrics) InvalidFiles(n int) { m.add("invalid %d", n) }
func (m *recordingMetrics) String() string {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.buf.String()
}

// gitObjects returns the content of every object of the repository at dir,
// every branch (the status branch too) and every commit message included.
func gitObjects(t *testing.T, dir string) string {
	t.Helper()
	all, err := gitObjectsOf(dir)
	if err != nil {
		t.Fatal(err)
	}
	return all
}

func gitObjectsOf(dir string) (string, error) {
	g, err := git.PlainOpen(dir)
	if err != nil {
		return "", err
	}
	iter, err := g.Storer.IterEncodedObjects(plumbing.AnyObject)
	if err != nil {
		return "", err
	}
	var all bytes.Buffer
	err = iter.ForEach(func(o plumbing.EncodedObject) error {
		r, err := o.Reader()
		if err != nil {
			return err
		}
		defer r.Close()
		_, err = io.Copy(&all, r)
		return err
	})
	return all.String(), err
}

func TestLicenseTextsReachThePlatformOnly(t *testing.T) {
	dir := t.TempDir()
	e20, e20New, ent := "LICENSE-TEXT-E20-1b2c", "LICENSE-TEXT-E20-RENEWED-9f8e", "LICENSE-TEXT-ENTERPRISE-77aa"
	writeLicense := func(name, text string) {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(text+"\n"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	writeLicense("e20", e20)
	writeLicense("enterprise.license", ent)
	h := newHarness(t, func(o *provisionersim.Options) { o.Licenses = []string{e20, e20New, ent} })
	store, err := licenses.New(licenses.Options{Dir: dir, Now: h.clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	var logs bytes.Buffer
	metrics := &recordingMetrics{}
	r := h.reconciler(func(c *Config) {
		c.Licenses = store
		c.Metrics = metrics
		c.Logger = slog.New(slog.NewJSONHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	})
	h.put(env("lic", func(e *envs.Environment) { e.Spec.Installation.License = "e20" }),
		env("unknown", func(e *envs.Environment) { e.Spec.Installation.License = "e10" }))
	var plans bytes.Buffer
	pass := func() *Result {
		res := h.pass(r)
		if err := json.NewEncoder(&plans).Encode(res.Plan); err != nil {
			t.Fatal(err)
		}
		for _, err := range res.Errors {
			fmt.Fprintln(&plans, err)
		}
		return res
	}
	res := pass()
	if err := res.Errors["unknown"]; err == nil || !strings.Contains(err.Error(), "available: e20, enterprise") {
		t.Fatalf("unknown license error = %v; want one naming the available licenses", err)
	}
	h.settle()
	pass()
	licenseOf := func() string {
		t.Helper()
		for _, in := range h.owned() {
			if in.Name == installationName("lic", 1) {
				return in.License
			}
		}
		t.Fatal("no installation of lic")
		return ""
	}
	if got := licenseOf(); got != e20 {
		t.Fatalf("installation license = %q, want the text of e20", got)
	}
	if st := h.readStatus("unknown"); st == nil || !strings.Contains(st.Status.LastError, `unknown license "e10"`) {
		t.Fatalf("status of unknown = %+v", st)
	}

	// A renewed text is an update, sent as text; the plan names it only.
	writeLicense("e20", e20New)
	h.clock.Advance(2 * time.Second)
	res = pass()
	var upd *Item
	for i := range res.Plan.Items {
		if res.Plan.Items[i].Name == "lic" {
			upd = &res.Plan.Items[i]
		}
	}
	if upd == nil || upd.Action != ActionUpdate || upd.Patch.License == nil || *upd.Patch.License != "e20" {
		t.Fatalf("plan for a renewed license = %+v", upd)
	}
	h.settle()
	res = pass()
	if got := licenseOf(); got != e20New {
		t.Fatalf("installation license after renewal = %q", got)
	}
	for _, it := range res.Plan.Items {
		if it.Name == "lic" && it.Action != ActionNone {
			t.Fatalf("after the renewal the plan still changes lic: %+v", it)
		}
	}

	// Nothing but the platform saw a text.
	places := map[string]string{
		"git (every object, status branch included)": gitObjects(t, h.dir),
		"logs":                             logs.String(),
		"plans and errors":                 plans.String(),
		"metrics":                          metrics.String(),
		"notifications (PR comments, DMs)": fmt.Sprintf("%+v", h.notes.take()),
	}
	for where, text := range places {
		if text == "" {
			t.Fatalf("nothing recorded in %s: the check would pass vacuously", where)
		}
		for _, secret := range []string{e20, e20New, ent} {
			if strings.Contains(text, secret) {
				t.Errorf("a license text reached %s", where)
			}
		}
	}
}

func TestLicenseNameSentAsTextIsRefusedBySimulator(t *testing.T) {
	h := newHarness(t, func(o *provisionersim.Options) { o.Licenses = []string{"LICENSE-TEXT"} })
	r := h.reconciler()
	h.put(env("named", func(e *envs.Environment) { e.Spec.Installation.License = "e20" }))
	res := h.pass(r)
	if err := res.Errors["named"]; err == nil || !strings.Contains(err.Error(), "400") || !strings.Contains(err.Error(), "not a valid Mattermost license") {
		t.Fatalf("a name sent as text: %v", err)
	}
	if len(h.owned()) != 0 {
		t.Fatal("the simulator created an installation with a name as its license")
	}
}
