package commit

import (
	"fmt"
	"maps"
	"reflect"
	"slices"
	"strings"
	"time"

	"github.com/envwick/envwick/envs"
)

// Policy is the rules every change through a Committer obeys, whichever bot
// asks. They are checked inside the change function, against the head the
// change is applied to: a push retried on a newer head checks them again, so
// concurrent requests cannot together pass a limit each passes alone.
//
// Counts and units: zero takes the default, a negative value means no limit.
// Durations: zero takes the default, a negative value means no limit.
type Policy struct {
	// MaxEnvironments bounds the environments one owner has outside pull
	// requests (from chat or written by hand); default 3.
	MaxEnvironments int
	// MaxUnits bounds the size units (Units) of those environments
	// together; default 8.
	MaxUnits int
	// Units is what an installation of each size counts toward MaxUnits;
	// DefaultUnits() when nil. A size not in the table counts as the
	// table's largest entry.
	Units map[string]int
	// DefaultSize is the size of an environment that names none; default
	// the fleet default, envs.DefaultDefaults().Size.
	DefaultSize string
	// MaxPullRequestEnvironments bounds the environments of one author's
	// pull requests; default 5.
	MaxPullRequestEnvironments int
	// MaxKept bounds the environments one owner protects from housekeeping
	// (spec.lifecycle.keep); default 1.
	MaxKept int
	// MaxExtension bounds how far one change may push an environment's end
	// of life back; default 7 days.
	MaxExtension time.Duration
	// MaxLifetime bounds the lifetime an extension may give: a time to
	// live, or an explicit expiry counted from now; default 30 days.
	MaxLifetime time.Duration
	// DefaultTTL is the fleet's default time to live, which an extension of
	// an environment without one of its own grows from (zero: none).
	DefaultTTL time.Duration
	// MaxDeletionLocked bounds the environments one owner has under the
	// platform's deletion lock (spec.lifecycle.deletionLocked); default 1.
	MaxDeletionLocked int
	// Licenses, when set, are the license names configured (their texts
	// are the reconciler's): a change naming another license is refused,
	// whoever asks. Nil accepts any name the schema accepts.
	Licenses LicenseNames
}

// LicenseNames lists the license names the platform can be given
// (reconciler/licenses.Store).
type LicenseNames interface {
	Names() []string
}

// DefaultUnits is the default size unit table: roughly what an installation
// of each size costs, a miniSingleton being one.
func DefaultUnits() map[string]int {
	return map[string]int{
		"miniSingleton": 1, "miniHA": 2,
		"cloud10users": 1, "cloud100users": 2,
		"100users": 2, "1000users": 4, "5000users": 8, "10000users": 16, "25000users": 32,
		"provisionerXL": 32,
	}
}

// WithDefaults returns p with every zero field set to its default.
func (p Policy) WithDefaults() Policy {
	def := func(v *int, d int) {
		if *v == 0 {
			*v = d
		}
	}
	def(&p.MaxEnvironments, 3)
	def(&p.MaxUnits, 8)
	def(&p.MaxPullRequestEnvironments, 5)
	def(&p.MaxKept, 1)
	def(&p.MaxDeletionLocked, 1)
	if p.MaxExtension == 0 {
		p.MaxExtension = 7 * 24 * time.Hour
	}
	if p.MaxLifetime == 0 {
		p.MaxLifetime = 30 * 24 * time.Hour
	}
	if p.Units == nil {
		p.Units = DefaultUnits()
	} else {
		p.Units = maps.Clone(p.Units)
	}
	if p.DefaultSize == "" {
		p.DefaultSize = envs.DefaultDefaults().Size
	}
	return p
}

// Validate reports a unit table that cannot be applied.
func (p Policy) Validate() error {
	for size, n := range p.Units {
		if !envs.ValidSize(size) {
			return fmt.Errorf("size units: %q is not an installation size (valid: %s)", size, strings.Join(envs.Sizes(), ", "))
		}
		if n < 0 {
			return fmt.Errorf("size units: %s counts %d; want zero or more", size, n)
		}
	}
	return nil
}

