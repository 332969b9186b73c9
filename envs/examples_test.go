package envs

import (
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestExamples checks the sample envs repository: every file parses, names
// are unique, the bot-written ones are in canonical form, and each starts
// with the schema line.
func TestExamples(t *testing.T) {
	root := filepath.Join("examples")
	var docs []Document
	raw := map[string][]byte{}
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(root, p)
		rel = filepath.ToSlash(rel)
		if !IsEnvironmentPath(rel) {
			return nil
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		raw[rel] = data
		docs = append(docs, ParseDocument(rel, data))
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(docs) < 3 {
		t.Fatalf("want at least 3 sample environments, found %d", len(docs))
	}
	kinds := map[SourceKind]bool{}
	for _, d := range CheckUnique(docs) {
		if d.Err != nil {
			t.Errorf("%v", d.Err)
			continue
		}
		kinds[d.Env.Spec.Source.Kind()] = true
		data := raw[d.Path]
		if !strings.HasPrefix(string(data), SchemaComment+"\n") {
			t.Errorf("%s does not start with %q", d.Path, SchemaComment)
		}
		if d.Env.Spec.Source.Kind() != SourceManual {
			if canonical := mustMarshal(t, d.Env); canonical != string(data) {
				t.Errorf("%s is written by a bot and should be canonical:\n%s", d.Path, lineDiff(canonical, string(data)))
			}
		}
		if ps := Validate(WithDefaults(d.Env, DefaultDefaults())); ps != nil {
			t.Errorf("%s with defaults: %v", d.Path, ps)
		}
	}
	for _, k := range []SourceKind{SourcePullRequest, SourceChat, SourceManual} {
		if !kinds[k] {
			t.Errorf("no sample environment with a %s source", k)
		}
	}
}
