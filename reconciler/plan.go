package reconciler

import (
	"cmp"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/envwick/envwick/envs"
	"github.com/envwick/envwick/reconciler/platform"
)

// Action is what a pass does for one environment or installation.
type Action string

const (
	ActionNone      Action = "none"
	ActionCreate    Action = "create"
	ActionUpdate    Action = "update"
	ActionHibernate Action = "hibernate"
	ActionWakeUp    Action = "wake-up"
	ActionDelete    Action = "delete"
	ActionAdopt     Action = "adopt"
	// ActionRestore cancels the pending deletion of the environment's
	// last installation and adopts it (see restore.go).
	ActionRestore Action = "restore"
)

// Changes reports whether the action changes anything (on the platform or in
// recorded status).
func (a Action) Changes() bool { return a != ActionNone && a != "" }

// mutates reports whether the action calls the provisioner.
func (a Action) mutates() bool { return a.Changes() && a != ActionAdopt }

// Desired is one environment file as loaded from the envs repository.
type Desired struct {
	Name string
	Path string
	// Env is the environment with defaults applied; nil when Err is set.
	Env *envs.Environment
	// Err is the file's parse or validation error. An environment with an
	// error is never read as removed.
	Err error
	// Blob identifies the file's content; a change means the file changed.
	Blob string
	// Also holds the other files that claim this name, each invalid (a name
	// is used by one file only); the planning keeps the first by path.
	Also []Desired
}

// Item is the plan for one environment (or one installation whose
// environment is gone).
type Item struct {
	Name   string `json:"name"`
	Action Action `json:"action"`
	// Reason says why, for a person.
	Reason string `json:"reason"`
	// Blocked is set on a deletion held back by the mass-deletion guard.
	Blocked bool `json:"blocked,omitempty"`
	// Installation is what was observed, if anything.
	Installation *platform.Installation `json:"installation,omitempty"`
	// Patch is the change an update makes.
	Patch *platform.InstallationPatch `json:"patch,omitempty"`
	// Stalled carries a file error or a failed installation.
	Stalled string `json:"stalled,omitempty"`
	// Suspended is set when spec.suspend holds the environment.
	Suspended bool `json:"suspended,omitempty"`
	// Waiting is set while the provisioner works on the installation, or
	// while a create or update waits for its image.
	Waiting bool `json:"waiting,omitempty"`
	// Image is the environment's image as resolved (images.go).
	Image *ItemImage `json:"image,omitempty"`
}

// Plan is what one pass would do.
type Plan struct {
	Commit string `json:"commit"`
	Items  []Item `json:"items"`
	// Owned is the number of owned installations observed.
	Owned int `json:"owned"`
	// Guard explains why deletions are held back; empty when they are not.
	Guard string `json:"guard,omitempty"`
	// Housekeeping lists the commits housekeeping would make.
	Housekeeping []Housekeeping `json:"housekeeping,omitempty"`
	// Invalid lists every environment file that does not parse or
	// validate, repository-level rules (unique names) included, across all
	// files even when the pass planned only some environments.
	Invalid []InvalidFile `json:"invalid,omitempty"`
	// Source names what was planned when it is not a commit of the envs
	// repository as it stands (a work tree, a merge preview).
	Source string `json:"source,omitempty"`
}

// InvalidFile is an environment file that does not parse or validate. Its
// environment is left as it is.
type InvalidFile struct {
	Name     string        `json:"name"`
	Path     string        `json:"path"`
	Problems envs.Problems `json:"problems"`
}

// Changes counts the items that would change something, housekeeping
// included. Blocked deletions change nothing.
func (p *Plan) Changes() int {
	n := len(p.Housekeeping)
	for _, it := range p.Items {
		if it.Action.Changes() && !it.Blocked {
			n++
		}
	}
	return n
}

// GuardPolicy configures the mass-deletion guard.
type GuardPolicy struct {
	// MaxShare is the largest share of owned installations one pass may
	// delete (default 0.2).
	MaxShare float64
	// MaxCount, when positive, is the largest number one pass may delete.
	MaxCount int
	// Free is how many deletions are always allowed whatever the share
	// (default 1), so removing one environment from a small fleet works.
	Free int
	// Override lets any pass delete.
	Override bool
	// Allow lets a pass delete up to this many whatever the share.
	Allow int
}

// planInput is everything planning reads. Planning is a pure function of it.
type planInput struct {
	commit  string
	desired map[string]*Desired
	// actual holds the owned installations that carry an environment
	// identity, not yet deleted, by environment name.
	actual map[string][]platform.Installation
	// pending holds those whose deletion can still be cancelled.
	pending map[string][]platform.Installation
	status  map[string]*Status
	guard   GuardPolicy
	// owned, when positive, is the number of owned installations (for the
	// guard) when actual holds only some of them.
	owned int
}

