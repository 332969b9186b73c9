package reconciler

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/envwick/envwick/reconciler/platform"
)

// IdentityEnvVar is the installation environment variable that names the
// environment an installation belongs to. It is set at creation, so an
// installation can be attributed to its environment from a list alone: a
// crash between the create call and the status write is followed by adoption,
// never by a second installation. A spec's own value for it is overridden.
const IdentityEnvVar = "ENVWICK_ENVIRONMENT"

// maxInstallationName is the provisioner's limit for an installation name
// (the first DNS label of its domain).
const maxInstallationName = 63

// installationName is the provisioner name of an environment's installation
// of the given generation. The first generation uses the environment name
// itself; later ones add a suffix, because the provisioner reserves a deleted
// installation's name for a while and an environment may be recreated
// minutes after it was removed.
func installationName(env string, generation int) string {
	if generation <= 1 {
		return env
	}
	suffix := "-" + strconv.Itoa(generation)
	base := env
	if len(base)+len(suffix) > maxInstallationName {
		base = base[:maxInstallationName-len(suffix)]
	}
	return base + suffix
}

// generationOf recovers the generation from an installation name made by
// installationName for env; 0 when the name is not one of env's. It reads
// the "-N" suffix and checks it, rather than trying generations in turn:
// record calls it for every observed installation on every pass.
func generationOf(env, name string) int {
	if name == env {
		return 1
	}
	i := strings.LastIndexByte(name, '-')
	if i < 0 {
		return 0
	}
	g, err := strconv.Atoi(name[i+1:])
	if err != nil || g < 2 || installationName(env, g) != name {
		return 0
	}
	return g
}

// environmentOf returns the environment an installation belongs to.
func environmentOf(inst *platform.Installation) string {
	return inst.Env[IdentityEnvVar]
}

// withIdentity returns the desired installation env vars plus the identity.
func withIdentity(env map[string]string, name string) map[string]string {
	out := make(map[string]string, len(env)+1)
	for k, v := range env {
		if v != "" { // the provisioner drops empty variables
			out[k] = v
		}
	}
	out[IdentityEnvVar] = name
	return out
}

// hasEnv reports whether have holds exactly the variables an installation
// of environment name is given: withRetry(withIdentity(want, name)) with
// retry as the retry counter ("" for none), without building that map:
// planning checks every environment on every pass.
func hasEnv(have, want map[string]string, name, retry string) bool {
	n := 1
	for k, v := range want {
		if v == "" || k == IdentityEnvVar || (retry != "" && k == RetryEnvVar) {
			continue
		}
		if hv, ok := have[k]; !ok || hv != v {
			return false
		}
		n++
	}
	if retry != "" {
		if v, ok := have[RetryEnvVar]; !ok || v != retry {
			return false
		}
		n++
	}
	return len(have) == n && have[IdentityEnvVar] == name
}

// owns reports whether inst belongs to the configured owner (and group,
// when one is configured). Installations that are not owned are never changed.
func (o Owner) owns(inst *platform.Installation) bool {
	if inst.OwnerID != o.OwnerID {
		return false
	}
	return o.GroupID == "" || inst.GroupID == o.GroupID
}

// Owner is the identity envwick creates installations under.
type Owner struct {
	// OwnerID is the provisioner OwnerID set on every installation.
	OwnerID string
	// GroupID, when set, is the provisioner group every installation joins.
	GroupID string
}

func (o Owner) validate() error {
	if o.OwnerID == "" {
		return fmt.Errorf("an owner ID is required: it marks the installations envwick may change")
	}
	return nil
}