// UnitsOf returns what an installation of size counts toward MaxUnits.
func (p Policy) UnitsOf(size string) int {
	if size == "" {
		size = p.DefaultSize
	}
	if n, ok := p.Units[size]; ok {
		return n
	}
	largest := 0
	for _, n := range p.Units {
		largest = max(largest, n)
	}
	return largest
}

// Requester is who asks for a change, as the policy sees them: the bot fills
// in the identity of the tool the request came through.
type Requester struct {
	// GitHub is a GitHub login.
	GitHub string
	// Mattermost is a Mattermost username; MattermostID the user's ID.
	Mattermost   string
	MattermostID string
	// Admin is set by the bot for a person its configuration makes an
	// admin: they may change anyone's environment and no quota binds them.
	Admin bool
	// PullRequest, when set, is the pull request the request came through.
	// Its repository's permissions (enforced by GitHub, and by the bot for
	// commands) let the requester change that pull request's environment,
	// whoever owns it.
	PullRequest *PullRequestRef
}

// PullRequestRef names a pull request.
type PullRequestRef struct {
	Repository string // "owner/name"
	Number     int
}

// PolicyKind says which rule refused a change.
type PolicyKind string

const (
	// KindNotOwner: the environment belongs to someone else.
	KindNotOwner PolicyKind = "not-owner"
	// KindQuota: the owner has MaxEnvironments already.
	KindQuota PolicyKind = "quota"
	// KindUnits: the owner's environments would count more than MaxUnits.
	KindUnits PolicyKind = "units"
	// KindPullRequestQuota: the author has MaxPullRequestEnvironments.
	KindPullRequestQuota PolicyKind = "pull-request-quota"
	// KindKept: the owner keeps MaxKept environments already.
	KindKept PolicyKind = "kept"
	// KindExtension: one extension longer than MaxExtension.
	KindExtension PolicyKind = "extension"
	// KindLifetime: the extension would give a lifetime past MaxLifetime.
	KindLifetime PolicyKind = "lifetime"
	// KindDeletionLocked: the owner has MaxDeletionLocked environments
	// under the platform's deletion lock already.
	KindDeletionLocked PolicyKind = "deletion-locked"
	// KindLicense: the license named is not configured.
	KindLicense PolicyKind = "license"
)

// PolicyError is a change refused by the Policy. Nothing was committed. Bots
// render it in their own words from its fields; Error is a plain English
// fallback.
type PolicyError struct {
	Kind PolicyKind
	// Name is the environment the change was for.
	Name string
	// Owner is the owner whose limit it is, or (KindNotOwner) the owner the
	// requester is not.
	Owner envs.Owner
	// Limit is the count or unit limit; Used what the owner has without
	// this change (environments, or units); Asked the units this
	// environment counts (KindUnits).
	Limit, Used, Asked int
	// MaxDuration is the duration limit and Duration what the change asked
	// for: the extension (KindExtension) or the lifetime it gives
	// (KindLifetime). Until is the end of life it would give, when that is
	// an explicit time.
	MaxDuration, Duration time.Duration
	Until                 time.Time
	// Environments are the environments the limit counts (the owner's),
	// sorted; for KindNotOwner, the environment itself.
	Environments []string
	// License is the license asked for and Available those configured,
	// sorted (KindLicense).
	License   string
	Available []string
}

