// Package metrics exposes what the reconciler does as Prometheus metrics.
package metrics

import (
	"context"
	"strconv"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/envwick/envwick/reconciler"
	"github.com/envwick/envwick/reconciler/platform/provisioner"
)

// Metrics implements reconciler.Metrics and provisioner.Observer with
// Prometheus collectors registered on one registry.
type Metrics struct {
	passDuration *prometheus.HistogramVec
	actions      *prometheus.CounterVec
	apiCalls     *prometheus.CounterVec
	httpRequests *prometheus.HistogramVec
	environments *prometheus.GaugeVec
	guard        prometheus.Gauge
	invalid      prometheus.Gauge
	lastPass     prometheus.Gauge

	mu   sync.Mutex
	seen map[reconciler.EnvironmentKey]bool
}

var (
	_ reconciler.Metrics   = (*Metrics)(nil)
	_ provisioner.Observer = (*Metrics)(nil)
)

// New creates the collectors and registers them on reg.
func New(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		passDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "envwick_reconcile_pass_duration_seconds",
			Help:    "Duration of reconcile passes, by result.",
			Buckets: []float64{.01, .05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60},
		}, []string{"result"}),
		actions: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "envwick_reconcile_actions_total",
			Help: "Changes applied to the platform, by action and result (ok, error, conflict, not_found, canceled, blocked, deferred).",
		}, []string{"action", "result"}),
		apiCalls: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "envwick_provisioner_calls_total",
			Help: "Provisioner calls made by the reconciler, by verb and result.",
		}, []string{"verb", "result"}),
		httpRequests: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "envwick_provisioner_http_request_duration_seconds",
			Help:    "Provisioner HTTP requests (each attempt), by method, route and status code.",
			Buckets: prometheus.DefBuckets,
		}, []string{"method", "route", "code"}),
		environments: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "envwick_environments",
			Help: "Environments by installation state and Ready condition reason, as of the last pass.",
		}, []string{"state", "condition"}),
		guard: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "envwick_mass_deletion_guard_blocked",
			Help: "1 while the mass-deletion guard holds deletions back.",
		}),
		invalid: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "envwick_invalid_environment_files",
			Help: "Environment files that do not parse or validate (their environments are left as they are), as of the last pass.",
		}),
		lastPass: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "envwick_reconcile_last_success_timestamp_seconds",
			Help: "When the last successful pass finished.",
		}),
		seen: map[reconciler.EnvironmentKey]bool{},
	}
	reg.MustRegister(m.passDuration, m.actions, m.apiCalls, m.httpRequests, m.environments, m.guard, m.invalid, m.lastPass)
	return m
}

// PassDone records a pass.
func (m *Metrics) PassDone(d time.Duration, err error) {
	result := "ok"
	if err != nil {
		result = "error"
	} else {
		m.lastPass.SetToCurrentTime()
	}
	m.passDuration.WithLabelValues(result).Observe(d.Seconds())
}

// Action records an applied action.
func (m *Metrics) Action(a reconciler.Action, result string) {
	m.actions.WithLabelValues(string(a), result).Inc()
}

// APICall records a provisioner call.
func (m *Metrics) APICall(verb, result string) { m.apiCalls.WithLabelValues(verb, result).Inc() }

// Environments replaces the environment counts. Label sets that disappear
// are set to zero rather than removed, so graphs show them going away.
func (m *Metrics) Environments(counts map[reconciler.EnvironmentKey]int) {
	m.mu.Lock()
	defer m.mu.Unlock()
	for k := range m.seen {
		if _, ok := counts[k]; !ok {
			m.environments.WithLabelValues(k.State, k.Condition).Set(0)
		}
	}
	for k, n := range counts {
		m.seen[k] = true
		m.environments.WithLabelValues(k.State, k.Condition).Set(float64(n))
	}
}

// Guard records the mass-deletion guard.
func (m *Metrics) Guard(blocked bool) {
	v := 0.0
	if blocked {
		v = 1
	}
	m.guard.Set(v)
}

// InvalidFiles records the number of invalid environment files.
func (m *Metrics) InvalidFiles(n int) { m.invalid.Set(float64(n)) }

// ObserveRequest records one provisioner HTTP request (the client's hook).
func (m *Metrics) ObserveRequest(_ context.Context, info provisioner.RequestInfo) {
	code := "error"
	if info.StatusCode != 0 {
		code = strconv.Itoa(info.StatusCode)
	}
	m.httpRequests.WithLabelValues(info.Method, info.Route, code).Observe(info.Duration.Seconds())
}
