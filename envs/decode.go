package envs

import (
	"fmt"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	yaml "go.yaml.in/yaml/v3"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// The decoder below reads a yaml.v3 node tree into the Go types by their
// json tags. It is written out rather than going through YAML->JSON->struct
// so that every problem keeps the line and column of the node it is about,
// and so that one pass reports all problems instead of stopping at the first.

var (
	timeType       = reflect.TypeFor[metav1.Time]()
	durationType   = reflect.TypeFor[Duration]()
	objectMetaType = reflect.TypeFor[metav1.ObjectMeta]()
	envType        = reflect.TypeFor[Environment]()
)

// nodeBudget bounds how many nodes one document may expand to, so that
// aliases cannot turn a small file into an enormous one.
const nodeBudget = 100_000

// metadataFields are the only metadata fields an environment file may set.
var metadataFields = []string{"name", "labels", "annotations"}

type decoder struct {
	file     string
	problems Problems
	budget   int
	overrun  bool
}

func newDecoder(file string) *decoder { return &decoder{file: file, budget: nodeBudget} }

func (d *decoder) fail(n *yaml.Node, p fieldPath, format string, args ...any) {
	d.problems = append(d.problems, Problem{
		File: d.file, Line: n.Line, Column: n.Column, Field: p.String(),
		Message: fmt.Sprintf(format, args...),
	})
}

// decode reads n into v, which must be settable and hold its zero value.
func (d *decoder) decode(n *yaml.Node, v reflect.Value, p fieldPath) {
	if n.Kind == yaml.AliasNode && n.Alias != nil {
		n = n.Alias
	}
	d.budget--
	if d.budget < 0 {
		if !d.overrun {
			d.overrun = true
			d.fail(n, p, "the document expands to more than %d nodes; an environment file is much smaller", nodeBudget)
		}
		return
	}
	if isNull(n) {
		return
	}
	switch v.Type() {
	case timeType:
		d.decodeTime(n, v, p)
		return
	case durationType:
		d.decodeDuration(n, v, p)
		return
	}
	switch v.Kind() {
	case reflect.Pointer:
		elem := reflect.New(v.Type().Elem())
		d.decode(n, elem.Elem(), p)
		v.Set(elem)
	case reflect.Struct:
		d.decodeStruct(n, v, p)
	case reflect.Map:
		d.decodeMap(n, v, p)
	case reflect.Slice:
		d.decodeSlice(n, v, p)
	case reflect.String:
		if d.expectScalar(n, p, "!!str", "a string") {
			v.SetString(n.Value)
		}
	case reflect.Bool:
		if d.expectScalar(n, p, "!!bool", "true or false") {
			var b bool
			if err := n.Decode(&b); err != nil {
				d.fail(n, p, "%s is not true or false", describe(n))
				return
			}
			v.SetBool(b)
		}
	case reflect.Int, reflect.Int32, reflect.Int64:
		if d.expectScalar(n, p, "!!int", "a whole number") {
			var i int64
			if err := n.Decode(&i); err != nil || v.OverflowInt(i) {
				d.fail(n, p, "%s is not a whole number in range", describe(n))
				return
			}
			v.SetInt(i)
		}
	default:
		// Every field of the API is one of the kinds above; reaching here
		// means the types grew a kind this decoder does not know yet.
		d.fail(n, p, "cannot read a value of Go type %s", v.Type())
	}
}

func isNull(n *yaml.Node) bool {
	return n.Kind == yaml.ScalarNode && n.ShortTag() == "!!null"
}

// expectScalar reports whether n is a scalar with tag; otherwise it records
// what was expected and what was found.
func (d *decoder) expectScalar(n *yaml.Node, p fieldPath, tag, want string) bool {
	if n.Kind == yaml.ScalarNode && n.ShortTag() == tag {
		return true
	}
	msg := fmt.Sprintf("expected %s, found %s", want, describe(n))
	if tag == "!!str" && n.Kind == yaml.ScalarNode {
		msg += fmt.Sprintf("; quote it to make it a string: %q", n.Value)
	}
	d.fail(n, p, "%s", msg)
	return false
}

// describe says what a node is, for messages.
func describe(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	case yaml.ScalarNode:
		switch n.ShortTag() {
		case "!!str":
			return strconv.Quote(n.Value)
		case "!!int", "!!float":
			return "the number " + n.Value
		case "!!bool":
			return "the boolean " + n.Value
		case "!!timestamp":
			return "the timestamp " + n.Value
		case "!!null":
			return "nothing"
		}
		return n.Value
	case yaml.DocumentNode:
		return "a document"
	}
	return "an unknown node"
}

