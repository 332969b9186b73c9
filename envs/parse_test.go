package envs

import (
	"errors"
	"strings"
	"testing"
)

// validFile is a typical environment file; the bad inputs below are small
// edits of it, so each case shows exactly what breaks.
const validFile = `# yaml-language-server: $schema=https://example.invalid/schema.json
apiVersion: envwick.dev/v1alpha1
kind: Environment
metadata:
  name: pr-1234
  labels:
    team: platform
spec:
  owner:
    github: jane-doe
    mattermost: jane.doe
  source:
    pullRequest:
      repository: mattermost/mattermost
      number: 1234
      headSHA: 0123456789abcdef0123456789abcdef01234567
      label: cloud-env
  installation:
    version: "10.5.0"
    size: miniSingleton
    env:
      MM_FEATUREFLAGS_X: "true"
    annotations: [team-a]
  lifecycle:
    hibernateAfterIdle: 3d
    deleteAfterHibernated: 2w
`

func TestParseValid(t *testing.T) {
	e, err := Parse("environments/pr-1234.yaml", []byte(validFile))
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	if e.Name != "pr-1234" || e.Spec.Source.PullRequest.Number != 1234 || e.Spec.Installation.Version != "10.5.0" {
		t.Fatalf("unexpected values: %+v", e)
	}
	if got := e.Spec.Lifecycle.DeleteAfterHibernated.Duration.Hours(); got != 14*24 {
		t.Fatalf("deleteAfterHibernated = %vh, want 336h", got)
	}
	if e.Spec.Installation.Env["MM_FEATUREFLAGS_X"] != "true" || e.Labels["team"] != "platform" {
		t.Fatalf("maps not read: %+v %+v", e.Spec.Installation.Env, e.Labels)
	}
	if e.Spec.Source.Kind() != SourcePullRequest {
		t.Fatalf("source kind %s", e.Spec.Source.Kind())
	}
}

