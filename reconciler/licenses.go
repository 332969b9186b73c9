package reconciler

import (
	"fmt"

	"github.com/envwick/envwick/reconciler/licenses"
	"github.com/envwick/envwick/reconciler/platform"
)

// LicenseTexts resolves the license names environments ask for to the
// texts the platform installs (reconciler/licenses.Store). The texts are
// secrets: the reconciler turns a name into its text right before the
// platform call and every observed text back into its name, so plans,
// status, logs and notifications only ever carry names.
type LicenseTexts interface {
	// Text is the license text of a name.
	Text(name string) (string, bool)
	// Name is the name whose text is text.
	Name(text string) (string, bool)
	// Names lists the names known, sorted.
	Names() []string
}

// licenseName replaces the license text of an observed installation by its
// name, or by a fingerprint when no name has that text (a renewed license,
// or an installation created with a name sent as text): the fingerprint
// differs from every name, so the plan updates the installation to the
// text its name has now. Without LicenseTexts the platform holds names.
func (x *external) licenseName(inst *platform.Installation) {
	if x.licenses == nil || inst == nil || inst.License == "" {
		return
	}
	if name, ok := x.licenses.Name(inst.License); ok {
		inst.License = name
		return
	}
	inst.License = licenses.Fingerprint(inst.License)
}

// licenseNames is licenseName for each installation of a list page.
func (x *external) licenseNames(page []platform.Installation) {
	for i := range page {
		x.licenseName(&page[i])
	}
}

// licenseText replaces a license name by its text for the platform call.
// An unknown name is an error naming those available.
func (x *external) licenseText(license *string) error {
	if x.licenses == nil || license == nil || *license == "" {
		return nil
	}
	text, ok := x.licenses.Text(*license)
	if !ok {
		return fmt.Errorf("license %s: %w", *license, licenses.UnknownError(*license, x.licenses.Names()))
	}
	*license = text
	return nil
}
