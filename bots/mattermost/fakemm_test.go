package mattermost

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/mattermost/mattermost/server/public/model"
)

// fakeMM is a small, stateful Mattermost server: just the API routes
// Client4 calls for the bot (users/me, users/{id}, users/username/{name},
// channels/direct, posts) and for creating accounts on an installation
// (system/ping, users, users/login, users/logout), plus a response URL.
// Like the real server, the first account created becomes system admin and
// later ones need an admin session.
type fakeMM struct {
	t   testing.TB
	srv *httptest.Server

	mu        sync.Mutex
	users     map[string]*model.User // by ID
	passwords map[string]string      // username -> password
	tokens    map[string]string      // token -> user ID
	channels  map[string][2]string   // direct channel ID -> members
	posts     []*model.Post
	responses []model.CommandResponse
	teams     map[string]*model.Team    // by ID
	commands  map[string]*model.Command // by ID
	seq       int
}

func newFakeMM(t testing.TB) *fakeMM {
	f := &fakeMM{t: t, users: map[string]*model.User{}, passwords: map[string]string{},
		tokens: map[string]string{}, channels: map[string][2]string{},
		teams: map[string]*model.Team{}, commands: map[string]*model.Command{}}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /api/v4/system/ping", func(w http.ResponseWriter, r *http.Request) {
		f.json(w, map[string]any{"status": model.StatusOk})
	})
	mux.HandleFunc("GET /api/v4/users/me", f.authed(func(w http.ResponseWriter, r *http.Request, me *model.User) {
		f.json(w, me)
	}))
	lookup(f, mux, "users", f.users, func(u *model.User) string { return u.Username }, "app.user.missing_account.const")
	mux.HandleFunc("POST /api/v4/users", f.createUser)
	mux.HandleFunc("POST /api/v4/users/login", f.login)
	mux.HandleFunc("POST /api/v4/users/logout", func(w http.ResponseWriter, r *http.Request) {
		f.mu.Lock()
		delete(f.tokens, bearer(r))
		f.mu.Unlock()
		f.json(w, map[string]string{"status": "OK"})
	})
	mux.HandleFunc("POST /api/v4/channels/direct", f.authed(func(w http.ResponseWriter, r *http.Request, me *model.User) {
		var ids []string
		if err := json.NewDecoder(r.Body).Decode(&ids); err != nil || len(ids) != 2 || !slices.Contains(ids, me.Id) {
			f.fail(w, http.StatusBadRequest, "api.context.invalid_body_param.app_error")
			return
		}
		for _, id := range ids {
			if _, ok := f.users[id]; !ok {
				f.fail(w, http.StatusBadRequest, "api.channel.create_direct_channel.invalid_user.app_error")
				return
			}
		}
		slices.Sort(ids)
		id := ids[0] + "__" + ids[1]
		f.channels[id] = [2]string{ids[0], ids[1]}
		f.json(w, &model.Channel{Id: id, Type: model.ChannelTypeDirect, Name: id})
	}))
	mux.HandleFunc("POST /api/v4/posts", f.authed(func(w http.ResponseWriter, r *http.Request, me *model.User) {
		var p model.Post
		if err := json.NewDecoder(r.Body).Decode(&p); err != nil {
			f.fail(w, http.StatusBadRequest, "api.context.invalid_body_param.app_error")
			return
		}
		if m, ok := f.channels[p.ChannelId]; !ok || !slices.Contains(m[:], me.Id) {
			f.fail(w, http.StatusForbidden, "api.context.permissions.app_error")
			return
		}
		p.Id, p.UserId = f.newID(), me.Id
		f.posts = append(f.posts, &p)
		w.WriteHeader(http.StatusCreated)
		f.json(w, &p)
	}))
	lookup(f, mux, "teams", f.teams, func(t *model.Team) string { return t.Name }, "app.team.get.find.app_error")
	mux.HandleFunc("GET /api/v4/commands", f.authed(func(w http.ResponseWriter, r *http.Request, _ *model.User) {
		out := []*model.Command{}
		for _, c := range f.commands {
			if c.TeamId == r.URL.Query().Get("team_id") {
				out = append(out, c)
			}
		}
		f.json(w, out)
	}))
	mux.HandleFunc("DELETE /api/v4/commands/{id}", f.authed(func(w http.ResponseWriter, r *http.Request, _ *model.User) {
		delete(f.commands, r.PathValue("id"))
		f.json(w, map[string]string{"status": "OK"})
	}))
	mux.HandleFunc("POST /api/v4/commands", f.authed(func(w http.ResponseWriter, r *http.Request, me *model.User) {
		var c model.Command
		if err := json.NewDecoder(r.Body).Decode(&c); err != nil || f.teams[c.TeamId] == nil {
			f.fail(w, http.StatusBadRequest, "api.context.invalid_body_param.app_error")
			return
		}
		for _, o := range f.commands {
			if o.TeamId == c.TeamId && o.Trigger == c.Trigger {
				f.fail(w, http.StatusBadRequest, "api.command.duplicate_trigger.app_error")
				return
			}
		}
		// As the server does: fill in what it owns, then validate the
		// whole command, autocomplete tree included.
		c.Id, c.Token, c.CreatorId = f.newID(), f.newID(), me.Id
		c.PreSave()
		if err := c.IsValid(); err != nil {
			f.fail(w, http.StatusBadRequest, err.Id)
			return
		}
		f.commands[c.Id] = &c
		w.WriteHeader(http.StatusCreated)
		f.json(w, &c)
	}))
	mux.HandleFunc("POST /hooks/commands/{id}", func(w http.ResponseWriter, r *http.Request) {
		var cr model.CommandResponse
		if err := json.NewDecoder(r.Body).Decode(&cr); err != nil {
			http.Error(w, "bad body", http.StatusBadRequest)
			return
		}
		f.mu.Lock()
		f.responses = append(f.responses, cr)
		f.mu.Unlock()
	})
	f.srv = httptest.NewServer(mux)
	t.Cleanup(f.srv.Close)
	return f
}

