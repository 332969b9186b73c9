package main

import (
	"fmt"
	"net/url"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/envwick/envwick/deploy/kubernetes"
)

// The Kubernetes manifests build with kustomize and say what
// docs/operations.md promises; every flag and ENVWICK_* variable they set
// is one the command has, and every file a *-file setting names is on a
// mounted volume. (make e2e applies them to a real API server.)
func TestKubernetesManifests(t *testing.T) {
	serve := newServeCmd()
	for _, overlay := range kubernetes.Overlays {
		t.Run(overlay, func(t *testing.T) {
			objs, err := kubernetes.Render(overlay)
			if err != nil {
				t.Fatal(err)
			}
			for _, o := range objs {
				if o.Kind() == "Secret" {
					t.Errorf("the manifests carry Secret %s: secrets are created out of band, never committed", o.Name())
				}
				if ns, _ := o.Get("metadata", "namespace").(string); ns == "" && o.Kind() != "Namespace" {
					t.Errorf("%s %s has no namespace", o.Kind(), o.Name())
				}
			}
			config := map[string]string{}
			for _, o := range objs {
				if o.Kind() == "ConfigMap" && strings.HasPrefix(o.Name(), "envwick-config") {
					for k, v := range o["data"].(map[string]any) {
						config[k] = v.(string)
					}
				}
			}
			dep := kubernetes.Find(objs, "Deployment", "envwick")
			if dep == nil {
				t.Fatal("no Deployment envwick")
			}
			if n, _ := dep.Get("spec", "replicas").(float64); n != 2 {
				t.Errorf("replicas = %v; want 2", dep.Get("spec", "replicas"))
			}
			pod := kubernetes.Object(dep.Get("spec", "template", "spec").(map[string]any))
			if pod.Get("securityContext", "runAsNonRoot") != true {
				t.Error("pod does not run as non-root")
			}
			c := kubernetes.Object(pod["containers"].([]any)[0].(map[string]any))
			args := toStrings(c["args"])
			if len(args) == 0 || args[0] != "serve" || !slices.Contains(args, "--leader-elect") {
				t.Errorf("args %v; want serve --leader-elect", args)
			}
			checkFlags(t, serve, args[1:])
			if c.Get("securityContext", "readOnlyRootFilesystem") != true || c.Get("securityContext", "allowPrivilegeEscalation") != false {
				t.Error("container root filesystem is writable or privilege escalation is allowed")
			}
			if c.Get("readinessProbe", "httpGet", "path") != "/readyz" || c.Get("livenessProbe", "httpGet", "path") != "/healthz" {
				t.Errorf("probes: readiness %v, liveness %v; want /readyz and /healthz", c.Get("readinessProbe", "httpGet", "path"), c.Get("livenessProbe", "httpGet", "path"))
			}
			if c.Get("resources", "requests", "cpu") == nil || c.Get("resources", "limits", "memory") == nil {
				t.Error("no CPU request or memory limit")
			}

			// Every ENVWICK_* setting is a flag of serve; every file one is
			// under a mounted volume, and secrets come from Secret volumes.
			for _, e := range c["env"].([]any) {
				if name := e.(map[string]any)["name"].(string); strings.HasPrefix(name, "ENVWICK_") {
					config[name] = "(from the pod)"
				}
			}
			mounts := map[string]string{} // mount path -> volume
			for _, m := range c["volumeMounts"].([]any) {
				m := m.(map[string]any)
				mounts[m["mountPath"].(string)] = m["name"].(string)
			}
			volumes := map[string]map[string]any{}
			for _, v := range pod["volumes"].([]any) {
				v := v.(map[string]any)
				volumes[v["name"].(string)] = v
			}
			for name, value := range config {
				if !isServeVariable(serve, name) {
					t.Errorf("%s is no flag of envwick serve", name)
				}
				if !strings.HasSuffix(name, "_FILE") && name != "ENVWICK_LICENSE_DIR" {
					continue
				}
				vol := ""
				for dir, v := range mounts {
					if value == dir || strings.HasPrefix(value, dir+"/") {
						vol = v
					}
				}
				if vol == "" || volumes[vol]["secret"] == nil {
					t.Errorf("%s=%s is not on a mounted Secret volume", name, value)
				}
			}
			if _, err := url.Parse(config["ENVWICK_PROVISIONER_URL"]); err != nil || config["ENVWICK_PROVISIONER_URL"] == "" {
				t.Errorf("ENVWICK_PROVISIONER_URL = %q", config["ENVWICK_PROVISIONER_URL"])
			}

			// The Lease role is bound to the Deployment's service account.
			role := kubernetes.Find(objs, "Role", "envwick-leader-election")
			if role == nil || !grants(role, "coordination.k8s.io", "leases", "get", "create", "update") {
				t.Error("no Role granting get, create and update on leases")
			}
			rb := kubernetes.Find(objs, "RoleBinding", "envwick-leader-election")
			sa, _ := pod["serviceAccountName"].(string)
			if rb == nil || rb.Get("roleRef", "name") != "envwick-leader-election" || rb["subjects"].([]any)[0].(map[string]any)["name"] != sa || kubernetes.Find(objs, "ServiceAccount", sa) == nil {
				t.Errorf("RoleBinding does not bind the Role to the pods' service account %q", sa)
			}

			// Service, PodDisruptionBudget and ServiceMonitor find the pods.
			podLabels := dep.Get("spec", "template", "metadata", "labels").(map[string]any)
			svc := kubernetes.Find(objs, "Service", "envwick")
			if svc == nil || !selects(svc.Get("spec", "selector"), podLabels) {
				t.Error("Service envwick does not select the pods")
			}
			if pdb := kubernetes.Find(objs, "PodDisruptionBudget", "envwick"); pdb == nil || !selects(pdb.Get("spec", "selector", "matchLabels"), podLabels) || pdb.Get("spec", "minAvailable") != float64(1) {
				t.Error("PodDisruptionBudget does not keep one of the pods")
			}
			sm := kubernetes.Find(objs, "ServiceMonitor", "envwick")
			if sm == nil || !selects(sm.Get("spec", "selector", "matchLabels"), svc.Get("metadata", "labels").(map[string]any)) {
				t.Error("ServiceMonitor does not select Service envwick")
			}
		})
	}
}

