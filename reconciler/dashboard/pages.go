package dashboard

import (
	"bytes"
	"errors"
	"fmt"
	"html/template"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/envwick/envwick/envs"
)

// Page sizes of the fleet view and the list API.
const (
	DefaultPerPage = 50
	MaxPerPage     = 500
	DefaultAPIPer  = 100
	MaxAPIPer      = 1000
)

type pages struct {
	fleet, env, notFound *template.Template
}

func parsePages() (*pages, error) {
	funcs := template.FuncMap{
		"ago":   ago,
		"until": until,
		"stamp": stamp,
		"short": shortSHA,
	}
	parse := func(name string) (*template.Template, error) {
		t, err := template.New(name).Funcs(funcs).ParseFS(assets, "templates/layout.html", "templates/"+name)
		if err != nil {
			return nil, fmt.Errorf("dashboard templates: %w", err)
		}
		return t, nil
	}
	var p pages
	var err error
	if p.fleet, err = parse("fleet.html"); err != nil {
		return nil, err
	}
	if p.env, err = parse("environment.html"); err != nil {
		return nil, err
	}
	if p.notFound, err = parse("notfound.html"); err != nil {
		return nil, err
	}
	return &p, nil
}

// parseQuery reads a Query from URL parameters; values it does not know
// are dropped rather than refused, so an old bookmark still opens.
func parseQuery(v url.Values, perPage, maxPer int) Query {
	q := Query{Q: strings.TrimSpace(v.Get("q")), Owner: strings.TrimSpace(v.Get("owner")), Page: 1, PerPage: perPage}
	if s := v.Get("source"); slices.Contains([]string{string(envs.SourcePullRequest), string(envs.SourceChat), string(envs.SourceManual)}, s) {
		q.Source = s
	}
	if s := v.Get("state"); slices.Contains(States, s) {
		q.State = s
	}
	if s := v.Get("sort"); slices.Contains(SortKeys, strings.TrimPrefix(s, "-")) {
		q.Sort = s
	}
	if n, err := strconv.Atoi(v.Get("page")); err == nil && n > 0 {
		q.Page = n
	}
	if n, err := strconv.Atoi(v.Get("per_page")); err == nil && n > 0 {
		q.PerPage = min(n, maxPer)
	}
	return q
}

// values is q as URL parameters, defaults left out.
func (q Query) values(defaultPer int) url.Values {
	v := url.Values{}
	set := func(k, s string) {
		if s != "" {
			v.Set(k, s)
		}
	}
	set("q", q.Q)
	set("owner", q.Owner)
	set("source", q.Source)
	set("state", q.State)
	set("sort", q.Sort)
	if q.Page > 1 {
		v.Set("page", strconv.Itoa(q.Page))
	}
	if q.PerPage != defaultPer {
		v.Set("per_page", strconv.Itoa(q.PerPage))
	}
	return v
}

func (q Query) href(path string, defaultPer int) string {
	if enc := q.values(defaultPer).Encode(); enc != "" {
		return path + "?" + enc
	}
	return path
}

type stateCount struct {
	State  string
	N      int
	Href   string
	Active bool
}

type column struct {
	Label, Href, Mark string
}

type fleetPage struct {
	Title      string
	User       string
	Query      Query
	Rows       []*Environment
	Matched    int
	Total      int
	Counts     []stateCount
	Columns    []column
	Page       int
	Pages      int
	PrevHref   string
	NextHref   string
	APIHref    string
	Commit     string
	Status     string
	ChartHref  string
	Now        time.Time
	States     []string
	Sources    []string
	Owners     []string
	PerPage    []int
	Filtered   bool
	ResetHref  string
	ShowOwners bool
}

