package reconciler

import (
	"context"
	"errors"
	"fmt"

	"golang.org/x/time/rate"

	"github.com/envwick/envwick/reconciler/platform"
)

// external is the reconciler's client of the platform, in the shape of a
// Crossplane external client: Observe, Create, Update, Delete (plus
// Hibernate and WakeUp). It alone calls the platform.Platform; it applies the
// ownership rule, the request rate and the API metrics.
type external struct {
	platform platform.Platform
	owner    Owner
	limiter  *rate.Limiter
	metrics  Metrics
	// licenses, when set, turns license names into texts (licenses.go).
	licenses LicenseTexts
}

// observed is what Observe found.
type observed struct {
	// byEnv holds the owned installations that carry an environment
	// identity and are not being deleted, by environment name.
	byEnv map[string][]platform.Installation
	// pending holds the owned installations of each environment whose
	// deletion is pending and can still be cancelled (see restore.go).
	pending map[string][]platform.Installation
	// untagged counts owned installations without an identity: they are
	// reported, never changed.
	untagged int
	// pages is the number of list requests made.
	pages int
}

// Observe lists every installation this envwick owns, page by page.
func (x *external) Observe(ctx context.Context) (*observed, error) {
	o := &observed{byEnv: map[string][]platform.Installation{}, pending: map[string][]platform.Installation{}}
	err := x.platform.ListInstallations(ctx, platform.ListFilter{OwnerID: x.owner.OwnerID, GroupID: x.owner.GroupID},
		func(page []platform.Installation) error {
			o.pages++
			x.licenseNames(page)
			for i := range page {
				inst := &page[i]
				if !x.owner.owns(inst) || inst.Phase == platform.PhaseDeleting {
					continue
				}
				name := environmentOf(inst)
				if name == "" {
					o.untagged++
					continue
				}
				if o.addPending(name, inst) {
					continue
				}
				o.byEnv[name] = append(o.byEnv[name], *inst)
			}
			return nil
		})
	x.metrics.APICall("list", result(err))
	if err != nil {
		return nil, fmt.Errorf("listing owned installations: %w", err)
	}
	return o, nil
}

// ObserveSome observes only the named environments: each one's recorded
// installation by ID, and the names its next generations would take (an
// installation created just before a crash). Installations of other
// environments are not listed; a full Observe follows within the runner's
// interval.
func (x *external) ObserveSome(ctx context.Context, names map[string]bool, status map[string]*Status) (*observed, error) {
	o := &observed{byEnv: map[string][]platform.Installation{}, pending: map[string][]platform.Installation{}}
	for name := range names {
		seen := map[string]bool{}
		gen := 1
		if st := status[name]; st != nil {
			gen = max(st.Reconciler.Generation, 1)
			if st.Status.Installation != nil && st.Status.Installation.ID != "" {
				var inst *platform.Installation
				err := x.call(ctx, "get", func(ctx context.Context) (err error) {
					inst, err = x.platform.GetInstallation(ctx, st.Status.Installation.ID)
					x.licenseName(inst)
					return err
				})
				switch {
				case errors.Is(err, platform.ErrNotFound):
				case err != nil:
					return nil, fmt.Errorf("getting installation %s: %w", st.Status.Installation.ID, err)
				case x.liveOf(inst, name):
					o.byEnv[name] = append(o.byEnv[name], *inst)
					seen[inst.ID] = true
				case x.owner.owns(inst) && environmentOf(inst) == name:
					o.addPending(name, inst)
				}
			}
		}
		for g := gen; g <= gen+1; g++ {
			inst, err := x.lookup(ctx, name, installationName(name, g))
			if err != nil {
				return nil, err
			}
			if inst != nil && !seen[inst.ID] {
				o.byEnv[name] = append(o.byEnv[name], *inst)
				seen[inst.ID] = true
			}
		}
		if len(o.byEnv[name]) == 0 && len(o.pending[name]) == 0 {
			// A revert of the commit that removed the environment: its
			// status is gone with it, so look for a pending deletion.
			if err := x.findPending(ctx, name, o); err != nil {
				return nil, err
			}
		}
	}
	return o, nil
}

// liveOf reports whether inst is an owned installation of env that is not
// being deleted.
func (x *external) liveOf(inst *platform.Installation, env string) bool {
	return x.owner.owns(inst) && environmentOf(inst) == env && !inst.Phase.Gone()
}

