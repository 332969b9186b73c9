package provisionersim

import (
	"encoding/json"
	"errors"
	"net/http"
	"time"

	"github.com/envwick/envwick/reconciler/platform/provisioner"
)

// adminRoutes are the simulator's own controls, under /_sim (never
// faulted):
//
//	GET  /_sim/healthz                     ok
//	GET  /_sim/faults                      the injected faults
//	PUT  /_sim/faults                      replace them (JSON Faults)
//	POST /_sim/advance                     {"duration": "10m"}: move the clock
//	PUT  /_sim/installation/{id}/state     {"state": "stable"}: force a state
func (s *Sim) adminRoutes() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /_sim/healthz", func(w http.ResponseWriter, r *http.Request) {
		w.Write([]byte("ok\n"))
	})
	mux.HandleFunc("GET /_sim/faults", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, mustJSON(s.Faults()))
	})
	mux.HandleFunc("PUT /_sim/faults", func(w http.ResponseWriter, r *http.Request) {
		var f Faults
		if err := json.NewDecoder(r.Body).Decode(&f); err != nil {
			fail(w, http.StatusBadRequest, "faults: %v", err)
			return
		}
		if f.ErrorRate < 0 || f.ErrorRate > 1 || f.CreationFailureRate < 0 || f.CreationFailureRate > 1 ||
			f.UpdateFailureRate < 0 || f.UpdateFailureRate > 1 {
			fail(w, http.StatusBadRequest, "faults: rates are fractions between 0 and 1")
			return
		}
		s.SetFaults(f)
		writeJSON(w, http.StatusOK, mustJSON(s.Faults()))
	})
	mux.HandleFunc("POST /_sim/advance", func(w http.ResponseWriter, r *http.Request) {
		var req struct {
			Duration Duration `json:"duration"`
		}
		if err := json.NewDecoder(r.Body).Decode(&req); err != nil || req.Duration < 0 {
			fail(w, http.StatusBadRequest, `advance: want {"duration": "10m"} (not negative)`)
			return
		}
		s.Advance(time.Duration(req.Duration))
		writeJSON(w, http.StatusOK, mustJSON(map[string]any{"now": s.Now().UTC()}))
	})
	mux.HandleFunc("PUT /_sim/installation/{id}/state", func(w http.ResponseWriter, r *http.Request) {
		var req struct {
			State string `json:"state"`
		}
		if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
			fail(w, http.StatusBadRequest, `state: want {"state": "stable"}`)
			return
		}
		switch err := s.SetState(r.PathValue("id"), req.State); {
		case errors.Is(err, provisioner.ErrNotFound):
			fail(w, http.StatusNotFound, "%v", err)
		case err != nil:
			fail(w, http.StatusBadRequest, "%v", err)
		default:
			inst, _ := s.Installation(r.PathValue("id"))
			writeJSON(w, http.StatusOK, mustJSON(&inst))
		}
	})
	return mux
}
