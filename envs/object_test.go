package envs

import (
	"testing"

	"github.com/fluxcd/pkg/apis/meta"
	"github.com/fluxcd/pkg/runtime/conditions"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func TestConditionsManageEnvironment(t *testing.T) {
	e := &Environment{ObjectMeta: metav1.ObjectMeta{Name: "demo"}}
	conditions.MarkTrue(e, meta.ReadyCondition, ReasonAvailable, "installation %s is stable", "abc")
	if !conditions.IsReady(e) {
		t.Fatalf("Ready not set: %+v", e.Status.Conditions)
	}
	cp := e.DeepCopy()
	conditions.MarkFalse(cp, meta.ReadyCondition, ReasonProvisioning, "updating")
	if !conditions.IsReady(e) {
		t.Fatalf("deep copy shares conditions with the original")
	}
}