// plan decides, per environment, what to do.
func plan(in planInput) *Plan {
	p := &Plan{Commit: in.commit}
	for _, list := range in.actual {
		p.Owned += len(list)
	}
	if in.owned > 0 {
		p.Owned = in.owned
	}
	names := make([]string, 0, len(in.desired)+len(in.actual))
	names = slices.AppendSeq(names, maps.Keys(in.desired))
	for n := range in.actual {
		if _, ok := in.desired[n]; !ok {
			names = append(names, n)
		}
	}
	slices.Sort(names)
	p.Items = make([]Item, 0, len(names))
	for _, name := range names {
		d := in.desired[name]
		insts := in.actual[name]
		st := in.status[name]
		if d == nil {
			for i := range insts {
				p.Items = append(p.Items, deleteItem(name, insts[i], "environment file removed"))
			}
			continue
		}
		keep, extra := pickInstallation(insts, st)
		for i := range extra {
			p.Items = append(p.Items, deleteItem(name, extra[i], "duplicate installation of this environment"))
		}
		p.Items = append(p.Items, restoreInstead(planOne(d, keep, st), in.pending[name]))
	}
	holdLocked(p)
	applyGuard(p, in.guard)
	return p
}

// pickInstallation chooses the installation that backs an environment: the
// one status records, else the oldest. Any other is a duplicate.
func pickInstallation(insts []platform.Installation, st *Status) (*platform.Installation, []platform.Installation) {
	switch len(insts) {
	case 0:
		return nil, nil
	case 1:
		return &insts[0], nil // the usual case: shared with what was observed, read only
	}
	sorted := slices.Clone(insts)
	slices.SortFunc(sorted, func(a, b platform.Installation) int {
		return cmp.Or(a.CreateAt.Compare(b.CreateAt), strings.Compare(a.ID, b.ID))
	})
	idx := 0
	if st != nil && st.Status.Installation != nil {
		if i := slices.IndexFunc(sorted, func(x platform.Installation) bool { return x.ID == st.Status.Installation.ID }); i >= 0 {
			idx = i
		}
	}
	keep := sorted[idx]
	return &keep, slices.Delete(sorted, idx, idx+1)
}

func deleteItem(name string, inst platform.Installation, why string) Item {
	return Item{Name: name, Action: ActionDelete, Reason: fmt.Sprintf("%s: delete installation %s (%s)", why, inst.Name, inst.ID), Installation: &inst}
}

// planOne decides for one environment with a file.
func planOne(d *Desired, inst *platform.Installation, st *Status) Item {
	it := Item{Name: d.Name, Installation: inst, Action: ActionNone}
	if d.Err != nil {
		it.Stalled = d.Err.Error()
		it.Reason = "file has errors: installation left as it is"
		return it
	}
	spec := d.Env.Spec
	if spec.Suspend {
		it.Suspended = true
		it.Reason = "suspended: left alone"
		return it
	}
	if inst == nil {
		it.Action = ActionCreate
		it.Reason = "no installation yet: create " + describeInstallation(spec.Installation)
		if st != nil && st.Status.Installation != nil && st.Status.Installation.ID != "" {
			it.Reason = fmt.Sprintf("installation %s is gone: create a new one", st.Status.Installation.ID)
		}
		return it
	}
	adopted := st == nil || st.Status.Installation == nil || st.Status.Installation.ID != inst.ID
	switch {
	case inst.Phase.Busy():
		it.Waiting = true
		it.Reason = "provisioner is working: " + inst.State
	case inst.Phase.Failed():
		if inst.Phase == platform.PhaseUpdateFailed {
			if patch := patchFor(d.Env, d.Name, inst); !patch.Empty() {
				it.Action, it.Patch = ActionUpdate, ref(patch)
				it.Reason = "previous update failed: retry " + describePatch(patch)
				return it
			}
		}
		if retry, ok := retryAsked(d.Env, inst); ok {
			return retryCreate(it, inst, retry)
		}
		it.Stalled = "installation is " + inst.State
		it.Reason = "installation failed (" + inst.State + "): needs attention"
	case inst.Phase == platform.PhaseHibernated:
		if spec.State != envs.StateHibernated {
			it.Action = ActionWakeUp
			it.Reason = "state is running: wake up"
		} else {
			it.Reason = "hibernated, as asked"
		}
	case inst.Phase == platform.PhaseStable:
		if spec.State == envs.StateHibernated {
			it.Action = ActionHibernate
			it.Reason = "state is hibernated: hibernate"
		} else if patch := patchFor(d.Env, d.Name, inst); !patch.Empty() {
			it.Action, it.Patch = ActionUpdate, ref(patch)
			it.Reason = "update " + describePatch(patch)
		} else {
			it.Reason = "up to date"
		}
	}
	if adopted && !it.Action.Changes() {
		it.Action = ActionAdopt
		it.Reason = fmt.Sprintf("adopt installation %s (%s); %s", inst.Name, inst.ID, it.Reason)
	}
	return it
}

