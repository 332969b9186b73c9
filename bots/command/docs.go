package command

import (
	"fmt"
	"os"
	"strings"
)

// The markers around the generated part of a document.
const (
	docBegin = "<!-- begin generated: %s commands; edit the registry, then make docs -->"
	docEnd   = "<!-- end generated: %s commands -->"
)

// Doc is the generated part of the docs: the command table, then the flag
// table when any command has flags.
func (r *Registry[R]) Doc() string {
	doc := r.CommandTable()
	for _, s := range r.specs {
		if len(s.Flags) > 0 {
			return doc + "\nFlags:\n\n" + r.FlagTable()
		}
	}
	return doc
}

// SpliceDoc returns doc with the part between the registry's markers
// replaced by Doc. The markers must be there, once each and in order, so
// a document cannot silently lose its tables.
func (r *Registry[R]) SpliceDoc(doc string) (string, error) {
	begin, end := fmt.Sprintf(docBegin, r.docName()), fmt.Sprintf(docEnd, r.docName())
	if strings.Count(doc, begin) != 1 || strings.Count(doc, end) != 1 {
		return "", fmt.Errorf("want one %q and one %q", begin, end)
	}
	i := strings.Index(doc, begin) + len(begin)
	j := strings.Index(doc, end)
	if j < i {
		return "", fmt.Errorf("%q comes before %q", end, begin)
	}
	return doc[:i] + "\n" + r.Doc() + doc[j:], nil
}

// SyncDoc compares the generated part of the document at path with the
// registry and reports whether it is stale; with rewrite it writes the
// document back up to date. The docs tests call it (make docs rewrites).
func (r *Registry[R]) SyncDoc(path string, rewrite bool) (stale bool, err error) {
	old, err := os.ReadFile(path)
	if err != nil {
		return false, fmt.Errorf("reading %s: %w", path, err)
	}
	doc, err := r.SpliceDoc(string(old))
	if err != nil {
		return false, fmt.Errorf("%s: %w", path, err)
	}
	if doc == string(old) {
		return false, nil
	}
	if rewrite {
		if err := os.WriteFile(path, []byte(doc), 0o644); err != nil {
			return true, fmt.Errorf("rewriting %s: %w", path, err)
		}
	}
	return true, nil
}
