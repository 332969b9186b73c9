package envs

import (
	"maps"
	"slices"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
)

// GetConditions returns the status conditions; it lets
// github.com/fluxcd/pkg/runtime/conditions manage an Environment.
func (e *Environment) GetConditions() []metav1.Condition { return e.Status.Conditions }

// SetConditions replaces the status conditions.
func (e *Environment) SetConditions(c []metav1.Condition) { e.Status.Conditions = c }

// DeepCopyObject implements runtime.Object.
func (e *Environment) DeepCopyObject() runtime.Object { return e.DeepCopy() }

// DeepCopy returns a copy of e that shares no memory with it.
func (e *Environment) DeepCopy() *Environment {
	if e == nil {
		return nil
	}
	out := &Environment{TypeMeta: e.TypeMeta}
	e.ObjectMeta.DeepCopyInto(&out.ObjectMeta)
	out.Spec = e.Spec.DeepCopy()
	out.Status = e.Status.DeepCopy()
	return out
}

// DeepCopy returns a copy of s that shares no memory with it.
func (s EnvironmentSpec) DeepCopy() EnvironmentSpec {
	out := s
	if s.Source.PullRequest != nil {
		v := *s.Source.PullRequest
		out.Source.PullRequest = &v
	}
	if s.Source.Chat != nil {
		v := *s.Source.Chat
		out.Source.Chat = &v
	}
	if s.Source.Manual != nil {
		v := *s.Source.Manual
		out.Source.Manual = &v
	}
	out.Installation.Env = maps.Clone(s.Installation.Env)
	out.Installation.Annotations = slices.Clone(s.Installation.Annotations)
	out.Lifecycle.ExpiresAt = copyTime(s.Lifecycle.ExpiresAt)
	out.Lifecycle.TTL = copyDuration(s.Lifecycle.TTL)
	out.Lifecycle.HibernateAfterIdle = copyDuration(s.Lifecycle.HibernateAfterIdle)
	out.Lifecycle.DeleteAfterHibernated = copyDuration(s.Lifecycle.DeleteAfterHibernated)
	if s.Sharing != nil {
		v := *s.Sharing
		out.Sharing = &v
	}
	return out
}

// DeepCopy returns a copy of s that shares no memory with it.
func (s EnvironmentStatus) DeepCopy() EnvironmentStatus {
	out := s
	if s.Conditions != nil {
		out.Conditions = make([]metav1.Condition, len(s.Conditions))
		for i := range s.Conditions {
			s.Conditions[i].DeepCopyInto(&out.Conditions[i])
		}
	}
	if s.Installation != nil {
		v := *s.Installation
		out.Installation = &v
	}
	out.CreatedAt = copyTime(s.CreatedAt)
	out.LastActivity = copyTime(s.LastActivity)
	out.HibernatedAt = copyTime(s.HibernatedAt)
	out.HibernateAt = copyTime(s.HibernateAt)
	out.DeleteAt = copyTime(s.DeleteAt)
	if s.Image != nil {
		v := *s.Image
		v.WaitingSince = copyTime(s.Image.WaitingSince)
		out.Image = &v
	}
	if s.TestData != nil {
		v := *s.TestData
		v.LoadedAt = copyTime(s.TestData.LoadedAt)
		out.TestData = &v
	}
	return out
}

func copyTime(t *metav1.Time) *metav1.Time {
	if t == nil {
		return nil
	}
	v := *t
	return &v
}

func copyDuration(d *Duration) *Duration {
	if d == nil {
		return nil
	}
	v := *d
	return &v
}

// SourceKind returns which source asked for the environment.
func (s Source) Kind() SourceKind {
	switch {
	case s.PullRequest != nil:
		return SourcePullRequest
	case s.Chat != nil:
		return SourceChat
	default:
		return SourceManual
	}
}