func TestParseProblems(t *testing.T) {
	edit := func(old, new string) string {
		if !strings.Contains(validFile, old) {
			panic("test edit does not apply: " + old)
		}
		return strings.Replace(validFile, old, new, 1)
	}
	tests := []struct {
		name string
		path string
		data string
		want []string // "line:column: field: message" substrings, in order
	}{
		{
			name: "yaml syntax error",
			data: edit("  owner:\n", "  owner: x:\n"),
			want: []string{"9:10: invalid YAML: mapping value is not allowed in this context"},
		},
		{
			name: "unknown field with suggestion",
			data: edit("    size: miniSingleton", "    sise: miniSingleton"),
			want: []string{`20:5: spec.installation.sise: unknown field "sise"; did you mean "size"?; valid fields here are version, image, size,`},
		},
		{
			name: "wrong type",
			data: edit(`version: "10.5.0"`, `version: 10.5`),
			want: []string{`19:14: spec.installation.version: expected a string, found the number 10.5; quote it to make it a string: "10.5"`},
		},
		{
			name: "list where a mapping belongs",
			data: edit("    env:\n      MM_FEATUREFLAGS_X: \"true\"\n", "    env: [a]\n"),
			want: []string{`21:10: spec.installation.env: expected a mapping, found a list`},
		},
		{
			name: "number must be a number",
			data: edit("number: 1234", "number: twelve"),
			want: []string{`15:15: spec.source.pullRequest.number: expected a whole number, found "twelve"`},
		},
		{
			name: "bad name",
			path: "environments/PR_1.yaml",
			data: edit("name: pr-1234", "name: PR_1"),
			want: []string{`5:9: metadata.name: "PR_1" is not a valid name; use at most 63 lower-case letters`},
		},
		{
			name: "name too long",
			path: "environments/" + strings.Repeat("a", 64) + ".yaml",
			data: edit("name: pr-1234", "name: "+strings.Repeat("a", 64)),
			want: []string{`5:9: metadata.name: "aaaa`},
		},
		{
			name: "name does not match file",
			path: "environments/team/other.yaml",
			data: validFile,
			want: []string{`5:9: metadata.name: "pr-1234" does not match the file name "other.yaml"; the file name is the environment name, so rename the file to pr-1234.yaml or set the name to "other"`},
		},
		{
			name: "missing name suggests the file name",
			data: edit("  name: pr-1234\n", ""),
			want: []string{`4:1: metadata.name: is missing; set it to "pr-1234", the file name`},
		},
		{
			name: "value outside the vocabulary",
			data: edit("size: miniSingleton", "size: large"),
			want: []string{`20:11: spec.installation.size: "large" is not a size; use one of: miniSingleton, miniHA,`},
		},
		{
			name: "several vocabularies at once",
			data: strings.Replace(edit("    size: miniSingleton\n", "    size: miniSingleton\n    license: gold\n    affinity: shared\n    database: sqlite\n    filestore: disk\n"),
				"  lifecycle:\n", "  state: asleep\n  lifecycle:\n", 1),
			want: []string{
				`21:14: spec.installation.license: "gold" is not a license; use one of: enterprise,`,
				`22:15: spec.installation.affinity: "shared" is not an affinity; use one of: isolated, multitenant`,
				`23:15: spec.installation.database: "sqlite" is not a database type; use one of: mysql-operator,`,
				`24:16: spec.installation.filestore: "disk" is not a filestore type; use one of: minio-operator,`,
				`28:10: spec.state: "asleep" is not a power state; use one of: running, hibernated`,
			},
		},
		{
			name: "bad annotation points at the item",
			data: edit("annotations: [team-a]", "annotations: [team-a, Team B]"),
			want: []string{`23:27: spec.installation.annotations[1]: "Team B" is not a provisioner annotation`},
		},
		{
			name: "bad env var name points at the key",
			data: edit("      MM_FEATUREFLAGS_X", "      MM-X"),
			want: []string{`22:7: spec.installation.env.MM-X: "MM-X" is not an environment variable name`},
		},
		{
			name: "bad duration",
			data: edit("hibernateAfterIdle: 3d", "hibernateAfterIdle: 3 days"),
			want: []string{`25:25: spec.lifecycle.hibernateAfterIdle: "3 days" is not a duration; use forms like 90m, 36h, 7d or 2w`},
		},
		{
			name: "two sources",
			data: edit("  installation:\n", "    chat:\n      user: jane.doe\n  installation:\n"),
			want: []string{`12:3: spec.source: sets pullRequest and chat; keep at most one`},
		},
		{
			name: "no spec",
			data: validFile[:strings.Index(validFile, "spec:")],
			want: []string{`2:1: spec: is missing; an environment needs at least spec.owner with github or mattermost`},
		},
		{
			name: "empty spec points at its key",
			data: validFile[:strings.Index(validFile, "spec:")] + "spec:\n",
			want: []string{`8:1: spec: is missing`},
		},
		{
			name: "an empty owner names the owner, not the spec",
			data: validFile[:strings.Index(validFile, "spec:")] + "spec:\n  owner: {}\n",
			want: []string{`9:3: spec.owner: needs github or mattermost (or both)`},
		},
		{
			name: "an unterminated quote points at it",
			data: edit("  owner:\n", "  note: 'unterminated\n  owner:\n"),
			want: []string{`9:9: invalid YAML: could not find end character of single-quoted text`},
		},
		{
			name: "owner needs github or mattermost",
			data: edit("    github: jane-doe\n    mattermost: jane.doe\n", "    email: jane@example.com\n"),
			want: []string{`9:3: spec.owner: needs github or mattermost (or both)`},
		},
		{
			name: "wrong apiVersion and kind",
			data: edit("envwick.dev/v1alpha1\nkind: Environment", "envwick.dev/v1\nkind: Env"),
			want: []string{
				`2:13: apiVersion: "envwick.dev/v1" is not supported; use envwick.dev/v1alpha1`,
				`3:7: kind: "Env" is not supported; use Environment`,
			},
		},
		{
			name: "metadata beyond name, labels, annotations",
			data: edit("  labels:\n", "  namespace: default\n  labels:\n"),
			want: []string{`6:3: metadata.namespace: is not supported; metadata holds only name, labels and annotations`},
		},
		{
			name: "status belongs to the reconciler",
			data: validFile + "status:\n  lastError: x\n",
			want: []string{`27:1: status: is written by the reconciler on the envwick/status branch`},
		},
		{
			name: "merge key",
			data: edit("  owner:\n", "  owner:\n    <<: {github: x}\n"),
			want: []string{`10:5: spec.owner["<<"]: merge keys (<<) are not supported; write the fields out`},
		},
		{
			name: "duplicate key",
			data: edit("    size: miniSingleton\n", "    size: miniSingleton\n    size: miniHA\n"),
			want: []string{`21:5: spec.installation.size: is set twice (first on line 20); keep one`},
		},
		{
			name: "two documents",
			data: validFile + "---\n" + validFile,
			want: []string{`27:1: the file holds more than one YAML document`},
		},
		{
			name: "empty file",
			data: "# nothing here\n",
			want: []string{`1:1: the file is empty`},
		},
		{
			name: "not a mapping",
			data: "- a\n- b\n",
			want: []string{`1:1: expected an Environment (a mapping with apiVersion, kind, metadata, spec), found a list`},
		},
		{
			name: "expiresAt and ttl",
			data: edit("  lifecycle:\n", "  lifecycle:\n    expiresAt: 2026-12-01T10:00:00Z\n    ttl: 48h\n"),
			want: []string{`24:3: spec.lifecycle: sets both expiresAt and ttl; keep one`},
		},
		{
			name: "bad time",
			data: edit("  lifecycle:\n", "  lifecycle:\n    expiresAt: next week\n"),
			want: []string{`25:16: spec.lifecycle.expiresAt: "next week" is not a time; use RFC 3339`},
		},
		{
			name: "image with a tag",
			data: edit("    size: miniSingleton\n", "    size: miniSingleton\n    image: mattermost/mattermost-team-edition:10.5\n"),
			want: []string{`21:12: spec.installation.image: "mattermost/mattermost-team-edition:10.5" includes a tag or digest; put the repository here and the tag in spec.installation.version`},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := tt.path
			if path == "" {
				path = "environments/pr-1234.yaml"
			}
			e, err := Parse(path, []byte(tt.data))
			if err == nil {
				t.Fatalf("Parse accepted bad input: %+v", e)
			}
			if e != nil {
				t.Errorf("Parse returned an environment with an error")
			}
			var ps Problems
			if !errors.As(err, &ps) {
				t.Fatalf("error is %T, want Problems: %v", err, err)
			}
			if len(ps) != len(tt.want) {
				t.Fatalf("got %d problems, want %d:\n%v", len(ps), len(tt.want), err)
			}
			for i, want := range tt.want {
				if got := ps[i].Error(); !strings.HasPrefix(got, path+":"+want) {
					t.Errorf("problem %d:\n got %s\nwant %s:%s...", i, got, path, want)
				}
				if ps[i].Line == 0 {
					t.Errorf("problem %d has no line: %v", i, ps[i])
				}
			}
		})
	}
}

