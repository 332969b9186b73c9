package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/envwick/envwick/envs"
)

func runValidate(t *testing.T, args ...string) (string, error) {
	t.Helper()
	root := newRootCmd()
	var out bytes.Buffer
	root.SetOut(&out)
	root.SetErr(&out)
	root.SetArgs(append([]string{"validate"}, args...))
	err := root.Execute()
	return out.String(), err
}

func TestValidateSampleRepository(t *testing.T) {
	out, err := runValidate(t, "../../envs/examples")
	if err != nil {
		t.Fatalf("sample repository: %v\n%s", err, out)
	}
	if out != "3 environment files checked, all valid\n" {
		t.Fatalf("output: %q", out)
	}
}

func writeTree(t *testing.T, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for name, data := range files {
		p := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

const goodEnv = `apiVersion: envwick.dev/v1alpha1
kind: Environment
metadata:
  name: good
spec:
  owner:
    github: jane
`

func TestValidateReportsEveryProblem(t *testing.T) {
	dir := writeTree(t, map[string]string{
		"environments/good.yaml":   goodEnv,
		"environments/broken.yaml": strings.Replace(goodEnv, "name: good", "name: broken\n  namespace: x", 1) + "  state: off\n",
		"environments/a/dup.yaml":  strings.Replace(goodEnv, "good", "dup", 1),
		"environments/b/dup.yml":   strings.Replace(goodEnv, "good", "dup", 1),
	})
	tests := []struct {
		format string
		want   []string
	}{
		{"text", []string{
			filepath.Join(dir, "environments/a/dup.yaml") + `:4:9: metadata.name: "dup" is also the name of environments/b/dup.yml; an environment name is used by one file only`,
			filepath.Join(dir, "environments/b/dup.yml") + `:4:9: metadata.name: "dup" is also the name of environments/a/dup.yaml; an environment name is used by one file only`,
			filepath.Join(dir, "environments/broken.yaml") + `:5:3: metadata.namespace: is not supported; metadata holds only name, labels and annotations`,
			filepath.Join(dir, "environments/broken.yaml") + `:9:10: spec.state: "off" is not a power state; use one of: running, hibernated`,
			"4 environment files checked: 4 problems in 3 files",
		}},
		{"github", []string{
			"::error file=" + filepath.ToSlash(filepath.Join(dir, "environments/a/dup.yaml")) + `,line=4,col=9,title=metadata.name::metadata.name: "dup" is also the name of environments/b/dup.yml; an environment name is used by one file only`,
			"::error file=" + filepath.ToSlash(filepath.Join(dir, "environments/b/dup.yml")) + ",line=4,col=9,title=metadata.name::",
			"::error file=" + filepath.ToSlash(filepath.Join(dir, "environments/broken.yaml")) + ",line=5,col=3,title=metadata.namespace::",
			"::error file=" + filepath.ToSlash(filepath.Join(dir, "environments/broken.yaml")) + ",line=9,col=10,title=spec.state::",
			"4 environment files checked: 4 problems in 3 files",
		}},
	}
	for _, tt := range tests {
		t.Run(tt.format, func(t *testing.T) {
			out, err := runValidate(t, dir, "-o", tt.format)
			var ee *exitError
			if !errors.As(err, &ee) || ee.ExitCode() != 1 || ee.Error() != "" {
				t.Fatalf("want a silent exit 1, got %v", err)
			}
			lines := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
			if len(lines) != len(tt.want) {
				t.Fatalf("got %d lines, want %d:\n%s", len(lines), len(tt.want), out)
			}
			for i, want := range tt.want {
				if !strings.HasPrefix(lines[i], want) {
					t.Errorf("line %d:\n got %s\nwant %s", i+1, lines[i], want)
				}
			}
		})
	}
	t.Run("json", func(t *testing.T) {
		out, err := runValidate(t, dir, "-o", "json")
		if err == nil {
			t.Fatal("want exit 1")
		}
		var r validateReport
		if err := json.Unmarshal([]byte(out), &r); err != nil {
			t.Fatalf("output is not one JSON document: %v\n%s", err, out)
		}
		if r.Files != 4 || r.Invalid != 3 || len(r.Problems) != 4 || r.Problems[3].Line != 9 || r.Problems[3].Field != "spec.state" {
			t.Fatalf("report: %+v", r)
		}
	})
}

func TestValidateUsageErrors(t *testing.T) {
	if _, err := runValidate(t, filepath.Join(t.TempDir(), "missing")); err == nil || !strings.Contains(err.Error(), "no such file") {
		t.Errorf("missing directory: %v", err)
	}
	if _, err := runValidate(t, ".", "-o", "xml"); err == nil || !strings.Contains(err.Error(), `unknown output format "xml"`) {
		t.Errorf("bad format: %v", err)
	}
	// A folder without environments is most likely the wrong folder.
	empty := t.TempDir()
	out, err := runValidate(t, empty)
	var ec exitCoder
	if !errors.As(err, &ec) || ec.ExitCode() != 1 || !strings.Contains(err.Error(), "no environment files under "+filepath.Join(empty, "environments")) ||
		!strings.Contains(err.Error(), "--allow-empty") {
		t.Errorf("empty folder: %v %q", err, out)
	}
	out, err = runValidate(t, empty, "--allow-empty")
	if err != nil || out != "0 environment files checked, all valid\n" {
		t.Errorf("empty repository with --allow-empty: %v %q", err, out)
	}
}

func TestGitHubEscaping(t *testing.T) {
	if got := escapeData("50% done\nnext"); got != "50%25 done%0Anext" {
		t.Errorf("escapeData: %s", got)
	}
	if got := escapeProperty("a,b:c"); got != "a%2Cb%3Ac" {
		t.Errorf("escapeProperty: %s", got)
	}
}

func TestSchemaCommand(t *testing.T) {
	root := newRootCmd()
	var out bytes.Buffer
	root.SetOut(&out)
	root.SetArgs([]string{"schema"})
	if err := root.Execute(); err != nil {
		t.Fatal(err)
	}
	var s map[string]any
	if err := json.Unmarshal(out.Bytes(), &s); err != nil || s["$id"] != envs.SchemaURL {
		t.Fatalf("schema output: %v %v", err, s["$id"])
	}
}
