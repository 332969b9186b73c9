package main

import (
	"os"
	"path/filepath"
	"slices"
	"testing"
)

func TestSecretList(t *testing.T) {
	dir := t.TempDir()
	write := func(name, data string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(data), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	for _, tc := range []struct {
		name, env, file, seps string
		want                  []string
	}{
		{"github env, current and next", "cur\nnext", "", "\n", []string{"cur", "next"}},
		{"github env, no next", "cur\n", "", "\n", []string{"cur"}},
		{"github secret keeps commas", "a,b\n", "", "\n", []string{"a,b"}},
		{"github file wins over env", "from-env\n", write("gh", " cur \n\nnext\n"), "\n", []string{"cur", "next"}},
		{"chat env, comma-separated", "a, b,,c", "", ",\n", []string{"a", "b", "c"}},
		{"chat file, one a line", "from-env", write("chat", "a\nb,c\n"), ",\n", []string{"a", "b", "c"}},
		{"nothing set", "\n", "", "\n", nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := secretList(tc.env, tc.file, tc.seps, "the test secret")
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(got, tc.want) {
				t.Errorf("secretList = %q, want %q", got, tc.want)
			}
		})
	}
	if _, err := secretList("", filepath.Join(dir, "missing"), "\n", "the test secret"); err == nil {
		t.Error("a missing secret file gave no error")
	}
}
