package dashboard

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
)

// List is the answer of GET /api/v1/environments.
type List struct {
	// Items is the page of environments the query selects.
	Items []*Environment `json:"items"`
	// Matched is how many match the query; Total how many there are.
	Matched int `json:"matched"`
	Total   int `json:"total"`
	Page    int `json:"page"`
	PerPage int `json:"perPage"`
	// Next is the path of the next page, when there is one.
	Next string `json:"next,omitempty"`
	// Counts are the environments of the whole fleet by state.
	Counts map[string]int `json:"counts"`
	// Commit and StatusCommit are the heads the answer was read at.
	Commit       string `json:"commit"`
	StatusCommit string `json:"statusCommit"`
}

// List returns the environments q selects, read at the current heads.
// `envwick status` calls it in process; the list API serves it.
func (d *Dashboard) List(ctx context.Context, q Query) (*List, error) {
	f, err := d.fleet(ctx)
	if err != nil {
		return nil, err
	}
	q.Page, q.PerPage = max(q.Page, 1), max(q.PerPage, 1)
	rows, matched := f.find(q)
	out := &List{Items: rows, Matched: matched, Total: len(f.rows), Page: q.Page, PerPage: q.PerPage, Counts: f.counts, Commit: f.main, StatusCommit: f.status}
	if out.Items == nil {
		out.Items = []*Environment{}
	}
	if q.Page*q.PerPage < matched {
		nq := q
		nq.Page++
		out.Next = nq.href("/api/v1/environments", DefaultAPIPer)
	}
	return out, nil
}

// ErrNotFound: no file and no status of that name.
var ErrNotFound = errNoEnvironment

// Environment returns one environment in full, or ErrNotFound.
func (d *Dashboard) Environment(ctx context.Context, name string) (*Detail, error) {
	f, err := d.fleet(ctx)
	if err != nil {
		return nil, err
	}
	return d.detail(ctx, f, name)
}

func (d *Dashboard) serveAPIList(w http.ResponseWriter, r *http.Request) {
	out, err := d.List(r.Context(), parseQuery(r.URL.Query(), DefaultAPIPer, MaxAPIPer))
	if err != nil {
		d.apiError(w, r, http.StatusInternalServerError, err)
		return
	}
	writeJSON(w, http.StatusOK, out)
}

func (d *Dashboard) serveAPIEnvironment(w http.ResponseWriter, r *http.Request) {
	det, err := d.Environment(r.Context(), r.PathValue("name"))
	if errors.Is(err, ErrNotFound) {
		d.apiError(w, r, http.StatusNotFound, err)
		return
	}
	if err != nil {
		d.apiError(w, r, http.StatusInternalServerError, err)
		return
	}
	writeJSON(w, http.StatusOK, det)
}

// apiError answers {"error": "..."}; a server-side error is logged and
// answered without its details.
func (d *Dashboard) apiError(w http.ResponseWriter, r *http.Request, code int, err error) {
	msg := err.Error()
	if code >= 500 {
		d.log.ErrorContext(r.Context(), "serving the dashboard API", "path", r.URL.Path, "error", err)
		msg = "the envs repository could not be read; see envwick's log"
	}
	writeJSON(w, code, map[string]string{"error": msg})
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(code)
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.Encode(v)
}
