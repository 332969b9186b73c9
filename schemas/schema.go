// Package schemas holds the JSON Schema of environment files, generated from
// the Go types in package envs so the two cannot drift: a test fails when
// the checked-in environment.schema.json is not what Generate writes
// (regenerate with 'make schema').
package schemas

import (
	"bytes"
	_ "embed"
	"encoding/json"
	"fmt"
	"go/ast"
	"go/doc"
	"go/parser"
	"go/token"
	"io/fs"
	"reflect"
	"strings"

	"github.com/invopop/jsonschema"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/envwick/envwick/envs"
)

// EnvironmentJSON is the checked-in schema, for tools that serve or apply it.
//
//go:embed environment.schema.json
var EnvironmentJSON []byte

// Patterns the schema shares with the parser's rules.
const (
	namePattern       = `^[a-z0-9]([-a-z0-9]*[a-z0-9])?$`
	durationPattern   = `^([0-9]+[wd])*([0-9]*\.?[0-9]+(ns|us|µs|ms|s|m|h))*$`
	annotationPattern = `^[a-z0-9_-]{1,64}$`
	envVarPattern     = `^[A-Za-z_][A-Za-z0-9_]*$`
	sizePattern       = `^provisionerXL(-[1-9][0-9]{0,2})?$`
)

// Generate builds the schema from the types in package envs and the doc
// comments of the Go files in envsSrc (the envs package directory), which
// become the descriptions editors show.
func Generate(envsSrc fs.FS) ([]byte, error) {
	comments, err := docComments(envsSrc)
	if err != nil {
		return nil, fmt.Errorf("reading doc comments: %w", err)
	}
	envsPkg := reflect.TypeFor[envs.Environment]().PkgPath()
	r := &jsonschema.Reflector{
		ExpandedStruct: true,
		Mapper:         mapType,
		LookupComment: func(t reflect.Type, field string) string {
			if t.PkgPath() != envsPkg {
				return ""
			}
			if field == "" {
				return comments[t.Name()]
			}
			return comments[t.Name()+"."+field]
		},
	}
	s := r.Reflect(&envs.Environment{})
	s.ID = jsonschema.ID(envs.SchemaURL)
	s.Title = "envwick Environment"
	refine(s)
	out, err := json.MarshalIndent(s, "", "  ")
	if err != nil {
		return nil, err
	}
	return append(out, '\n'), nil
}

// mapType gives the schema of types whose JSON form is not their Go shape.
func mapType(t reflect.Type) *jsonschema.Schema {
	switch t {
	case reflect.TypeFor[metav1.Time]():
		return &jsonschema.Schema{Type: "string", Description: "An RFC 3339 time such as 2026-01-31T18:00:00Z, or a date such as 2026-01-31 (midnight UTC).",
			Examples: []any{"2026-01-31T18:00:00Z"}}
	case reflect.TypeFor[envs.Duration]():
		return &jsonschema.Schema{Type: "string", Pattern: durationPattern, MinLength: ptr(1),
			Description: "A duration: whole weeks and days (7d, 2w, 1w3d) followed by an optional Go duration (36h, 90m).",
			Examples:    []any{"7d", "2w", "36h"}}
	case reflect.TypeFor[envs.PowerState]():
		return &jsonschema.Schema{Type: "string", Enum: strings2any(envs.PowerStates())}
	case reflect.TypeFor[metav1.ObjectMeta]():
		props := jsonschema.NewProperties()
		props.Set("name", &jsonschema.Schema{Type: "string", Pattern: namePattern, MaxLength: ptr(63),
			Description: "The environment name: a DNS label of at most 63 characters. It must equal the file name without .yaml."})
		props.Set("labels", &jsonschema.Schema{Type: "object", AdditionalProperties: &jsonschema.Schema{Type: "string"},
			Description: "Kubernetes-style labels for grouping and selection."})
		props.Set("annotations", &jsonschema.Schema{Type: "object", AdditionalProperties: &jsonschema.Schema{Type: "string"},
			Description: "Kubernetes-style annotations for tools."})
		return &jsonschema.Schema{Type: "object", Properties: props, Required: []string{"name"},
			AdditionalProperties: jsonschema.FalseSchema,
			Description:          "Only name, labels and annotations may be set."}
	}
	return nil
}

