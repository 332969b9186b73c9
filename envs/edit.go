package envs

import (
	"bytes"
	"cmp"
	"errors"
	"fmt"
	"io"
	"reflect"
	"slices"
	"strings"
	"unicode/utf8"

	yaml "go.yaml.in/yaml/v3"
)

// Edit writes the canonical content of e onto original, a file people may
// have written by hand, changing only what differs: a changed value is
// rewritten in place (keeping its quoting and the comment after it), a new
// field is inserted after its predecessor, a removed field's lines are
// deleted, and every other byte — comments, blank lines, key order,
// indentation — is left as it was. Values that mean the same thing are not
// rewritten ("1w" stays "1w" when the new value is seven days).
//
// When original cannot be edited in place (not YAML, not one block mapping,
// or an edit that would not read back as e), Edit returns Marshal(e).
func Edit(original []byte, e *Environment) ([]byte, error) {
	if e == nil {
		return nil, errors.New("editing environment: nil")
	}
	e = withTypeMeta(e)
	out, err := safeEditInPlace(original, e)
	if err != nil {
		return Marshal(e)
	}
	return out, nil
}

// safeEditInPlace turns a panic on a strange file into a fallback: a bot
// must never crash on what someone wrote, and the canonical form is always
// a correct answer.
func safeEditInPlace(original []byte, e *Environment) (out []byte, err error) {
	defer func() {
		if r := recover(); r != nil {
			out, err = nil, fmt.Errorf("%w: %v", errNoInPlace, r)
		}
	}()
	return editInPlace(original, e)
}

// errNoInPlace means the file cannot be edited in place; Edit rewrites it.
var errNoInPlace = errors.New("file cannot be edited in place")

func editInPlace(original []byte, e *Environment) ([]byte, error) {
	if bytes.ContainsRune(original, '\r') || bytes.ContainsRune(original, '\t') {
		return nil, errNoInPlace // column arithmetic below assumes LF and spaces
	}
	doc, err := singleDocument(original)
	if err != nil {
		return nil, err
	}
	root := documentRoot(doc)
	if root == nil || root.Kind != yaml.MappingNode || root.Style&yaml.FlowStyle != 0 || len(root.Content) == 0 {
		return nil, errNoInPlace
	}
	src := original
	if !bytes.HasSuffix(src, []byte("\n")) {
		src = append(slices.Clip(src), '\n')
	}
	// What the file says now, read leniently so that a file with problems
	// can still be edited; comparing canonical forms makes "1w" equal "7d".
	old := &Environment{}
	newDecoder("").decode(root, reflect.ValueOf(old).Elem(), nil)
	ed := newEditor(src, root)
	ed.mapping(root, canonicalNode(old), canonicalNode(e), envType)
	if ed.err != nil {
		return nil, ed.err
	}
	out := ed.apply()
	// The edit must read back as exactly e; anything else is a bug in the
	// editor on an unusual file, and a full rewrite is the safe answer.
	check, err := singleDocument(out)
	if err != nil {
		return nil, fmt.Errorf("edited file does not parse: %w", err)
	}
	got := &Environment{}
	d := newDecoder("")
	d.decode(documentRoot(check), reflect.ValueOf(got).Elem(), nil)
	if len(d.problems) > 0 || !nodesEqual(canonicalNode(got), canonicalNode(e)) {
		return nil, errNoInPlace
	}
	return out, nil
}

type textEdit struct {
	start, end int
	text       string
}

type editor struct {
	src       []byte
	lineStart []int // byte offset of each line; one extra entry for EOF
	unit      int   // the file's indentation step
	edits     []textEdit
	err       error
}

func newEditor(src []byte, root *yaml.Node) *editor {
	ed := &editor{src: src, lineStart: []int{0}, unit: 2}
	for i, b := range src {
		if b == '\n' {
			ed.lineStart = append(ed.lineStart, i+1)
		}
	}
	ed.unit = indentUnit(root)
	return ed
}

// indentUnit finds the file's indentation step from its first nested block
// mapping, so inserted lines look like their neighbours.
func indentUnit(root *yaml.Node) int {
	for i := 0; i+1 < len(root.Content); i += 2 {
		k, v := root.Content[i], root.Content[i+1]
		if v.Kind == yaml.MappingNode && v.Style&yaml.FlowStyle == 0 && len(v.Content) > 0 {
			if step := v.Content[0].Column - k.Column; step >= 1 && step <= 8 {
				return step
			}
		}
	}
	return 2
}

func (ed *editor) fail() {
	if ed.err == nil {
		ed.err = errNoInPlace
	}
}

