package automation

import (
	"slices"
	"strings"
	"testing"
)

// TestParseCommandLines reads comment lines through the registry: other
// bots' commands and commands a repository has not turned on are left
// alone; bad arguments are an error naming the command with its usage.
func TestParseCommandLines(t *testing.T) {
	r := newRig(t, Repository{})
	on := Repository{CherryPick: &CherryPick{}, E2E: &E2E{}, UpdateBranch: &UpdateBranch{}}
	for _, tc := range []struct {
		line string
		cfg  Repository
		ok   bool
		args []string
		err  string
	}{
		{line: "/env extend 3d", cfg: on},
		{line: "/cherry-pick release-1.0", cfg: Repository{}},
		{line: "/cherry-pick release-1.0 release-1.1", cfg: on, ok: true, args: []string{"release-1.0", "release-1.1"}},
		{line: "/cherry-pick", cfg: on, ok: true, err: "`/cherry-pick`: Missing BRANCH."},
		{line: "/cherry-pick a b c d e f g h i", cfg: on, ok: true, err: "At most 8 branches at once, not 9"},
		{line: "/e2e-test smoke", cfg: on, ok: true, args: []string{"smoke"}},
		{line: "/e2e-test", cfg: on, ok: true},
		{line: "/e2e-test smoke full", cfg: on, ok: true, err: `Unexpected argument "full"`},
		{line: "/update-branch now", cfg: on, ok: true, err: "`/update-branch`: Unexpected argument"},
		{line: "/pr-help /cherry-pick", cfg: Repository{}, ok: true, args: []string{"/cherry-pick"}},
	} {
		t.Run(tc.line, func(t *testing.T) {
			s, args, ok, err := r.auto.parse(tc.line, tc.cfg)
			if ok != tc.ok {
				t.Fatalf("ok=%v, want %v", ok, tc.ok)
			}
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) || !strings.Contains(err.Error(), "`"+strings.Fields(tc.line)[0]) {
					t.Fatalf("error %v, want one containing %q and the usage", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if ok && (s.Name != strings.Fields(tc.line)[0] || !slices.Equal(args, tc.args)) {
				t.Fatalf("parsed %s %q, want %q", s.Name, args, tc.args)
			}
		})
	}
}
