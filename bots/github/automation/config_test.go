package automation

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestLoadConfig(t *testing.T) {
	path := filepath.Join(t.TempDir(), "automation.yaml")
	os.WriteFile(path, []byte(`
repositories:
  mattermost/mattermost:
    cla: {signersURL: "https://example.com/signers.csv", signURL: "https://example.com/sign"}
    updateBranch: {}
    cherryPick: {milestones: {"Next": "release-10.6"}}
    stale: {exemptLabels: [keep]}
    e2e:
      workflow: e2e.yml
      image: mattermostdevelopment/mattermost-enterprise-edition
      suites: {smoke: {size: miniSingleton, ttl: 2h}}
`), 0o644)
	c, err := LoadConfig(path)
	if err != nil {
		t.Fatal(err)
	}
	c, err = c.withDefaults()
	if err != nil {
		t.Fatal(err)
	}
	r, ok := c.repo("Mattermost/Mattermost")
	if !ok || r.Permission != "write" || r.Stale.Days != 14 || r.E2E.DefaultSuite != "smoke" || r.E2E.Suites["smoke"].TTL.Duration != 2*time.Hour ||
		!r.CherryPick.branches.MatchString("release-10.5") || c.StaleInterval.Duration != time.Hour {
		t.Fatalf("config %+v", r)
	}
}

func TestConfigRefused(t *testing.T) {
	for _, tc := range []struct {
		name string
		repo Repository
		want string
	}{
		{"no sign URL", Repository{CLA: &CLA{SignersURL: "https://x"}}, "signURL is required"},
		{"two sources", Repository{CLA: &CLA{SignersURL: "https://x", SignersGit: &GitFile{URL: "u", Path: "p"}, SignURL: "s"}}, "one of"},
		{"bad pattern", Repository{CherryPick: &CherryPick{Branches: "("}}, "branches"},
		{"bad permission", Repository{Permission: "owner"}, "permission"},
		{"bad size", Repository{E2E: &E2E{Workflow: "w", Image: "i", Suites: map[string]Suite{"a": {Size: "huge"}}}}, "unknown size"},
		{"bad default", Repository{E2E: &E2E{Workflow: "w", Image: "i", DefaultSuite: "b", Suites: map[string]Suite{"a": {Size: "miniSingleton"}}}}, "default suite"},
	} {
		_, err := Config{Repositories: map[string]Repository{"o/r": tc.repo}}.withDefaults()
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v, want %q", tc.name, err, tc.want)
		}
	}
}
