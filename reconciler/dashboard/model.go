package dashboard

import (
	"cmp"
	"strconv"
	"strings"
	"time"

	"github.com/fluxcd/pkg/apis/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/envwick/envwick/envs"
	"github.com/envwick/envwick/envs/store"
	"github.com/envwick/envwick/reconciler"
)

// The states the dashboard and `envwick status` sort environments into.
// Each is read from the Ready condition the reconciler recorded, except
// pending (a file with no status yet), deleting (status whose file is gone)
// and invalid (a file that does not parse, whatever was recorded).
const (
	StateReady        = "ready"
	StateProvisioning = "provisioning"
	StateHibernated   = "hibernated"
	StateFailed       = "failed"
	StateInvalid      = "invalid"
	StateSuspended    = "suspended"
	StateDeleting     = "deleting"
	StatePending      = "pending"
	StateUnknown      = "unknown"
)

// States lists every state in the order counts are shown.
var States = []string{StateReady, StateProvisioning, StatePending, StateHibernated, StateFailed, StateInvalid, StateSuspended, StateDeleting, StateUnknown}

// StatusState is the state a status file records, from its Ready
// condition's reason.
func StatusState(st *reconciler.Status) string {
	if st == nil {
		return StatePending
	}
	c := readyCondition(st.Status.Conditions)
	if c == nil {
		return StateUnknown
	}
	switch c.Reason {
	case envs.ReasonAvailable:
		return StateReady
	case envs.ReasonHibernated:
		return StateHibernated
	case envs.ReasonProvisioning:
		return StateProvisioning
	case envs.ReasonProvisionerError, envs.ReasonInstallationFailed:
		return StateFailed
	case envs.ReasonInvalid:
		return StateInvalid
	case envs.ReasonSuspended:
		return StateSuspended
	case envs.ReasonDeletionBlocked:
		return StateDeleting
	}
	return StateUnknown
}

func readyCondition(cs []metav1.Condition) *metav1.Condition {
	for i := range cs {
		if cs[i].Type == meta.ReadyCondition {
			return &cs[i]
		}
	}
	return nil
}

// Environment is one row of the fleet: what its file asks for and what the
// reconciler last recorded, in the words people use. It is what
// /api/v1/environments returns; nothing secret is in it (no env values).
type Environment struct {
	Name  string `json:"name"`
	Path  string `json:"path,omitempty"`
	State string `json:"state"`
	// Ready is the Ready condition, when recorded.
	Ready  *Condition `json:"ready,omitempty"`
	Owner  envs.Owner `json:"owner"`
	Source Source     `json:"source"`

	URL          string `json:"url,omitempty"`
	Size         string `json:"size,omitempty"`
	Version      string `json:"version,omitempty"`
	License      string `json:"license,omitempty"`
	DesiredState string `json:"desiredState,omitempty"`
	Suspended    bool   `json:"suspended,omitempty"`
	Keep         bool   `json:"keep,omitempty"`
	Installation string `json:"installation,omitempty"`
	// InstallationState is the provisioner's state of the installation.
	InstallationState string `json:"installationState,omitempty"`

	CreatedAt    *time.Time `json:"createdAt,omitempty"`
	LastActivity *time.Time `json:"lastActivity,omitempty"`
	// Next is the next housekeeping action and when it is due.
	Next *Deadline `json:"next,omitempty"`
	// ExpiresAt is when the environment expires (spec.lifecycle.expiresAt,
	// or its TTL after creation).
	ExpiresAt *time.Time `json:"expiresAt,omitempty"`

	ObservedCommit string `json:"observedCommit,omitempty"`
	// Error is why the file does not parse, or the last reconcile error.
	Error string `json:"error,omitempty"`
}

// Condition is one recorded condition.
type Condition struct {
	Type               string    `json:"type"`
	Status             string    `json:"status"`
	Reason             string    `json:"reason,omitempty"`
	Message            string    `json:"message,omitempty"`
	LastTransitionTime time.Time `json:"lastTransitionTime,omitzero"`
}

// Source is where an environment came from.
type Source struct {
	// Kind is pullRequest, chat or manual.
	Kind string `json:"kind"`
	// Label names it: owner/repo#N, @user in chat, or "hand edit".
	Label string `json:"label"`
	// URL links to it when it has a page (a pull request).
	URL string `json:"url,omitempty"`
}

// Deadline is a housekeeping action and its time.
type Deadline struct {
	Action string    `json:"action"`
	At     time.Time `json:"at"`
}

// OwnerName is the owner as one name: the GitHub login, else the
// Mattermost username.
func (e *Environment) OwnerName() string {
	return cmp.Or(e.Owner.GitHub, e.Owner.Mattermost, e.Owner.Email)
}

