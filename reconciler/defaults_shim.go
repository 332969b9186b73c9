package reconciler

import "github.com/envwick/envwick/envs"

// Defaults stands in for envs.Defaults until that lands.
type Defaults struct{}

func withDefaults(e *envs.Environment, _ Defaults) *envs.Environment { return e.DeepCopy() }
