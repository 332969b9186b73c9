package envs

import (
	apimeta "k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// Failed reports whether the last create or update of the environment
// failed, so that a retry (the envwick.dev/retry annotation) makes sense:
// Stalled, or not Ready with an error recorded.
func (s EnvironmentStatus) Failed() bool {
	if c := apimeta.FindStatusCondition(s.Conditions, "Stalled"); c != nil && c.Status == metav1.ConditionTrue {
		return true
	}
	c := apimeta.FindStatusCondition(s.Conditions, "Ready")
	return c != nil && c.Status == metav1.ConditionFalse && s.LastError != ""
}
