package main

import (
	"encoding/json"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/spf13/pflag"

	"github.com/envwick/envwick/reconciler"
	"github.com/envwick/envwick/reconciler/image"
)

// imageConfig configures the wait for an environment's image before a
// create or an update (docs/operations.md, Waiting for the image).
type imageConfig struct {
	Wait     bool
	Deadline time.Duration
	Insecure string
	AuthFile string
}

// waitByDefault turns the wait on unless ENVWICK_WAIT_FOR_IMAGE says
// otherwise: serve waits for images; dev, plan and reconcile do not by
// default (the simulator's installations name images no registry here
// has).
func waitByDefault(fs *pflag.FlagSet) {
	fs.Lookup("wait-for-image").DefValue = "true"
	fs.Set("wait-for-image", envString("wait-for-image", "true"))
}

func (c *imageConfig) addFlags(fs *pflag.FlagSet) {
	fs.BoolVar(&c.Wait, "wait-for-image", envBool("wait-for-image", false), "check that an environment's image tag is in its registry before creating or updating it ["+envName("wait-for-image")+"]")
	durationVar(fs, &c.Deadline, "image-deadline", envDuration("image-deadline", 30*time.Minute), "how long a create or update waits for its image before the environment is stalled ["+envName("image-deadline")+"]")
	fs.StringVar(&c.Insecure, "insecure-registries", envString("insecure-registries", ""), "registries (host:port, comma-separated) reached over plain HTTP ["+envName("insecure-registries")+"]")
	fs.StringVar(&c.AuthFile, "registry-auth-file", envString("registry-auth-file", ""), `JSON file of registry credentials, {"host": {"username": "...", "password": "..."}}; other registries use the Docker config, else anonymous access [`+envName("registry-auth-file")+"]")
}

// resolver is the image resolver the reconciler gets, or nil when the wait
// is off.
func (c *imageConfig) resolver() (reconciler.ImageResolver, error) {
	if c == nil || !c.Wait {
		return nil, nil
	}
	r := &image.Registry{Keychain: authn.DefaultKeychain}
	for _, h := range strings.Split(c.Insecure, ",") {
		if h = strings.TrimSpace(h); h != "" {
			r.Insecure = append(r.Insecure, h)
		}
	}
	if c.AuthFile != "" {
		data, err := os.ReadFile(c.AuthFile)
		if err != nil {
			return nil, fmt.Errorf("reading the registry credentials: %w", err)
		}
		if err := json.Unmarshal(data, &r.Auth); err != nil {
			// The file's content is not quoted back: it holds passwords.
			return nil, fmt.Errorf("reading the registry credentials %s: not a JSON object of host to username and password", c.AuthFile)
		}
	}
	return r, nil
}
