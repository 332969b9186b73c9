package provisioner_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/envwick/envwick/reconciler/platform/provisioner"
	"github.com/envwick/envwick/reconciler/platform/provisionersim"
)

// BenchmarkListAll10000 lists 10,000 installations from the simulator over
// loopback and counts the requests it takes: ceil(N/page size) when the
// page size does not divide N, one more (an empty last page confirms the
// end) when it does.
func BenchmarkListAll10000(b *testing.B) {
	const total = 10000
	sim, err := provisionersim.New(provisionersim.Options{DisableSupervisors: true})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { sim.Close() })
	seed(b, sim.Handler(), total)
	url, err := sim.Start("127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	for _, perPage := range []int{100, 300, 1000} {
		b.Run(fmt.Sprintf("per_page=%d", perPage), func(b *testing.B) {
			var requests atomic.Int64
			c, err := provisioner.New(provisioner.Options{URL: url, Observer: provisioner.ObserverFunc(
				func(context.Context, provisioner.RequestInfo) { requests.Add(1) })})
			if err != nil {
				b.Fatal(err)
			}
			runs := int64(0)
			for b.Loop() {
				all, err := c.ListAllInstallations(context.Background(), provisioner.ListOptions{OwnerID: "bench", PerPage: perPage})
				if err != nil {
					b.Fatal(err)
				}
				if len(all) != total {
					b.Fatalf("listed %d installations, want %d", len(all), total)
				}
				runs++
			}
			perList := requests.Load() / runs
			want := int64(total/perPage + 1) // floor(N/P)+1: ceil(N/P) unless P divides N
			if perList != want {
				b.Fatalf("%d requests per listing, want %d", perList, want)
			}
			b.ReportMetric(float64(perList), "requests/list")
			b.ReportMetric(float64((total+perPage-1)/perPage), "ceil(N/P)")
		})
	}
}

// seed creates n installations through the simulator's handler in
// process (no network), so the benchmark starts quickly.
func seed(b *testing.B, h http.Handler, n int) {
	b.Helper()
	for i := range n {
		name := fmt.Sprintf("list-%05d", i)
		body, _ := json.Marshal(provisioner.CreateInstallationRequest{
			Name: name, OwnerID: "bench", DNSNames: []string{name + ".bench.envwick.test"},
			Database: provisioner.DatabasePerseus, Filestore: provisioner.FilestoreBifrost,
		})
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest(http.MethodPost, "/api/installations", strings.NewReader(string(body))))
		if rec.Code != http.StatusAccepted {
			b.Fatalf("seeding %s: %d %s", name, rec.Code, rec.Body)
		}
	}
}