// lines returns the number of lines of the source.
func (ed *editor) lines() int { return len(ed.lineStart) - 1 }

func (ed *editor) line(l int) string {
	return string(ed.src[ed.lineStart[l-1] : ed.lineStart[l]-1])
}

// offset converts a yaml.v3 position (1-based line, 1-based column in
// characters) to a byte offset.
func (ed *editor) offset(line, col int) int {
	off := ed.lineStart[line-1]
	for c := 1; c < col && off < len(ed.src) && ed.src[off] != '\n'; c++ {
		_, size := utf8.DecodeRune(ed.src[off:])
		off += size
	}
	return off
}

func (ed *editor) replace(start, end int, text string) {
	ed.edits = append(ed.edits, textEdit{start: start, end: end, text: text})
}

// apply returns the source with every edit made. Edits never overlap: each
// touches a different entry of the document.
func (ed *editor) apply() []byte {
	edits := slices.Clone(ed.edits)
	// Insertions go before a replacement that starts at the same offset.
	slices.SortStableFunc(edits, func(a, b textEdit) int {
		return cmp.Or(cmp.Compare(a.start, b.start), cmp.Compare(a.end-a.start, b.end-b.start))
	})
	var out bytes.Buffer
	at := 0
	for _, e := range edits {
		if e.start < at {
			continue // an overlap would be a bug; the read-back check catches it
		}
		out.Write(ed.src[at:e.start])
		out.WriteString(e.text)
		at = e.end
	}
	out.Write(ed.src[at:])
	return out.Bytes()
}

// entryEnd returns the last line of the entry whose key is k: the key's
// line and every following line indented deeper (and, for block sequences
// written at the key's own indentation, its "- " items). Trailing blank and
// comment lines belong to whatever follows.
func (ed *editor) entryEnd(k, v *yaml.Node) int {
	indent := k.Column - 1
	last := k.Line
	for l := k.Line + 1; l <= ed.lines(); l++ {
		text := ed.line(l)
		trimmed := strings.TrimLeft(text, " ")
		if trimmed == "" || strings.HasPrefix(trimmed, "#") {
			continue
		}
		in := len(text) - len(trimmed)
		if in > indent || (in == indent && v.Kind == yaml.SequenceNode && v.Style&yaml.FlowStyle == 0 &&
			(trimmed == "-" || strings.HasPrefix(trimmed, "- "))) {
			last = l
			continue
		}
		break
	}
	if v.Kind == yaml.ScalarNode && v.Line > last {
		last = v.Line
	}
	return min(last, ed.lines())
}

// lineRange is the byte range of lines from..to inclusive.
func (ed *editor) lineRange(from, to int) (int, int) {
	return ed.lineStart[from-1], ed.lineStart[to]
}

// render writes key: value as block YAML indented by indent spaces.
func (ed *editor) render(indent int, key string, val *yaml.Node) string {
	m := &yaml.Node{Kind: yaml.MappingNode, Tag: "!!map"}
	appendEntry(m, key, val)
	var buf bytes.Buffer
	enc := yaml.NewEncoder(&buf)
	enc.SetIndent(ed.unit)
	if err := enc.Encode(m); err != nil {
		ed.fail()
		return ""
	}
	_ = enc.Close()
	pad := strings.Repeat(" ", indent)
	var out strings.Builder
	for _, l := range strings.SplitAfter(buf.String(), "\n") {
		if l != "" {
			out.WriteString(pad + l)
		}
	}
	return out.String()
}

// inline writes a value on one line, or reports that it needs more.
func inline(val *yaml.Node) (string, bool) {
	var buf bytes.Buffer
	enc := yaml.NewEncoder(&buf)
	if err := enc.Encode(val); err != nil {
		return "", false
	}
	_ = enc.Close()
	s := strings.TrimSuffix(buf.String(), "\n")
	if s == "" || strings.Contains(s, "\n") {
		return "", false
	}
	return s, true
}

