package reconciler

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"maps"
	"path"
	"slices"
	"strings"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/yaml"

	"github.com/envwick/envwick/envs"
)

// StatusBranch is the branch status is written to. It is separate from the
// branch people edit, so status commits never conflict with spec edits in
// pull requests and never move the branch under them.
const StatusBranch = "envwick/status"

// StatusDir is the folder on the status branch holding one file per
// environment.
const StatusDir = "status"

// StatusKind is the kind of a status file.
const StatusKind = "EnvironmentStatus"

// StatusPath is where the status of an environment is kept on StatusBranch.
func StatusPath(name string) string { return StatusDir + "/" + name + ".yaml" }

// statusName returns the environment name of a status file path.
func statusName(p string) (string, bool) {
	dir, file := path.Split(p)
	if dir != StatusDir+"/" {
		return "", false
	}
	name, ok := strings.CutSuffix(file, ".yaml")
	return name, ok && name != ""
}

// Status is one file on the status branch: what the reconciler last observed
// of an environment, plus its own bookkeeping.
type Status struct {
	APIVersion string                 `json:"apiVersion"`
	Kind       string                 `json:"kind"`
	Name       string                 `json:"name"`
	Status     envs.EnvironmentStatus `json:"status"`
	Reconciler Bookkeeping            `json:"reconciler,omitempty"`
}

// Bookkeeping is state the reconciler keeps for itself between passes and
// restarts.
type Bookkeeping struct {
	// Generation is the generation of the current (or last) installation;
	// it picks the installation name (see installationName).
	Generation int `json:"generation,omitempty"`
	// CreatePendingSince is set from the moment a create is decided until
	// the installation is observed. While it is set, the installation is
	// looked up by name before any new create.
	CreatePendingSince *metav1.Time `json:"createPendingSince,omitempty"`
	// Blob is the environment file content the status was last computed for.
	Blob string `json:"blob,omitempty"`
	// ExpiryNotified is the deletion deadline an "expiring soon" notice was
	// sent for, so the notice goes out once per deadline.
	ExpiryNotified *metav1.Time `json:"expiryNotified,omitempty"`
	// HibernationNotified is the same for the idle-hibernation deadline.
	HibernationNotified *metav1.Time `json:"hibernationNotified,omitempty"`
	// LastKnown is the owner and source of the last environment file that
	// parsed, so that notices still reach the owner once the file is gone
	// or broken, also after a restart.
	LastKnown *LastKnown `json:"lastKnown,omitempty"`
}

// LastKnown is what the reconciler remembers of an environment's spec.
type LastKnown struct {
	Owner  envs.Owner  `json:"owner,omitzero"`
	Source envs.Source `json:"source,omitzero"`
}

// lastKnown returns the part of e's spec the reconciler remembers, or nil.
func lastKnown(e *envs.Environment) *LastKnown {
	if e == nil {
		return nil
	}
	return (&LastKnown{Owner: e.Spec.Owner, Source: e.Spec.Source}).deepCopy()
}

func (k *LastKnown) deepCopy() *LastKnown {
	if k == nil {
		return nil
	}
	spec := envs.EnvironmentSpec{Owner: k.Owner, Source: k.Source}.DeepCopy()
	return &LastKnown{Owner: spec.Owner, Source: spec.Source}
}

// environment is an Environment carrying only what is known: the name,
// the last known owner and source, and the status.
func (s *Status) environment() *envs.Environment {
	e := &envs.Environment{ObjectMeta: metav1.ObjectMeta{Name: s.Name}, Status: s.Status.DeepCopy()}
	if lk := s.Reconciler.LastKnown.deepCopy(); lk != nil {
		e.Spec.Owner, e.Spec.Source = lk.Owner, lk.Source
	}
	return e
}

func newStatus(name string) *Status {
	return &Status{APIVersion: envs.APIVersion, Kind: StatusKind, Name: name}
}

// DeepCopy returns a copy sharing no memory.
func (s *Status) DeepCopy() *Status {
	if s == nil {
		return nil
	}
	out := *s
	out.Status = s.Status.DeepCopy()
	if s.Reconciler.CreatePendingSince != nil {
		v := *s.Reconciler.CreatePendingSince
		out.Reconciler.CreatePendingSince = &v
	}
	out.Reconciler.ExpiryNotified = s.Reconciler.ExpiryNotified.DeepCopy()
	out.Reconciler.HibernationNotified = s.Reconciler.HibernationNotified.DeepCopy()
	out.Reconciler.LastKnown = s.Reconciler.LastKnown.deepCopy()
	return &out
}

