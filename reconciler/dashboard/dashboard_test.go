package dashboard_test

import (
	"bufio"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/envwick/envwick/envs"
	"github.com/envwick/envwick/envs/store"
	"github.com/envwick/envwick/reconciler"
	"github.com/envwick/envwick/reconciler/dashboard"
)

// hostile is text that would run script if any page printed it unescaped.
const hostile = `<script>alert("x")</script><img src=x onerror=alert(1)>`

// seedFleet writes a small fleet: one environment per kind of source and
// state, a broken file named with HTML, status carrying HTML, and a
// removed environment whose last known owner is HTML.
func seedFleet(f *fixture) {
	f.env("Seed", map[string]string{
		"alpha":                         envFile("alpha", "ann", "  source:\n    pullRequest:\n      repository: acme/app\n      number: 7\n  installation:\n    size: miniHA\n    version: 10.6.0"),
		"beta":                          envFile("beta", "bob", "  source:\n    chat:\n      user: bob\n  state: hibernated"),
		"gamma":                         envFile("gamma", "ann", "  installation:\n    env:\n      MM_SQLSETTINGS_DATASOURCE: postgres://u:hunter2@db/mm\n      MM_SERVICESETTINGS_SITEURL: https://gamma.example\n      MM_EMAILSETTINGS_SMTPPASSWORD: s3cr3t-smtp"),
		`x<img src=x onerror=alert(1)>`: "not: [valid",
	})
	gone := st("omega", envs.ReasonDeletionBlocked, hostile, start)
	gone.Reconciler.LastKnown = &reconciler.LastKnown{Owner: envs.Owner{GitHub: hostile}}
	f.advance(time.Minute)
	f.status(
		st("alpha", envs.ReasonProvisioning, "create requested", start),
		st("beta", envs.ReasonHibernated, "installation is hibernated", start),
		st("gamma", envs.ReasonProvisionerError, hostile, start),
		gone,
	)
}

func TestFleetPage(t *testing.T) {
	f := newFixture(t, dashboard.Options{})
	seedFleet(f)
	code, body, h := f.get("/")
	if code != http.StatusOK {
		t.Fatalf("GET / = %d: %s", code, body)
	}
	if csp := h.Get("Content-Security-Policy"); !strings.Contains(csp, "script-src 'self'") || !strings.Contains(csp, "default-src 'none'") {
		t.Errorf("Content-Security-Policy = %q", csp)
	}
	for _, want := range []string{
		`<strong>5</strong> environments`,
		`href="/environments/alpha"`, `href="https://github.com/acme/app/pull/7"`, `acme/app#7`, `@bob in chat`, `hand edit`,
		`<span class="badge state-provisioning">provisioning</span>`, `<span class="badge state-hibernated">hibernated</span>`,
		`<span class="badge state-failed">failed</span>`, `<span class="badge state-invalid">invalid</span>`, `<span class="badge state-deleting">deleting</span>`,
		`href="https://alpha.envwick.test"`, `miniHA`, `<script src="/static/live.js" defer></script>`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("fleet page lacks %s", want)
		}
	}
	assertEscaped(t, body)
	if strings.Contains(body, "hunter2") || strings.Contains(body, "s3cr3t-smtp") {
		t.Error("fleet page shows a secret env value")
	}
}

// assertEscaped fails when page holds hostile markup unescaped, or any
// inline script.
func assertEscaped(t *testing.T, page string) {
	t.Helper()
	for _, bad := range []string{"<script>alert", "<img src=x", "onerror=alert(1)>"} {
		if strings.Contains(page, bad) {
			t.Errorf("page holds %q unescaped", bad)
		}
	}
	if m := regexp.MustCompile(`<script(?:\s[^>]*)?>`).FindAllString(page, -1); len(m) != 1 || !strings.Contains(m[0], `src="/static/live.js"`) {
		t.Errorf("scripts on the page: %q; want only the script file", m)
	}
	if strings.Contains(page, " style=") || strings.Contains(page, " onclick=") {
		t.Error("page has inline style or handler attributes the policy would block")
	}
}