// ReadyReason is the Ready condition's reason, or "".
func (e *Environment) ReadyReason() string {
	if e.Ready == nil {
		return ""
	}
	return e.Ready.Reason
}

// newEnvironment builds a row from an environment file (nil when the file
// is gone) and its recorded status (nil when none yet). githubURL is the
// web root pull requests are linked under.
func newEnvironment(name string, file *store.Entry, st *reconciler.Status, githubURL string) *Environment {
	e := &Environment{Name: name, State: StatusState(st)}
	var spec *envs.EnvironmentSpec
	switch {
	case file == nil:
		e.State = StateDeleting
	case file.Err != nil:
		e.State, e.Error = StateInvalid, file.Err.Error()
	case st == nil:
		e.State = StatePending
	}
	if file != nil {
		e.Path = file.Path
		if file.Env != nil {
			spec = &file.Env.Spec
		}
	}
	if st != nil {
		s := &st.Status
		if c := readyCondition(s.Conditions); c != nil {
			e.Ready = condition(c)
		}
		if s.Installation != nil {
			e.URL, e.Installation, e.InstallationState, e.Version = s.Installation.URL, s.Installation.Name, s.Installation.State, s.Installation.Version
		}
		e.CreatedAt, e.LastActivity = timeOf(s.CreatedAt), timeOf(s.LastActivity)
		e.ObservedCommit = s.ObservedCommit
		if e.Error == "" {
			e.Error = s.LastError
		}
		if s.HibernateAt != nil && e.State != StateHibernated {
			e.Next = &Deadline{Action: "hibernate", At: s.HibernateAt.Time}
		}
		if s.DeleteAt != nil && (e.Next == nil || s.DeleteAt.Before(&metav1.Time{Time: e.Next.At})) {
			e.Next = &Deadline{Action: "delete", At: s.DeleteAt.Time}
		}
		if spec == nil && st.Reconciler.LastKnown != nil {
			e.Owner, e.Source = st.Reconciler.LastKnown.Owner, sourceOf(st.Reconciler.LastKnown.Source, githubURL)
		}
	}
	if spec != nil {
		e.Owner, e.Source = spec.Owner, sourceOf(spec.Source, githubURL)
		in := spec.Installation
		e.Size, e.License = in.Size, in.License
		if e.Version == "" {
			e.Version = in.Version
		}
		e.DesiredState = string(cmp.Or(spec.State, envs.StateRunning))
		e.Suspended, e.Keep = spec.Suspend, spec.Lifecycle.Keep
		switch l := spec.Lifecycle; {
		case l.ExpiresAt != nil:
			e.ExpiresAt = timeOf(l.ExpiresAt)
		case l.TTL != nil && e.CreatedAt != nil:
			t := e.CreatedAt.Add(l.TTL.Duration)
			e.ExpiresAt = &t
		}
	}
	if e.Source.Kind == "" {
		e.Source = sourceOf(envs.Source{}, githubURL)
	}
	return e
}

func condition(c *metav1.Condition) *Condition {
	return &Condition{Type: c.Type, Status: string(c.Status), Reason: c.Reason, Message: c.Message, LastTransitionTime: c.LastTransitionTime.Time}
}

func timeOf(t *metav1.Time) *time.Time {
	if t == nil || t.IsZero() {
		return nil
	}
	v := t.UTC()
	return &v
}

func sourceOf(s envs.Source, githubURL string) Source {
	switch {
	case s.PullRequest != nil:
		pr := s.PullRequest
		label := pr.Repository + "#" + strconv.Itoa(pr.Number)
		u := ""
		if validRepo(pr.Repository) && pr.Number > 0 {
			u = strings.TrimSuffix(githubURL, "/") + "/" + pr.Repository + "/pull/" + strconv.Itoa(pr.Number)
		}
		return Source{Kind: string(envs.SourcePullRequest), Label: label, URL: u}
	case s.Chat != nil:
		return Source{Kind: string(envs.SourceChat), Label: "@" + s.Chat.User + " in chat"}
	}
	return Source{Kind: string(envs.SourceManual), Label: "hand edit"}
}

// validRepo is "owner/name" made of the characters GitHub allows, so a
// link built from it stays on the host.
func validRepo(r string) bool {
	owner, name, ok := strings.Cut(r, "/")
	if !ok || owner == "" || name == "" || strings.Contains(name, "/") {
		return false
	}
	for _, c := range r {
		if !(c == '/' || c == '-' || c == '_' || c == '.' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9') {
			return false
		}
	}
	return owner != ".." && name != ".."
}
