package envs

import (
	"errors"
	"fmt"
	"io/fs"
	"path"
	"sort"
)

// ReadDir reads every environment file of an envs repository work tree
// (fsys rooted at the repository root; environments/**/<name>.yaml), parses
// each and applies CheckUnique. Files that do not parse are returned with
// their problems, never dropped, so one broken file does not hide the
// others. A tree without an environments folder holds no environments.
// Documents are sorted by path.
func ReadDir(fsys fs.FS) ([]Document, error) {
	var docs []Document
	err := fs.WalkDir(fsys, Dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			if p == Dir && errors.Is(err, fs.ErrNotExist) {
				return fs.SkipAll
			}
			return err
		}
		if d.IsDir() {
			if p != Dir && path.Base(p)[0] == '.' {
				return fs.SkipDir
			}
			return nil
		}
		if !IsEnvironmentPath(p) {
			return nil
		}
		if !d.Type().IsRegular() {
			// Reported rather than skipped: a skipped file would look like a
			// removed environment.
			name, _ := NameFromPath(p)
			docs = append(docs, Document{Path: p, Name: name, Err: Problems{{File: p,
				Message: "is not a regular file (a link or a special file); environment files are plain files"}}})
			return nil
		}
		data, err := fs.ReadFile(fsys, p)
		if err != nil {
			return fmt.Errorf("reading %s: %w", p, err)
		}
		docs = append(docs, ParseDocument(p, data))
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("reading environments: %w", err)
	}
	sort.Slice(docs, func(i, j int) bool { return docs[i].Path < docs[j].Path })
	return CheckUnique(docs), nil
}
