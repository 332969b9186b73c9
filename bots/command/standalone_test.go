package command

import (
	"errors"
	"reflect"
	"strings"
	"testing"
)

// A registry without a trigger holds commands that are words of their own
// ("/update-branch"), and a variadic last argument takes every remaining
// word.
func TestStandaloneCommandsAndVariadicArguments(t *testing.T) {
	r := New[run]("", Options{Name: "pull request"})
	r.Add(Spec[run]{Name: "/pick", Summary: "pick branches", Permission: "write",
		Args: []Arg{{Name: "BRANCH", Variadic: true, Check: func(v string) error {
			if strings.HasPrefix(v, "-") {
				return errors.New("a branch does not start with -")
			}
			return nil
		}}},
		Check: func(in *Input) error {
			if len(in.Args("BRANCH")) > 3 {
				return errors.New("at most 3 branches")
			}
			return nil
		},
		Run: func() string { return "pick" }})
	r.Add(Spec[run]{Name: "/run", Summary: "run a suite", Permission: "write",
		Args: []Arg{{Name: "SUITE", Optional: true, Variadic: true}}, Run: func() string { return "run" }})

	for _, tc := range []struct {
		line    string
		command string
		args    []string
		err     string
	}{
		{line: "/pick release-1.0", command: "/pick", args: []string{"release-1.0"}},
		{line: "/pick a b c", command: "/pick", args: []string{"a", "b", "c"}},
		{line: "/pick", err: "`/pick`: Missing BRANCH."},
		{line: "/pick a b c d", err: "`/pick`: At most 3 branches."},
		{line: "/run", command: "/run"},
		{line: "/run smoke full", command: "/run", args: []string{"smoke", "full"}},
		{line: "/nope", err: `Unknown subcommand "/nope"`},
	} {
		t.Run(tc.line, func(t *testing.T) {
			s, in, err := r.Parse(tc.line)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("error %v, want one containing %q", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if s.Name != tc.command || !reflect.DeepEqual(in.Args(s.Args[0].Name), tc.args) {
				t.Fatalf("parsed %s %q, want %s %q", s.Name, in.Args(s.Args[0].Name), tc.command, tc.args)
			}
			if len(tc.args) > 0 && in.Arg(s.Args[0].Name) != tc.args[0] {
				t.Fatalf("Arg is %q, want the first value %q", in.Arg(s.Args[0].Name), tc.args[0])
			}
		})
	}

	if got := r.Synopsis(mustLookup(t, r, "/pick")); got != "/pick BRANCH [BRANCH...]" {
		t.Errorf("synopsis %q", got)
	}
	if got := r.Synopsis(mustLookup(t, r, "/run")); got != "/run [SUITE...]" {
		t.Errorf("synopsis %q", got)
	}
	doc, err := r.SpliceDoc("x\n<!-- begin generated: pull request commands; edit the registry, then make docs -->\n<!-- end generated: pull request commands -->\n")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(doc, "| `/pick BRANCH [BRANCH...]` | write | pick branches |") {
		t.Errorf("generated doc:\n%s", doc)
	}
}

func TestOnlyTheLastArgumentIsVariadic(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Fatal("a variadic argument before another was accepted")
		}
	}()
	New[run]("/t", Options{}).Add(Spec[run]{Name: "x", Summary: "x", Args: []Arg{{Name: "A", Variadic: true}, {Name: "B"}}})
}

func mustLookup(t *testing.T, r *Registry[run], name string) *Spec[run] {
	t.Helper()
	s, ok := r.Lookup(name)
	if !ok {
		t.Fatalf("no command %s", name)
	}
	return s
}
