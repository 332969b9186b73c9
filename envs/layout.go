package envs

import (
	"path"
	"strings"
)

// Dir is the folder of the envs repository that holds environment files.
const Dir = "environments"

// Ext is the file extension bots write. ".yml" is read too, so that a file
// someone renamed is still attributed to its environment (and caught as a
// duplicate if both spellings exist) rather than mistaken for a deletion.
const Ext = ".yaml"

// extensions are the file extensions read as environment files.
var extensions = []string{".yaml", ".yml"}

// PathFor is where bots write the environment called name:
// environments/<name>.yaml.
func PathFor(name string) string { return Dir + "/" + name + Ext }

// IsEnvironmentPath reports whether a slash-separated path relative to the
// root of an envs repository is an environment file:
// environments/**/<name>.yaml (or .yml). Hidden files and folders are not.
func IsEnvironmentPath(p string) bool {
	_, ok := NameFromPath(p)
	return ok
}

// NameFromPath returns the environment name a path stands for (the file name
// without its extension) and whether the path is an environment file at all.
// The name is returned even when it is not a valid name, so that a broken
// file is still attributed to an environment; Parse reports the problem.
func NameFromPath(p string) (string, bool) {
	rest, ok := strings.CutPrefix(p, Dir+"/")
	if !ok || rest == "" {
		return "", false
	}
	for _, part := range strings.Split(rest, "/") {
		if part == "" || strings.HasPrefix(part, ".") {
			return "", false
		}
	}
	return stem(p)
}

// stem returns the base name of p without a recognised YAML extension.
func stem(p string) (string, bool) {
	base := path.Base(p)
	for _, ext := range extensions {
		if name, ok := strings.CutSuffix(base, ext); ok && name != "" {
			return name, true
		}
	}
	return "", false
}
