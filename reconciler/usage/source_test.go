package usage

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/mattermost/mattermost/server/public/model"

	"github.com/envwick/envwick/reconciler"
)

// installation is a loopback server answering the three Mattermost API
// calls a sweep makes, as a Mattermost server does, and counting them.
type installation struct {
	srv      *httptest.Server
	password string
	lastPost int64
	monthly  float64
	logins   atomic.Int64
	slow     time.Duration
}

func newInstallation(t *testing.T, password string, lastPost time.Time, monthly int) *installation {
	in := &installation{password: password, lastPost: lastPost.UnixMilli(), monthly: float64(monthly)}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /api/v4/users/login", func(w http.ResponseWriter, r *http.Request) {
		time.Sleep(in.slow)
		in.logins.Add(1)
		var body map[string]string
		json.NewDecoder(r.Body).Decode(&body)
		if body["password"] != in.password {
			w.WriteHeader(http.StatusUnauthorized)
			json.NewEncoder(w).Encode(model.NewAppError("login", "api.user.login.invalid_credentials_email_username", nil, "", http.StatusUnauthorized))
			return
		}
		w.Header().Set("Token", "session-token")
		json.NewEncoder(w).Encode(model.User{Id: "admin", Username: body["login_id"]})
	})
	mux.HandleFunc("POST /api/v4/users/logout", func(w http.ResponseWriter, r *http.Request) { w.Write([]byte(`{"status":"OK"}`)) })
	mux.HandleFunc("GET /api/v4/channels", func(w http.ResponseWriter, r *http.Request) {
		if !strings.EqualFold(r.Header.Get("Authorization"), "Bearer session-token") {
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		chans := model.ChannelListWithTeamData{}
		if r.URL.Query().Get("page") == "0" {
			chans = append(chans, &model.ChannelWithTeamData{Channel: model.Channel{Id: "a", LastPostAt: in.lastPost - 5000}},
				&model.ChannelWithTeamData{Channel: model.Channel{Id: "b", LastPostAt: in.lastPost}})
		}
		json.NewEncoder(w).Encode(chans)
	})
	mux.HandleFunc("GET /api/v4/analytics/old", func(w http.ResponseWriter, r *http.Request) {
		json.NewEncoder(w).Encode(model.AnalyticsRows{{Name: "daily_active_users", Value: 1}, {Name: "monthly_active_users", Value: in.monthly}})
	})
	in.srv = httptest.NewServer(mux)
	t.Cleanup(in.srv.Close)
	return in
}

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