func TestFleetFilterSortAndPages(t *testing.T) {
	f := newFixture(t, dashboard.Options{})
	files := map[string]string{}
	var sts []*reconciler.Status
	for i := range 30 {
		name := fmt.Sprintf("env-%02d", i)
		owner := []string{"ann", "bob", "cy"}[i%3]
		files[name] = envFile(name, owner)
		reason := envs.ReasonAvailable
		if i%5 == 0 {
			reason = envs.ReasonHibernated
		}
		s := st(name, reason, "", start)
		s.Status.CreatedAt.Time = start.Add(-time.Duration(i) * time.Hour)
		sts = append(sts, s)
	}
	f.env("Seed", files)
	f.status(sts...)

	names := func(path string) []string {
		var out dashboard.List
		code, body, _ := f.get(path)
		if code != http.StatusOK {
			t.Fatalf("GET %s = %d: %s", path, code, body)
		}
		if err := json.Unmarshal([]byte(body), &out); err != nil {
			t.Fatal(err)
		}
		var ns []string
		for _, e := range out.Items {
			ns = append(ns, e.Name)
		}
		return ns
	}
	for _, tc := range []struct {
		path string
		want string
	}{
		{"/api/v1/environments?per_page=3", "env-00 env-01 env-02"},
		{"/api/v1/environments?per_page=3&page=2", "env-03 env-04 env-05"},
		{"/api/v1/environments?state=hibernated", "env-00 env-05 env-10 env-15 env-20 env-25"},
		{"/api/v1/environments?owner=BOB&state=hibernated", "env-10 env-25"},
		{"/api/v1/environments?q=NV-2", "env-20 env-21 env-22 env-23 env-24 env-25 env-26 env-27 env-28 env-29"},
		{"/api/v1/environments?sort=age&per_page=2", "env-29 env-28"},
		{"/api/v1/environments?sort=-age&per_page=2", "env-00 env-01"},
		{"/api/v1/environments?sort=-name&per_page=2", "env-29 env-28"},
		{"/api/v1/environments?source=pullRequest", ""},
		{"/api/v1/environments?page=99", ""},
	} {
		if got := strings.Join(names(tc.path), " "); got != tc.want {
			t.Errorf("GET %s = %s, want %s", tc.path, got, tc.want)
		}
	}

	// The page: the same selection, and links that keep the filters.
	_, body, _ := f.get("/?state=ready&per_page=10&sort=-name")
	if !strings.Contains(body, "24 of 30 environments match") || !strings.Contains(body, `href="/environments/env-29"`) || strings.Contains(body, `href="/environments/env-00"`) {
		t.Error("filtered fleet page shows the wrong environments")
	}
	if !strings.Contains(body, `href="/?page=2&amp;per_page=10&amp;sort=-name&amp;state=ready"`) {
		t.Error("next-page link does not keep the filter and sort")
	}
	if !strings.Contains(body, "page 1 of 3") {
		t.Error("no page count")
	}
}

