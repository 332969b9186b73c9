package main

import (
	"fmt"
	"log/slog"
	"os"
	"slices"
	"strings"

	"github.com/envwick/envwick/envs"
	"github.com/envwick/envwick/reconciler"
	"github.com/envwick/envwick/reconciler/licenses"
)

// openLicenses reads the license texts (--license-dir and ENVWICK_LICENSE_*
// variables). Nil when neither is set: license names then go to the
// platform as they are, which only a simulator without accepted texts
// takes, so it is logged.
func openLicenses(dir string, log *slog.Logger) (*licenses.Store, error) {
	environ := os.Environ()
	if dir == "" && !hasLicenseVar(environ) {
		log.Warn("no license texts configured (--license-dir, " + licenses.EnvPrefix + "<NAME>): license names are sent to the platform as they are")
		return nil, nil
	}
	st, err := licenses.New(licenses.Options{Dir: dir, Environ: environ})
	if err != nil {
		return nil, fmt.Errorf("reading license texts: %w", err)
	}
	log.Info("license texts loaded", "names", st.Names())
	if def := envs.DefaultDefaults().License; !slices.Contains(st.Names(), def) {
		// Environments that name no license get the default one.
		log.Warn("the default license has no text: environments that name no license will fail to create", "license", def)
	}
	return st, nil
}

func hasLicenseVar(environ []string) bool {
	for _, kv := range environ {
		if strings.HasPrefix(kv, licenses.EnvPrefix) {
			return true
		}
	}
	return false
}

// licenseTexts lists the texts of a store, for a simulator to accept.
func licenseTexts(st *licenses.Store) []string {
	if st == nil {
		return nil
	}
	var out []string
	for _, n := range st.Names() {
		if t, ok := st.Text(n); ok {
			out = append(out, t)
		}
	}
	return out
}

// reconcilerLicenses keeps a nil store a nil interface.
func reconcilerLicenses(st *licenses.Store) reconciler.LicenseTexts {
	if st == nil {
		return nil
	}
	return st
}