func credentials(t *testing.T) *Credentials {
	c, err := OpenCredentials(filepath.Join(t.TempDir(), "usage", "credentials.json"))
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestSweepAsksEachInstallationOnce(t *testing.T) {
	posted := time.Date(2026, 11, 30, 12, 0, 0, 0, time.UTC)
	creds := credentials(t)
	var targets []reconciler.RunningInstallation
	var insts []*installation
	for i := range 6 {
		in := newInstallation(t, "pw", posted.Add(time.Duration(i)*time.Minute), 10*i)
		in.slow = 50 * time.Millisecond
		insts = append(insts, in)
		name := fmt.Sprintf("env%d", i)
		targets = append(targets, reconciler.RunningInstallation{Name: name, InstallationID: "id" + name, URL: in.srv.URL})
		if err := creds.Keep(name, Credential{InstallationID: "id" + name, URL: in.srv.URL, Username: "sysadmin", Password: "pw"}); err != nil {
			t.Fatal(err)
		}
	}
	// One environment whose credentials are of an older installation, one
	// with a wrong password, one without credentials.
	creds.Keep("old", Credential{InstallationID: "gen1", URL: insts[0].srv.URL, Username: "sysadmin", Password: "pw"})
	targets = append(targets, reconciler.RunningInstallation{Name: "old", InstallationID: "gen2", URL: insts[0].srv.URL})
	creds.Keep("locked", Credential{InstallationID: "idlocked", URL: insts[1].srv.URL, Username: "sysadmin", Password: "changed"})
	targets = append(targets, reconciler.RunningInstallation{Name: "locked", InstallationID: "idlocked", URL: insts[1].srv.URL})
	targets = append(targets, reconciler.RunningInstallation{Name: "nocreds", InstallationID: "x", URL: insts[2].srv.URL})

	var flight, peak atomic.Int64
	s := &Source{Logger: quiet, Credentials: creds, Targets: func() []reconciler.RunningInstallation { return targets }, Concurrency: 2,
		HTTPClient: &http.Client{Transport: countingTransport{&flight, &peak}}}
	if u, ok := s.Usage("env3"); !ok || u.Err == nil {
		t.Fatalf("before the first sweep env3 is %+v, %v: want not asked (not idle)", u, ok)
	}
	s.Sweep(context.Background())
	for i, in := range insts {
		u, ok := s.Usage(fmt.Sprintf("env%d", i))
		if !ok || u.Err != nil || !u.LastPost.Equal(posted.Add(time.Duration(i)*time.Minute)) || u.ActiveUsers != 10*i {
			t.Errorf("env%d: %+v, %v", i, u, ok)
		}
		if want := int64(1); i >= 2 && in.logins.Load() != want {
			t.Errorf("env%d logged in %d times in one sweep", i, in.logins.Load())
		}
	}
	if peak.Load() > 2 {
		t.Errorf("%d requests at once, want at most 2 (Concurrency)", peak.Load())
	}
	if u, ok := s.Usage("locked"); !ok || u.Err == nil || strings.Contains(u.Err.Error(), "changed") {
		t.Errorf("locked: %+v, %v: want an error without the password", u, ok)
	}
	for _, name := range []string{"old", "nocreds"} {
		if u, ok := s.Usage(name); ok && u.InstallationID == targets[len(targets)-1].InstallationID {
			t.Errorf("%s is known: %+v", name, u)
		}
	}
	if u, ok := s.Usage("old"); ok && u.Err == nil {
		t.Errorf("old installation's credentials were used: %+v", u)
	}
}

func TestUnreachableInstallationIsNotIdle(t *testing.T) {
	creds := credentials(t)
	creds.Keep("gone", Credential{InstallationID: "i", URL: "http://127.0.0.1:1", Username: "u", Password: "p"})
	s := &Source{Logger: quiet, Credentials: creds, Timeout: time.Second, Targets: func() []reconciler.RunningInstallation {
		return []reconciler.RunningInstallation{{Name: "gone", InstallationID: "i", URL: "http://127.0.0.1:1"}}
	}}
	s.Sweep(context.Background())
	if u, ok := s.Usage("gone"); !ok || u.Err == nil || u.InstallationID != "i" {
		t.Fatalf("unreachable: %+v, %v: want an error (never idle)", u, ok)
	}
}

type countingTransport struct{ flight, peak *atomic.Int64 }

func (c countingTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	n := c.flight.Add(1)
	defer c.flight.Add(-1)
	for m := c.peak.Load(); n > m && !c.peak.CompareAndSwap(m, n); m = c.peak.Load() {
	}
	return http.DefaultTransport.RoundTrip(r)
}

func TestCredentialsFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "credentials.json")
	c, err := OpenCredentials(path)
	if err != nil {
		t.Fatal(err)
	}
	cr := Credential{InstallationID: "i1", URL: "https://x.test", Username: "sysadmin-abc", Password: "Secret-Pa55!"}
	if err := c.Keep("x", cr); err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(path)
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("credentials file %v, %v: want mode 0600", fi, err)
	}
	again, err := OpenCredentials(path)
	if err != nil {
		t.Fatal(err)
	}
	if got, ok := again.Get("x"); !ok || got != cr {
		t.Fatalf("reopened: %+v, %v", got, ok)
	}
	if s := fmt.Sprint(cr); strings.Contains(s, cr.Password) {
		t.Errorf("a credential prints its password: %s", s)
	}
}

func TestPrometheusPosted(t *testing.T) {
	var mu sync.Mutex
	var queries []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query().Get("query")
		mu.Lock()
		queries = append(queries, q)
		mu.Unlock()
		switch {
		case strings.Contains(q, `"busy"`):
			fmt.Fprint(w, `{"status":"success","data":{"resultType":"vector","result":[{"metric":{},"value":[1700000000.1,"12"]}]}}`)
		case strings.Contains(q, `"quiet"`):
			fmt.Fprint(w, `{"status":"success","data":{"resultType":"vector","result":[{"metric":{},"value":[1700000000.1,"0"]}]}}`)
		case strings.Contains(q, `"none"`):
			fmt.Fprint(w, `{"status":"success","data":{"resultType":"vector","result":[]}}`)
		default:
			w.WriteHeader(http.StatusBadRequest)
			fmt.Fprint(w, `{"status":"error","errorType":"bad_data","error":"parse error"}`)
		}
	}))
	defer srv.Close()
	p := &Prometheus{URL: srv.URL, Query: `sum(increase(posts{installation="{{installation}}"}[1h]))`}
	for _, tc := range []struct {
		id      string
		posted  bool
		wantErr bool
	}{{"busy", true, false}, {"quiet", false, false}, {"none", false, false}, {"broken", false, true}} {
		got, err := p.Posted(context.Background(), reconciler.RunningInstallation{Name: "n", InstallationID: tc.id})
		if got != tc.posted || (err != nil) != tc.wantErr {
			t.Errorf("%s: %v, %v; want %v, error %v", tc.id, got, err, tc.posted, tc.wantErr)
		}
	}
	if !strings.Contains(queries[0], `installation="busy"`) {
		t.Errorf("query sent: %s", queries[0])
	}

	// Through a sweep: posts since the last sweep are activity now.
	now := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
	s := &Source{Logger: quiet, Prometheus: p, Now: func() time.Time { return now }, Targets: func() []reconciler.RunningInstallation {
		return []reconciler.RunningInstallation{{Name: "a", InstallationID: "busy"}, {Name: "b", InstallationID: "quiet"}}
	}}
	s.Sweep(context.Background())
	if u, _ := s.Usage("a"); !u.LastPost.Equal(now) || u.Err != nil {
		t.Errorf("busy: %+v", u)
	}
	if u, _ := s.Usage("b"); !u.LastPost.IsZero() || u.Err != nil {
		t.Errorf("quiet: %+v", u)
	}
}
