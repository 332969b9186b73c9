package main

import (
	"errors"
	"fmt"
	"net"
	"net/http"
	"time"
)

// listen serves h on addr and returns the server and its base URL.
func listen(addr string, h http.Handler) (*http.Server, string, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, "", fmt.Errorf("listening on %s: %w", addr, err)
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
	go func() {
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			fmt.Println("envwick: serving:", err)
		}
	}()
	return srv, "http://" + ln.Addr().String(), nil
}
