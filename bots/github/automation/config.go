// Package automation is the pull request automation bot: CLA checks,
// "/update-branch", "/cherry-pick" (also automatic at merge), the stale
// sweep and end-to-end tests on ephemeral environments ("/e2e-test").
//
// It is a set of handlers on the GitHub bot's webhook intake (which
// verifies, de-duplicates and orders events): Prow's plugin shape. Each
// handler is one file with the narrow GitHub client interface it consumes
// and its help, and each is enabled per repository in Config. Merges and
// cherry-picks run the git binary in a private temporary directory (go-git
// has neither), never with hooks or configuration from the repository;
// environments are committed to the envs repository through bots/commit,
// never made on the platform.
package automation

import (
	"fmt"
	"os"
	"regexp"
	"slices"
	"strings"
	"time"

	"sigs.k8s.io/yaml"

	"github.com/envwick/envwick/envs"
)

// Config says what runs where. Only repositories listed are served, each
// with the automations its entry enables.
type Config struct {
	// Repositories maps "owner/name" to what is enabled there.
	Repositories map[string]Repository `json:"repositories"`
	// StaleInterval is how often the stale sweep runs; default 1h.
	StaleInterval envs.Duration `json:"staleInterval,omitempty"`
	// Committer is the identity on merge and cherry-pick commits (the
	// commenter is the author); default "envwick <envwick@users.noreply.github.com>".
	CommitterName  string `json:"committerName,omitempty"`
	CommitterEmail string `json:"committerEmail,omitempty"`
}

// Repository is one repository's automation. A nil member is off.
type Repository struct {
	// Permission is the lowest repository permission that may run the
	// commands that push or create: read, triage, write (default),
	// maintain or admin.
	Permission   string        `json:"permission,omitempty"`
	CLA          *CLA          `json:"cla,omitempty"`
	UpdateBranch *UpdateBranch `json:"updateBranch,omitempty"`
	CherryPick   *CherryPick   `json:"cherryPick,omitempty"`
	Stale        *Stale        `json:"stale,omitempty"`
	E2E          *E2E          `json:"e2e,omitempty"`
}

// CLA configures the contributor licence agreement check.
type CLA struct {
	// SignersURL serves the signers as CSV (a "login" or "github" column,
	// else the first) or JSON (an array of logins, or of objects with a
	// "login" or "github" field); re-read when its ETag changes.
	SignersURL string `json:"signersURL,omitempty"`
	// SignersGit is a file in a git repository, re-read when the branch
	// moves.
	SignersGit *GitFile `json:"signersGit,omitempty"`
	// SignURL is where people sign; linked from the status and comment.
	SignURL string `json:"signURL"`
	// Exempt logins need not sign; bots (type Bot, or "[bot]" logins)
	// never do.
	Exempt []string `json:"exempt,omitempty"`
}

// GitFile is a file on a branch of a git repository.
type GitFile struct {
	URL    string `json:"url"`
	Branch string `json:"branch,omitempty"`
	Path   string `json:"path"`
}

// UpdateBranch enables "/update-branch".
type UpdateBranch struct{}

// CherryPick configures "/cherry-pick" and the automatic cherry-pick of
// approved pull requests at merge.
type CherryPick struct {
	// Branches is the pattern a target branch must match; default
	// ^release-[0-9]+\.[0-9]+$.
	Branches string `json:"branches,omitempty"`
	// Milestones maps a milestone title to its release branch; titles not
	// listed map "vX.Y.Z" or "X.Y" to "release-X.Y".
	Milestones map[string]string `json:"milestones,omitempty"`

	branches *regexp.Regexp
}

// The labels of the automatic cherry-pick.
const (
	LabelCherryPickApproved = "CherryPick/Approved"
	LabelCherryPickDone     = "CherryPick/Done"
	LabelCherryPickFailed   = "CherryPick/Failed"
)

// Stale configures the stale sweep.
type Stale struct {
	// Days without activity before a pull request is stale; default 14.
	Days int `json:"days,omitempty"`
	// ExemptLabels keep a pull request from going stale.
	ExemptLabels []string `json:"exemptLabels,omitempty"`
}

// LabelStale marks a stale pull request.
const LabelStale = "lifecycle/stale"

// E2E configures "/e2e-test": an environment per suite, then a workflow.
type E2E struct {
	// Workflow is the workflow file in this repository, such as
	// "e2e.yml"; it must accept workflow_dispatch with the inputs
	// environment, url, sha, pull_request and suite, and its run-name must
	// contain ${{ inputs.environment }} (that is how its runs are found).
	Workflow string `json:"workflow"`
	// Ref is the branch the workflow runs from; default the pull
	// request's base branch.
	Ref string `json:"ref,omitempty"`
	// Suites maps a suite name to the environment it needs.
	Suites map[string]Suite `json:"suites"`
	// DefaultSuite is what "/e2e-test" alone runs; default the only
	// suite, or "default".
	DefaultSuite string `json:"defaultSuite,omitempty"`
	// Image is the Mattermost image; the head SHA (or its first 7
	// characters with ShortSHA) is the version.
	Image    string `json:"image"`
	ShortSHA bool   `json:"shortSHA,omitempty"`
	// AllowForks runs pull requests from forks (their code, with the
	// suite's licence). Off by default.
	AllowForks bool `json:"allowForks,omitempty"`
}

