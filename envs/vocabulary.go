package envs

import (
	"regexp"
	"slices"
	"strings"
)

// The value sets below are the provisioner's and the Mattermost cloud plugin's,
// so that a file written for envwick reads the same as a request to either.

// Sizes are the installation sizes the provisioner accepts besides the
// provisionerXL[-replicas] form (see ValidSize).
var sizes = []string{
	"miniSingleton", "miniHA",
	"cloud10users", "cloud100users",
	"100users", "1000users", "5000users", "10000users", "25000users",
	"provisionerXL",
}

// licenses are the license names the cloud plugin accepts.
var licenses = []string{"enterprise", "enterprise-advanced", "professional", "e20", "e10", "te"}

var affinities = []string{"isolated", "multitenant"}

// databases are the provisioner's installation database types.
var databases = []string{
	"mysql-operator",
	"aws-rds",
	"aws-rds-postgres",
	"aws-multitenant-rds",
	"aws-multitenant-rds-postgres",
	"aws-multitenant-rds-postgres-pgbouncer",
	"perseus",
	"external",
}

// filestores are the provisioner's installation filestore types.
var filestores = []string{"minio-operator", "aws-s3", "aws-multitenant-s3", "bifrost"}

var powerStates = []string{string(StateRunning), string(StateHibernated)}

// Sizes returns the accepted installation sizes.
func Sizes() []string { return slices.Clone(sizes) }

// Licenses returns the accepted license names.
func Licenses() []string { return slices.Clone(licenses) }

// Affinities returns the accepted affinities.
func Affinities() []string { return slices.Clone(affinities) }

// Databases returns the accepted database types.
func Databases() []string { return slices.Clone(databases) }

// Filestores returns the accepted filestore types.
func Filestores() []string { return slices.Clone(filestores) }

// PowerStates returns the accepted desired power states.
func PowerStates() []string { return slices.Clone(powerStates) }

var provisionerSizeRE = regexp.MustCompile(`^provisionerXL(-[1-9][0-9]{0,2})?$`)

// ValidSize reports whether size is one the provisioner accepts.
func ValidSize(size string) bool {
	return slices.Contains(sizes, size) || provisionerSizeRE.MatchString(size)
}

// annotationRE is the provisioner's annotation format.
var annotationRE = regexp.MustCompile(`^[a-z0-9_-]{1,64}$`)

// ValidAnnotation reports whether a provisioner annotation is well formed.
func ValidAnnotation(a string) bool { return annotationRE.MatchString(a) }

// oneOf formats a value set for an error message.
func oneOf(values []string) string { return "one of: " + strings.Join(values, ", ") }