// lookup serves GET /api/v4/<kind>/{id} and the by-name route of the same
// objects (users/username/{name}, teams/name/{name}).
func lookup[T any](f *fakeMM, mux *http.ServeMux, kind string, byID map[string]T, name func(T) string, missing string) {
	byName := map[string]string{"users": "username", "teams": "name"}[kind]
	serve := func(find func(r *http.Request) (T, bool)) http.HandlerFunc {
		return f.authed(func(w http.ResponseWriter, r *http.Request, _ *model.User) {
			if v, ok := find(r); ok {
				f.json(w, v)
				return
			}
			f.fail(w, http.StatusNotFound, missing)
		})
	}
	mux.HandleFunc("GET /api/v4/"+kind+"/"+byName+"/{name}", serve(func(r *http.Request) (T, bool) {
		for _, v := range byID {
			if name(v) == r.PathValue("name") {
				return v, true
			}
		}
		var zero T
		return zero, false
	}))
	mux.HandleFunc("GET /api/v4/"+kind+"/{id}", serve(func(r *http.Request) (T, bool) {
		v, ok := byID[r.PathValue("id")]
		return v, ok
	}))
}

func (f *fakeMM) URL() string { return f.srv.URL }

func (f *fakeMM) newID() string {
	f.seq++
	return fmt.Sprintf("%026d", f.seq)
}

// addUser creates a user directly, returning its ID; a bot gets a token.
func (f *fakeMM) addUser(username, email, first, last string) string {
	f.mu.Lock()
	defer f.mu.Unlock()
	u := &model.User{Id: f.newID(), Username: username, Email: email, FirstName: first, LastName: last, Roles: model.SystemUserRoleId}
	f.users[u.Id] = u
	return u.Id
}

