package envs

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"

	goyaml "github.com/goccy/go-yaml"
	goparser "github.com/goccy/go-yaml/parser"
	yaml "go.yaml.in/yaml/v3"
)

// Parse reads one environment file strictly: YAML syntax, unknown fields,
// wrong types, bad names, values outside the vocabularies, and a file name
// whose stem is not metadata.name are all errors. The error is always
// Problems, every problem with the line and column it is about. Parse applies
// no defaults (see WithDefaults). path is used in problems and for the file
// name rule; an empty path skips that rule.
func Parse(path string, data []byte) (*Environment, error) {
	e, _, ps := parse(path, data)
	if len(ps) > 0 {
		return nil, ps
	}
	return e, nil
}

// Document is one environment file of an envs repository, parsed or not.
type Document struct {
	// Path is the file's path, relative to the repository root.
	Path string
	// Name is the environment the file stands for: its file name stem (so a
	// file that fails to parse is still attributed), or metadata.name when
	// the path has no YAML file name.
	Name string
	// Env is the environment; nil when Err is set.
	Env *Environment
	// Err is Problems when the file is invalid.
	Err error
	// Line and Column locate metadata.name in the file, when it has one, so
	// repository-level problems (duplicate names) point at it.
	Line, Column int
}

// ParseDocument parses one file into a Document, for callers that check a
// whole repository (see CheckUnique).
func ParseDocument(path string, data []byte) Document {
	e, root, ps := parse(path, data)
	d := Document{Path: path, Env: e}
	if name, ok := stem(filepath.ToSlash(path)); ok {
		d.Name = name
	} else if e != nil {
		d.Name = e.Name
	}
	if n := locate(root, fieldPath{{key: "metadata"}, {key: "name"}}, false); n != nil && n != documentRoot(root) {
		d.Line, d.Column = n.Line, n.Column
	}
	if len(ps) > 0 {
		d.Env, d.Err = nil, ps
	}
	return d
}

// CheckUnique applies the repository rule that an environment name is used
// by one file only: every file that shares its name with another gets an
// error (all of them, so none silently wins) and loses its Env. It returns
// a new slice; docs is not modified.
func CheckUnique(docs []Document) []Document {
	out := slices.Clone(docs)
	byName := make(map[string][]int, len(docs))
	for i, d := range out {
		if d.Name != "" {
			byName[d.Name] = append(byName[d.Name], i)
		}
	}
	for name, idx := range byName {
		if len(idx) < 2 {
			continue
		}
		for _, i := range idx {
			var others []string
			for _, j := range idx {
				if j != i {
					others = append(others, out[j].Path)
				}
			}
			slices.Sort(others)
			p := Problem{
				File: out[i].Path, Line: out[i].Line, Column: out[i].Column, Field: "metadata.name",
				Message: fmt.Sprintf("%q is also the name of %s; an environment name is used by one file only", name, strings.Join(others, ", ")),
			}
			var ps Problems
			if !errors.As(out[i].Err, &ps) && out[i].Err != nil {
				ps = Problems{{File: out[i].Path, Message: out[i].Err.Error()}}
			}
			ps = append(slices.Clone(ps), p)
			sortProblems(ps)
			out[i].Env, out[i].Err = nil, ps
		}
	}
	return out
}

// yamlLineRE pulls the line out of yaml.v3's syntax errors
// ("yaml: line 3: mapping values are not allowed in this context").
var yamlLineRE = regexp.MustCompile(`^yaml: (?:line (\d+): )?(.*)$`)