// ref returns a pointer to a copy of v: taking the address of a variable
// declared in an if statement would move it to the heap on every planning.
func ref[T any](v T) *T { return &v }

// applyGuard holds back every deletion when a pass would delete more than the
// policy allows, unless overridden.
func applyGuard(p *Plan, g GuardPolicy) {
	deletes := 0
	for _, it := range p.Items {
		if it.Action == ActionDelete && !it.Blocked {
			deletes++
		}
	}
	if deletes == 0 || g.Override || deletes <= g.Allow {
		return
	}
	share := cmp.Or(g.MaxShare, 0.2)
	free := cmp.Or(g.Free, 1)
	var why string
	switch {
	case g.MaxCount > 0 && deletes > g.MaxCount:
		why = fmt.Sprintf("this pass would delete %d installations, more than the limit of %d", deletes, g.MaxCount)
	case deletes > free && float64(deletes) > share*float64(p.Owned):
		why = fmt.Sprintf("this pass would delete %d of %d owned installations (%.0f%%), more than the limit of %.0f%%",
			deletes, p.Owned, 100*float64(deletes)/float64(max(p.Owned, 1)), 100*share)
	default:
		return
	}
	p.Guard = why + "; nothing is deleted until an override (see docs/operations.md)"
	for i := range p.Items {
		if p.Items[i].Action == ActionDelete && !p.Items[i].Blocked {
			p.Items[i].Blocked = true
			p.Items[i].Reason += " [held back by the mass-deletion guard]"
		}
	}
}

// requestFor is the create request for an environment.
func requestFor(e *envs.Environment, name string, o Owner) platform.InstallationRequest {
	in := e.Spec.Installation
	return platform.InstallationRequest{
		Name:        name,
		OwnerID:     o.OwnerID,
		GroupID:     o.GroupID,
		Version:     in.Version,
		Image:       in.Image,
		Size:        in.Size,
		License:     in.License,
		Affinity:    in.Affinity,
		Database:    in.Database,
		Filestore:   in.Filestore,
		Env:         withRetry(withIdentity(in.Env, e.Name), e),
		Annotations: slices.Clone(in.Annotations),
	}
}

// patchFor is what must change for inst to match the spec. Fields the spec
// leaves empty are not compared.
func patchFor(e *envs.Environment, env string, inst *platform.Installation) platform.InstallationPatch {
	in := e.Spec.Installation
	var p platform.InstallationPatch
	diff := func(want, have string) *string {
		if want == "" || want == have {
			return nil
		}
		v := want // allocated only when it differs
		return &v
	}
	p.Version = diff(in.Version, inst.Version)
	p.Image = diff(in.Image, inst.Image)
	p.Size = diff(in.Size, inst.Size)
	p.License = diff(in.License, inst.License)
	if !hasEnv(inst.Env, in.Env, env, e.Annotations[envs.AnnotationRetry]) {
		// The patch carries every wanted variable, and an empty value for
		// each one to remove.
		want := withRetry(withIdentity(in.Env, env), e)
		p.Env = want
		for k := range inst.Env {
			if _, ok := want[k]; !ok {
				p.Env[k] = ""
			}
		}
	}
	return p
}

func describeInstallation(in envs.Installation) string {
	parts := []string{}
	for _, kv := range [][2]string{{"version", in.Version}, {"size", in.Size}, {"license", in.License}} {
		if kv[1] != "" {
			parts = append(parts, kv[0]+" "+kv[1])
		}
	}
	if len(parts) == 0 {
		return "with defaults"
	}
	return "(" + strings.Join(parts, ", ") + ")"
}

func describePatch(p platform.InstallationPatch) string {
	var parts []string
	add := func(field string, v *string) {
		if v != nil {
			parts = append(parts, field+" -> "+*v)
		}
	}
	add("version", p.Version)
	add("image", p.Image)
	add("size", p.Size)
	add("license", p.License)
	if p.Env != nil {
		parts = append(parts, "env vars")
	}
	return strings.Join(parts, ", ")
}