// addTeam creates a team, returning its ID.
func (f *fakeMM) addTeam(name string) string {
	f.mu.Lock()
	defer f.mu.Unlock()
	t := &model.Team{Id: f.newID(), Name: name, DisplayName: name}
	f.teams[t.Id] = t
	return t.Id
}

// addToken gives a user an access token.
func (f *fakeMM) addToken(userID, token string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.tokens[token] = userID
}

func (f *fakeMM) createUser(w http.ResponseWriter, r *http.Request) {
	var u model.User
	if err := json.NewDecoder(r.Body).Decode(&u); err != nil || u.Username == "" || u.Password == "" {
		f.fail(w, http.StatusBadRequest, "api.context.invalid_body_param.app_error")
		return
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	roles := model.SystemUserRoleId
	if len(f.users) == 0 {
		roles += " " + model.SystemAdminRoleId
	} else if me := f.users[f.tokens[bearer(r)]]; me == nil || !strings.Contains(me.Roles, model.SystemAdminRoleId) {
		f.fail(w, http.StatusForbidden, "api.user.create_user.no_open_server")
		return
	}
	if _, taken := f.passwords[u.Username]; taken {
		f.fail(w, http.StatusBadRequest, "app.user.save.username_exists.app_error")
		return
	}
	f.passwords[u.Username] = u.Password
	u.Id, u.Password, u.Roles = f.newID(), "", roles
	f.users[u.Id] = &u
	w.WriteHeader(http.StatusCreated)
	f.json(w, &u)
}

func (f *fakeMM) login(w http.ResponseWriter, r *http.Request) {
	var m map[string]string
	_ = json.NewDecoder(r.Body).Decode(&m)
	f.mu.Lock()
	defer f.mu.Unlock()
	pw, ok := f.passwords[m["login_id"]]
	if !ok || pw != m["password"] {
		f.fail(w, http.StatusUnauthorized, "api.user.login.invalid_credentials_email_username")
		return
	}
	for _, u := range f.users {
		if u.Username == m["login_id"] {
			tok := "session-" + f.newID()
			f.tokens[tok] = u.Id
			w.Header().Set(model.HeaderToken, tok)
			f.json(w, u)
			return
		}
	}
}

func bearer(r *http.Request) string {
	h := r.Header.Get(model.HeaderAuth)
	if _, tok, ok := strings.Cut(h, " "); ok {
		return tok
	}
	return ""
}

// authed runs h with the caller's user under the lock, or answers 401.
func (f *fakeMM) authed(h func(http.ResponseWriter, *http.Request, *model.User)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		f.mu.Lock()
		defer f.mu.Unlock()
		me := f.users[f.tokens[bearer(r)]]
		if me == nil {
			f.fail(w, http.StatusUnauthorized, "api.context.session_expired.app_error")
			return
		}
		h(w, r, me)
	}
}

func (f *fakeMM) json(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	if err := json.NewEncoder(w).Encode(v); err != nil {
		f.t.Errorf("fake Mattermost: encoding a reply: %v", err)
	}
}

func (f *fakeMM) fail(w http.ResponseWriter, status int, id string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(model.NewAppError("fake", id, nil, "", status))
}

// dms returns the posts in the direct channel between the two users.
func (f *fakeMM) dms(a, b string) []*model.Post {
	ids := []string{a, b}
	slices.Sort(ids)
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []*model.Post
	for _, p := range f.posts {
		if p.ChannelId == ids[0]+"__"+ids[1] {
			out = append(out, p)
		}
	}
	return out
}

func (f *fakeMM) commandResponses() []model.CommandResponse {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.responses)
}

// canLogin reports whether the username and password log in.
func (f *fakeMM) canLogin(username, password string) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	pw, ok := f.passwords[username]
	return ok && pw == password
}

func (f *fakeMM) isAdmin(username string) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, u := range f.users {
		if u.Username == username {
			return strings.Contains(u.Roles, model.SystemAdminRoleId)
		}
	}
	return false
}