// parse returns the environment (nil when the document could not be read at
// all), the document node, and every problem found.
func parse(path string, data []byte) (*Environment, *yaml.Node, Problems) {
	var root yaml.Node
	dec := yaml.NewDecoder(bytes.NewReader(data))
	if err := dec.Decode(&root); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, nil, Problems{{File: path, Line: 1, Column: 1, Message: "the file is empty; it should hold one Environment (apiVersion, kind, metadata, spec)"}}
		}
		return nil, nil, Problems{syntaxProblem(path, data, err)}
	}
	var extra yaml.Node
	switch err := dec.Decode(&extra); {
	case err == nil:
		return nil, &root, Problems{{File: path, Line: extra.Line, Column: extra.Column,
			Message: "the file holds more than one YAML document; put each environment in its own file"}}
	case !errors.Is(err, io.EOF):
		return nil, &root, Problems{syntaxProblem(path, data, err)}
	}
	body := documentRoot(&root)
	if body == nil || body.Kind != yaml.MappingNode {
		n := &root
		if body != nil {
			n = body
		}
		return nil, &root, Problems{{File: path, Line: n.Line, Column: n.Column,
			Message: fmt.Sprintf("expected an Environment (a mapping with apiVersion, kind, metadata, spec), found %s", describe(n))}}
	}

	e := &Environment{}
	d := newDecoder(path)
	d.decode(body, reflect.ValueOf(e).Elem(), nil)
	ps := d.problems

	written := false // a spec with something in it, such as "owner: {}"
	for j := 0; j+1 < len(body.Content); j += 2 {
		if v := body.Content[j+1]; body.Content[j].Value == "spec" {
			written = v.Kind == yaml.MappingNode && len(v.Content) > 0
		}
	}
	for _, f := range validate(e, written) {
		field := f.path.String()
		if slices.ContainsFunc(d.problems, func(p Problem) bool {
			return p.Field != "" && (pathWithin(field, p.Field) || pathWithin(p.Field, field))
		}) {
			continue // the decoder already said what is wrong here
		}
		msg := f.msg
		if field == "metadata.name" && e.Name == "" {
			if name, ok := stem(filepath.ToSlash(path)); ok {
				msg = fmt.Sprintf("is missing; set it to %q, the file name", name)
			}
		}
		n := locate(&root, f.path, f.atKey)
		ps = append(ps, Problem{File: path, Line: n.Line, Column: n.Column, Field: field, Message: msg})
	}

	if path != "" && ValidName(e.Name) {
		base := filepath.Base(path)
		if name, ok := stem(filepath.ToSlash(path)); !ok {
			ps = append(ps, Problem{File: path, Line: 1, Column: 1,
				Message: fmt.Sprintf("the file name %q does not end in %s; name it %s%s", base, Ext, e.Name, Ext)})
		} else if name != e.Name {
			n := locate(&root, fieldPath{{key: "metadata"}, {key: "name"}}, false)
			ps = append(ps, Problem{File: path, Line: n.Line, Column: n.Column, Field: "metadata.name",
				Message: fmt.Sprintf("%q does not match the file name %q; the file name is the environment name, so rename the file to %s%s or set the name to %q",
					e.Name, base, e.Name, Ext, name)})
		}
	}
	if len(ps) > 0 {
		sortProblems(ps)
		return e, &root, ps
	}
	return e, &root, nil
}

// pathWithin reports whether field is parent or lies under it.
func pathWithin(field, parent string) bool {
	return field == parent || strings.HasPrefix(field, parent+".") || strings.HasPrefix(field, parent+"[")
}

// syntaxProblem reports a YAML syntax error at a line and column. yaml.v3
// (the parser of record) names a line only, and often the line of the
// enclosing context rather than of the mistake; goccy/go-yaml's scanner
// points at the token, so when it finds a syntax error too, its position
// and words are used. Otherwise the column is the line's first character.
func syntaxProblem(path string, data []byte, err error) Problem {
	p := Problem{File: path, Message: err.Error()}
	if m := yamlLineRE.FindStringSubmatch(err.Error()); m != nil {
		p.Message = "invalid YAML: " + m[2]
		if m[1] != "" {
			p.Line, _ = strconv.Atoi(m[1])
		}
	}
	var se *goyaml.SyntaxError
	if _, gerr := goparser.ParseBytes(data, 0); errors.As(gerr, &se) && se.Token != nil && se.Token.Position != nil && se.Token.Position.Line > 0 {
		p.Line, p.Column = se.Token.Position.Line, max(se.Token.Position.Column, 1)
		p.Message = "invalid YAML: " + se.Message
		return p
	}
	if p.Line > 0 {
		lines := bytes.Split(data, []byte("\n"))
		p.Column = 1
		if p.Line <= len(lines) {
			p.Column += len(lines[p.Line-1]) - len(bytes.TrimLeft(lines[p.Line-1], " \t"))
		}
	}
	return p
}

// documentRoot returns the top node of a document, or nil.
func documentRoot(doc *yaml.Node) *yaml.Node {
	if doc == nil {
		return nil
	}
	if doc.Kind == yaml.DocumentNode {
		if len(doc.Content) == 0 {
			return nil
		}
		return doc.Content[0]
	}
	return doc
}

// locate finds the node a field path points at, for the position of a
// problem. Scalars point at their value, mappings and lists at their key;
// with atKey the key itself. A path that is not in the file (a missing
// field) points at the nearest enclosing key that is.
func locate(doc *yaml.Node, p fieldPath, atKey bool) *yaml.Node {
	n := documentRoot(doc)
	if n == nil {
		return doc
	}
	at := n
	for i, s := range p {
		if n.Kind == yaml.AliasNode && n.Alias != nil {
			n = n.Alias
		}
		last := i == len(p)-1
		switch {
		case s.isIdx:
			if n.Kind != yaml.SequenceNode || s.index >= len(n.Content) {
				return at
			}
			n = n.Content[s.index]
			at = n
		case n.Kind == yaml.MappingNode:
			found := false
			for j := 0; j+1 < len(n.Content); j += 2 {
				if n.Content[j].Value != s.key {
					continue
				}
				key, val := n.Content[j], n.Content[j+1]
				found = true
				at = key
				if last && !atKey && val.Kind == yaml.ScalarNode && !isNull(val) {
					at = val
				}
				n = val
				break
			}
			if !found {
				return at
			}
		default:
			return at
		}
	}
	return at
}
