package mattermost

import (
	"context"
	"fmt"
	"sort"
	"strings"

	"github.com/fluxcd/pkg/apis/meta"
	apimeta "k8s.io/apimachinery/pkg/api/meta"

	"github.com/envwick/envwick/bots/command"
	"github.com/envwick/envwick/envs"
)

func infoCommand() cloudSpec {
	return cloudSpec{Name: "info", Summary: "show an environment: installation, URL, deadlines, last error", Permission: command.Anyone,
		Args: []command.Arg{nameArg("the environment")}, Run: (*action).info}
}

func (a *action) info(context.Context) (string, error) {
	if a.env == nil {
		return "", noSuch(a.name)
	}
	return a.describe(a.env), nil
}

// describe is the reply to info.
func (a *action) describe(e *envs.Environment) string {
	st, _ := a.status(e.Name)
	in := e.Spec.Installation
	var s strings.Builder
	fmt.Fprintf(&s, "**%s** (owner %s): %s\n", e.Name, ownerName(e), stateOf(e, st))
	if st.Installation != nil && st.Installation.URL != "" {
		fmt.Fprintf(&s, "- URL: %s\n", st.Installation.URL)
	}
	if ready := apimeta.FindStatusCondition(st.Conditions, meta.ReadyCondition); ready != nil &&
		(ready.Reason == envs.ReasonWaitingForImage || ready.Reason == envs.ReasonImageNotFound) {
		fmt.Fprintf(&s, "- %s: %s\n", ready.Reason, ready.Message)
	}
	if st.Image != nil && st.Image.Digest != "" {
		fmt.Fprintf(&s, "- Image digest: %s\n", st.Image.Digest)
	}
	for _, kv := range [][2]string{
		{"Version", in.Version}, {"Image", in.Image}, {"Size", in.Size}, {"License", in.License},
		{"Affinity", in.Affinity}, {"Database", in.Database}, {"Filestore", in.Filestore},
	} {
		if kv[1] != "" {
			fmt.Fprintf(&s, "- %s: %s\n", kv[0], kv[1])
		}
	}
	if in.TestData {
		s.WriteString("- Test data: yes\n")
	}
	if len(in.Env) > 0 {
		keys := make([]string, 0, len(in.Env))
		for k := range in.Env {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		fmt.Fprintf(&s, "- Environment variables: %s\n", strings.Join(keys, ", "))
	}
	if e.Spec.Lifecycle.Keep {
		s.WriteString("- Kept: protected from housekeeping\n")
	}
	if st.HibernateAt != nil {
		fmt.Fprintf(&s, "- Hibernates after inactivity at: %s\n", day(st.HibernateAt.Time))
	}
	if st.DeleteAt != nil {
		fmt.Fprintf(&s, "- Deleted at: %s\n", day(st.DeleteAt.Time))
	}
	if st.LastError != "" {
		fmt.Fprintf(&s, "- Last error: %s\n", st.LastError)
	}
	return s.String()
}