func TestEnvironmentPage(t *testing.T) {
	f := newFixture(t, dashboard.Options{RepoURL: "https://x-access-token:tok3n@github.com/acme/envs.git"})
	seedFleet(f)
	f.advance(time.Hour)
	f.commit("", "Give gamma to cy "+hostile, store.Signature{Name: "Cy " + hostile, Email: "cy@example.com"},
		[]store.Trailer{{Key: "Requested-by", Value: "cy " + hostile}, {Key: "Source", Value: "https://github.com/acme/app/pull/9"}, {Key: "Command", Value: "/env give " + hostile}},
		map[string][]byte{"environments/gamma.yaml": []byte(envFile("gamma", "cy", "  installation:\n    env:\n      MM_SQLSETTINGS_DATASOURCE: postgres://u:hunter2@db/mm # the db\n      MM_SERVICESETTINGS_SITEURL: https://gamma.example"))})
	f.advance(time.Hour)
	later := st("gamma", envs.ReasonAvailable, "installation is stable", f.clock())
	f.status(later)

	code, body, _ := f.get("/environments/gamma")
	if code != http.StatusOK {
		t.Fatalf("GET /environments/gamma = %d: %s", code, body)
	}
	assertEscaped(t, body)
	for _, secret := range []string{"hunter2", "tok3n", "x-access-token"} {
		if strings.Contains(body, secret) {
			t.Errorf("environment page shows %q", secret)
		}
	}
	for _, want := range []string{
		"MM_SQLSETTINGS_DATASOURCE: &lt;redacted&gt; # the db", "MM_SERVICESETTINGS_SITEURL: https://gamma.example",
		`href="https://github.com/acme/envs/blob/`, `/environments/gamma.yaml"`, `href="https://github.com/acme/envs/commit/`,
		"Give gamma to cy &lt;script&gt;", "/env give &lt;script&gt;", "https://github.com/acme/app/pull/9", "Seed",
		"failed → ready", "(none) → failed", "installation is stable",
	} {
		if !strings.Contains(body, want) {
			t.Errorf("environment page lacks %s", want)
		}
	}

	var det dashboard.Detail
	code, raw, _ := f.get("/api/v1/environments/gamma")
	if code != http.StatusOK || json.Unmarshal([]byte(raw), &det) != nil {
		t.Fatalf("GET /api/v1/environments/gamma = %d: %s", code, raw)
	}
	if len(det.History) != 2 || det.History[0].Command != "/env give "+hostile || det.History[0].RequestedBy != "cy "+hostile || det.History[1].Subject != "Seed" {
		t.Errorf("history = %+v", det.History)
	}
	if len(det.StatusHistory) != 2 || det.StatusHistory[0].To != dashboard.StateReady || det.StatusHistory[1].To != dashboard.StateFailed {
		t.Errorf("status history = %+v", det.StatusHistory)
	}
	if det.State != dashboard.StateReady || len(det.Conditions) != 1 || !det.YAMLRedacted || strings.Contains(raw, "hunter2") {
		t.Errorf("detail = %+v", det)
	}

	// The broken file with HTML in its name has a page too, escaped.
	code, body, _ = f.get("/environments/" + url.PathEscape(`x<img src=x onerror=alert(1)>`))
	if code != http.StatusOK || !strings.Contains(body, "invalid") {
		t.Errorf("broken file page = %d", code)
	}
	assertEscaped(t, body)
	if code, body, _ := f.get("/environments/nope"); code != http.StatusNotFound || !strings.Contains(body, "No environment named nope") {
		t.Errorf("GET /environments/nope = %d", code)
	}
	if code, _, _ := f.get("/api/v1/environments/nope"); code != http.StatusNotFound {
		t.Errorf("GET /api/v1/environments/nope = %d", code)
	}
}

func TestChartCountsEachDay(t *testing.T) {
	f := newFixture(t, dashboard.Options{HistoryDays: 5})
	f.env("Seed", map[string]string{"a": envFile("a", "ann"), "b": envFile("b", "ann")})
	f.status(st("a", envs.ReasonProvisioning, "", start))   // day 0: a provisioning
	f.advance(24 * time.Hour)                               //
	f.status(st("a", envs.ReasonAvailable, "", f.clock()))  // day 1: a ready
	f.advance(24 * time.Hour)                               //
	f.status(st("b", envs.ReasonAvailable, "", f.clock()))  // day 2: a, b ready
	f.advance(48 * time.Hour)                               //
	f.status(st("a", envs.ReasonHibernated, "", f.clock())) // day 4: a hibernated, b ready
	days, err := f.d.Days(ctx(t))
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"provisioning=1", "ready=1", "ready=2", "ready=2", "hibernated=1 ready=1"}
	if len(days) != len(want) {
		t.Fatalf("%d days, want %d", len(days), len(want))
	}
	for i, d := range days {
		var got []string
		for _, s := range dashboard.States {
			if n := d.Counts[s]; n > 0 {
				got = append(got, fmt.Sprintf("%s=%d", s, n))
			}
		}
		slicesSort(got)
		if strings.Join(got, " ") != want[i] {
			t.Errorf("day %d (%s): %v, want %s", i, d.Date.Format("Jan 2"), got, want[i])
		}
	}
	code, svg, h := f.get("/fleet.svg")
	if code != http.StatusOK || h.Get("Content-Type") != "image/svg+xml" || !strings.HasPrefix(svg, "<svg") || !strings.Contains(svg, "<title>Mar 5 hibernated: 1</title>") {
		t.Errorf("GET /fleet.svg = %d %s: %.200s", code, h.Get("Content-Type"), svg)
	}
}