// mapping makes the block mapping orig (as written) say newC instead of
// oldC (orig's canonical reading). t is the Go type the mapping decodes to.
func (ed *editor) mapping(orig, oldC, newC *yaml.Node, t reflect.Type) {
	present := make(map[string]bool, len(newC.Content)/2)
	insertAt := -1 // byte offset after the last kept entry, in newC order
	for i := 0; i+1 < len(newC.Content); i += 2 {
		key, newV := newC.Content[i].Value, newC.Content[i+1]
		present[key] = true
		j := entryIndex(orig, key)
		if j < 0 {
			ed.insert(orig, insertAt, key, newV)
			continue
		}
		k, v := orig.Content[j], orig.Content[j+1]
		_, insertAt = ed.lineRange(k.Line, ed.entryEnd(k, v))
		oldV := lookup(oldC, key)
		if oldV != nil && nodesEqual(oldV, newV) {
			continue
		}
		ed.value(k, v, oldV, newV, childType(t, key))
	}
	for j := 0; j+1 < len(orig.Content); j += 2 {
		k, v := orig.Content[j], orig.Content[j+1]
		if present[k.Value] {
			continue
		}
		if isNull(v) && lookup(oldC, k.Value) == nil && knownField(t, k.Value) {
			continue // "lifecycle:" with nothing under it says nothing; leave it
		}
		start, end := ed.lineRange(k.Line, ed.entryEnd(k, v))
		ed.replace(start, end, "")
	}
}

// insert adds key: val to orig after byte offset at, or before its first
// entry (and that entry's comments) when at is -1.
func (ed *editor) insert(orig *yaml.Node, at int, key string, val *yaml.Node) {
	first := orig.Content[0]
	if at < 0 {
		l := first.Line
		for l > 1 {
			prev := strings.TrimLeft(ed.line(l-1), " ")
			if !strings.HasPrefix(prev, "#") || strings.HasPrefix(prev, "# yaml-language-server:") {
				break
			}
			l--
		}
		at = ed.lineStart[l-1]
	}
	ed.replace(at, at, ed.render(first.Column-1, key, val))
}

// value makes the value v of key k (as written) say newV.
func (ed *editor) value(k, v, oldV, newV *yaml.Node, t reflect.Type) {
	block := v.Style&yaml.FlowStyle == 0
	switch {
	case v.Kind == yaml.AliasNode || v.Anchor != "":
		// Shared by reference; rewriting it here would change the other uses.
	case newV.Kind == yaml.ScalarNode && v.Kind == yaml.ScalarNode && !isNull(v):
		if ed.scalar(v, newV) {
			return
		}
	case newV.Kind == yaml.MappingNode && v.Kind == yaml.MappingNode && block && len(v.Content) > 0:
		ed.mapping(v, orEmpty(oldV, yaml.MappingNode), newV, t)
		return
	case newV.Kind == yaml.SequenceNode && v.Kind == yaml.SequenceNode && block && len(v.Content) > 0:
		if ed.sequence(v, orEmpty(oldV, yaml.SequenceNode), newV) {
			return
		}
	case newV.Kind == v.Kind && !block:
		if ed.flow(v, newV) {
			return
		}
	}
	start, end := ed.lineRange(k.Line, ed.entryEnd(k, v))
	ed.replace(start, end, ed.render(k.Column-1, k.Value, newV))
}

// scalar rewrites one scalar in place, keeping its quoting and anything
// after it on the line. It reports false when the scalar spans lines.
func (ed *editor) scalar(v, newV *yaml.Node) bool {
	start := ed.offset(v.Line, v.Column)
	end, ok := ed.scalarEnd(start, v)
	if !ok {
		return false
	}
	n := *newV
	if n.Tag == "!!str" && v.Style&(yaml.DoubleQuotedStyle|yaml.SingleQuotedStyle) != 0 {
		n.Style = v.Style & (yaml.DoubleQuotedStyle | yaml.SingleQuotedStyle)
	}
	text, ok := inline(&n)
	if !ok {
		return false
	}
	ed.replace(start, end, text)
	return true
}

// scalarEnd finds where the single-line scalar v starting at start ends.
func (ed *editor) scalarEnd(start int, v *yaml.Node) (int, bool) {
	src := ed.src
	if start >= len(src) {
		return 0, false
	}
	switch {
	case v.Style&yaml.DoubleQuotedStyle != 0:
		for i := start + 1; i < len(src) && src[i] != '\n'; i++ {
			switch src[i] {
			case '\\':
				i++
			case '"':
				return i + 1, true
			}
		}
	case v.Style&yaml.SingleQuotedStyle != 0:
		for i := start + 1; i < len(src) && src[i] != '\n'; i++ {
			if src[i] == '\'' {
				if i+1 < len(src) && src[i+1] == '\'' {
					i++
					continue
				}
				return i + 1, true
			}
		}
	case v.Style&(yaml.LiteralStyle|yaml.FoldedStyle|yaml.TaggedStyle) == 0:
		// Block context only: flow collections are rewritten whole (flow).
		end := start
		for end < len(src) && src[end] != '\n' && !(src[end] == '#' && end > start && src[end-1] == ' ') {
			end++
		}
		for end > start && src[end-1] == ' ' {
			end--
		}
		// A plain scalar folded over several lines reads differently.
		return end, string(src[start:end]) == v.Value
	}
	return 0, false
}

