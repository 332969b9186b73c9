package envs

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func TestDefaultDefaultsAreValid(t *testing.T) {
	if err := DefaultDefaults().Validate(); err != nil {
		t.Fatal(err)
	}
	d := DefaultDefaults()
	d.Size, d.License = "huge", ""
	err := d.Validate()
	if err == nil || !strings.Contains(err.Error(), `installation.size: "huge" is not a size`) ||
		!strings.Contains(err.Error(), "license is empty") {
		t.Fatalf("bad defaults: %v", err)
	}
}

func TestWithDefaults(t *testing.T) {
	e := &Environment{ObjectMeta: metav1.ObjectMeta{Name: "a"}, Spec: EnvironmentSpec{
		Owner:        Owner{GitHub: "jane"},
		Installation: Installation{Size: "miniHA"},
		Lifecycle:    Lifecycle{HibernateAfterIdle: NewDuration(time.Hour)},
	}}
	before := e.DeepCopy()
	got := WithDefaults(e, DefaultDefaults())
	if !reflect.DeepEqual(e, before) {
		t.Fatalf("WithDefaults changed its input")
	}
	in := got.Spec.Installation
	if in.Size != "miniHA" || in.Image != "mattermost/mattermost-enterprise-edition" || in.Affinity != "multitenant" ||
		in.Database != "aws-multitenant-rds-postgres-pgbouncer" || in.Filestore != "bifrost" || in.License == "" || in.Version == "" {
		t.Fatalf("installation defaults: %+v", in)
	}
	if got.Spec.State != StateRunning || got.Spec.Lifecycle.HibernateAfterIdle.Duration != time.Hour ||
		got.Spec.Lifecycle.DeleteAfterHibernated.Duration != 14*24*time.Hour {
		t.Fatalf("spec defaults: %+v", got.Spec)
	}
	got.Spec.Lifecycle.DeleteAfterHibernated.Duration = 0
	if again := WithDefaults(e, DefaultDefaults()); again.Spec.Lifecycle.DeleteAfterHibernated.Duration == 0 {
		t.Fatalf("defaults share memory between calls")
	}
}

func TestDefaultsFromConfig(t *testing.T) {
	d := DefaultDefaults()
	if err := json.Unmarshal([]byte(`{"size": "100users", "hibernateAfterIdle": "3d"}`), &d); err != nil {
		t.Fatal(err)
	}
	if d.Size != "100users" || d.HibernateAfterIdle.Duration != 72*time.Hour || d.Filestore != "bifrost" {
		t.Fatalf("config over defaults: %+v", d)
	}
}

// TestDeepCopySharesNothing fills every reference in an environment, copies
// it, changes every reference in the copy and checks the original kept its
// values.
func TestDeepCopySharesNothing(t *testing.T) {
	now := metav1.NewTime(time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC))
	e := fullEnvironment()
	e.Spec.Lifecycle.TTL = NewDuration(time.Hour)
	e.Spec.Source.Chat = &ChatSource{User: "u"}
	e.Spec.Source.Manual = &ManualSource{Note: "n"}
	e.Status = EnvironmentStatus{
		Conditions:   []metav1.Condition{{Type: "Ready", Status: metav1.ConditionTrue, LastTransitionTime: now}},
		Installation: &InstallationStatus{ID: "i"},
		CreatedAt:    &now, LastActivity: &now, HibernatedAt: &now, HibernateAt: &now, DeleteAt: &now,
	}
	orig, _ := json.Marshal(e)

	c := e.DeepCopy()
	if !reflect.DeepEqual(c, e) {
		t.Fatalf("copy differs from the original")
	}
	c.Labels["team"] = "changed"
	c.Annotations["envwick.dev/note"] = "changed"
	c.Spec.Source.PullRequest.Number = 1
	c.Spec.Source.Chat.User = "changed"
	c.Spec.Source.Manual.Note = "changed"
	c.Spec.Installation.Env["MM_A"] = "changed"
	c.Spec.Installation.Annotations[0] = "changed"
	c.Spec.Lifecycle.ExpiresAt.Time = time.Time{}
	c.Spec.Lifecycle.TTL.Duration = 0
	c.Spec.Lifecycle.HibernateAfterIdle.Duration = 0
	c.Spec.Lifecycle.DeleteAfterHibernated.Duration = 0
	c.Status.Conditions[0].Reason = "changed"
	c.Status.Installation.ID = "changed"
	for _, tp := range []*metav1.Time{c.Status.CreatedAt, c.Status.LastActivity, c.Status.HibernatedAt, c.Status.HibernateAt, c.Status.DeleteAt} {
		tp.Time = time.Time{}
	}
	if after, _ := json.Marshal(e); string(after) != string(orig) {
		t.Fatalf("changing the copy changed the original:\n%s\n%s", orig, after)
	}
	if (*Environment)(nil).DeepCopy() != nil {
		t.Fatal("nil copies to nil")
	}
	if _, ok := e.DeepCopyObject().(*Environment); !ok {
		t.Fatal("DeepCopyObject is not an *Environment")
	}
}