func (d *Dashboard) serveFleet(w http.ResponseWriter, r *http.Request) {
	f, err := d.fleet(r.Context())
	if err != nil {
		d.fail(w, r, err)
		return
	}
	q := parseQuery(r.URL.Query(), DefaultPerPage, MaxPerPage)
	rows, matched := f.find(q)
	p := fleetPage{
		Title: "Fleet", User: userOf(r), Query: q, Rows: rows, Matched: matched, Total: len(f.rows),
		Page: q.Page, Pages: max(1, (matched+q.PerPage-1)/q.PerPage),
		Commit: f.main, Status: f.status, Now: d.now(),
		ChartHref: "/fleet.svg?at=" + url.QueryEscape(shortSHA(f.status)),
		States:    States, Sources: []string{string(envs.SourcePullRequest), string(envs.SourceChat), string(envs.SourceManual)},
		PerPage:   []int{25, 50, 100, 250, 500},
		Filtered:  q.Q != "" || q.Owner != "" || q.Source != "" || q.State != "",
		ResetHref: "/",
	}
	// An owner list small enough for a drop-down; a text box beyond.
	if len(f.owners) <= 200 {
		p.Owners, p.ShowOwners = f.owners, true
	}
	api := q
	api.PerPage = DefaultAPIPer
	p.APIHref = api.href("/api/v1/environments", DefaultAPIPer)
	for _, s := range States {
		n := f.counts[s]
		if n == 0 && s != q.State {
			continue
		}
		sq := Query{State: s, Page: 1, PerPage: q.PerPage, Sort: q.Sort}
		if s == q.State {
			sq.State = ""
		}
		p.Counts = append(p.Counts, stateCount{State: s, N: n, Href: sq.href("/", DefaultPerPage), Active: s == q.State})
	}
	for _, c := range []struct{ label, key string }{{"Name", "name"}, {"Owner", "owner"}, {"Source", "source"}, {"State", "state"}, {"URL", ""}, {"Size", "size"}, {"Version", "version"}, {"Age", "age"}, {"Last activity", "activity"}, {"Next", "next"}, {"Expires", "expiry"}} {
		col := column{Label: c.label}
		if c.key != "" {
			sq := q
			sq.Page = 1
			cur, desc := strings.CutPrefix(q.Sort, "-")
			cur = strings.TrimSpace(cur)
			if cur == "" {
				cur = "name"
			}
			sq.Sort = c.key
			if cur == c.key {
				if desc {
					col.Mark = "▼"
				} else {
					col.Mark, sq.Sort = "▲", "-"+c.key
				}
			}
			if sq.Sort == "name" {
				sq.Sort = ""
			}
			col.Href = sq.href("/", DefaultPerPage)
		}
		p.Columns = append(p.Columns, col)
	}
	if q.Page > 1 {
		pq := q
		pq.Page = min(q.Page-1, p.Pages)
		p.PrevHref = pq.href("/", DefaultPerPage)
	}
	if q.Page < p.Pages {
		nq := q
		nq.Page++
		p.NextHref = nq.href("/", DefaultPerPage)
	}
	d.render(w, r, d.pages.fleet, http.StatusOK, p)
}

type envPage struct {
	Title   string
	User    string
	Env     *Detail
	APIHref string
	Commit  string
	Status  string
	Now     time.Time
}

func (d *Dashboard) serveEnvironment(w http.ResponseWriter, r *http.Request) {
	f, err := d.fleet(r.Context())
	if err != nil {
		d.fail(w, r, err)
		return
	}
	name := r.PathValue("name")
	det, err := d.detail(r.Context(), f, name)
	if errors.Is(err, errNoEnvironment) {
		d.render(w, r, d.pages.notFound, http.StatusNotFound, envPage{Title: "Not found", User: userOf(r), Env: &Detail{Environment: &Environment{Name: name}}, Now: d.now()})
		return
	}
	if err != nil {
		d.fail(w, r, err)
		return
	}
	d.render(w, r, d.pages.env, http.StatusOK, envPage{
		Title: name, User: userOf(r), Env: det, Commit: f.main, Status: f.status, Now: d.now(),
		APIHref: "/api/v1/environments/" + url.PathEscape(name),
	})
}

// render executes a page into a buffer first, so a template error is a
// clean 500 rather than half a page.
func (d *Dashboard) render(w http.ResponseWriter, r *http.Request, t *template.Template, code int, data any) {
	var buf bytes.Buffer
	if err := t.ExecuteTemplate(&buf, "layout", data); err != nil {
		d.fail(w, r, err)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(code)
	w.Write(buf.Bytes())
}

func (d *Dashboard) fail(w http.ResponseWriter, r *http.Request, err error) {
	d.log.ErrorContext(r.Context(), "serving the dashboard", "path", r.URL.Path, "error", err)
	http.Error(w, "the dashboard could not read the envs repository; see envwick's log", http.StatusInternalServerError)
}

func shortSHA(s string) string {
	if len(s) > 8 {
		return s[:8]
	}
	return s
}

// stamp is a time for a title attribute and <time datetime>.
func stamp(t any) string {
	if tm := timeArg(t); tm != nil {
		return tm.UTC().Format(time.RFC3339)
	}
	return ""
}

func timeArg(t any) *time.Time {
	switch v := t.(type) {
	case *time.Time:
		if v != nil && !v.IsZero() {
			return v
		}
	case time.Time:
		if !v.IsZero() {
			return &v
		}
	}
	return nil
}

// ago is how long before now t was, in one unit ("3h ago").
func ago(now time.Time, t any) string {
	tm := timeArg(t)
	if tm == nil {
		return ""
	}
	d := now.Sub(*tm)
	if d < 0 {
		return "in " + span(-d)
	}
	return span(d) + " ago"
}

// until is how long after now t is ("in 2d"), or how long ago it passed.
func until(now time.Time, t any) string { return ago(now, t) }

func span(d time.Duration) string {
	switch {
	case d < time.Minute:
		return strconv.Itoa(int(d.Seconds())) + "s"
	case d < time.Hour:
		return strconv.Itoa(int(d.Minutes())) + "m"
	case d < 48*time.Hour:
		return strconv.Itoa(int(d.Hours())) + "h"
	}
	return strconv.Itoa(int(d.Hours()/24)) + "d"
}
