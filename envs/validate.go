package envs

import (
	"net/mail"
	"reflect"
	"regexp"
	"slices"
	"sort"
	"strings"

	"k8s.io/apimachinery/pkg/api/validate/content"
)

var (
	// GitHub logins: alphanumerics and single hyphens, at most 39.
	githubLoginRE = regexp.MustCompile(`^[A-Za-z0-9](?:[A-Za-z0-9-]{0,37}[A-Za-z0-9])?$`)
	// Mattermost usernames: lower-case letters, digits, '.', '-', '_'.
	mattermostUserRE = regexp.MustCompile(`^[a-z0-9][a-z0-9._-]{0,63}$`)
	repositoryRE     = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9-]{0,38}/[A-Za-z0-9._-]{1,100}$`)
	shaRE            = regexp.MustCompile(`^[0-9a-f]{7,64}$`)
	// Image tags as the OCI distribution spec allows them.
	versionRE = regexp.MustCompile(`^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$`)
	// Image repositories: an optional registry host[:port], then
	// lower-case path components.
	imageRE  = regexp.MustCompile(`^(?:[A-Za-z0-9.-]+(?::[0-9]+)?/)?[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*(?:/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*)*$`)
	envVarRE = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)
)

// Validate checks the rules an environment must satisfy beyond its shape:
// required fields, names, vocabularies and combinations. It is what Parse
// runs after reading a file, and what bots run on an environment they are
// about to write. The problems it returns carry fields but no positions.
func Validate(e *Environment) Problems {
	if e == nil {
		return Problems{{Message: "no environment"}}
	}
	return validate(e, false).problems()
}

// validate finds what is wrong with e. specWritten says the file has a
// spec with something in it (such as "owner: {}"), so an empty spec is
// reported at the field that is missing rather than as a missing spec.
func validate(e *Environment, specWritten bool) findings {
	var fs findings
	root := fieldPath{}
	checkFixed(&fs, root.key("apiVersion"), e.APIVersion, APIVersion)
	checkFixed(&fs, root.key("kind"), e.Kind, Kind)
	validateMetadata(&fs, e, root.key("metadata"))
	validateSpec(&fs, &e.Spec, root.key("spec"), specWritten)
	return fs
}

// ValidName reports whether name can name an environment: a DNS label
// (RFC 1123) of at most 63 characters, because it becomes part of the
// installation's DNS name.
func ValidName(name string) bool { return len(content.IsDNS1123Label(name)) == 0 }

// checkFixed checks a field that has exactly one valid value.
func checkFixed(fs *findings, p fieldPath, got, want string) {
	switch got {
	case want:
	case "":
		fs.add(p, "is missing; set it to %s", want)
	default:
		fs.add(p, "%q is not supported; use %s", got, want)
	}
}

func validateMetadata(fs *findings, e *Environment, p fieldPath) {
	if e.Name == "" {
		fs.add(p.key("name"), "is missing; every environment has a name (a DNS label such as my-feature)")
	} else if !ValidName(e.Name) {
		fs.add(p.key("name"), "%q is not a valid name; use at most 63 lower-case letters, digits and '-', starting and ending with a letter or digit (such as my-feature)", e.Name)
	}
	// Other metadata fields cannot reach here from a file (the decoder
	// rejects them); bots building an Environment in Go get the same rule.
	if e.Namespace != "" || e.GenerateName != "" || e.UID != "" || e.ResourceVersion != "" ||
		e.Generation != 0 || !e.CreationTimestamp.IsZero() || e.DeletionTimestamp != nil ||
		len(e.OwnerReferences) > 0 || len(e.Finalizers) > 0 || len(e.ManagedFields) > 0 {
		fs.add(p, "only name, labels and annotations may be set")
	}
	for _, k := range sortedKeys(e.Labels) {
		if msgs := content.IsLabelKey(k); len(msgs) > 0 {
			fs.addKey(p.key("labels").key(k), "%q is not a valid label key: %s", k, strings.Join(msgs, "; "))
		}
		if msgs := content.IsLabelValue(e.Labels[k]); len(msgs) > 0 {
			fs.add(p.key("labels").key(k), "%q is not a valid label value: %s", e.Labels[k], strings.Join(msgs, "; "))
		}
	}
	for _, k := range sortedKeys(e.Annotations) {
		if msgs := content.IsLabelKey(k); len(msgs) > 0 {
			fs.addKey(p.key("annotations").key(k), "%q is not a valid annotation key: %s", k, strings.Join(msgs, "; "))
		}
	}
}

func validateSpec(fs *findings, s *EnvironmentSpec, p fieldPath, written bool) {
	if !written && reflect.ValueOf(*s).IsZero() {
		fs.add(p, "is missing; an environment needs at least spec.owner with github or mattermost")
		return
	}
	validateOwner(fs, &s.Owner, p.key("owner"))
	validateSource(fs, &s.Source, p.key("source"))
	validateInstallation(fs, &s.Installation, p.key("installation"))
	if s.State != "" && !slices.Contains(powerStates, string(s.State)) {
		fs.add(p.key("state"), "%q is not a power state; use %s", s.State, oneOf(powerStates))
	}
	validateLifecycle(fs, &s.Lifecycle, p.key("lifecycle"))
}

func validateOwner(fs *findings, o *Owner, p fieldPath) {
	if o.GitHub == "" && o.Mattermost == "" {
		fs.add(p, "needs github or mattermost (or both), so someone hears about the environment")
	}
	if o.GitHub != "" && !githubLoginRE.MatchString(o.GitHub) {
		fs.add(p.key("github"), "%q is not a GitHub login (letters, digits and single hyphens, at most 39)", o.GitHub)
	}
	if o.Mattermost != "" && !mattermostUserRE.MatchString(o.Mattermost) {
		fs.add(p.key("mattermost"), "%q is not a Mattermost username (lower-case letters, digits, '.', '-' and '_')", o.Mattermost)
	}
	if o.Email != "" {
		if a, err := mail.ParseAddress(o.Email); err != nil || a.Address != o.Email {
			fs.add(p.key("email"), "%q is not an email address such as jane@example.com", o.Email)
		}
	}
}

func validateSource(fs *findings, s *Source, p fieldPath) {
	var set []string
	if s.PullRequest != nil {
		set = append(set, string(SourcePullRequest))
	}
	if s.Chat != nil {
		set = append(set, string(SourceChat))
	}
	if s.Manual != nil {
		set = append(set, string(SourceManual))
	}
	if len(set) > 1 {
		fs.add(p, "sets %s; keep at most one", strings.Join(set, " and "))
	}
	if pr := s.PullRequest; pr != nil {
		pp := p.key("pullRequest")
		if pr.Repository == "" {
			fs.add(pp.key("repository"), "is missing; set it to owner/name")
		} else if !repositoryRE.MatchString(pr.Repository) {
			fs.add(pp.key("repository"), "%q is not a repository; use owner/name, such as mattermost/mattermost", pr.Repository)
		}
		if pr.Number <= 0 {
			fs.add(pp.key("number"), "must be the pull request number (a positive whole number)")
		}
		if pr.HeadSHA != "" && !shaRE.MatchString(pr.HeadSHA) {
			fs.add(pp.key("headSHA"), "%q is not a commit SHA (7 to 64 lower-case hex digits)", pr.HeadSHA)
		}
	}
	if c := s.Chat; c != nil {
		cp := p.key("chat")
		if c.User == "" {
			fs.add(cp.key("user"), "is missing; set it to the Mattermost username who asked")
		} else if !mattermostUserRE.MatchString(c.User) {
			fs.add(cp.key("user"), "%q is not a Mattermost username (lower-case letters, digits, '.', '-' and '_')", c.User)
		}
	}
}

func validateInstallation(fs *findings, in *Installation, p fieldPath) {
	if in.Version != "" && !versionRE.MatchString(in.Version) {
		fs.add(p.key("version"), "%q is not an image tag (letters, digits, '_', '.', '-'; at most 128)", in.Version)
	}
	if in.Image != "" {
		last := in.Image[strings.LastIndex(in.Image, "/")+1:]
		switch {
		case strings.ContainsAny(last, ":@"):
			fs.add(p.key("image"), "%q includes a tag or digest; put the repository here and the tag in spec.installation.version", in.Image)
		case !imageRE.MatchString(in.Image):
			fs.add(p.key("image"), "%q is not an image repository such as mattermost/mattermost-enterprise-edition", in.Image)
		}
	}
	if in.Size != "" && !ValidSize(in.Size) {
		fs.add(p.key("size"), "%q is not a size; use %s, or provisionerXL-N", in.Size, oneOf(sizes))
	}
	checkOneOf(fs, p.key("license"), "a license", in.License, licenses)
	checkOneOf(fs, p.key("affinity"), "an affinity", in.Affinity, affinities)
	checkOneOf(fs, p.key("database"), "a database type", in.Database, databases)
	checkOneOf(fs, p.key("filestore"), "a filestore type", in.Filestore, filestores)
	for _, k := range sortedKeys(in.Env) {
		if !envVarRE.MatchString(k) {
			fs.addKey(p.key("env").key(k), "%q is not an environment variable name (letters, digits and '_', not starting with a digit)", k)
		}
	}
	seen := make(map[string]int, len(in.Annotations))
	for i, a := range in.Annotations {
		ap := p.key("annotations").idx(i)
		if !ValidAnnotation(a) {
			fs.add(ap, "%q is not a provisioner annotation (1 to 64 of a-z, 0-9, '_' and '-')", a)
		}
		if j, dup := seen[a]; dup {
			fs.add(ap, "%q is already listed at index %d; list it once", a, j)
		} else {
			seen[a] = i
		}
	}
}

func checkOneOf(fs *findings, p fieldPath, what, v string, valid []string) {
	if v != "" && !slices.Contains(valid, v) {
		fs.add(p, "%q is not %s; use %s", v, what, oneOf(valid))
	}
}

func validateLifecycle(fs *findings, l *Lifecycle, p fieldPath) {
	if l.ExpiresAt != nil && l.TTL != nil {
		fs.add(p, "sets both expiresAt and ttl; keep one (an absolute time or a time to live)")
	}
	for _, d := range []struct {
		name string
		v    *Duration
	}{{"ttl", l.TTL}, {"hibernateAfterIdle", l.HibernateAfterIdle}, {"deleteAfterHibernated", l.DeleteAfterHibernated}} {
		if d.v != nil && d.v.Duration <= 0 {
			fs.add(p.key(d.name), "must be longer than zero; leave it out for the fleet default, or set keep: true to protect the environment from housekeeping")
		}
	}
}

func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