func (d *decoder) decodeTime(n *yaml.Node, v reflect.Value, p fieldPath) {
	if n.Kind != yaml.ScalarNode || (n.ShortTag() != "!!str" && n.ShortTag() != "!!timestamp") {
		d.fail(n, p, "expected a time such as 2026-01-31T18:00:00Z, found %s", describe(n))
		return
	}
	t, err := parseTime(n.Value)
	if err != nil {
		d.fail(n, p, "%q is not a time; use RFC 3339, for example 2026-01-31T18:00:00Z, or a date such as 2026-01-31", n.Value)
		return
	}
	v.Set(reflect.ValueOf(metav1.NewTime(t)))
}

// parseTime reads RFC 3339 times and plain dates (midnight UTC).
func parseTime(s string) (time.Time, error) {
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return t.UTC(), nil
	}
	return time.Parse(time.DateOnly, s)
}

func (d *decoder) decodeDuration(n *yaml.Node, v reflect.Value, p fieldPath) {
	if n.Kind != yaml.ScalarNode || n.ShortTag() != "!!str" {
		d.fail(n, p, "expected a duration such as 7d, 2w or 36h, found %s", describe(n))
		return
	}
	dur, err := ParseDuration(n.Value)
	if err != nil {
		d.fail(n, p, "%q is not a duration; use forms like 90m, 36h, 7d or 2w", n.Value)
		return
	}
	v.Set(reflect.ValueOf(Duration{Duration: dur}))
}

// field is one JSON-named field of a struct, with inline structs flattened.
type field struct {
	name      string
	index     []int
	omitEmpty bool
}

// fieldsOf lists the JSON fields of struct type t in declaration order.
func fieldsOf(t reflect.Type) []field {
	var out []field
	for i := range t.NumField() {
		f := t.Field(i)
		if !f.IsExported() {
			continue
		}
		tag := f.Tag.Get("json")
		if tag == "-" {
			continue
		}
		name, opts, _ := strings.Cut(tag, ",")
		if f.Anonymous && name == "" && f.Type.Kind() == reflect.Struct {
			for _, sub := range fieldsOf(f.Type) {
				sub.index = append([]int{i}, sub.index...)
				out = append(out, sub)
			}
			continue
		}
		if name == "" {
			name = f.Name
		}
		out = append(out, field{
			name:      name,
			index:     []int{i},
			omitEmpty: slices.Contains(strings.Split(opts, ","), "omitempty"),
		})
	}
	return out
}

// allowedFieldsTable holds allowedFields for every struct type reachable
// from Environment, computed once: reflecting over struct tags on every
// decode would cost as much as parsing the YAML.
var allowedFieldsTable = sync.OnceValue(func() map[reflect.Type][]field {
	table := map[reflect.Type][]field{}
	var visit func(t reflect.Type)
	visit = func(t reflect.Type) {
		for t.Kind() == reflect.Pointer || t.Kind() == reflect.Slice || t.Kind() == reflect.Map {
			t = t.Elem()
		}
		if _, done := table[t]; done || t.Kind() != reflect.Struct || t == timeType || t == durationType {
			return
		}
		fs := computeAllowedFields(t)
		table[t] = fs
		for _, f := range fs {
			visit(t.FieldByIndex(f.index).Type)
		}
	}
	visit(envType)
	return table
})

// allowedFields lists the fields a file may set on struct type t: all of
// them, except metadata (name, labels, annotations) and the environment's
// status (written by the reconciler on its own branch).
func allowedFields(t reflect.Type) []field {
	if fs, ok := allowedFieldsTable()[t]; ok {
		return fs
	}
	return computeAllowedFields(t)
}

func computeAllowedFields(t reflect.Type) []field {
	fs := fieldsOf(t)
	switch t {
	case objectMetaType:
		fs = slices.DeleteFunc(fs, func(f field) bool { return !slices.Contains(metadataFields, f.name) })
	case envType:
		fs = slices.DeleteFunc(fs, func(f field) bool { return f.name == "status" })
	}
	return fs
}

