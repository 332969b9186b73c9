//go:build e2e

package e2e

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/discovery/cached/memory"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/restmapper"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/envwick/envwick/deploy/kubernetes"
)

// kubeConfig is the admin client of the API server e2e/peers/up.sh started.
func kubeConfig(t *testing.T) *rest.Config {
	t.Helper()
	path := env(t, "ENVWICK_E2E_KUBECONFIG")[0]
	cfg, err := clientcmd.BuildConfigFromFlags("", path)
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

// serviceMonitorCRD is the least of the Prometheus Operator's CRD that lets
// the API server accept (and validate the shape of) a ServiceMonitor.
const serviceMonitorCRD = `{
  "apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
  "metadata": {"name": "servicemonitors.monitoring.coreos.com"},
  "spec": {
    "group": "monitoring.coreos.com", "scope": "Namespaced",
    "names": {"plural": "servicemonitors", "singular": "servicemonitor", "kind": "ServiceMonitor", "listKind": "ServiceMonitorList"},
    "versions": [{"name": "v1", "served": true, "storage": true, "schema": {"openAPIV3Schema": {
      "type": "object", "required": ["spec"],
      "properties": {"spec": {"type": "object", "required": ["selector", "endpoints"],
        "properties": {
          "selector": {"type": "object", "x-kubernetes-preserve-unknown-fields": true},
          "endpoints": {"type": "array", "items": {"type": "object", "properties": {
            "port": {"type": "string"}, "path": {"type": "string"}, "interval": {"type": "string"}}}}}}}}}}]
  }
}`

// The manifests of every overlay are accepted by a real API server:
// server-side apply with dry run, after their namespace exists and the
// ServiceMonitor CRD is installed.
func TestManifestsServerSideDryRun(t *testing.T) {
	cfg := kubeConfig(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	dyn, err := dynamic.NewForConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	dc, err := discovery.NewDiscoveryClientForConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	mapper := restmapper.NewDeferredDiscoveryRESTMapper(memory.NewMemCacheClient(dc))

	var crd unstructured.Unstructured
	if err := json.Unmarshal([]byte(serviceMonitorCRD), &crd.Object); err != nil {
		t.Fatal(err)
	}
	crds := dyn.Resource(schema.GroupVersionResource{Group: "apiextensions.k8s.io", Version: "v1", Resource: "customresourcedefinitions"})
	if _, err := crds.Create(ctx, &crd, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
		t.Fatalf("installing the ServiceMonitor CRD: %v", err)
	}
	waitFor(t, ctx, "the ServiceMonitor CRD to be established", func() bool {
		got, err := crds.Get(ctx, crd.GetName(), metav1.GetOptions{})
		if err != nil {
			return false
		}
		conds, _, _ := unstructured.NestedSlice(got.Object, "status", "conditions")
		for _, c := range conds {
			if m := c.(map[string]any); m["type"] == "Established" && m["status"] == "True" {
				return true
			}
		}
		return false
	})
	mapper.Reset()

	namespaces := dyn.Resource(schema.GroupVersionResource{Version: "v1", Resource: "namespaces"})
	for _, overlay := range kubernetes.Overlays {
		objs, err := kubernetes.Render(overlay)
		if err != nil {
			t.Fatal(err)
		}
		for _, o := range objs {
			u := &unstructured.Unstructured{Object: o}
			if ns := u.GetNamespace(); ns != "" {
				nsObj := &unstructured.Unstructured{Object: map[string]any{"apiVersion": "v1", "kind": "Namespace", "metadata": map[string]any{"name": ns}}}
				if _, err := namespaces.Create(ctx, nsObj, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
					t.Fatal(err)
				}
			}
			gvk := u.GroupVersionKind()
			m, err := mapper.RESTMapping(gvk.GroupKind(), gvk.Version)
			if err != nil {
				t.Errorf("%s: %s %s: %v", overlay, gvk, u.GetName(), err)
				continue
			}
			body, err := json.Marshal(u.Object)
			if err != nil {
				t.Fatal(err)
			}
			force := true
			_, err = dyn.Resource(m.Resource).Namespace(u.GetNamespace()).Patch(ctx, u.GetName(), types.ApplyPatchType, body,
				metav1.PatchOptions{FieldManager: "envwick-e2e", DryRun: []string{metav1.DryRunAll}, Force: &force})
			if err != nil {
				t.Errorf("%s: server-side dry run of %s %s/%s: %v", overlay, gvk.Kind, u.GetNamespace(), u.GetName(), err)
				continue
			}
			t.Logf("%s: %s %s/%s accepted", overlay, gvk.Kind, u.GetNamespace(), u.GetName())
		}
	}
	// Dry run means nothing was stored.
	deps := dyn.Resource(schema.GroupVersionResource{Group: "apps", Version: "v1", Resource: "deployments"})
	if _, err := deps.Namespace("envwick").Get(ctx, "envwick", metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Errorf("the dry run stored the Deployment (get: %v)", err)
	}
}

func waitFor(t *testing.T, ctx context.Context, what string, cond func() bool) {
	t.Helper()
	for !cond() {
		select {
		case <-ctx.Done():
			t.Fatalf("timed out waiting for %s", what)
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// labelValue is a lowercase DNS label from s (for Lease names).
func labelValue(s string) string { return strings.ToLower(strings.ReplaceAll(s, "_", "-")) }
