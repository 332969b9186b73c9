package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"syscall"
	"time"
)

// runWait polls a URL until it answers 2xx. With -pid it gives up as soon as
// that process is gone, so a peer that crashed at start fails the run at once
// instead of after the whole timeout.
func runWait(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("wait", flag.ContinueOnError)
	target := fs.String("url", "", "URL to poll with GET")
	pid := fs.Int("pid", 0, "process that must stay alive while waiting")
	timeout := fs.Duration("timeout", 3*time.Minute, "how long to wait")
	caFile := fs.String("cacert", "", "CA certificate file to trust for an https URL")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *target == "" {
		return errors.New("-url is required")
	}
	ctx, cancel := context.WithTimeout(ctx, *timeout)
	defer cancel()
	client := &http.Client{Timeout: 5 * time.Second}
	if *caFile != "" {
		pem, err := os.ReadFile(*caFile)
		if err != nil {
			return err
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return fmt.Errorf("no certificate in %s", *caFile)
		}
		client.Transport = &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}
	}
	tick := time.NewTicker(200 * time.Millisecond)
	defer tick.Stop()
	last := "no answer yet"
	for {
		if *pid > 0 && syscall.Kill(*pid, 0) != nil {
			return fmt.Errorf("process %d exited while waiting for %s (%s)", *pid, *target, last)
		}
		status, err := get(ctx, client, *target)
		switch {
		case err == nil && status/100 == 2:
			return nil
		case err != nil:
			last = err.Error()
		default:
			last = fmt.Sprintf("status %d", status)
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("waiting for %s: %w (%s)", *target, ctx.Err(), last)
		case <-tick.C:
		}
	}
}

func get(ctx context.Context, client *http.Client, target string) (int, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, target, nil)
	if err != nil {
		return 0, err
	}
	resp, err := client.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	io.Copy(io.Discard, resp.Body)
	return resp.StatusCode, nil
}