// rejectedMessage explains why a known Go field may not be set in a file, or
// returns "" when the field is simply unknown.
func rejectedMessage(t reflect.Type, name string) string {
	switch {
	case t == envType && name == "status":
		return "is written by the reconciler on the envwick/status branch, never in an environment file; remove it"
	case name == "<<":
		return "merge keys (<<) are not supported; write the fields out"
	case t == objectMetaType:
		for _, f := range fieldsOf(t) {
			if f.name == name {
				return "is not supported; metadata holds only name, labels and annotations"
			}
		}
	}
	return ""
}

func (d *decoder) decodeStruct(n *yaml.Node, v reflect.Value, p fieldPath) {
	if n.Kind != yaml.MappingNode {
		d.fail(n, p, "expected a mapping, found %s", describe(n))
		return
	}
	fields := allowedFields(v.Type())
	d.eachEntry(n, p, func(k, val *yaml.Node, kp fieldPath) {
		j := slices.IndexFunc(fields, func(f field) bool { return f.name == k.Value })
		switch {
		case j >= 0:
			d.decode(val, v.FieldByIndex(fields[j].index), kp)
		case rejectedMessage(v.Type(), k.Value) != "":
			d.fail(k, kp, "%s", rejectedMessage(v.Type(), k.Value))
		default:
			d.fail(k, kp, "%s", unknownFieldMessage(k.Value, fields))
		}
	})
}

// eachEntry calls fn for every entry of mapping n whose key is a scalar
// that was not seen before, reporting the others.
func (d *decoder) eachEntry(n *yaml.Node, p fieldPath, fn func(k, val *yaml.Node, kp fieldPath)) {
	seen := make(map[string]*yaml.Node, len(n.Content)/2)
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, val := n.Content[i], n.Content[i+1]
		if k.Kind != yaml.ScalarNode {
			d.fail(k, p, "expected a key, found %s", describe(k))
			continue
		}
		kp := p.key(k.Value)
		if first, dup := seen[k.Value]; dup {
			d.fail(k, kp, "is set twice (first on line %d); keep one", first.Line)
			continue
		}
		seen[k.Value] = k
		fn(k, val, kp)
	}
}

// unknownFieldMessage names the unknown field, suggests a near match and
// lists what is valid.
func unknownFieldMessage(name string, fields []field) string {
	names := make([]string, len(fields))
	for i, f := range fields {
		names[i] = f.name
	}
	msg := fmt.Sprintf("unknown field %q", name)
	if s := suggest(name, names); s != "" {
		msg += fmt.Sprintf("; did you mean %q?", s)
	}
	return msg + "; valid fields here are " + strings.Join(names, ", ")
}

// suggest returns the candidate closest to s when it is close enough to be a
// likely typo, or "".
func suggest(s string, candidates []string) string {
	best, bestDist := "", 3
	for _, c := range candidates {
		if strings.EqualFold(c, s) {
			return c
		}
		if d := editDistance(strings.ToLower(s), strings.ToLower(c)); d < bestDist {
			best, bestDist = c, d
		}
	}
	return best
}

// editDistance is the Levenshtein distance between a and b.
func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}

func (d *decoder) decodeMap(n *yaml.Node, v reflect.Value, p fieldPath) {
	if n.Kind != yaml.MappingNode {
		d.fail(n, p, "expected a mapping, found %s", describe(n))
		return
	}
	m := reflect.MakeMapWithSize(v.Type(), len(n.Content)/2)
	d.eachEntry(n, p, func(k, val *yaml.Node, kp fieldPath) {
		elem := reflect.New(v.Type().Elem()).Elem()
		d.decode(val, elem, kp)
		m.SetMapIndex(reflect.ValueOf(k.Value).Convert(v.Type().Key()), elem)
	})
	v.Set(m)
}

func (d *decoder) decodeSlice(n *yaml.Node, v reflect.Value, p fieldPath) {
	if n.Kind != yaml.SequenceNode {
		d.fail(n, p, "expected a list, found %s", describe(n))
		return
	}
	s := reflect.MakeSlice(v.Type(), len(n.Content), len(n.Content))
	for i, item := range n.Content {
		d.decode(item, s.Index(i), p.idx(i))
	}
	v.Set(s)
}