func slicesSort(s []string) {
	for i := range s {
		for j := i + 1; j < len(s); j++ {
			if s[j] < s[i] {
				s[i], s[j] = s[j], s[i]
			}
		}
	}
}

func TestEventsTellOfNewStatus(t *testing.T) {
	f := newFixture(t, dashboard.Options{})
	seedFleet(f)
	f.get("/") // the fleet at the seeded heads
	runCtx := ctx(t)
	go f.d.Run(runCtx)
	req, _ := http.NewRequestWithContext(runCtx, http.MethodGet, f.srv.URL+"/events", nil)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	if ct := res.Header.Get("Content-Type"); ct != "text/event-stream" {
		t.Fatalf("Content-Type = %q", ct)
	}
	lines := bufio.NewScanner(res.Body)
	lines.Scan() // retry:
	head := f.status(st("alpha", envs.ReasonAvailable, "installation is stable", start))
	for lines.Scan() {
		line := lines.Text()
		if data, ok := strings.CutPrefix(line, "data: "); ok {
			var e dashboard.Event
			if err := json.Unmarshal([]byte(data), &e); err != nil {
				t.Fatal(err)
			}
			if e.StatusCommit == head {
				if e.Counts[dashboard.StateReady] != 1 {
					t.Errorf("event counts = %v", e.Counts)
				}
				return
			}
		}
	}
	t.Fatalf("no event for status commit %s: %v", head, lines.Err())
}

func TestAccessControl(t *testing.T) {
	f := newFixture(t, dashboard.Options{Token: "dash-token", UserHeader: "X-Auth-Request-User"})
	seedFleet(f)
	for _, tc := range []struct {
		name   string
		header []string
		want   int
	}{
		{"nothing", nil, http.StatusUnauthorized},
		{"wrong bearer", []string{"Authorization", "Bearer nope"}, http.StatusUnauthorized},
		{"bearer", []string{"Authorization", "Bearer dash-token"}, http.StatusOK},
		{"basic", []string{"Authorization", "Basic " + basic("anyone", "dash-token")}, http.StatusOK},
		{"proxy user", []string{"X-Auth-Request-User", "ann"}, http.StatusOK},
		{"empty proxy user", []string{"X-Auth-Request-User", " "}, http.StatusUnauthorized},
	} {
		for _, path := range []string{"/", "/api/v1/environments", "/environments/alpha", "/fleet.svg", "/static/live.js"} {
			code, body, h := f.get(path, tc.header...)
			if code != tc.want {
				t.Errorf("%s: GET %s = %d, want %d", tc.name, path, code, tc.want)
			}
			if h.Get("Content-Security-Policy") == "" {
				t.Errorf("%s: GET %s has no Content-Security-Policy", tc.name, path)
			}
			if code == http.StatusUnauthorized && (h.Get("WWW-Authenticate") == "" || strings.Contains(body, "alpha")) {
				t.Errorf("%s: GET %s refused badly: %q", tc.name, path, body)
			}
		}
	}
	if _, body, _ := f.get("/", "X-Auth-Request-User", "<b>ann</b>"); !strings.Contains(body, "signed in as &lt;b&gt;ann&lt;/b&gt;") {
		t.Error("the proxy's user is not shown, escaped")
	}
	// Read-only: nothing but GET.
	res, err := http.Post(f.srv.URL+"/api/v1/environments", "application/json", strings.NewReader("{}"))
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusMethodNotAllowed {
		t.Errorf("POST = %d", res.StatusCode)
	}
}

func basic(user, pass string) string {
	r, _ := http.NewRequest(http.MethodGet, "/", nil)
	r.SetBasicAuth(user, pass)
	return strings.TrimPrefix(r.Header.Get("Authorization"), "Basic ")
}