// Suite is the environment template of one test suite.
type Suite struct {
	Size    string            `json:"size"`
	License string            `json:"license,omitempty"`
	Env     map[string]string `json:"env,omitempty"`
	// TTL bounds the environment's life should a run never report back;
	// default 4h.
	TTL envs.Duration `json:"ttl,omitempty"`
}

// LoadConfig reads a configuration file (YAML or JSON).
func LoadConfig(path string) (Config, error) {
	var c Config
	data, err := os.ReadFile(path)
	if err != nil {
		return c, fmt.Errorf("reading the pull request automation configuration: %w", err)
	}
	if err := yaml.UnmarshalStrict(data, &c); err != nil {
		return c, fmt.Errorf("reading the pull request automation configuration %s: %w", path, err)
	}
	return c, nil
}

var permissionRank = map[string]int{"none": 0, "read": 1, "triage": 2, "write": 3, "maintain": 4, "admin": 5}

// withDefaults checks the configuration and fills in defaults.
func (c Config) withDefaults() (Config, error) {
	if c.StaleInterval.Duration <= 0 {
		c.StaleInterval.Duration = time.Hour
	}
	if c.CommitterName == "" {
		c.CommitterName = "envwick"
	}
	if c.CommitterEmail == "" {
		c.CommitterEmail = "envwick@users.noreply.github.com"
	}
	repos := map[string]Repository{}
	for name, r := range c.Repositories {
		if strings.Count(name, "/") != 1 {
			return c, fmt.Errorf("pull request automation: repository %q: want owner/name", name)
		}
		if r.Permission == "" {
			r.Permission = "write"
		}
		if _, ok := permissionRank[r.Permission]; !ok {
			return c, fmt.Errorf("pull request automation: %s: permission %q: want read, triage, write, maintain or admin", name, r.Permission)
		}
		if err := r.check(); err != nil {
			return c, fmt.Errorf("pull request automation: %s: %w", name, err)
		}
		repos[name] = r
	}
	c.Repositories = repos
	return c, nil
}

func (r *Repository) check() error {
	if cla := r.CLA; cla != nil {
		if (cla.SignersURL == "") == (cla.SignersGit == nil) {
			return fmt.Errorf("cla: set one of signersURL and signersGit")
		}
		if g := cla.SignersGit; g != nil && (g.URL == "" || g.Path == "") {
			return fmt.Errorf("cla: signersGit needs url and path")
		}
		if cla.SignURL == "" {
			return fmt.Errorf("cla: signURL is required: people must learn where to sign")
		}
	}
	if cp := r.CherryPick; cp != nil {
		cp2 := *cp
		if cp2.Branches == "" {
			cp2.Branches = `^release-[0-9]+\.[0-9]+$`
		}
		re, err := regexp.Compile(cp2.Branches)
		if err != nil {
			return fmt.Errorf("cherryPick: branches: %w", err)
		}
		cp2.branches = re
		r.CherryPick = &cp2
	}
	if st := r.Stale; st != nil {
		st2 := *st
		if st2.Days <= 0 {
			st2.Days = 14
		}
		r.Stale = &st2
	}
	if e := r.E2E; e != nil {
		e2 := *e
		if e2.Workflow == "" || len(e2.Suites) == 0 || e2.Image == "" {
			return fmt.Errorf("e2e: workflow, image and at least one suite are required")
		}
		suites := map[string]Suite{}
		for name, s := range e2.Suites {
			if !suiteRE.MatchString(name) {
				return fmt.Errorf("e2e: suite %q: want lower-case letters, digits and dashes", name)
			}
			if !envs.ValidSize(s.Size) {
				return fmt.Errorf("e2e: suite %q: unknown size %q (valid: %s)", name, s.Size, strings.Join(envs.Sizes(), ", "))
			}
			if s.TTL.Duration <= 0 {
				s.TTL.Duration = 4 * time.Hour
			}
			suites[name] = s
		}
		e2.Suites = suites
		if e2.DefaultSuite == "" {
			e2.DefaultSuite = "default"
			if len(suites) == 1 {
				for n := range suites {
					e2.DefaultSuite = n
				}
			}
		}
		if _, ok := suites[e2.DefaultSuite]; !ok {
			return fmt.Errorf("e2e: default suite %q is not a suite (have %s)", e2.DefaultSuite, strings.Join(suiteNames(suites), ", "))
		}
		r.E2E = &e2
	}
	return nil
}

var suiteRE = regexp.MustCompile(`^[a-z0-9]([a-z0-9-]{0,18}[a-z0-9])?$`)

func suiteNames(s map[string]Suite) []string {
	var out []string
	for n := range s {
		out = append(out, n)
	}
	slices.Sort(out)
	return out
}

// repo returns a repository's configuration; ok is false for repositories
// not served.
func (c Config) repo(name string) (Repository, bool) {
	if r, ok := c.Repositories[name]; ok {
		return r, true
	}
	for n, r := range c.Repositories {
		if strings.EqualFold(n, name) {
			return r, true
		}
	}
	return Repository{}, false
}
