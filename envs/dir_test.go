package envs

import (
	"errors"
	"io/fs"
	"strings"
	"testing"
	"testing/fstest"
)

// TestReadDirBadInputKeepsTheRest is the repository-level bad-input case:
// a syntax error, an unknown field and two files with one name each give
// their own error, and the good environment still loads.
func TestReadDirBadInputKeepsTheRest(t *testing.T) {
	named := func(name string) string { return strings.Replace(validFile, "pr-1234", name, 1) }
	fsys := fstest.MapFS{
		"environments/good.yaml":      {Data: []byte(named("good"))},
		"environments/syntax.yaml":    {Data: []byte(named("syntax") + "  bad: [\n")},
		"environments/unknown.yaml":   {Data: []byte(strings.Replace(named("unknown"), "  owner:\n", "  owner:\n    slack: jane\n", 1))},
		"environments/a/twin.yaml":    {Data: []byte(named("twin"))},
		"environments/b/twin.yaml":    {Data: []byte(named("twin"))},
		"environments/README.md":      {Data: []byte("not an environment")},
		"environments/.hidden/x.yaml": {Data: []byte("ignored")},
		"status/good.yaml":            {Data: []byte("ignored")},
		"environments/link.yaml":      {Data: []byte("good.yaml"), Mode: fs.ModeSymlink},
	}
	docs, err := ReadDir(fsys)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{
		"environments/a/twin.yaml":  `environments/a/twin.yaml:5:9: metadata.name: "twin" is also the name of environments/b/twin.yaml`,
		"environments/b/twin.yaml":  `environments/b/twin.yaml:5:9: metadata.name: "twin" is also the name of environments/a/twin.yaml`,
		"environments/good.yaml":    "",
		"environments/link.yaml":    `environments/link.yaml: is not a regular file`,
		"environments/syntax.yaml":  `environments/syntax.yaml:27:8: invalid YAML: `,
		"environments/unknown.yaml": `environments/unknown.yaml:10:5: spec.owner.slack: unknown field "slack"`,
	}
	if len(docs) != len(want) {
		t.Fatalf("got %d documents, want %d: %+v", len(docs), len(want), docs)
	}
	for _, d := range docs {
		w, ok := want[d.Path]
		if !ok {
			t.Errorf("unexpected document %s", d.Path)
			continue
		}
		if w == "" {
			if d.Err != nil || d.Env == nil || d.Env.Name != "good" {
				t.Errorf("%s should load: %v", d.Path, d.Err)
			}
			continue
		}
		var ps Problems
		if d.Env != nil || !errors.As(d.Err, &ps) || len(ps) != 1 || !strings.HasPrefix(ps[0].Error(), w) {
			t.Errorf("%s:\n got %v\nwant %s...", d.Path, d.Err, w)
		}
	}
	if docs, err := ReadDir(fstest.MapFS{"README.md": {}}); err != nil || len(docs) != 0 {
		t.Errorf("a tree without environments/: %v, %v", docs, err)
	}
}
