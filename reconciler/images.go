package reconciler

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"strings"
	"sync"
	"time"

	"github.com/fluxcd/pkg/apis/meta"
	"github.com/fluxcd/pkg/runtime/conditions"
	"golang.org/x/sync/errgroup"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/envwick/envwick/envs"
	"github.com/envwick/envwick/reconciler/platform"
)

// A pull request's image is usually still building when its label goes on.
// Before a create or an update the pass resolves the environment's image
// (repository:version) in its registry: while the tag is missing the
// change waits (Reconciling and Ready=False, reason WaitingForImage) and
// the tag is looked up again with backoff; after ImageDeadline the
// environment is Stalled with reason ImageNotFound. The digest a tag
// resolves to is recorded in status, and a tag that moves to another
// digest is an update: the installation's ImageDigestEnvVar changes, which
// rolls it onto the new image.

// ImageResolver resolves an image reference to its digest; a reference the
// registry does not have is ErrImageNotFound (reconciler/image implements
// it over the OCI distribution API).
type ImageResolver interface {
	Resolve(ctx context.Context, ref string) (digest string, err error)
}

// ErrImageNotFound is a tag or repository missing from its registry.
var ErrImageNotFound = errors.New("image not found")

// ImageDigestEnvVar carries the digest an installation's tag resolved to,
// so that a moved tag changes the installation (and rolls it).
const ImageDigestEnvVar = "ENVWICK_IMAGE_DIGEST"

// TransitionWaitingForImage tells the owner a create or update waits for
// its image (once, when the wait begins).
const TransitionWaitingForImage TransitionKind = "waiting-for-image"

// ItemImage is what the pass knows of an item's image.
type ItemImage struct {
	Reference string `json:"reference"`
	Digest    string `json:"digest,omitempty"`
	// Missing is set while the tag is not in the registry (Error says why
	// it could not be resolved, when it is not a plain "not found").
	Missing bool      `json:"missing,omitempty"`
	Error   string    `json:"error,omitempty"`
	Since   time.Time `json:"since,omitzero"`
	// Stalled is set once the tag has been missing for ImageDeadline.
	Stalled bool `json:"stalled,omitempty"`
}

// imageCheck is the last resolution of one reference.
type imageCheck struct {
	digest   string
	err      error
	next     time.Time
	failures int
}

// imageRef is the reference an installation spec runs, or "".
func imageRef(in envs.Installation) string {
	if in.Image == "" || in.Version == "" {
		return ""
	}
	if strings.HasPrefix(in.Version, "sha256:") {
		return in.Image + "@" + in.Version
	}
	return in.Image + ":" + in.Version
}

// checkImages resolves the image of every environment the plan may create
// or update (each reference once, when its last resolution is due), gives
// the environment its digest variable where that is a change to make, and
// returns what it found per environment.
func (r *Reconciler) checkImages(ctx context.Context, desired map[string]*Desired, actual map[string][]platform.Installation, now time.Time) map[string]*ItemImage {
	if r.cfg.Images == nil {
		return nil
	}
	if r.images == nil {
		r.images = map[string]*imageCheck{}
	}
	due := map[string]bool{}
	for _, d := range desired {
		if ref := desiredRef(d); ref != "" {
			if c := r.images[ref]; c == nil || !now.Before(c.next) {
				due[ref] = true
			}
		}
	}
	r.resolveImages(ctx, due, now)
	out := map[string]*ItemImage{}
	for name, d := range desired {
		ref := desiredRef(d)
		if ref == "" {
			continue
		}
		c := r.images[ref]
		img := &ItemImage{Reference: ref, Digest: c.digest}
		out[name] = img
		var recorded *envs.ImageStatus
		if st := r.status[name]; st != nil {
			recorded = st.Status.Image
		}
		if c.digest == "" {
			img.Missing, img.Since = true, now
			if c.err != nil && !errors.Is(c.err, ErrImageNotFound) {
				img.Error = c.err.Error()
			}
			if recorded != nil && recorded.Reference == ref && recorded.WaitingSince != nil {
				img.Since = recorded.WaitingSince.Time
			}
			img.Stalled = now.Sub(img.Since) >= r.cfg.ImageDeadline
			continue
		}
		if digestChange(d, actual[d.Name], recorded, ref, c.digest) {
			d.Env = r.withDigest(d, c.digest)
		}
	}
	return out
}

func desiredRef(d *Desired) string {
	if d.Err != nil || d.Env == nil || d.Env.Spec.Suspend {
		return ""
	}
	return imageRef(d.Env.Spec.Installation)
}

// digestChange reports whether the installation should carry the digest:
// at creation, when it already carries one, when an update is due anyway
// (another version or image), or when the tag moved since it was
// recorded. An installation that never carried one and runs the recorded
// digest is left alone, so turning the check on rolls nothing.
func digestChange(d *Desired, insts []platform.Installation, recorded *envs.ImageStatus, ref, digest string) bool {
	if len(insts) == 0 {
		return true
	}
	in := d.Env.Spec.Installation
	for _, inst := range insts {
		if _, ok := inst.Env[ImageDigestEnvVar]; ok || inst.Version != in.Version || (inst.Image != "" && inst.Image != in.Image) {
			return true
		}
	}
	return recorded != nil && recorded.Reference == ref && recorded.Digest != "" && recorded.Digest != digest
}

