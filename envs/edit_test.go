package envs

import (
	"math/rand/v2"
	"os"
	"slices"
	"strings"
	"testing"
	"time"
)

// handFile is the kind of file people write: comments, blank lines, quoting
// and shorthand that the canonical form would not use.
const handFile = `# yaml-language-server: $schema=../schemas/environment.schema.json
# Long-lived demo for the sales team.
apiVersion: envwick.dev/v1alpha1
kind: Environment
metadata:
  name: sales-demo  # do not rename: linked from the wiki

spec:
  owner:
    mattermost: jane.doe   # ping her first
  installation:
    # 10.5 is the ESR the customer runs
    version: '10.5.0'
    size: miniHA
    annotations:
      - sales
      - demo   # keep
    env: {MM_X: "1"}

  lifecycle:
    keep: true          # never hibernate
    hibernateAfterIdle: 1w
`

func TestEdit(t *testing.T) {
	tests := []struct {
		name   string
		change func(e *Environment)
		// replacements turn handFile into the expected output, so each case
		// states exactly which text changes and that nothing else does.
		replacements []string
	}{
		{
			name:         "nothing changes",
			change:       func(e *Environment) {},
			replacements: nil,
		},
		{
			name:         "one scalar keeps its quotes and comment above",
			change:       func(e *Environment) { e.Spec.Installation.Version = "10.6.0" },
			replacements: []string{"version: '10.5.0'", "version: '10.6.0'"},
		},
		{
			name:         "a value with a line comment keeps the comment",
			change:       func(e *Environment) { e.Spec.Owner.Mattermost = "john.doe" },
			replacements: []string{"mattermost: jane.doe   # ping", "mattermost: john.doe   # ping"},
		},
		{
			name:         "an equal value in another spelling is left alone",
			change:       func(e *Environment) { e.Spec.Lifecycle.HibernateAfterIdle = NewDuration(7 * 24 * time.Hour) },
			replacements: nil,
		},
		{
			name:         "a changed duration",
			change:       func(e *Environment) { e.Spec.Lifecycle.HibernateAfterIdle = NewDuration(3 * 24 * time.Hour) },
			replacements: []string{"hibernateAfterIdle: 1w", "hibernateAfterIdle: 3d"},
		},
		{
			name:         "a new field goes after its predecessor",
			change:       func(e *Environment) { e.Spec.State = StateHibernated },
			replacements: []string{"    env: {MM_X: \"1\"}\n", "    env: {MM_X: \"1\"}\n  state: hibernated\n"},
		},
		{
			name:         "a new first field goes before the others",
			change:       func(e *Environment) { e.Spec.Owner.GitHub = "jdoe" },
			replacements: []string{"  owner:\n", "  owner:\n    github: jdoe\n"},
		},
		{
			name:         "a new mapping",
			change:       func(e *Environment) { e.Labels = map[string]string{"team": "sales"} },
			replacements: []string{"linked from the wiki\n", "linked from the wiki\n  labels:\n    team: sales\n"},
		},
		{
			name:         "a removed field takes its line",
			change:       func(e *Environment) { e.Spec.Lifecycle.Keep = false },
			replacements: []string{"    keep: true          # never hibernate\n", ""},
		},
		{
			name:         "list items are added and changed in place",
			change:       func(e *Environment) { e.Spec.Installation.Annotations = []string{"sales", "demo-2", "extra"} },
			replacements: []string{"      - demo   # keep\n", "      - demo-2   # keep\n      - extra\n"},
		},
		{
			name:         "list items are removed",
			change:       func(e *Environment) { e.Spec.Installation.Annotations = []string{"sales"} },
			replacements: []string{"      - demo   # keep\n", ""},
		},
		{
			name:         "flow collections stay flow",
			change:       func(e *Environment) { e.Spec.Installation.Env["MM_Y"] = "yes" },
			replacements: []string{`{MM_X: "1"}`, `{MM_X: "1", MM_Y: yes}`},
		},
		{
			name: "a removed block with its children",
			change: func(e *Environment) {
				e.Spec.Lifecycle = Lifecycle{}
			},
			replacements: []string{"  lifecycle:\n    keep: true          # never hibernate\n    hibernateAfterIdle: 1w\n", ""},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e, err := Parse("environments/sales-demo.yaml", []byte(handFile))
			if err != nil {
				t.Fatal(err)
			}
			tt.change(e)
			got, err := Edit([]byte(handFile), e)
			if err != nil {
				t.Fatal(err)
			}
			want := handFile
			for i := 0; i+1 < len(tt.replacements); i += 2 {
				if !strings.Contains(want, tt.replacements[i]) {
					t.Fatalf("test replacement %q does not apply", tt.replacements[i])
				}
				want = strings.Replace(want, tt.replacements[i], tt.replacements[i+1], 1)
			}
			if string(got) != want {
				t.Fatalf("edit differs:\n%s", lineDiff(want, string(got)))
			}
			back, err := Parse("environments/sales-demo.yaml", got)
			if err != nil {
				t.Fatalf("edited file does not parse: %v", err)
			}
			if a, b := mustMarshal(t, back), mustMarshal(t, e); a != b {
				t.Fatalf("edited file reads back differently:\n%s", lineDiff(b, a))
			}
		})
	}
}

