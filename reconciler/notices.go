package reconciler

import (
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// noticeDue decides whether an "expiring" notice goes out for the deadline
// at, given the deadline last announced (*notified), and keeps *notified
// up to date. A deadline is announced once while it stays within the
// notice window: activity that moves it a few seconds or hours on (a
// command, a post, the owner opening the server) is still the same
// deadline, and telling the owner again each time is noise (three notices
// in twelve seconds, each naming a slightly later time). A deadline that
// leaves the window (activity postponed it for real) is forgotten, so the
// next approach is announced again; one that moves earlier than announced
// is announced again, since the owner would otherwise count on time they
// do not have.
func noticeDue(at *metav1.Time, notified **metav1.Time, now time.Time, window time.Duration) bool {
	if at == nil || at.Sub(now) > window {
		*notified = nil
		return false
	}
	if *notified != nil && !at.Before(*notified) {
		return false
	}
	*notified = at.DeepCopy()
	return true
}