// refine adds what reflection cannot know: constant apiVersion and kind,
// the vocabularies, and the rules that span fields.
func refine(s *jsonschema.Schema) {
	s.Properties.Delete("status") // written by the reconciler on its own branch
	s.Properties.Set("apiVersion", &jsonschema.Schema{Type: "string", Const: envs.APIVersion})
	s.Properties.Set("kind", &jsonschema.Schema{Type: "string", Const: envs.Kind})
	_ = s.Properties.MoveToFront("kind")
	_ = s.Properties.MoveToFront("apiVersion")
	s.Required = []string{"apiVersion", "kind", "metadata", "spec"}

	defs := s.Definitions
	defs["Owner"].AnyOf = []*jsonschema.Schema{{Required: []string{"github"}}, {Required: []string{"mattermost"}}}
	defs["Source"].MaxProperties = ptr(1)
	defs["Lifecycle"].Not = &jsonschema.Schema{Required: []string{"expiresAt", "ttl"}}

	in := defs["Installation"].Properties
	size, _ := in.Get("size")
	size.AnyOf = []*jsonschema.Schema{{Enum: strings2any(envs.Sizes())}, {Pattern: sizePattern}}
	for field, values := range map[string][]string{
		"license": envs.Licenses(), "affinity": envs.Affinities(), "database": envs.Databases(), "filestore": envs.Filestores(),
	} {
		p, _ := in.Get(field)
		p.Enum = strings2any(values)
	}
	env, _ := in.Get("env")
	env.PropertyNames = &jsonschema.Schema{Pattern: envVarPattern}
	ann, _ := in.Get("annotations")
	ann.Items.Pattern = annotationPattern
	ann.UniqueItems = true
	pr := defs["PullRequestSource"].Properties
	number, _ := pr.Get("number")
	number.Minimum = "1"
	pruneDefinitions(s)
}

// pruneDefinitions drops definitions nothing refers to any more (the status
// types, once status is gone).
func pruneDefinitions(s *jsonschema.Schema) {
	for {
		body, _ := json.Marshal(s)
		removed := false
		for name := range s.Definitions {
			if !bytes.Contains(body, []byte(`"#/$defs/`+name+`"`)) {
				delete(s.Definitions, name)
				removed = true
			}
		}
		if !removed {
			return
		}
	}
}

// docComments maps "Type" and "Type.Field" to the doc comments of the
// exported types in the Go files of fsys (test files left out).
func docComments(fsys fs.FS) (map[string]string, error) {
	fset := token.NewFileSet()
	out := make(map[string]string)
	files, err := fs.Glob(fsys, "*.go")
	if err != nil {
		return nil, err
	}
	for _, name := range files {
		if strings.HasSuffix(name, "_test.go") {
			continue
		}
		src, err := fs.ReadFile(fsys, name)
		if err != nil {
			return nil, err
		}
		f, err := parser.ParseFile(fset, name, src, parser.ParseComments)
		if err != nil {
			return nil, err
		}
		for _, decl := range f.Decls {
			gd, ok := decl.(*ast.GenDecl)
			if !ok || gd.Tok != token.TYPE {
				continue
			}
			for _, spec := range gd.Specs {
				ts := spec.(*ast.TypeSpec)
				if !ts.Name.IsExported() {
					continue
				}
				text := ts.Doc.Text()
				if text == "" && len(gd.Specs) == 1 {
					text = gd.Doc.Text()
				}
				out[ts.Name.Name] = oneLine(doc.Synopsis(text))
				st, ok := ts.Type.(*ast.StructType)
				if !ok {
					continue
				}
				for _, fld := range st.Fields.List {
					text := fld.Doc.Text()
					if text == "" {
						text = fld.Comment.Text()
					}
					for _, n := range fld.Names {
						out[ts.Name.Name+"."+n.Name] = oneLine(text)
					}
				}
			}
		}
	}
	return out, nil
}

func oneLine(s string) string { return strings.Join(strings.Fields(s), " ") }

func strings2any(ss []string) []any {
	out := make([]any, len(ss))
	for i, s := range ss {
		out[i] = s
	}
	return out
}

func ptr(n uint64) *uint64 { return &n }

// Equal reports whether two schema documents are the same JSON, so the
// staleness test does not depend on whitespace.
func Equal(a, b []byte) bool {
	var x, y any
	if json.Unmarshal(a, &x) != nil || json.Unmarshal(b, &y) != nil {
		return false
	}
	ja, _ := json.Marshal(x)
	jb, _ := json.Marshal(y)
	return bytes.Equal(ja, jb)
}
