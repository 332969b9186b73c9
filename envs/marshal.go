package envs

import (
	"bytes"
	"cmp"
	"fmt"
	"reflect"
	"slices"
	"strconv"
	"time"

	yaml "go.yaml.in/yaml/v3"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// SchemaURL is where editors find the JSON Schema of environment files. It
// names the file checked in at schemas/environment.schema.json on the main
// branch; the schema changes only with the API version, which is in the
// document itself.
const SchemaURL = "https://raw.githubusercontent.com/envwick/envwick/main/schemas/environment.schema.json"

// SchemaComment is the first line of every file Marshal writes, so that
// editors running the YAML language server validate and complete it.
const SchemaComment = "# yaml-language-server: $schema=" + SchemaURL

// Marshal writes e in the one canonical form bots and the reconciler use:
// the SchemaComment line, then apiVersion, kind, metadata (name, labels,
// annotations) and spec, fields in the order the Go types declare them, map
// keys sorted, two-space indentation, empty fields left out and no status.
// Equal environments give identical bytes, so a diff shows only what
// changed. An empty apiVersion or kind is written as this package's.
// Marshal does not validate; call Validate first.
func Marshal(e *Environment) ([]byte, error) {
	if e == nil {
		return nil, fmt.Errorf("marshalling environment: nil")
	}
	var buf bytes.Buffer
	buf.WriteString(SchemaComment + "\n")
	if err := encodeNode(&buf, canonicalNode(withTypeMeta(e))); err != nil {
		return nil, fmt.Errorf("marshalling environment %s: %w", e.Name, err)
	}
	return buf.Bytes(), nil
}

// encodeNode writes n as YAML with the canonical indentation.
func encodeNode(buf *bytes.Buffer, n *yaml.Node) error {
	enc := yaml.NewEncoder(buf)
	enc.SetIndent(2)
	if err := enc.Encode(n); err != nil {
		return err
	}
	return enc.Close()
}

// withTypeMeta returns e, or a shallow copy of it with an empty apiVersion
// and kind set to this package's: what Marshal and Edit write.
func withTypeMeta(e *Environment) *Environment {
	if e.APIVersion != "" && e.Kind != "" {
		return e
	}
	c := *e
	if c.APIVersion == "" {
		c.APIVersion = APIVersion
	}
	if c.Kind == "" {
		c.Kind = Kind
	}
	return &c
}

// canonicalNode builds the canonical mapping node of e, exactly as it is
// (Marshal fills in apiVersion and kind first; Edit compares with what a
// file really says).
func canonicalNode(e *Environment) *yaml.Node {
	root := &yaml.Node{Kind: yaml.MappingNode, Tag: "!!map"}
	if e.APIVersion != "" {
		appendEntry(root, "apiVersion", stringNode(e.APIVersion))
	}
	if e.Kind != "" {
		appendEntry(root, "kind", stringNode(e.Kind))
	}
	if md := encodeValue(reflect.ValueOf(e.ObjectMeta)); md != nil {
		appendEntry(root, "metadata", md)
	}
	if spec := encodeValue(reflect.ValueOf(e.Spec)); spec != nil {
		appendEntry(root, "spec", spec)
	}
	return root
}

func appendEntry(m *yaml.Node, key string, val *yaml.Node) {
	m.Content = append(m.Content, stringNode(key), val)
}

func stringNode(s string) *yaml.Node {
	n := &yaml.Node{}
	n.SetString(s)
	return n
}

// encodeValue builds the node for v, or nil when v is empty and is left out.
// Structs held by value are left out when all their fields are; structs
// behind a non-nil pointer are kept even when empty, since a present
// pointer means something (source.manual: {}).
func encodeValue(v reflect.Value) *yaml.Node {
	switch v.Type() {
	case timeType:
		t := v.Interface().(metav1.Time)
		if t.IsZero() {
			return nil
		}
		return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!timestamp", Value: t.UTC().Format(time.RFC3339)}
	case durationType:
		return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: v.Interface().(Duration).String()}
	}
	switch v.Kind() {
	case reflect.Pointer:
		if v.IsNil() {
			return nil
		}
		n := encodeValue(v.Elem())
		if n == nil && v.Elem().Kind() == reflect.Struct {
			n = &yaml.Node{Kind: yaml.MappingNode, Tag: "!!map", Style: yaml.FlowStyle}
		}
		return n
	case reflect.Struct:
		m := &yaml.Node{Kind: yaml.MappingNode, Tag: "!!map"}
		for _, f := range allowedFields(v.Type()) {
			if n := encodeValue(v.FieldByIndex(f.index)); n != nil {
				appendEntry(m, f.name, n)
			}
		}
		if len(m.Content) == 0 {
			return nil
		}
		return m
	case reflect.Map:
		if v.Len() == 0 {
			return nil
		}
		keys := v.MapKeys()
		slices.SortFunc(keys, func(a, b reflect.Value) int { return cmp.Compare(a.String(), b.String()) })
		m := &yaml.Node{Kind: yaml.MappingNode, Tag: "!!map"}
		for _, k := range keys {
			val := encodeValue(v.MapIndex(k))
			if val == nil {
				val = stringNode("")
			}
			appendEntry(m, k.String(), val)
		}
		return m
	case reflect.Slice:
		if v.Len() == 0 {
			return nil
		}
		s := &yaml.Node{Kind: yaml.SequenceNode, Tag: "!!seq"}
		for i := range v.Len() {
			item := encodeValue(v.Index(i))
			if item == nil {
				item = stringNode("")
			}
			s.Content = append(s.Content, item)
		}
		return s
	case reflect.String:
		if v.Len() == 0 {
			return nil
		}
		return stringNode(v.String())
	case reflect.Bool:
		if !v.Bool() {
			return nil
		}
		return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!bool", Value: "true"}
	case reflect.Int, reflect.Int32, reflect.Int64:
		if v.Int() == 0 {
			return nil
		}
		return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!int", Value: strconv.FormatInt(v.Int(), 10)}
	}
	return nil
}