// The simulator overlay runs the simulator with flags it has, behind the
// Service envwick is pointed at.
func TestKubernetesSimulatorOverlay(t *testing.T) {
	objs, err := kubernetes.Render("overlays/simulator")
	if err != nil {
		t.Fatal(err)
	}
	dep := kubernetes.Find(objs, "Deployment", "envwick-provisioner-sim")
	if dep == nil {
		t.Fatal("no simulator Deployment")
	}
	c := dep.Get("spec", "template", "spec", "containers").([]any)[0].(map[string]any)
	args := toStrings(c["args"])
	if args[0] != "provisioner-sim" {
		t.Fatalf("simulator args %v", args)
	}
	checkFlags(t, newProvisionerSimCmd(), args[1:])
	if kubernetes.Find(objs, "Service", "envwick-provisioner-sim") == nil {
		t.Error("no Service for the simulator")
	}
	for _, o := range objs {
		if o.Kind() == "ConfigMap" && strings.HasPrefix(o.Name(), "envwick-config") {
			if u := o.Get("data", "ENVWICK_PROVISIONER_URL"); u != "http://envwick-provisioner-sim" {
				t.Errorf("ENVWICK_PROVISIONER_URL = %v; want the simulator's Service", u)
			}
		}
	}
}

func toStrings(v any) []string {
	var out []string
	for _, s := range v.([]any) {
		out = append(out, s.(string))
	}
	return out
}

func checkFlags(t *testing.T, cmd *cobra.Command, args []string) {
	t.Helper()
	for _, a := range args {
		name, _, _ := strings.Cut(strings.TrimPrefix(a, "--"), "=")
		if !strings.HasPrefix(a, "--") || cmd.Flags().Lookup(name) == nil {
			t.Errorf("%s %s: no such flag", cmd.Name(), a)
		}
	}
}

func isServeVariable(cmd *cobra.Command, name string) bool {
	found := false
	cmd.Flags().VisitAll(func(f *pflag.Flag) {
		if envName(f.Name) == name {
			found = true
		}
	})
	return found
}

func grants(role kubernetes.Object, group, resource string, verbs ...string) bool {
	for _, r := range role["rules"].([]any) {
		r := r.(map[string]any)
		if slices.Contains(toStrings(r["apiGroups"]), group) && slices.Contains(toStrings(r["resources"]), resource) {
			have := toStrings(r["verbs"])
			ok := true
			for _, v := range verbs {
				ok = ok && slices.Contains(have, v)
			}
			if ok {
				return true
			}
		}
	}
	return false
}

func selects(selector any, labels map[string]any) bool {
	sel, ok := selector.(map[string]any)
	if !ok || len(sel) == 0 {
		return false
	}
	for k, v := range sel {
		if labels[k] != v {
			return false
		}
	}
	return true
}

// The image is multi-stage, static (no cgo) on a distroless base, and runs
// as the user the manifests ask for, with the command the manifests run.
func TestDockerfile(t *testing.T) {
	data, err := os.ReadFile("../../Dockerfile")
	if err != nil {
		t.Fatal(err)
	}
	var froms []string
	user, build := "", ""
	for _, line := range strings.Split(string(data), "\n") {
		f := strings.Fields(line)
		switch {
		case len(f) >= 2 && f[0] == "FROM":
			froms = append(froms, f[1])
		case len(f) >= 2 && f[0] == "USER":
			user = f[1]
		case strings.Contains(line, "go build"):
			build = line
		}
	}
	if len(froms) < 2 || !strings.HasPrefix(froms[len(froms)-1], "gcr.io/distroless/static") {
		t.Errorf("stages %v; want a build stage and a distroless static one", froms)
	}
	if !strings.Contains(string(data), "CGO_ENABLED=0") || !strings.Contains(build, "./cmd/envwick") {
		t.Error("the binary is not built static from ./cmd/envwick")
	}
	objs, err := kubernetes.Render(kubernetes.Overlays[0])
	if err != nil {
		t.Fatal(err)
	}
	uid := kubernetes.Find(objs, "Deployment", "envwick").Get("spec", "template", "spec", "securityContext", "runAsUser")
	if want := fmt.Sprintf("%v:%v", uid, uid); user != want {
		t.Errorf("USER %q; want %q, the manifests' runAsUser", user, want)
	}
}