func TestParseCollectsAllProblems(t *testing.T) {
	data := strings.NewReplacer("size: miniSingleton", "size: huge", "number: 1234", "number: -1", "3d", "soon").Replace(validFile)
	_, err := Parse("environments/pr-1234.yaml", []byte(data))
	var ps Problems
	if !errors.As(err, &ps) || len(ps) != 3 {
		t.Fatalf("want 3 problems, got %v", err)
	}
	if !strings.Contains(err.Error(), "\n") {
		t.Fatalf("Problems.Error should list every problem on its own line: %q", err)
	}
}

func TestValidateWithoutPositions(t *testing.T) {
	e, err := Parse("", []byte(validFile))
	if err != nil {
		t.Fatal(err)
	}
	if ps := Validate(e); ps != nil {
		t.Fatalf("valid environment: %v", ps)
	}
	e.Spec.Installation.Affinity = "shared"
	e.Spec.Source.Chat = &ChatSource{User: "jane.doe"}
	ps := Validate(e)
	want := []string{
		`spec.source: sets pullRequest and chat; keep at most one`,
		`spec.installation.affinity: "shared" is not an affinity; use one of: isolated, multitenant`,
	}
	if len(ps) != len(want) {
		t.Fatalf("got %v", ps)
	}
	for i := range want {
		if ps[i].Error() != want[i] || ps[i].Line != 0 {
			t.Errorf("got %q, want %q", ps[i].Error(), want[i])
		}
	}
}

