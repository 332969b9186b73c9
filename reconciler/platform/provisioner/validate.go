package provisioner

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
)

// The rules in this file are the provisioner's request validation (v0.92),
// kept in one place: the simulator enforces them, and the client uses them to
// tell an invalid request from an invalid state transition, which the
// provisioner answers alike (400, empty body).

// Defaults the provisioner fills into a create request.
const (
	DefaultVersion   = "stable"
	DefaultImage     = "mattermost/mattermost-enterprise-edition"
	DefaultSize      = "100users"
	DefaultAffinity  = AffinityIsolated
	DefaultDatabase  = DatabaseMySQLOperator
	DefaultFilestore = FilestoreMinioOperator
	// DefaultCRVersion is the Mattermost custom resource version of new
	// installations.
	DefaultCRVersion = "installation.mattermost.com/v1beta1"
)

// Affinities.
const (
	AffinityIsolated    = "isolated"
	AffinityMultiTenant = "multitenant"
)

// Databases.
const (
	DatabaseMySQLOperator                 = "mysql-operator"
	DatabaseSingleTenantRDSMySQL          = "aws-rds"
	DatabaseSingleTenantRDSPostgres       = "aws-rds-postgres"
	DatabaseMultiTenantRDSMySQL           = "aws-multitenant-rds"
	DatabaseMultiTenantRDSPostgres        = "aws-multitenant-rds-postgres"
	DatabaseMultiTenantRDSPostgresBouncer = "aws-multitenant-rds-postgres-pgbouncer"
	DatabasePerseus                       = "perseus"
	DatabaseExternal                      = "external"
)

// Filestores.
const (
	FilestoreMinioOperator    = "minio-operator"
	FilestoreAwsS3            = "aws-s3"
	FilestoreMultiTenantAwsS3 = "aws-multitenant-s3"
	FilestoreBifrost          = "bifrost"
)

// Databases lists the supported databases.
var Databases = []string{
	DatabaseMySQLOperator, DatabaseSingleTenantRDSMySQL, DatabaseSingleTenantRDSPostgres,
	DatabaseMultiTenantRDSMySQL, DatabaseMultiTenantRDSPostgres,
	DatabaseMultiTenantRDSPostgresBouncer, DatabasePerseus, DatabaseExternal,
}

// Filestores lists the supported filestores.
var Filestores = []string{FilestoreMinioOperator, FilestoreAwsS3, FilestoreMultiTenantAwsS3, FilestoreBifrost}

// Sizes lists the Mattermost operator sizes the provisioner accepts; it
// also accepts provisionerXL with an optional replica count
// (provisionerXL-6).
var Sizes = []string{
	"cloud10users", "cloud100users", "100users", "1000users", "5000users",
	"10000users", "25000users", "miniSingleton", "miniHA",
}

// ValidSize reports whether the provisioner accepts size.
func ValidSize(size string) error {
	if slices.Contains(Sizes, size) {
		return nil
	}
	parts := strings.Split(size, "-")
	if parts[0] != "provisionerXL" {
		return fmt.Errorf("unrecognized installation size %q", parts[0])
	}
	switch {
	case len(parts) == 1:
		return nil
	case len(parts) > 2:
		return fmt.Errorf("expected at most 2 size segments found %d", len(parts))
	case strings.TrimSpace(parts[1]) == "":
		return errors.New("replicas segment cannot be empty")
	}
	if _, err := strconv.Atoi(parts[1]); err != nil {
		return fmt.Errorf("failed to parse number of replicas from custom provisioner size: %w", err)
	}
	return nil
}

var annotationPattern = regexp.MustCompile(`^[a-z]+[a-z0-9_-]*$`)

// ValidAnnotation checks an annotation name: 3 to 64 characters, starting
// with a letter, lowercase letters, digits, '_' and '-' only.
func ValidAnnotation(name string) error {
	if len(name) < 3 || len(name) > 64 {
		return fmt.Errorf("annotation %q is invalid: annotations must be between 3 and 64 characters long", name)
	}
	if !annotationPattern.MatchString(name) {
		return fmt.Errorf("annotation %q is invalid: annotations must start with a letter and can contain only lowercase letters, numbers or '_', '-' characters", name)
	}
	return nil
}

var hostnamePattern = regexp.MustCompile(`[a-zA-Z0-9][\.a-z-A-Z\-0-9]+`)

