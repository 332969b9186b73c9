package usage

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/envwick/envwick/reconciler"
)

// DefaultPrometheusQuery counts an installation's posts over the last
// sweep interval, from the posts counter Mattermost exports.
const DefaultPrometheusQuery = `sum(increase(mattermost_post_total{installationId="{{installation}}"}[1h]))`

// Prometheus asks a Prometheus-compatible HTTP API (Prometheus, Thanos,
// VictoriaMetrics, Mimir) whether an installation had posts since the last
// sweep: an instant query whose value is a number of posts, with
// {{installation}} and {{name}} standing for the installation ID and the
// environment name.
type Prometheus struct {
	// URL is the API's base URL (…/api/v1/query is appended).
	URL string
	// Query is the expression (default DefaultPrometheusQuery).
	Query      string
	HTTPClient *http.Client
}

// Posted reports whether the query's value for t is above zero. No
// series (the installation exports none) counts as no posts.
func (p *Prometheus) Posted(ctx context.Context, t reconciler.RunningInstallation) (bool, error) {
	q := p.Query
	if q == "" {
		q = DefaultPrometheusQuery
	}
	q = strings.NewReplacer("{{installation}}", t.InstallationID, "{{name}}", t.Name).Replace(q)
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, strings.TrimRight(p.URL, "/")+"/api/v1/query?query="+url.QueryEscape(q), nil)
	if err != nil {
		return false, fmt.Errorf("querying Prometheus: %w", err)
	}
	hc := p.HTTPClient
	if hc == nil {
		hc = http.DefaultClient
	}
	resp, err := hc.Do(req)
	if err != nil {
		return false, fmt.Errorf("querying Prometheus: %w", err)
	}
	defer resp.Body.Close()
	var out struct {
		Status string `json:"status"`
		Error  string `json:"error"`
		Data   struct {
			ResultType string          `json:"resultType"`
			Result     json.RawMessage `json:"result"`
		} `json:"data"`
	}
	if err := json.NewDecoder(io.LimitReader(resp.Body, 4<<20)).Decode(&out); err != nil {
		return false, fmt.Errorf("querying Prometheus: %s: %w", resp.Status, err)
	}
	if out.Status != "success" {
		return false, fmt.Errorf("querying Prometheus: %s: %s", resp.Status, out.Error)
	}
	var values [][2]any
	switch out.Data.ResultType {
	case "vector":
		var vec []struct {
			Value [2]any `json:"value"`
		}
		if err := json.Unmarshal(out.Data.Result, &vec); err != nil {
			return false, fmt.Errorf("querying Prometheus: %w", err)
		}
		for _, v := range vec {
			values = append(values, v.Value)
		}
	case "scalar":
		var v [2]any
		if err := json.Unmarshal(out.Data.Result, &v); err != nil {
			return false, fmt.Errorf("querying Prometheus: %w", err)
		}
		values = append(values, v)
	default:
		return false, fmt.Errorf("querying Prometheus: a %s result; the query must give a number", out.Data.ResultType)
	}
	for _, v := range values {
		s, _ := v[1].(string)
		if f, err := strconv.ParseFloat(s, 64); err == nil && f > 0 {
			return true, nil
		}
	}
	return false, nil
}
