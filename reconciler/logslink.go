package reconciler

import (
	"net/url"
	"strings"
)

// InstallationID is the ID of the environment's installation, if known.
func (t Transition) InstallationID() string {
	if t.Environment == nil || t.Environment.Status.Installation == nil {
		return ""
	}
	return t.Environment.Status.Installation.ID
}

// LogsLink fills a logs URL template: {id} is the installation ID, {name}
// the environment. It is "" without a template or an installation.
func (t Transition) LogsLink(template string) string {
	id := t.InstallationID()
	if template == "" || id == "" {
		return ""
	}
	return strings.NewReplacer("{id}", url.PathEscape(id), "{name}", url.PathEscape(t.Name)).Replace(template)
}
