package commit

import (
	"fmt"

	"github.com/envwick/envwick/envs"
)

// The functions below are the only places the Committer reads, writes and
// checks environment files: all through package envs, so bots write exactly
// the canonical form and refuse exactly what the reconciler would refuse.

func parse(path string, data []byte) (*envs.Environment, error) { return envs.Parse(path, data) }

// validate checks e as it will be written: a bot always writes the current
// apiVersion and kind.
func validate(e *envs.Environment) envs.Problems {
	e.APIVersion, e.Kind = envs.APIVersion, envs.Kind
	return envs.Validate(e)
}

// marshal writes a new file in the canonical form.
func marshal(e *envs.Environment) ([]byte, error) { return envs.Marshal(e) }

// edit rewrites an existing file, keeping what people wrote (comments,
// layout) wherever the content is unchanged.
func edit(original []byte, e *envs.Environment) ([]byte, error) { return envs.Edit(original, e) }

// validName checks an environment name before anything is read: it becomes
// a file name and a DNS label.
func validName(name string) envs.Problems {
	if !envs.ValidName(name) {
		return envs.Problems{{Field: "metadata.name", Message: fmt.Sprintf("%q is not a DNS label: use at most 63 lowercase letters, digits and '-', starting and ending with a letter or digit", name)}}
	}
	return nil
}
