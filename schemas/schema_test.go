package schemas

import (
	"bytes"
	"encoding/json"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"
	yaml "go.yaml.in/yaml/v3"

	"github.com/envwick/envwick/envs"
)

func TestSchemaIsUpToDate(t *testing.T) {
	got, err := Generate(os.DirFS("../envs"))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, EnvironmentJSON) {
		t.Fatalf("schemas/environment.schema.json is stale: run 'make schema' and commit the result")
	}
}

func compile(t *testing.T) *jsonschema.Schema {
	t.Helper()
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(EnvironmentJSON))
	if err != nil {
		t.Fatal(err)
	}
	c := jsonschema.NewCompiler()
	if err := c.AddResource(envs.SchemaURL, doc); err != nil {
		t.Fatal(err)
	}
	s, err := c.Compile(envs.SchemaURL)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// instance reads YAML as the JSON value an editor's schema check sees.
func instance(t *testing.T, data []byte) any {
	t.Helper()
	var v any
	if err := yaml.Unmarshal(data, &v); err != nil {
		t.Fatal(err)
	}
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	out, err := jsonschema.UnmarshalJSON(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// TestSchemaAcceptsWhatParseAccepts validates the sample repository against
// the schema, and checks the schema rejects what Parse rejects where a
// schema can say so.
func TestSchemaAgreesWithParse(t *testing.T) {
	s := compile(t)
	root := "../envs/examples"
	var valid [][]byte
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(p, ".yaml") {
			return err
		}
		data, err := os.ReadFile(p)
		if err == nil {
			valid = append(valid, data)
		}
		return err
	})
	if err != nil || len(valid) == 0 {
		t.Fatalf("no examples: %v", err)
	}
	for _, data := range valid {
		if err := s.Validate(instance(t, data)); err != nil {
			t.Errorf("schema rejects a valid example: %v\n%s", err, data)
		}
	}
	pr, err := os.ReadFile(filepath.Join(root, "environments", "mattermost-pr-31337.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	base := string(pr)
	bad := map[string][2]string{
		"unknown field":    {"  owner:\n", "  owner:\n    slack: jane\n"},
		"bad size":         {"  installation:\n", "  installation:\n    size: large\n"},
		"bad state":        {"spec:\n", "spec:\n  state: asleep\n"},
		"bad duration":     {"hibernateAfterIdle: 2d", "hibernateAfterIdle: soon"},
		"status":           {"spec:\n", "status: {}\nspec:\n"},
		"metadata field":   {"metadata:\n", "metadata:\n  namespace: x\n"},
		"wrong apiVersion": {"envwick.dev/v1alpha1", "envwick.dev/v2"},
		"two sources":      {"    pullRequest:\n", "    chat: {user: jane}\n    pullRequest:\n"},
		"no owner":         {"    github: jane-doe\n", "    email: jane@example.com\n"},
		"bad name":         {"name: mattermost-pr-31337", "name: Mattermost_PR"},
		"bad annotation":   {"  installation:\n", "  installation:\n    annotations: [Not Valid]\n"},
		"bad env name":     {"      MM_FEATURE", "      1MM_FEATURE"},
	}
	for name, r := range bad {
		if !strings.Contains(base, r[0]) {
			t.Fatalf("%s: edit does not apply", name)
		}
		data := []byte(strings.Replace(base, r[0], r[1], 1))
		if _, err := envs.Parse("", data); err == nil {
			t.Errorf("%s: Parse accepts it", name)
		}
		if err := s.Validate(instance(t, data)); err == nil {
			t.Errorf("%s: schema accepts it", name)
		}
	}
}
