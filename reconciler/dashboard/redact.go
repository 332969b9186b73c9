package dashboard

import (
	"bytes"
	"regexp"

	yaml "go.yaml.in/yaml/v3"
)

// Redacted replaces a secret value wherever the dashboard shows a file.
const Redacted = "<redacted>"

// secretName matches the environment variable names whose values are
// never shown: passwords, secrets, tokens, keys, credentials, licenses,
// database connection strings and salts.
var secretName = regexp.MustCompile(`(?i)(PASSW(OR)?D|SECRET|TOKEN|KEY|CREDENTIAL|LICENSE|DATASOURCE|DSN|SALT|PRIVATE|AUTH|COOKIE|SESSION)`)

// secretLine is a "NAME: value" line whose name is a secret's, for files
// that do not parse as YAML.
var secretLine = regexp.MustCompile(`(?im)^(\s*-?\s*["']?[A-Za-z0-9_.-]*(?:PASSW(?:OR)?D|SECRET|TOKEN|KEY|CREDENTIAL|LICENSE|DATASOURCE|DSN|SALT|PRIVATE|AUTH|COOKIE|SESSION)[A-Za-z0-9_.-]*["']?\s*[:=]).*$`)

// redactYAML returns an environment file as it is in git, with the value
// of every secret-looking entry of spec.installation.env replaced, and
// whether anything was replaced. A file without such values is returned
// byte for byte; one with them is re-encoded (comments kept). A file that
// is not YAML is redacted line by line.
func redactYAML(data []byte) ([]byte, bool) {
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		out := secretLine.ReplaceAll(data, []byte("$1 "+Redacted))
		return out, !bytes.Equal(out, data)
	}
	changed := false
	env := lookup(&doc, "spec", "installation", "env")
	if env != nil && env.Kind == yaml.MappingNode {
		for i := 0; i+1 < len(env.Content); i += 2 {
			k, v := env.Content[i], env.Content[i+1]
			if secretName.MatchString(k.Value) && !(v.Kind == yaml.ScalarNode && v.Value == "") {
				*v = yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: Redacted, LineComment: v.LineComment}
				changed = true
			}
		}
	}
	if !changed {
		return data, false
	}
	var buf bytes.Buffer
	enc := yaml.NewEncoder(&buf)
	enc.SetIndent(2)
	if err := enc.Encode(&doc); err != nil {
		return secretLine.ReplaceAll(data, []byte("$1 "+Redacted)), true
	}
	return buf.Bytes(), true
}

// lookup follows mapping keys from a document node.
func lookup(n *yaml.Node, keys ...string) *yaml.Node {
	if n.Kind == yaml.DocumentNode && len(n.Content) > 0 {
		n = n.Content[0]
	}
	for _, k := range keys {
		if n.Kind != yaml.MappingNode {
			return nil
		}
		var next *yaml.Node
		for i := 0; i+1 < len(n.Content); i += 2 {
			if n.Content[i].Value == k {
				next = n.Content[i+1]
			}
		}
		if next == nil {
			return nil
		}
		n = next
	}
	return n
}