// ValidDNS checks a domain name the way the provisioner does.
func ValidDNS(dns string) error {
	if len(dns) > 253 {
		return fmt.Errorf("fully qualified domain names must be less than 254 characters in length, %q is %d", dns, len(dns))
	}
	sub := strings.SplitN(dns, ".", 2)[0]
	if len(sub) >= 64 || len(sub) < 2 {
		return fmt.Errorf("DNS subdomain names must be between 3 and 64 characters: %q", dns)
	}
	if found := hostnamePattern.FindString(dns); found != dns {
		return fmt.Errorf("DNS name %q failed hostname pattern check", dns)
	}
	return nil
}

// ServerRules are the provisioner server settings that change what a create
// request may ask for.
type ServerRules struct {
	// DeployMySQLOperator allows the mysql-operator database (the
	// provisioner's --deploy-mysql-operator, off by default).
	DeployMySQLOperator bool
	// DeployMinioOperator allows the minio-operator filestore
	// (--deploy-minio-operator, off by default).
	DeployMinioOperator bool
	// RequireAnnotations requires at least one annotation
	// (--require-annotated-installations).
	RequireAnnotations bool
}

// WithDefaults returns the request as the provisioner completes it before
// validating: DNS moved into DNSNames, lower-cased names, the name taken from
// the first domain name when empty, and default version, image, size,
// affinity, database and filestore.
func (r CreateInstallationRequest) WithDefaults() CreateInstallationRequest {
	r.DNSNames = slices.Clone(r.DNSNames)
	if r.DNS != "" {
		r.DNSNames = append([]string{r.DNS}, r.DNSNames...)
	}
	r.DNS = strings.ToLower(r.DNS)
	for i := range r.DNSNames {
		r.DNSNames[i] = strings.ToLower(r.DNSNames[i])
	}
	if r.Name == "" && r.DNS != "" {
		r.Name = NameFromDNS(r.DNS)
	}
	r.Name = strings.ToLower(r.Name)
	setDefault(&r.Version, DefaultVersion)
	setDefault(&r.Image, DefaultImage)
	setDefault(&r.Size, DefaultSize)
	setDefault(&r.Affinity, DefaultAffinity)
	setDefault(&r.Database, DefaultDatabase)
	setDefault(&r.Filestore, DefaultFilestore)
	if r.Database == DatabaseSingleTenantRDSMySQL || r.Database == DatabaseSingleTenantRDSPostgres {
		setDefault(&r.SingleTenantDatabaseConfig.PrimaryInstanceType, "db.t4g.medium")
		setDefault(&r.SingleTenantDatabaseConfig.ReplicaInstanceType, "db.t4g.medium")
	}
	return r
}

func setDefault(field *string, value string) {
	if *field == "" {
		*field = value
	}
}