func (e *PolicyError) Error() string {
	list := strings.Join(e.Environments, ", ")
	switch e.Kind {
	case KindNotOwner:
		return fmt.Sprintf("environment %s belongs to %s; only its owner or an admin may change it", e.Name, OwnerName(e.Owner))
	case KindQuota:
		return fmt.Sprintf("%s has %d environments (%s), the most one owner may have", OwnerName(e.Owner), e.Used, list)
	case KindUnits:
		return fmt.Sprintf("environment %s counts %d size units and %s has %d (%s); the most one owner may have is %d", e.Name, e.Asked, OwnerName(e.Owner), e.Used, list, e.Limit)
	case KindPullRequestQuota:
		return fmt.Sprintf("%s has %d pull request environments (%s), the most one author may have", OwnerName(e.Owner), e.Used, list)
	case KindKept:
		return fmt.Sprintf("%s keeps %d environments (%s), the most one owner may keep", OwnerName(e.Owner), e.Used, list)
	case KindDeletionLocked:
		return fmt.Sprintf("%s has %d deletion-locked environments (%s), the most one owner may have", OwnerName(e.Owner), e.Used, list)
	case KindLicense:
		if len(e.Available) == 0 {
			return fmt.Sprintf("environment %s: license %q is not configured, and none are", e.Name, e.License)
		}
		return fmt.Sprintf("environment %s: license %q is not configured; available: %s", e.Name, e.License, strings.Join(e.Available, ", "))
	case KindExtension:
		return fmt.Sprintf("extending %s by %s: one extension may be at most %s", e.Name, envs.FormatDuration(e.Duration), envs.FormatDuration(e.MaxDuration))
	case KindLifetime:
		return fmt.Sprintf("extending %s would give it a lifetime of %s; the most is %s", e.Name, envs.FormatDuration(e.Duration), envs.FormatDuration(e.MaxDuration))
	}
	return fmt.Sprintf("environment %s: refused by policy (%s)", e.Name, e.Kind)
}

// OwnerName names an owner for people: "@alice" for a Mattermost user,
// "jane on GitHub", or "someone else".
func OwnerName(o envs.Owner) string {
	switch {
	case o.Mattermost != "":
		return "@" + o.Mattermost
	case o.GitHub != "":
		return o.GitHub + " on GitHub"
	}
	return "someone else"
}

// Owns reports whether r owns e: by Mattermost user ID when the environment
// came from chat, else by Mattermost username or GitHub login.
func (r Requester) Owns(e *envs.Environment) bool {
	if c := e.Spec.Source.Chat; c != nil && c.UserID != "" && c.UserID == r.MattermostID {
		return true
	}
	o := e.Spec.Owner
	return (o.Mattermost != "" && strings.EqualFold(o.Mattermost, r.Mattermost)) ||
		(o.GitHub != "" && strings.EqualFold(o.GitHub, r.GitHub))
}

// MayChange reports whether r may change or delete e as its owner, an
// admin or through its pull request (sharing aside: see SharedForUpdates).
func (r Requester) MayChange(e *envs.Environment) bool {
	if r.Admin || r.Owns(e) {
		return true
	}
	pr, via := e.Spec.Source.PullRequest, r.PullRequest
	return pr != nil && via != nil && pr.Number == via.Number && strings.EqualFold(pr.Repository, via.Repository)
}

// sameOwner reports whether a and b have an owner in common.
func sameOwner(a, b *envs.Environment) bool {
	oa, ob := a.Spec.Owner, b.Spec.Owner
	if ca, cb := a.Spec.Source.Chat, b.Spec.Source.Chat; ca != nil && cb != nil && ca.UserID != "" && ca.UserID == cb.UserID {
		return true
	}
	return (oa.Mattermost != "" && strings.EqualFold(oa.Mattermost, ob.Mattermost)) ||
		(oa.GitHub != "" && strings.EqualFold(oa.GitHub, ob.GitHub))
}

func isPullRequest(e *envs.Environment) bool { return e.Spec.Source.PullRequest != nil }

