package image_test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/envwick/envwick/reconciler"
	"github.com/envwick/envwick/reconciler/image"
)

// startRegistry runs Debian's docker-registry (the CNCF distribution
// registry) on a loopback port with storage in a temporary folder; the
// test skips when it is not installed.
func startRegistry(t *testing.T) string {
	t.Helper()
	bin, err := exec.LookPath("docker-registry")
	if err != nil {
		t.Skip("docker-registry is not installed (apt-get install docker-registry; .ci/run does)")
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	dir := t.TempDir()
	cfg := filepath.Join(dir, "config.yml")
	if err := os.WriteFile(cfg, []byte(fmt.Sprintf("version: 0.1\nlog:\n  level: error\nstorage:\n  filesystem:\n    rootdirectory: %s\n  delete:\n    enabled: true\nhttp:\n  addr: %s\n", filepath.Join(dir, "data"), addr)), 0o600); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "serve", cfg)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cmd.Process.Signal(os.Interrupt)
		cmd.Process.Kill()
		cmd.Wait()
	})
	deadline := time.Now().Add(15 * time.Second)
	for {
		resp, err := http.Get("http://" + addr + "/v2/")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return addr
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("the registry at %s did not answer: %v", addr, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func push(t *testing.T, ref string) string {
	t.Helper()
	img, err := random.Image(256, 1)
	if err != nil {
		t.Fatal(err)
	}
	r, err := name.ParseReference(ref, name.Insecure)
	if err != nil {
		t.Fatal(err)
	}
	if err := remote.Write(r, img); err != nil {
		t.Fatalf("pushing %s: %v", ref, err)
	}
	d, err := img.Digest()
	if err != nil {
		t.Fatal(err)
	}
	return d.String()
}

// A tag missing from a real registry is ErrImageNotFound until it is
// pushed; then it resolves to the pushed digest, and a push of another
// image under the tag moves it.
func TestResolveAgainstARealRegistry(t *testing.T) {
	addr := startRegistry(t)
	reg := &image.Registry{Insecure: []string{addr}}
	ctx := context.Background()
	ref := addr + "/mattermost/pr-build:abc1234"

	for _, missing := range []string{ref, addr + "/no/such-repository:1"} {
		if _, err := reg.Resolve(ctx, missing); !errors.Is(err, reconciler.ErrImageNotFound) {
			t.Fatalf("resolving %s before the push: %v, want ErrImageNotFound", missing, err)
		}
	}
	first := push(t, ref) // the pull request's build finishes
	got, err := reg.Resolve(ctx, ref)
	if err != nil || got != first {
		t.Fatalf("after the push: %s, %v; want %s", got, err, first)
	}
	moved := push(t, ref)
	if got, err := reg.Resolve(ctx, ref); err != nil || got != moved || got == first {
		t.Fatalf("after the tag moved: %s, %v; want %s", got, err, moved)
	}

	// A registry that does not answer is an error, not "not found".
	if _, err := (&image.Registry{Insecure: []string{"127.0.0.1:1"}}).Resolve(ctx, "127.0.0.1:1/x/y:1"); err == nil || errors.Is(err, reconciler.ErrImageNotFound) {
		t.Fatalf("an unreachable registry: %v", err)
	}
}
