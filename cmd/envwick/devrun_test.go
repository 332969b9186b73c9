package main

import (
	"bufio"
	"context"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// buildEnvwick builds the binary the way 'make build' does, so a test can
// run what people run.
func buildEnvwick(t *testing.T) string {
	t.Helper()
	if testing.Short() {
		t.Skip("builds and runs the binary")
	}
	exe := filepath.Join(t.TempDir(), "bin", "envwick")
	out, err := exec.Command("go", "build", "-o", exe, ".").CombinedOutput()
	if err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return exe
}

// devProcess is a running 'envwick dev'.
type devProcess struct {
	banner  string
	console *syncBuffer // stdout after the banner
	logs    *syncBuffer // stderr
}

// waitConsole waits for the console to show want.
func (d *devProcess) waitConsole(t *testing.T, want string, within time.Duration) {
	t.Helper()
	for deadline := time.Now().Add(within); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		if strings.Contains(d.console.String(), want) {
			return
		}
	}
	t.Fatalf("the dev console never showed %q:\n%s", want, d.console.String())
}

// startDev starts exe dev in dir, with args, and returns once its banner is
// printed; it is stopped with Ctrl-C (SIGINT) when the test ends.
func startDev(t *testing.T, exe, dir string, args ...string) *devProcess {
	t.Helper()
	cmd := exec.Command(exe, append([]string{"dev", "--listen", "127.0.0.1:0"}, args...)...)
	cmd.Dir = dir
	cmd.Env = testEnv()
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	d := &devProcess{console: &syncBuffer{}, logs: &syncBuffer{}}
	cmd.Stderr = d.logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cmd.Process.Signal(syscall.SIGINT)
		done := make(chan error, 1)
		go func() { done <- cmd.Wait() }()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("envwick dev did not stop cleanly: %v\n%s", err, d.logs.String())
			}
		case <-time.After(30 * time.Second):
			cmd.Process.Kill()
			t.Error("envwick dev did not stop on Ctrl-C")
		}
	})
	banner := make(chan string, 1)
	go func() {
		r := bufio.NewReader(stdout)
		var b strings.Builder
		for {
			line, err := r.ReadString('\n')
			b.WriteString(line)
			if strings.Contains(line, "Ctrl-C stops.") {
				banner <- b.String()
				break
			}
			if err != nil {
				banner <- ""
				return
			}
		}
		io.Copy(d.console, r)
	}()
	select {
	case d.banner = <-banner:
	case <-time.After(2 * time.Minute):
		t.Fatalf("no banner from envwick dev:\n%s", d.logs.String())
	}
	if d.banner == "" {
		t.Fatalf("envwick dev stopped before its banner:\n%s", d.logs.String())
	}
	return d
}

// testEnv is the environment commands run in: git can commit without a
// configured identity, and nothing of the caller's envwick settings leaks in.
func testEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "ENVWICK_") {
			env = append(env, kv)
		}
	}
	return append(env, "GIT_AUTHOR_NAME=Alice", "GIT_AUTHOR_EMAIL=alice@example.com",
		"GIT_COMMITTER_NAME=Alice", "GIT_COMMITTER_EMAIL=alice@example.com")
}

// shell runs one command line with sh in dir, as a person would paste it,
// and returns its combined output and exit code.
func shell(t *testing.T, dir, line string) (string, int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "sh", "-c", line)
	cmd.Dir = dir
	cmd.Env = testEnv()
	out, err := cmd.CombinedOutput()
	if ee, ok := err.(*exec.ExitError); ok {
		return string(out), ee.ExitCode()
	} else if err != nil {
		t.Fatalf("%s: %v", line, err)
	}
	return string(out), 0
}

// secretsOf returns the secrets dev generated in dataDir.
func secretsOf(t *testing.T, dataDir string) []string {
	t.Helper()
	var out []string
	for _, f := range []string{githubSecretFile, mattermostTokenFile} {
		path := filepath.Join(localDir(dataDir), f)
		fi, err := os.Stat(path)
		if err != nil {
			t.Fatal(err)
		}
		if fi.Mode().Perm() != 0o600 {
			t.Errorf("%s has mode %v, want 0600", path, fi.Mode().Perm())
		}
		s, err := readSecretFile(path)
		if err != nil || len(s) < 32 {
			t.Fatalf("secret %s: %q, %v", f, s, err)
		}
		out = append(out, s)
	}
	return out
}

// checkNoSecretsNorErrors fails when a generated secret reached dev's
// output, or dev logged an error.
func checkNoSecretsNorErrors(t *testing.T, d *devProcess, secrets []string, outputs ...string) {
	t.Helper()
	all := append([]string{d.banner, d.console.String(), d.logs.String()}, outputs...)
	for _, s := range secrets {
		for _, o := range all {
			if strings.Contains(o, s) {
				t.Errorf("a generated secret was printed:\n%s", o)
			}
		}
	}
	for _, line := range strings.Split(d.logs.String(), "\n") {
		if strings.Contains(line, "level=ERROR") {
			t.Errorf("dev logged an error: %s", line)
		}
	}
}