// marshalStatus is the one canonical form of a status file. A pass compares
// these bytes to decide whether anything changed.
func marshalStatus(s *Status) ([]byte, error) {
	b, err := yaml.Marshal(s)
	if err != nil {
		return nil, fmt.Errorf("writing status of %s: %w", s.Name, err)
	}
	return b, nil
}

// ParseStatus reads a status file.
func ParseStatus(data []byte) (*Status, error) {
	var s Status
	if err := yaml.UnmarshalStrict(data, &s); err != nil {
		return nil, fmt.Errorf("reading status: %w", err)
	}
	if s.Kind != StatusKind || s.Name == "" {
		return nil, fmt.Errorf("reading status: not an %s document", StatusKind)
	}
	return &s, nil
}

// statusKey is a cheap canonical form of a status, for telling whether a
// pass changed it without writing YAML for every environment.
func statusKey(s *Status) []byte {
	b, err := json.Marshal(s)
	if err != nil {
		return nil
	}
	return b
}

// digest is the SHA-256 of a statusKey: what the reconciler keeps of each
// status as written (32 bytes, where the key is over a kilobyte).
type digest [sha256.Size]byte

func statusDigest(s *Status) digest { return sha256.Sum256(statusKey(s)) }

// writeStatus commits the status files that changed, and removes those of
// environments that are gone, in one commit. Nothing changed: no commit.
//
// With a StatusInterval, an environment written less than the interval ago
// is held back: its status stays what the branch has until a pass after the
// interval writes the newest one (a pass with nothing else to do included).
// So one environment's create makes two status commits (its first status,
// then the first settled one after the interval), however many states the
// platform goes through, and a pass with nothing new or due writes nothing.
func (r *Reconciler) writeStatus(ctx context.Context, commit string, next map[string]*Status, now time.Time) (bool, error) {
	put := map[string][]byte{}
	keys := map[string]digest{}
	var del []string
	for name, st := range next {
		if st == r.status[name] && !r.held[name] {
			continue // the same object, written as it is
		}
		k := statusDigest(st)
		if old, ok := r.written[name]; ok && old == k {
			delete(r.held, name)
			continue
		}
		if at, ok := r.writtenAt[name]; ok && r.cfg.StatusInterval > 0 && now.Sub(at) < r.cfg.StatusInterval {
			r.held[name] = true
			continue
		}
		b, err := marshalStatus(st)
		if err != nil {
			return false, err
		}
		put[name], keys[name] = b, k
	}
	for name := range r.status {
		if _, ok := next[name]; !ok {
			del = append(del, name)
		}
	}
	if len(put) == 0 && len(del) == 0 {
		r.status = next
		return false, nil
	}
	slices.Sort(del)
	msg := statusMessage(commit, put, del)
	if err := r.repo.WriteStatus(ctx, msg, put, del); err != nil {
		return false, fmt.Errorf("writing status: %w", err)
	}
	for name, k := range keys {
		r.written[name], r.writtenAt[name] = k, now
		delete(r.held, name)
	}
	for _, name := range del {
		delete(r.written, name)
		delete(r.writtenAt, name)
		delete(r.held, name)
	}
	r.status = next
	return true, nil
}

// heldFor is how long until the first status write held back by the
// status interval falls due; false when none is held.
func (r *Reconciler) heldFor() (time.Duration, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	var first time.Time
	for name := range r.held {
		if at := r.writtenAt[name].Add(r.cfg.StatusInterval); first.IsZero() || at.Before(first) {
			first = at
		}
	}
	if first.IsZero() {
		return 0, false
	}
	return first.Sub(r.cfg.Clock.Now()), true
}

func statusMessage(commit string, put map[string][]byte, del []string) string {
	names := slices.Sorted(maps.Keys(put))
	subject := fmt.Sprintf("Record status of %d environments at %s", len(names)+len(del), short(commit))
	if len(names)+len(del) == 1 {
		subject = fmt.Sprintf("Record status of %s at %s", slices.Concat(names, del)[0], short(commit))
	}
	body := ""
	const listMax = 20
	for i, n := range names {
		if i == listMax {
			body += fmt.Sprintf("... and %d more\n", len(names)-listMax)
			break
		}
		body += "updated: " + n + "\n"
	}
	for i, n := range del {
		if i == listMax {
			body += fmt.Sprintf("... and %d more removed\n", len(del)-listMax)
			break
		}
		body += "removed: " + n + "\n"
	}
	return subject + "\n\n" + body
}
