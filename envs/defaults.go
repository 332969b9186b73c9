package envs

import (
	"errors"
	"fmt"
	"strings"
	"time"
)

// Defaults are the fleet's settings for everything an environment file may
// leave out. They are applied in exactly one place, WithDefaults, when an
// environment is acted on; files keep only what people wrote, so changing a
// default changes every environment that did not choose for itself.
//
// The json tags let a configuration file set them; start from
// DefaultDefaults and unmarshal over it so unset fields keep their value.
type Defaults struct {
	// Image is the Mattermost container image repository.
	Image string `json:"image"`
	// Version is the image tag.
	Version string `json:"version"`
	// Size is the provisioner installation size.
	Size string `json:"size"`
	// License is the license name.
	License string `json:"license"`
	// Affinity is isolated or multitenant.
	Affinity string `json:"affinity"`
	// Database is the provisioner database type.
	Database string `json:"database"`
	// Filestore is the provisioner filestore type.
	Filestore string `json:"filestore"`
	// State is the desired power state.
	State PowerState `json:"state"`
	// HibernateAfterIdle hibernates an environment after this long without
	// activity.
	HibernateAfterIdle Duration `json:"hibernateAfterIdle"`
	// DeleteAfterHibernated deletes an environment this long after it was
	// hibernated.
	DeleteAfterHibernated Duration `json:"deleteAfterHibernated"`
}

// DefaultDefaults are the built-in fleet settings. The installation values
// follow the Mattermost cloud plugin's defaults, so an environment asked for
// through envwick matches one asked for through the plugin.
func DefaultDefaults() Defaults {
	return Defaults{
		Image:                 "mattermost/mattermost-enterprise-edition",
		Version:               "10.11.0",
		Size:                  "miniSingleton",
		License:               "enterprise",
		Affinity:              "multitenant",
		Database:              "aws-multitenant-rds-postgres-pgbouncer",
		Filestore:             "bifrost",
		State:                 StateRunning,
		HibernateAfterIdle:    Duration{7 * 24 * time.Hour},
		DeleteAfterHibernated: Duration{14 * 24 * time.Hour},
	}
}

// Validate checks that the defaults would themselves pass as an
// environment's values, so a bad configuration fails at start-up rather
// than on every environment.
func (d Defaults) Validate() error {
	e := &Environment{}
	e.APIVersion, e.Kind, e.Name = APIVersion, Kind, "defaults"
	e.Spec.Owner.GitHub = "defaults"
	e = WithDefaults(e, d)
	var errs []error
	for _, p := range Validate(e) {
		errs = append(errs, fmt.Errorf("defaults: %s: %s", strings.TrimPrefix(p.Field, "spec."), p.Message))
	}
	for _, f := range []struct {
		name  string
		value string
	}{{"image", d.Image}, {"version", d.Version}, {"size", d.Size}, {"license", d.License}, {"affinity", d.Affinity},
		{"database", d.Database}, {"filestore", d.Filestore}, {"state", string(d.State)}} {
		if f.value == "" {
			errs = append(errs, fmt.Errorf("defaults: %s is empty", f.name))
		}
	}
	if d.HibernateAfterIdle.Duration <= 0 || d.DeleteAfterHibernated.Duration <= 0 {
		errs = append(errs, errors.New("defaults: hibernateAfterIdle and deleteAfterHibernated must be longer than zero"))
	}
	return errors.Join(errs...)
}

// WithDefaults returns a copy of e with every field e leaves empty taken
// from d. It never changes e. This is the only place defaults are applied.
func WithDefaults(e *Environment, d Defaults) *Environment {
	out := e.DeepCopy()
	if out == nil {
		return nil
	}
	in := &out.Spec.Installation
	for _, f := range []struct {
		field *string
		value string
	}{
		{&in.Image, d.Image}, {&in.Version, d.Version}, {&in.Size, d.Size}, {&in.License, d.License},
		{&in.Affinity, d.Affinity}, {&in.Database, d.Database}, {&in.Filestore, d.Filestore},
	} {
		if *f.field == "" {
			*f.field = f.value
		}
	}
	if out.Spec.State == "" {
		out.Spec.State = d.State
	}
	l := &out.Spec.Lifecycle
	if l.HibernateAfterIdle == nil {
		l.HibernateAfterIdle = NewDuration(d.HibernateAfterIdle.Duration)
	}
	if l.DeleteAfterHibernated == nil {
		l.DeleteAfterHibernated = NewDuration(d.DeleteAfterHibernated.Duration)
	}
	return out
}