// withDigest is d's environment carrying the digest variable: a copy (the
// defaulted environment is shared), kept while the file and digest stay.
func (r *Reconciler) withDigest(d *Desired, digest string) *envs.Environment {
	if r.digested == nil {
		r.digested = map[string]digestedEnv{}
	}
	if c, ok := r.digested[d.Name]; ok && c.blob == d.Blob && c.digest == digest && d.Blob != "" {
		return c.env
	}
	e := d.Env.DeepCopy()
	e.Spec.Installation.Env = maps.Clone(e.Spec.Installation.Env)
	if e.Spec.Installation.Env == nil {
		e.Spec.Installation.Env = map[string]string{}
	}
	e.Spec.Installation.Env[ImageDigestEnvVar] = digest
	r.digested[d.Name] = digestedEnv{blob: d.Blob, digest: digest, env: e}
	return e
}

type digestedEnv struct {
	blob, digest string
	env          *envs.Environment
}

// resolveImages resolves the due references, a few at once. A found tag
// is looked up again after ImageRecheck; a missing one after a backoff
// from 10 s doubling to 2 min. A failure other than "not found" keeps a
// digest found before (a registry hiccup does not hold an environment).
func (r *Reconciler) resolveImages(ctx context.Context, due map[string]bool, now time.Time) {
	var mu sync.Mutex
	var g errgroup.Group
	g.SetLimit(4)
	for ref := range due {
		c := r.images[ref]
		if c == nil {
			c = &imageCheck{}
			r.images[ref] = c
		}
		g.Go(func() error {
			digest, err := r.cfg.Images.Resolve(ctx, ref)
			r.cfg.Metrics.APICall("image", imageResult(err))
			mu.Lock()
			defer mu.Unlock()
			switch {
			case err == nil:
				c.digest, c.err, c.failures = digest, nil, 0
				c.next = now.Add(r.cfg.ImageRecheck)
				return nil
			case errors.Is(err, ErrImageNotFound):
				c.digest = ""
			default:
				r.cfg.Logger.WarnContext(ctx, "image not resolved", "image", ref, "error", err)
			}
			c.err = err
			c.failures++
			c.next = now.Add(min(10*time.Second<<min(c.failures-1, 10), 2*time.Minute))
			return nil
		})
	}
	_ = g.Wait() // every goroutine returns nil: a failure is kept on its imageCheck
}

func imageResult(err error) string {
	if errors.Is(err, ErrImageNotFound) {
		return "not_found"
	}
	return result(err)
}

// holdForImages keeps every create and update whose image is missing from
// being applied: it waits, or once past the deadline, stalls.
func holdForImages(p *Plan, images map[string]*ItemImage) {
	for i := range p.Items {
		it := &p.Items[i]
		img := images[it.Name]
		if img == nil || it.Action == ActionDelete {
			continue
		}
		it.Image = img
		if !img.Missing || (it.Action != ActionCreate && it.Action != ActionUpdate) {
			continue
		}
		verb := string(it.Action)
		it.Action, it.Patch, it.Waiting = ActionNone, nil, true
		it.Reason = fmt.Sprintf("%s waits for image %s", verb, img.Reference)
		if img.Stalled {
			it.Waiting = false
			it.Stalled = imageMessage(img)
		}
	}
}

func imageMessage(img *ItemImage) string {
	msg := "image " + img.Reference + " is not in its registry"
	if img.Error != "" {
		msg = "image " + img.Reference + " could not be resolved: " + img.Error
	}
	if img.Stalled {
		return msg + " (waited since " + img.Since.UTC().Format(time.RFC3339) + ")"
	}
	return msg + " yet: waiting for it"
}

// recordImage writes the image into an environment's status after the
// record step and, while the image is missing, says so in its conditions
// and in the transitions (called with recordOne's result).
func (r *Reconciler) recordImage(it *Item, st *Status, notes []transitionNote) []transitionNote {
	img := it.Image
	if img == nil {
		return notes
	}
	prev := st.Status.Image
	next := &envs.ImageStatus{Reference: img.Reference, Digest: img.Digest}
	if img.Missing {
		if prev != nil && prev.Reference == img.Reference {
			next.Digest = prev.Digest
		}
		next.WaitingSince = &metav1.Time{Time: img.Since.UTC().Truncate(time.Second)}
	}
	st.Status.Image = next
	if !img.Missing || (!it.Waiting && it.Stalled == "") {
		return notes
	}
	// What the last pass recorded (recordOne has rewritten st's conditions).
	wasWaiting := false
	if prev := r.status[it.Name]; prev != nil {
		wasWaiting = conditions.GetReason(prev.setter(), meta.ReconcilingCondition) == envs.ReasonWaitingForImage
	}
	setter := st.setter()
	msg := imageMessage(img)
	if it.Stalled != "" {
		conditions.Delete(setter, meta.ReconcilingCondition)
		conditions.MarkStalled(setter, envs.ReasonImageNotFound, "%s", msg)
		conditions.MarkFalse(setter, meta.ReadyCondition, envs.ReasonImageNotFound, "%s", msg)
		st.apply(setter)
		for i := range notes {
			if notes[i].kind == TransitionFailed {
				notes[i].reason, notes[i].message = envs.ReasonImageNotFound, msg
			}
		}
		return notes
	}
	st.Status.LastError = ""
	conditions.Delete(setter, meta.StalledCondition)
	conditions.MarkReconciling(setter, envs.ReasonWaitingForImage, "%s", msg)
	conditions.MarkFalse(setter, meta.ReadyCondition, envs.ReasonWaitingForImage, "%s", msg)
	st.apply(setter)
	if !wasWaiting {
		notes = append(notes, transitionNote{TransitionWaitingForImage, envs.ReasonWaitingForImage, msg})
	}
	return notes
}