// lookup finds the live installation of env by name, for a create that may
// already have happened (a crash or timeout after the request was sent).
func (x *external) lookup(ctx context.Context, env, name string) (*platform.Installation, error) {
	var found *platform.Installation
	err := x.call(ctx, "list", func(ctx context.Context) error {
		return x.platform.ListInstallations(ctx, platform.ListFilter{OwnerID: x.owner.OwnerID, Name: name}, func(page []platform.Installation) error {
			x.licenseNames(page)
			for i := range page {
				inst := page[i]
				if inst.Name == name && x.liveOf(&inst, env) {
					found = &inst
				}
			}
			return nil
		})
	})
	if err != nil {
		return nil, fmt.Errorf("looking up installation %s: %w", name, err)
	}
	return found, nil
}

// maxNameAttempts bounds how many generations one create tries when names
// are reserved.
const maxNameAttempts = 5

// Create creates the installation for an environment, starting at the given
// generation. A name that is taken or reserved (platform.ErrConflict) is first looked
// up, in case it is this environment's own installation from an earlier
// create whose answer was lost; otherwise the next generation is tried.
func (x *external) Create(ctx context.Context, d *Desired, generation int) (*platform.Installation, int, error) {
	for attempt := 0; attempt < maxNameAttempts; attempt++ {
		name := installationName(d.Name, generation)
		req := requestFor(d.Env, name, x.owner)
		if err := x.licenseText(&req.License); err != nil {
			return nil, generation, fmt.Errorf("creating installation %s: %w", name, err)
		}
		var inst *platform.Installation
		err := x.call(ctx, "create", func(ctx context.Context) (err error) {
			inst, err = x.platform.CreateInstallation(ctx, req)
			x.licenseName(inst)
			return err
		})
		if err == nil {
			return inst, generation, nil
		}
		if !errors.Is(err, platform.ErrConflict) {
			return nil, generation, fmt.Errorf("creating installation %s: %w", name, err)
		}
		mine, lerr := x.lookup(ctx, d.Name, name)
		if lerr != nil {
			return nil, generation, lerr
		}
		if mine != nil {
			return mine, generation, nil
		}
		generation++
	}
	return nil, generation, fmt.Errorf("creating installation for %s: %d names in a row are taken or reserved", d.Name, maxNameAttempts)
}

// Update patches an installation.
func (x *external) Update(ctx context.Context, id string, p platform.InstallationPatch) (*platform.Installation, error) {
	if p.License != nil {
		text := *p.License
		if err := x.licenseText(&text); err != nil {
			return nil, fmt.Errorf("updating installation %s: %w", id, err)
		}
		p.License = &text // a copy: the plan keeps the name
	}
	return x.change(ctx, "update", "updating", id, func(ctx context.Context) (*platform.Installation, error) {
		return x.platform.UpdateInstallation(ctx, id, p)
	})
}

// Hibernate hibernates an installation.
func (x *external) Hibernate(ctx context.Context, id string) (*platform.Installation, error) {
	return x.change(ctx, "hibernate", "hibernating", id, func(ctx context.Context) (*platform.Installation, error) {
		return x.platform.HibernateInstallation(ctx, id)
	})
}

// WakeUp wakes a hibernated installation.
func (x *external) WakeUp(ctx context.Context, id string) (*platform.Installation, error) {
	return x.change(ctx, "wakeup", "waking up", id, func(ctx context.Context) (*platform.Installation, error) {
		return x.platform.WakeUpInstallation(ctx, id)
	})
}

// change makes one call that changes an installation and returns it.
func (x *external) change(ctx context.Context, verb, doing, id string, fn func(context.Context) (*platform.Installation, error)) (*platform.Installation, error) {
	var inst *platform.Installation
	err := x.call(ctx, verb, func(ctx context.Context) (err error) {
		inst, err = fn(ctx)
		x.licenseName(inst)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("%s installation %s: %w", doing, id, err)
	}
	return inst, nil
}

// Delete deletes an installation. One already gone counts as deleted.
func (x *external) Delete(ctx context.Context, id string) error {
	err := x.call(ctx, "delete", func(ctx context.Context) error {
		return x.platform.DeleteInstallation(ctx, id)
	})
	if err != nil && !errors.Is(err, platform.ErrNotFound) {
		return fmt.Errorf("deleting installation %s: %w", id, err)
	}
	return nil
}

// call waits for the request rate, makes one platform call and counts it.
func (x *external) call(ctx context.Context, verb string, fn func(context.Context) error) error {
	if err := x.limiter.Wait(ctx); err != nil {
		return err
	}
	err := fn(ctx)
	x.metrics.APICall(verb, result(err))
	return err
}

func result(err error) string {
	switch {
	case err == nil:
		return "ok"
	case errors.Is(err, platform.ErrConflict):
		return "conflict"
	case errors.Is(err, platform.ErrNotFound):
		return "not_found"
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		return "canceled"
	default:
		return "error"
	}
}