// check applies the policy to one change of the environment name: cur is
// the environment before (nil when new), next after (nil when deleted). all
// returns every environment the change sees; it is called only when a rule
// needs it. It runs inside the store's change function, so it depends only
// on its arguments.
func (p *Policy) check(r Requester, now time.Time, name string, cur, next *envs.Environment, all func() []envs.Document) error {
	if err := checkOwner(r, name, cur); err != nil {
		return err
	}
	if cur != nil && !r.MayChange(cur) && !onlyWhatItRuns(cur, next) {
		// Shared for updates, but this change is more than an update.
		return notOwner(name, cur)
	}
	if next == nil {
		return nil
	}
	if cur != nil {
		if err := p.checkExtension(name, now, cur, next); err != nil {
			return err
		}
	}
	if err := p.checkLicense(name, cur, next); err != nil {
		return err
	}
	if r.Admin {
		return nil
	}
	joins := cur == nil || isPullRequest(cur) != isPullRequest(next) || !sameOwner(cur, next)
	var others []*envs.Environment // the owner's other environments
	var loaded bool
	mine := func() []*envs.Environment {
		if !loaded {
			loaded = true
			for _, d := range all() {
				if d.Env != nil && d.Name != name && sameOwner(d.Env, next) {
					others = append(others, d.Env)
				}
			}
		}
		return others
	}
	refuse := func(kind PolicyKind, limit int, counted []*envs.Environment) *PolicyError {
		return &PolicyError{Kind: kind, Name: name, Owner: next.Spec.Owner, Limit: limit, Used: len(counted), Environments: names(counted)}
	}

	if next.Spec.Lifecycle.Keep && (cur == nil || !cur.Spec.Lifecycle.Keep) && p.MaxKept >= 0 {
		kept := filter(mine(), func(e *envs.Environment) bool { return e.Spec.Lifecycle.Keep })
		if len(kept) >= p.MaxKept {
			return refuse(KindKept, p.MaxKept, kept)
		}
	}
	if next.Spec.Lifecycle.DeletionLocked && (cur == nil || !cur.Spec.Lifecycle.DeletionLocked) && p.MaxDeletionLocked >= 0 {
		locked := filter(mine(), func(e *envs.Environment) bool { return e.Spec.Lifecycle.DeletionLocked })
		if len(locked) >= p.MaxDeletionLocked {
			return refuse(KindDeletionLocked, p.MaxDeletionLocked, locked)
		}
	}
	if isPullRequest(next) {
		if joins && p.MaxPullRequestEnvironments >= 0 {
			prs := filter(mine(), func(e *envs.Environment) bool {
				return isPullRequest(e) && strings.EqualFold(e.Spec.Owner.GitHub, next.Spec.Owner.GitHub)
			})
			if len(prs) >= p.MaxPullRequestEnvironments {
				return refuse(KindPullRequestQuota, p.MaxPullRequestEnvironments, prs)
			}
		}
		return nil
	}
	notPR := func(e *envs.Environment) bool { return !isPullRequest(e) }
	if joins && p.MaxEnvironments >= 0 {
		if counted := filter(mine(), notPR); len(counted) >= p.MaxEnvironments {
			return refuse(KindQuota, p.MaxEnvironments, counted)
		}
	}
	asked := p.UnitsOf(next.Spec.Installation.Size)
	grows := joins || asked > p.UnitsOf(cur.Spec.Installation.Size)
	if grows && p.MaxUnits >= 0 {
		counted := filter(mine(), notPR)
		used := 0
		for _, e := range counted {
			used += p.UnitsOf(e.Spec.Installation.Size)
		}
		if used+asked > p.MaxUnits {
			err := refuse(KindUnits, p.MaxUnits, counted)
			err.Used, err.Asked = used, asked
			return err
		}
	}
	return nil
}

// checkLicense refuses a license name that is not configured, when the
// change names one anew (an environment left as it is is the reconciler's
// to report, not a reason to refuse other changes to it).
func (p *Policy) checkLicense(name string, cur, next *envs.Environment) error {
	want := next.Spec.Installation.License
	if p.Licenses == nil || want == "" || (cur != nil && cur.Spec.Installation.License == want) {
		return nil
	}
	available := slices.Sorted(slices.Values(p.Licenses.Names()))
	if slices.Contains(available, strings.ToLower(want)) {
		return nil
	}
	return &PolicyError{Kind: KindLicense, Name: name, Owner: next.Spec.Owner, License: want, Available: available}
}

// checkOwner refuses a change to an existing environment by someone who
// may not change it. It needs only the environment as it is, so it runs
// before the change is worked out: "not yours" comes before any other
// answer.
func checkOwner(r Requester, name string, cur *envs.Environment) error {
	if cur != nil && !r.MayChange(cur) && !SharedForUpdates(cur) {
		return notOwner(name, cur)
	}
	return nil
}

