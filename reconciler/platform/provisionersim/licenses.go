package provisionersim

import (
	"net/http"
	"slices"
	"strings"
)

// licenseAccepted reports whether license is a license text this simulator
// accepts (Options.Licenses), answering 400 when it is not. The real
// provisioner stores any text and the Mattermost server then starts
// unlicensed; refusing it here makes a name sent as text fail in tests and
// demos instead of passing silently. The answer never repeats the text.
func (s *Sim) licenseAccepted(w http.ResponseWriter, license *string) bool {
	if len(s.opts.Licenses) == 0 || license == nil || *license == "" {
		return true
	}
	if slices.Contains(s.opts.Licenses, strings.TrimSpace(*license)) {
		return true
	}
	fail(w, http.StatusBadRequest, "license is not a valid Mattermost license file (%d characters)", len(*license))
	return false
}
