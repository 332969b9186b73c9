package envs

import (
	"os"
	"strings"
	"testing"
)

// TestDocsListVocabulariesAndDefaults keeps docs/environment-api.md in step
// with the code: every accepted value and every built-in default appears.
func TestDocsListVocabulariesAndDefaults(t *testing.T) {
	data, err := os.ReadFile("../docs/environment-api.md")
	if err != nil {
		t.Fatal(err)
	}
	doc := string(data)
	var values []string
	for _, vs := range [][]string{Sizes(), Licenses(), Affinities(), Databases(), Filestores(), PowerStates()} {
		values = append(values, vs...)
	}
	d := DefaultDefaults()
	values = append(values, d.Image, d.Version, d.HibernateAfterIdle.String(), d.DeleteAfterHibernated.String(), SchemaComment)
	for _, v := range values {
		if !strings.Contains(doc, "`"+v+"`") && !strings.Contains(doc, v+"\n") {
			t.Errorf("docs/environment-api.md does not mention %q", v)
		}
	}
}
