package commit

import (
	"fmt"
	"regexp"

	"sigs.k8s.io/yaml"

	"github.com/envwick/envwick/envs"
)

// The functions below are the only places the Committer reads, writes and
// checks environment files.
// TODO: switch to envs.Parse, envs.Validate, envs.Marshal and envs.Edit as
// soon as package envs provides them.

func parse(path string, data []byte) (*envs.Environment, error) {
	var e envs.Environment
	if err := yaml.UnmarshalStrict(data, &e); err != nil {
		return nil, envs.Problems{{File: path, Message: err.Error()}}
	}
	return &e, nil
}

func validate(e *envs.Environment) envs.Problems {
	ps := validName(e.Name)
	if e.Spec.Owner.GitHub == "" && e.Spec.Owner.Mattermost == "" {
		ps = append(ps, envs.Problem{Field: "spec.owner", Message: "set github or mattermost"})
	}
	if s := e.Spec.Installation.Size; s != "" && !envs.ValidSize(s) {
		ps = append(ps, envs.Problem{Field: "spec.installation.size", Message: fmt.Sprintf("unknown size %q", s)})
	}
	return ps
}

func marshal(e *envs.Environment) ([]byte, error) {
	out := e.DeepCopy()
	out.APIVersion, out.Kind = envs.APIVersion, envs.Kind
	out.Status = envs.EnvironmentStatus{}
	return yaml.Marshal(out)
}

func edit(_ []byte, e *envs.Environment) ([]byte, error) { return marshal(e) }

var dnsLabel = regexp.MustCompile(`^[a-z0-9]([-a-z0-9]*[a-z0-9])?$`)

// validName checks an environment name before anything is read: it becomes
// a file name and a DNS label.
func validName(name string) envs.Problems {
	if len(name) > 63 || !dnsLabel.MatchString(name) {
		return envs.Problems{{Field: "metadata.name", Message: fmt.Sprintf("%q is not a DNS label: use at most 63 lowercase letters, digits and '-', starting and ending with a letter or digit", name)}}
	}
	return nil
}
