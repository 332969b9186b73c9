package metrics

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/envwick/envwick/reconciler"
	"github.com/envwick/envwick/reconciler/platform/provisioner"
)

func TestMetrics(t *testing.T) {
	reg := prometheus.NewRegistry()
	m := New(reg)
	m.PassDone(120*time.Millisecond, nil)
	m.Action(reconciler.ActionCreate, "ok")
	m.Action(reconciler.ActionCreate, "ok")
	m.Action(reconciler.ActionDelete, "blocked")
	m.APICall("list", "ok")
	m.Guard(true)
	m.InvalidFiles(2)
	m.ObserveRequest(context.Background(), provisioner.RequestInfo{Method: "GET", Route: "/api/installations", StatusCode: 200, Duration: time.Millisecond})
	m.Environments(map[reconciler.EnvironmentKey]int{{State: "stable", Condition: "Available"}: 3, {State: "none", Condition: "Invalid"}: 1})
	// A label set that disappears drops to zero.
	m.Environments(map[reconciler.EnvironmentKey]int{{State: "stable", Condition: "Available"}: 4})

	if got := testutil.ToFloat64(m.actions.WithLabelValues("create", "ok")); got != 2 {
		t.Errorf("creates = %v, want 2", got)
	}
	if got := testutil.ToFloat64(m.guard); got != 1 {
		t.Errorf("guard = %v", got)
	}
	if got := testutil.ToFloat64(m.invalid); got != 2 {
		t.Errorf("invalid files = %v, want 2", got)
	}
	want := `
# HELP envwick_environments Environments by installation state and Ready condition reason, as of the last pass.
# TYPE envwick_environments gauge
envwick_environments{condition="Available",state="stable"} 4
envwick_environments{condition="Invalid",state="none"} 0
`
	if err := testutil.GatherAndCompare(reg, strings.NewReader(want), "envwick_environments"); err != nil {
		t.Error(err)
	}
	if n, err := testutil.GatherAndCount(reg); err != nil || n < 7 {
		t.Errorf("%d series gathered (%v)", n, err)
	}
}