func TestEditPlainScalarWithCommas(t *testing.T) {
	original := strings.Replace(handFile, "  installation:\n", "  source:\n    manual:\n      note: one, two [x]   # why\n  installation:\n", 1)
	e, err := Parse("", []byte(original))
	if err != nil {
		t.Fatal(err)
	}
	e.Spec.Source.Manual.Note = "three, four"
	got, err := Edit([]byte(original), e)
	if err != nil {
		t.Fatal(err)
	}
	if want := strings.Replace(original, "one, two [x]   # why", "three, four   # why", 1); string(got) != want {
		t.Fatalf("edit differs:\n%s", lineDiff(want, string(got)))
	}
}

func TestEditOneFieldChangesOneLine(t *testing.T) {
	e, err := Parse("", []byte(handFile))
	if err != nil {
		t.Fatal(err)
	}
	e.Spec.Installation.Size = "1000users"
	got, err := Edit([]byte(handFile), e)
	if err != nil {
		t.Fatal(err)
	}
	before, after := strings.Split(handFile, "\n"), strings.Split(string(got), "\n")
	if len(before) != len(after) {
		t.Fatalf("line count changed:\n%s", got)
	}
	var changed []int
	for i := range before {
		if before[i] != after[i] {
			changed = append(changed, i+1)
		}
	}
	if len(changed) != 1 || changed[0] != 14 || after[13] != "    size: 1000users" {
		t.Fatalf("changed lines %v:\n%s", changed, got)
	}
}

func TestEditFallsBackToCanonical(t *testing.T) {
	e := fullEnvironment()
	canonical := mustMarshal(t, e)
	for _, original := range []string{"", "not: [valid", "- a list\n", "{apiVersion: x}\n", "a: 1\n---\nb: 2\n"} {
		got, err := Edit([]byte(original), e)
		if err != nil {
			t.Fatal(err)
		}
		if string(got) != canonical {
			t.Errorf("Edit(%q) did not fall back to Marshal:\n%s", original, got)
		}
	}
}

func TestEditRepairsStrayFields(t *testing.T) {
	original := handFile + "status:\n  lastError: boom\nextra: field\n"
	e, err := Parse("", []byte(handFile))
	if err != nil {
		t.Fatal(err)
	}
	got, err := Edit([]byte(original), e)
	if err != nil {
		t.Fatal(err)
	}
	if string(got) != handFile {
		t.Fatalf("fields that do not belong should go, the rest stay:\n%s", lineDiff(handFile, string(got)))
	}
}

