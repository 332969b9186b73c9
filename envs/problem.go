package envs

import (
	"cmp"
	"fmt"
	"slices"
	"strconv"
	"strings"
)

// Problem is one thing wrong with an environment file, said so that a person
// can fix it: where, which field, what was found and what is valid.
type Problem struct {
	// File is the path the document was read from; empty for Validate.
	File string `json:"file,omitempty"`
	// Line and Column are 1-based; zero when unknown (Validate has no
	// positions).
	Line   int `json:"line,omitempty"`
	Column int `json:"column,omitempty"`
	// Field is the path of the offending field, such as
	// "spec.installation.size" or "spec.installation.annotations[1]"; empty
	// for problems with the whole document.
	Field string `json:"field,omitempty"`
	// Message says what is wrong and what is valid. It does not repeat Field.
	Message string `json:"message"`
}

// Error prints "file:line:column: field: message", leaving out what is
// unknown.
func (p Problem) Error() string {
	var b strings.Builder
	var pos []string
	if p.File != "" {
		pos = append(pos, p.File)
	}
	if p.Line > 0 {
		pos = append(pos, strconv.Itoa(p.Line))
		if p.Column > 0 {
			pos = append(pos, strconv.Itoa(p.Column))
		}
	}
	if len(pos) > 0 {
		b.WriteString(strings.Join(pos, ":") + ": ")
	}
	if p.Field != "" {
		b.WriteString(p.Field + ": ")
	}
	b.WriteString(p.Message)
	return b.String()
}

// Problems is every problem found in one or more files. It is the error
// Parse returns, so callers can list them all, not just the first.
type Problems []Problem

// Error prints one problem per line.
func (ps Problems) Error() string {
	lines := make([]string, len(ps))
	for i, p := range ps {
		lines[i] = p.Error()
	}
	return strings.Join(lines, "\n")
}

// Err returns ps as an error, or nil when there are none, so that a nil
// Problems never becomes a non-nil error interface.
func (ps Problems) Err() error {
	if len(ps) == 0 {
		return nil
	}
	return ps
}

// sortProblems orders problems by file and position, keeping the order they
// were found in for equal positions.
func sortProblems(ps Problems) {
	slices.SortStableFunc(ps, func(a, b Problem) int {
		return cmp.Or(cmp.Compare(a.File, b.File), cmp.Compare(a.Line, b.Line), cmp.Compare(a.Column, b.Column))
	})
}

// segment is one step of a field path: a mapping key or a sequence index.
type segment struct {
	key   string
	index int
	isIdx bool
}

// fieldPath is the path of a field from the document root.
type fieldPath []segment

func (p fieldPath) key(k string) fieldPath {
	return append(slices.Clip(p), segment{key: k})
}

func (p fieldPath) idx(i int) fieldPath {
	return append(slices.Clip(p), segment{index: i, isIdx: true})
}

// String writes the path the way people write it: dots between keys,
// [i] for indexes, ["k"] for keys that are not plain words.
func (p fieldPath) String() string {
	var b strings.Builder
	for i, s := range p {
		switch {
		case s.isIdx:
			fmt.Fprintf(&b, "[%d]", s.index)
		case plainKey(s.key):
			if i > 0 {
				b.WriteByte('.')
			}
			b.WriteString(s.key)
		default:
			fmt.Fprintf(&b, "[%q]", s.key)
		}
	}
	return b.String()
}

func plainKey(k string) bool {
	if k == "" {
		return false
	}
	for _, r := range k {
		if !(r == '_' || r == '-' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9') {
			return false
		}
	}
	return true
}

// finding is a problem before it has a file and a position.
type finding struct {
	path fieldPath
	// atKey points the position at the mapping key rather than its value,
	// for problems with the key itself (unknown field, bad env var name).
	atKey bool
	msg   string
}

type findings []finding

func (fs *findings) add(p fieldPath, format string, args ...any) {
	*fs = append(*fs, finding{path: p, msg: fmt.Sprintf(format, args...)})
}

func (fs *findings) addKey(p fieldPath, format string, args ...any) {
	*fs = append(*fs, finding{path: p, atKey: true, msg: fmt.Sprintf(format, args...)})
}

// problems turns findings into Problems without positions.
func (fs findings) problems() Problems {
	if len(fs) == 0 {
		return nil
	}
	ps := make(Problems, len(fs))
	for i, f := range fs {
		ps[i] = Problem{Field: f.path.String(), Message: f.msg}
	}
	return ps
}