// sequence edits a block list of scalars item by item.
func (ed *editor) sequence(v, oldV, newV *yaml.Node) bool {
	for _, item := range v.Content {
		if item.Kind != yaml.ScalarNode || item.Line == v.Content[0].Line && item != v.Content[0] {
			return false
		}
	}
	for _, item := range newV.Content {
		if item.Kind != yaml.ScalarNode {
			return false
		}
	}
	n := min(len(v.Content), len(newV.Content))
	for i := range n {
		if i < len(oldV.Content) && nodesEqual(oldV.Content[i], newV.Content[i]) {
			continue
		}
		if !ed.scalar(v.Content[i], newV.Content[i]) {
			return false
		}
	}
	for _, item := range v.Content[n:] {
		start, end := ed.lineRange(item.Line, item.Line)
		ed.replace(start, end, "")
	}
	if len(newV.Content) > n {
		last := v.Content[len(v.Content)-1]
		prefix := ed.line(last.Line)[:ed.offset(last.Line, last.Column)-ed.lineStart[last.Line-1]]
		if strings.TrimSpace(prefix) != "-" {
			return false
		}
		var text strings.Builder
		for _, item := range newV.Content[n:] {
			s, ok := inline(item)
			if !ok {
				return false
			}
			text.WriteString(prefix + s + "\n")
		}
		_, at := ed.lineRange(last.Line, last.Line)
		ed.replace(at, at, text.String())
	}
	return true
}

// flow rewrites a flow collection ([a, b] or {k: v}) as a flow collection.
func (ed *editor) flow(v, newV *yaml.Node) bool {
	start := ed.offset(v.Line, v.Column)
	end, ok := flowEnd(ed.src, start)
	if !ok {
		return false
	}
	n := *newV
	n.Style = yaml.FlowStyle
	text, ok := inline(&n)
	if !ok {
		return false
	}
	ed.replace(start, end, text)
	return true
}

// flowEnd finds the bracket closing the flow collection opened at start.
func flowEnd(src []byte, start int) (int, bool) {
	if start >= len(src) || (src[start] != '[' && src[start] != '{') {
		return 0, false
	}
	depth := 0
	for i := start; i < len(src); i++ {
		switch src[i] {
		case '[', '{':
			depth++
		case ']', '}':
			depth--
			if depth == 0 {
				return i + 1, true
			}
		case '"', '\'':
			q := src[i]
			for i++; i < len(src) && src[i] != q; i++ {
				if q == '"' && src[i] == '\\' {
					i++
				}
			}
		case '#':
			return 0, false
		}
	}
	return 0, false
}

func entryIndex(m *yaml.Node, key string) int {
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Value == key {
			return i
		}
	}
	return -1
}

func lookup(m *yaml.Node, key string) *yaml.Node {
	if m == nil {
		return nil
	}
	if i := entryIndex(m, key); i >= 0 {
		return m.Content[i+1]
	}
	return nil
}

func orEmpty(n *yaml.Node, kind yaml.Kind) *yaml.Node {
	if n == nil || n.Kind != kind {
		return &yaml.Node{Kind: kind}
	}
	return n
}

// nodesEqual compares canonical nodes by content.
func nodesEqual(a, b *yaml.Node) bool {
	if a.Kind != b.Kind || a.Value != b.Value || a.ShortTag() != b.ShortTag() || len(a.Content) != len(b.Content) {
		return false
	}
	for i := range a.Content {
		if !nodesEqual(a.Content[i], b.Content[i]) {
			return false
		}
	}
	return true
}

// childType is the Go type of field key of t, or nil when unknown.
func childType(t reflect.Type, key string) reflect.Type {
	if t == nil {
		return nil
	}
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch t.Kind() {
	case reflect.Struct:
		if t == envType && key == "metadata" {
			return objectMetaType
		}
		for _, f := range allowedFields(t) {
			if f.name == key {
				return t.FieldByIndex(f.index).Type
			}
		}
	case reflect.Map:
		return t.Elem()
	}
	return nil
}

func knownField(t reflect.Type, key string) bool {
	if t == nil {
		return false
	}
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	return t.Kind() == reflect.Struct && childType(t, key) != nil
}

// singleDocument reads data as exactly one YAML document.
func singleDocument(data []byte) (*yaml.Node, error) {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var doc, extra yaml.Node
	if err := dec.Decode(&doc); err != nil {
		return nil, err
	}
	if err := dec.Decode(&extra); !errors.Is(err, io.EOF) {
		return nil, errNoInPlace
	}
	return &doc, nil
}