func mustMarshal(t *testing.T, e *Environment) string {
	t.Helper()
	b, err := Marshal(e)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// TestEditManyChanges applies every combination of a set of changes to the
// hand-written samples: each result must be an in-place edit (no fallback
// to the canonical form, so comments survive) that reads back as the
// target environment.
func TestEditManyChanges(t *testing.T) {
	changes := []func(e *Environment){
		func(e *Environment) { e.Spec.Installation.Version = "11.0.0" },
		func(e *Environment) { e.Spec.Installation.Size = "" },
		func(e *Environment) {
			e.Spec.Installation.Annotations = append(e.Spec.Installation.Annotations, "new-one")
		},
		func(e *Environment) { e.Spec.Installation.Annotations = nil },
		func(e *Environment) { e.Spec.Installation.Env = map[string]string{"MM_Z": "z"} },
		func(e *Environment) { e.Spec.Lifecycle = Lifecycle{TTL: NewDuration(48 * time.Hour)} },
		func(e *Environment) { e.Spec.Source = Source{Chat: &ChatSource{User: "jane.doe", Channel: "c1"}} },
		func(e *Environment) { e.Spec.Owner.Email = "jane@example.com" },
		func(e *Environment) { e.Labels = nil },
		func(e *Environment) { e.Spec.Suspend = true },
	}
	for _, name := range []string{"handFile", "sales-demo"} {
		original := []byte(handFile)
		if name != "handFile" {
			var err error
			if original, err = os.ReadFile("examples/environments/sales-demo.yaml"); err != nil {
				t.Fatal(err)
			}
		}
		for mask := 0; mask < 1<<len(changes); mask += 7 { // a spread of combinations
			e, err := Parse("", original)
			if err != nil {
				t.Fatal(err)
			}
			for i, change := range changes {
				if mask&(1<<i) != 0 {
					change(e)
				}
			}
			out, err := editInPlace(original, e)
			if err != nil {
				t.Fatalf("%s, changes %b: no in-place edit: %v", name, mask, err)
			}
			back, err := Parse("", out)
			if err != nil {
				t.Fatalf("%s, changes %b: %v\n%s", name, mask, err, out)
			}
			if a, b := mustMarshal(t, back), mustMarshal(t, e); a != b {
				t.Fatalf("%s, changes %b: reads back differently:\n%s", name, mask, lineDiff(b, a))
			}
			if !strings.Contains(string(out), "# ") {
				t.Fatalf("%s, changes %b: comments lost:\n%s", name, mask, out)
			}
		}
	}
}

// TestEditMutatedOriginals edits randomly damaged copies of the samples
// (seeded, so failures reproduce): whatever the original holds, Edit must
// not panic and must write a file that reads back as the target, in place
// when it can.
func TestEditMutatedOriginals(t *testing.T) {
	seeds := []string{validFile, handFile, "a: [", "- x", "spec: {owner: {github: x}}", "apiVersion: &a x\nkind: *a\n"}
	target, err := Parse("", []byte(handFile))
	if err != nil {
		t.Fatal(err)
	}
	target.Spec.Installation.Version = "10.6.0"
	want := mustMarshal(t, target)
	r := rand.New(rand.NewPCG(1, 2))
	n := 3000
	if testing.Short() {
		n = 300
	}
	for range n {
		s := []byte(seeds[r.IntN(len(seeds))])
		for range 1 + r.IntN(4) {
			if len(s) == 0 {
				s = append(s, byte(r.IntN(128)))
				continue
			}
			p := r.IntN(len(s))
			switch r.IntN(4) {
			case 0:
				s[p] = byte(r.IntN(128))
			case 1:
				s = append(s[:p], s[p+1:]...)
			case 2:
				s = slices.Insert(s, p, byte(r.IntN(128)))
			case 3: // repeat a stretch
				if q := r.IntN(len(s)); q > p {
					s = slices.Insert(s, p, slices.Clone(s[p:q])...)
				}
			}
		}
		out, err := func() (out []byte, err error) {
			defer func() {
				if r := recover(); r != nil {
					t.Fatalf("Edit(%q) panics: %v", s, r)
				}
			}()
			if out, err = editInPlace(s, target); err != nil {
				return Edit(s, target)
			}
			return out, nil
		}()
		if err != nil {
			t.Fatal(err)
		}
		if back, err := Parse("", out); err != nil || mustMarshal(t, back) != want {
			t.Fatalf("Edit(%q) wrote %q: %v", s, out, err)
		}
	}
}
