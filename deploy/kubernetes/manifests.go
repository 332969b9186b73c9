// Package kubernetes holds envwick's Kubernetes manifests (a kustomize base
// and overlays) and renders them the way `kubectl kustomize` does, so tests
// can check them and apply them to a real API server.
package kubernetes

import (
	"embed"
	"fmt"
	"io/fs"
	"path"

	"sigs.k8s.io/kustomize/api/krusty"
	"sigs.k8s.io/kustomize/kyaml/filesys"
	"sigs.k8s.io/yaml"
)

//go:embed base overlays
var manifests embed.FS

// Overlays are the deployable variants.
var Overlays = []string{"overlays/provisioner", "overlays/simulator"}

// Object is one rendered manifest, as generic JSON-shaped maps.
type Object map[string]any

// Render builds an overlay (a folder under deploy/kubernetes) with kustomize
// and returns its objects in order.
func Render(overlay string) ([]Object, error) {
	mem := filesys.MakeFsInMemory()
	err := fs.WalkDir(manifests, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		data, err := manifests.ReadFile(p)
		if err != nil {
			return err
		}
		return mem.WriteFile(path.Join("/", p), data)
	})
	if err != nil {
		return nil, fmt.Errorf("reading the manifests: %w", err)
	}
	res, err := krusty.MakeKustomizer(krusty.MakeDefaultOptions()).Run(mem, path.Join("/", overlay))
	if err != nil {
		return nil, fmt.Errorf("kustomize build %s: %w", overlay, err)
	}
	var out []Object
	for _, r := range res.Resources() {
		data, err := r.AsYAML()
		if err != nil {
			return nil, fmt.Errorf("rendering %s: %w", r.CurId(), err)
		}
		var o Object
		if err := yaml.Unmarshal(data, &o); err != nil {
			return nil, fmt.Errorf("reading back %s: %w", r.CurId(), err)
		}
		out = append(out, o)
	}
	return out, nil
}

// Kind and Name say what an object is.
func (o Object) Kind() string { s, _ := o["kind"].(string); return s }

// Name is the object's metadata.name.
func (o Object) Name() string { s, _ := o.Get("metadata", "name").(string); return s }

// Get walks maps by key ("spec", "template", ...) and returns what is
// there, or nil.
func (o Object) Get(keys ...string) any {
	var cur any = map[string]any(o)
	for _, k := range keys {
		m, ok := cur.(map[string]any)
		if !ok {
			return nil
		}
		cur = m[k]
	}
	return cur
}

// Find returns the object of that kind and name, or nil.
func Find(objs []Object, kind, name string) Object {
	for _, o := range objs {
		if o.Kind() == kind && o.Name() == name {
			return o
		}
	}
	return nil
}
