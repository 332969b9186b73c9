// Command harness holds the small programs `make e2e` needs around the real
// peers (see docs/e2e.md):
//
//	harness freeport N                 print N free loopback TCP ports
//	harness awsstub -dir D -env E      HTTPS proxy answering the AWS calls the provisioner makes at start
//	harness wait -url U [-pid P]       poll U until it answers 2xx, failing early if process P exits
//	harness mmsetup -url U ...         create the first Mattermost user (system admin) and a team
//	harness kubecerts -dir D -server U CA, certificates, service-account keys and a kubeconfig for kube-apiserver
package main

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	if len(os.Args) < 2 {
		usage()
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	logger := slog.New(slog.NewTextHandler(os.Stderr, nil))

	var err error
	switch cmd, args := os.Args[1], os.Args[2:]; cmd {
	case "freeport":
		err = runFreePort(args)
	case "awsstub":
		err = runAWSStub(ctx, logger, args)
	case "wait":
		err = runWait(ctx, args)
	case "mmsetup":
		err = runMMSetup(ctx, args)
	case "kubecerts":
		err = runKubeCerts(args)
	default:
		usage()
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "harness %s: %v\n", os.Args[1], err)
		os.Exit(1)
	}
}

func usage() {
	fmt.Fprintln(os.Stderr, "usage: harness freeport|awsstub|wait|mmsetup|kubecerts [flags]")
	os.Exit(2)
}
