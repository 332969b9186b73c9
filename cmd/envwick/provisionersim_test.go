package main

import (
	"bufio"
	"context"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/envwick/envwick/reconciler/platform/provisioner"
)

func TestProvisionerSimCommand(t *testing.T) {
	dir := t.TempDir()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	pr, pw := io.Pipe()
	cmd := newProvisionerSimCmd()
	cmd.SetArgs([]string{"--listen", "127.0.0.1:0", "--data", dir, "--creation-time", "0s", "--log-level", "error"})
	cmd.SetOut(pw)
	cmd.SetErr(io.Discard)
	done := make(chan error, 1)
	go func() {
		done <- cmd.ExecuteContext(ctx)
		pw.Close()
	}()
	line, err := bufio.NewReader(pr).ReadString('\n')
	if err != nil {
		t.Fatalf("reading the URL: %v", err)
	}
	go io.Copy(io.Discard, pr)
	c, err := provisioner.New(provisioner.Options{URL: strings.TrimSpace(line)})
	if err != nil {
		t.Fatal(err)
	}
	in, err := c.CreateInstallation(ctx, provisioner.CreateInstallationRequest{
		Name: "cli", OwnerID: "me", DNSNames: []string{"cli.example.com"},
		Database: provisioner.DatabasePerseus, Filestore: provisioner.FilestoreBifrost,
	})
	if err != nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		got, err := c.GetInstallation(ctx, in.ID)
		if err != nil {
			t.Fatal(err)
		}
		if got.State == provisioner.StateStable {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("installation still %s with --creation-time 0s", got.State)
		}
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, "provisioner-sim.json")); err != nil {
		t.Errorf("state not written on exit: %v", err)
	}
}