func notOwner(name string, cur *envs.Environment) *PolicyError {
	return &PolicyError{Kind: KindNotOwner, Name: name, Owner: cur.Spec.Owner, Environments: []string{name}}
}

// SharedForUpdates reports whether e's owner shared it with updates
// allowed: then anyone may change what it runs (see onlyWhatItRuns), and
// nothing else.
func SharedForUpdates(e *envs.Environment) bool {
	sh := e.Spec.Sharing
	return sh != nil && sh.Shared && sh.AllowUpdates
}

// onlyWhatItRuns reports whether next differs from cur at most in what the
// installation runs (spec.installation) and the retry counter: the changes
// a shared environment takes from anyone. Deleting it, hibernating it, its
// lifecycle, owner and sharing stay with its owner and admins.
func onlyWhatItRuns(cur, next *envs.Environment) bool {
	if next == nil {
		return false
	}
	strip := func(e *envs.Environment) (envs.EnvironmentSpec, map[string]string, map[string]string) {
		spec := e.Spec.DeepCopy()
		spec.Installation = envs.Installation{}
		ann := maps.Clone(e.Annotations)
		delete(ann, envs.AnnotationRetry)
		if len(ann) == 0 {
			ann = nil
		}
		labels := e.Labels
		if len(labels) == 0 {
			labels = nil
		}
		return spec, ann, labels
	}
	cs, ca, cl := strip(cur)
	ns, na, nl := strip(next)
	return reflect.DeepEqual(cs, ns) && reflect.DeepEqual(ca, na) && reflect.DeepEqual(cl, nl)
}

// checkExtension bounds how far a change pushes an end of life back. Only
// a later end of life is checked: shortening one, or giving a first one to
// an environment that had none, is not an extension.
func (p *Policy) checkExtension(name string, now time.Time, cur, next *envs.Environment) error {
	was, will := cur.Spec.Lifecycle, next.Spec.Lifecycle
	over := func(d, limit time.Duration) bool { return limit >= 0 && d > limit }
	if x := will.ExpiresAt; x != nil {
		from := now
		if was.ExpiresAt != nil && was.ExpiresAt.After(now) {
			from = was.ExpiresAt.Time
		}
		if moved := x.Sub(from); moved > 0 && (was.ExpiresAt == nil || x.After(was.ExpiresAt.Time)) {
			if over(moved, p.MaxExtension) {
				return &PolicyError{Kind: KindExtension, Name: name, Owner: next.Spec.Owner, MaxDuration: p.MaxExtension, Duration: moved, Until: x.Time}
			}
			if life := x.Sub(now); over(life, p.MaxLifetime) {
				return &PolicyError{Kind: KindLifetime, Name: name, Owner: next.Spec.Owner, MaxDuration: p.MaxLifetime, Duration: life, Until: x.Time}
			}
		}
	}
	if t := will.TTL; t != nil {
		base := p.DefaultTTL
		if was.TTL != nil {
			base = was.TTL.Duration
		}
		if moved := t.Duration - base; base > 0 && moved > 0 {
			if over(moved, p.MaxExtension) {
				return &PolicyError{Kind: KindExtension, Name: name, Owner: next.Spec.Owner, MaxDuration: p.MaxExtension, Duration: moved}
			}
			if over(t.Duration, p.MaxLifetime) {
				return &PolicyError{Kind: KindLifetime, Name: name, Owner: next.Spec.Owner, MaxDuration: p.MaxLifetime, Duration: t.Duration}
			}
		}
	}
	return nil
}

func filter(es []*envs.Environment, keep func(*envs.Environment) bool) []*envs.Environment {
	var out []*envs.Environment
	for _, e := range es {
		if keep(e) {
			out = append(out, e)
		}
	}
	return out
}

func names(es []*envs.Environment) []string {
	out := make([]string, len(es))
	for i, e := range es {
		out[i] = e.Name
	}
	slices.Sort(out)
	return out
}
