package commit

import (
	"encoding/json"
	"fmt"

	"sigs.k8s.io/yaml"

	"github.com/envwick/envwick/envs"
)

// The functions below are the only places the Committer reads, writes and
// checks environment files.
// TODO: switch marshal and edit to envs.Marshal and envs.Edit as soon as
// package envs provides them.

func parse(path string, data []byte) (*envs.Environment, error) { return envs.Parse(path, data) }

// validate checks e as it will be written: a bot always writes the current
// apiVersion and kind.
func validate(e *envs.Environment) envs.Problems {
	e.APIVersion, e.Kind = envs.APIVersion, envs.Kind
	return envs.Validate(e)
}

func marshal(e *envs.Environment) ([]byte, error) {
	out := e.DeepCopy()
	out.APIVersion, out.Kind = envs.APIVersion, envs.Kind
	data, err := json.Marshal(out)
	if err != nil {
		return nil, err
	}
	var doc map[string]any
	if err := json.Unmarshal(data, &doc); err != nil {
		return nil, err
	}
	delete(doc, "status")
	if md, ok := doc["metadata"].(map[string]any); ok {
		delete(md, "creationTimestamp")
	}
	return yaml.Marshal(doc)
}

func edit(_ []byte, e *envs.Environment) ([]byte, error) { return marshal(e) }

// validName checks an environment name before anything is read: it becomes
// a file name and a DNS label.
func validName(name string) envs.Problems {
	if !envs.ValidName(name) {
		return envs.Problems{{Field: "metadata.name", Message: fmt.Sprintf("%q is not a DNS label: use at most 63 lowercase letters, digits and '-', starting and ending with a letter or digit", name)}}
	}
	return nil
}