// Validate checks a request completed by WithDefaults the way the
// provisioner does, at time now under the given server rules. Annotations
// are checked too (the provisioner checks them just after).
func (r *CreateInstallationRequest) Validate(rules ServerRules, now time.Time) error {
	if r.Name == "" {
		return errors.New("name needs to be specified")
	}
	if r.OwnerID == "" {
		return errors.New("must specify owner")
	}
	if len(r.DNSNames) == 0 {
		return errors.New("at least one DNS name is required")
	}
	for _, dns := range r.DNSNames {
		if err := ValidDNS(dns); err != nil {
			return err
		}
		if NameFromDNS(dns) != r.Name {
			return errors.New("domain name must start with Installation Name")
		}
	}
	if err := ValidSize(r.Size); err != nil {
		return fmt.Errorf("invalid Installation size: %w", err)
	}
	if _, err := url.Parse(r.DNS); err != nil {
		return fmt.Errorf("invalid DNS %s: %w", r.DNS, err)
	}
	if r.Affinity != AffinityIsolated && r.Affinity != AffinityMultiTenant {
		return fmt.Errorf("unsupported affinity %s", r.Affinity)
	}
	if !slices.Contains(Databases, r.Database) {
		return fmt.Errorf("unsupported database %s", r.Database)
	}
	if !slices.Contains(Filestores, r.Filestore) {
		return fmt.Errorf("unsupported filestore %s", r.Filestore)
	}
	if err := validateEnv(r.MattermostEnv); err != nil {
		return fmt.Errorf("invalid env var settings: %w", err)
	}
	if err := validateEnv(r.PriorityEnv); err != nil {
		return fmt.Errorf("invalid priority env var settings: %w", err)
	}
	if rules.RequireAnnotations && len(r.Annotations) == 0 {
		return errors.New("at least one annotation is required")
	}
	for _, a := range r.GroupSelectionAnnotations {
		if err := ValidAnnotation(a); err != nil {
			return fmt.Errorf("invalid group selection annotation: %w", err)
		}
	}
	if (r.Database == DatabaseSingleTenantRDSMySQL || r.Database == DatabaseSingleTenantRDSPostgres) &&
		(r.SingleTenantDatabaseConfig.ReplicasCount < 0 || r.SingleTenantDatabaseConfig.ReplicasCount > 15) {
		return errors.New("single tenant database config is invalid: replicas count must be between 0 and 15")
	}
	if r.Database == DatabaseExternal && r.ExternalDatabaseConfig.SecretName == "" {
		return errors.New("external database config is invalid: no external database secret name provided")
	}
	if !rules.DeployMinioOperator && r.Filestore == FilestoreMinioOperator {
		return errors.New("minio filestore cannot be used when minio operator is not deployed")
	}
	if !rules.DeployMySQLOperator && r.Database == DatabaseMySQLOperator {
		return errors.New("mysql operator database cannot be used when mysql operator is not deployed")
	}
	if r.ScheduledDeletionTime < 0 {
		return errors.New("scheduled deletion time cannot be negative")
	}
	if r.ScheduledDeletionTime > 0 && r.ScheduledDeletionTime < Millis(now.Add(5*time.Minute)) {
		return errors.New("scheduled deletion time must be at least 5 minutes in the future")
	}
	for field, v := range map[string]string{"dns": r.DNS, "version": r.Version, "image": r.Image, "group": r.GroupID} {
		if strings.Contains(v, " ") {
			return fmt.Errorf("cannot have spaces in %s field: %q", field, v)
		}
	}
	if strings.Contains(r.License, " ") {
		// The real server repeats the license here; a license is a secret.
		return errors.New("cannot have spaces in license field")
	}
	for _, a := range r.Annotations {
		if err := ValidAnnotation(a); err != nil {
			return err
		}
	}
	return nil
}

func validateEnv(m EnvVarMap) error {
	for name, v := range m {
		if !v.HasValue() {
			return fmt.Errorf("invalid env var %s: no Value or ValueFrom is defined", name)
		}
	}
	return nil
}

// Validate checks a patch the way the provisioner does.
func (p *PatchInstallationRequest) Validate() error {
	if p.Version != nil && *p.Version == "" {
		return errors.New("provided version update value was blank")
	}
	if p.Image != nil && *p.Image == "" {
		return errors.New("provided image update value was blank")
	}
	if p.AllowedIPRanges != nil {
		for _, r := range *p.AllowedIPRanges {
			if !validIPRange(r.CIDRBlock) {
				return fmt.Errorf("invalid ip range %q", r.CIDRBlock)
			}
		}
	}
	if p.Size != nil {
		if err := ValidSize(*p.Size); err != nil {
			return fmt.Errorf("invalid size: %w", err)
		}
	}
	return nil
}

func validIPRange(r string) bool {
	ipString, _, hasMask := strings.Cut(r, "/")
	ip := net.ParseIP(ipString)
	if ip == nil {
		return false
	}
	if !hasMask {
		return true
	}
	_, ipNet, err := net.ParseCIDR(r)
	return err == nil && ipNet.Contains(ip)
}

// Validate checks a webhook registration the way the provisioner does.
func (r *CreateWebhookRequest) Validate() error {
	if r.OwnerID == "" {
		return errors.New("must specify owner")
	}
	if r.URL == "" {
		return errors.New("must specify callback URL")
	}
	u, err := url.ParseRequestURI(r.URL)
	if err != nil {
		return fmt.Errorf("unable to parse callback URL: %w", err)
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return fmt.Errorf("%q is not a valid scheme: should be 'http' or 'https'", u.Scheme)
	}
	if u.Host == "" {
		return errors.New("must specify host")
	}
	return nil
}

// ExecCommands are the commands the provisioner lets a caller run in a
// cluster installation.
var ExecCommands = []string{"mmctl", "mattermost"}