func TestLayout(t *testing.T) {
	tests := []struct {
		path string
		name string
		ok   bool
	}{
		{"environments/pr-1.yaml", "pr-1", true},
		{"environments/team-a/pr-1.yaml", "pr-1", true},
		{"environments/pr-1.yml", "pr-1", true},
		{"environments/Bad_Name.yaml", "Bad_Name", true},
		{"environments/README.md", "", false},
		{"environments/.hidden.yaml", "", false},
		{"environments/.git/x.yaml", "", false},
		{"status/pr-1.yaml", "", false},
		{"pr-1.yaml", "", false},
		{"environments/.yaml", "", false},
	}
	for _, tt := range tests {
		name, ok := NameFromPath(tt.path)
		if name != tt.name || ok != tt.ok || IsEnvironmentPath(tt.path) != tt.ok {
			t.Errorf("NameFromPath(%q) = %q, %v; want %q, %v", tt.path, name, ok, tt.name, tt.ok)
		}
	}
	if PathFor("pr-1") != "environments/pr-1.yaml" {
		t.Errorf("PathFor = %s", PathFor("pr-1"))
	}
}

func TestCheckUnique(t *testing.T) {
	other := strings.Replace(validFile, "pr-1234", "other", 1)
	docs := []Document{
		ParseDocument("environments/pr-1234.yaml", []byte(validFile)),
		ParseDocument("environments/other.yaml", []byte(other)),
		ParseDocument("environments/team/pr-1234.yaml", []byte(validFile)),
		ParseDocument("environments/broken/pr-1234.yml", []byte("kind: [")),
	}
	for _, d := range docs[:3] {
		if d.Err != nil || d.Env == nil {
			t.Fatalf("%s: %v", d.Path, d.Err)
		}
	}
	out := CheckUnique(docs)
	if docs[0].Err != nil {
		t.Fatalf("CheckUnique modified its input")
	}
	if out[1].Err != nil || out[1].Env == nil || out[1].Name != "other" {
		t.Fatalf("unrelated environment did not load: %+v", out[1])
	}
	wants := map[int]string{
		0: `environments/pr-1234.yaml:5:9: metadata.name: "pr-1234" is also the name of environments/broken/pr-1234.yml, environments/team/pr-1234.yaml; an environment name is used by one file only`,
		2: `environments/team/pr-1234.yaml:5:9: metadata.name: "pr-1234" is also the name of environments/broken/pr-1234.yml, environments/pr-1234.yaml;`,
		3: `environments/broken/pr-1234.yml: metadata.name: "pr-1234" is also the name of environments/pr-1234.yaml, environments/team/pr-1234.yaml;`,
	}
	for i, want := range wants {
		if out[i].Env != nil {
			t.Errorf("%s: duplicate still has an environment", out[i].Path)
		}
		var ps Problems
		if !errors.As(out[i].Err, &ps) {
			t.Fatalf("%s: error %T", out[i].Path, out[i].Err)
		}
		found := false
		for _, p := range ps {
			found = found || strings.HasPrefix(p.Error(), want)
		}
		if !found {
			t.Errorf("%s: want a problem starting %q, got\n%v", out[i].Path, want, ps)
		}
	}
	// The broken file keeps its own syntax problem besides the duplicate one.
	if ps := out[3].Err.(Problems); len(ps) != 2 || !strings.Contains(ps.Error(), "pr-1234.yml:1:7: invalid YAML: sequence end token ']' not found") {
		t.Errorf("broken file problems: %v", ps)
	}
}

func TestProblemError(t *testing.T) {
	for _, tt := range []struct {
		p    Problem
		want string
	}{
		{Problem{File: "f.yaml", Line: 3, Column: 5, Field: "spec.state", Message: "m"}, "f.yaml:3:5: spec.state: m"},
		{Problem{File: "f.yaml", Line: 3, Message: "m"}, "f.yaml:3: m"},
		{Problem{File: "f.yaml", Message: "m"}, "f.yaml: m"},
		{Problem{Line: 3, Column: 5, Field: "kind", Message: "m"}, "3:5: kind: m"},
		{Problem{Field: "kind", Message: "m"}, "kind: m"},
	} {
		if got := tt.p.Error(); got != tt.want {
			t.Errorf("got %q, want %q", got, tt.want)
		}
	}
	if (Problems{}).Err() != nil || Problems(nil).Err() != nil {
		t.Error("no problems must be a nil error")
	}
}
