// Package ntfytest is a fake ntfy server for tests. It takes JSON
// publishes (POST or PUT to /) like ntfy does, checks them like ntfy
// (topic name, priority 1-5, at most 3 actions with the fields each type
// needs, message size) and more strictly (an unknown JSON field is
// refused, so a typo shows), records each with its Authorization header,
// answers with ntfy's message JSON or error JSON, can require a token or
// a user name and password, fails on demand, serves /v1/health and
// /v1/account, and taps action buttons the way the ntfy app does.
//
//	srv := ntfytest.New(t)
//	srv.RequireToken("tk_test")
//	... publish through the ntfy channel with serverUrl srv.URL ...
//	p := srv.Publishes()[0]           // p.Topic, p.Title, p.Priority, p.Actions, p.Authorization
//	res, err := srv.Tap(ctx, 0, "Acknowledge") // POSTs the action's URL like a phone
package ntfytest

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"
)

// Publish is one message the server accepted.
type Publish struct {
	ID            string // the id the server answered with
	Topic         string
	Title         string
	Message       string
	Priority      int // 0 when the publisher sent none (ntfy's default, 3)
	Tags          []string
	Click         string
	Markdown      bool
	Actions       []Action
	Authorization string // the Authorization header as received, "" for none
	Raw           []byte // the JSON body
}

// Action is an action button of a published message.
type Action struct {
	Action  string            `json:"action"` // view, http, broadcast, copy
	Label   string            `json:"label"`
	URL     string            `json:"url,omitempty"`
	Method  string            `json:"method,omitempty"` // http: ntfy's default is POST
	Headers map[string]string `json:"headers,omitempty"`
	Body    string            `json:"body,omitempty"`
	Clear   bool              `json:"clear,omitempty"`
	Intent  string            `json:"intent,omitempty"`
	Extras  map[string]string `json:"extras,omitempty"`
	Value   string            `json:"value,omitempty"`
}

// TapResult is what tapping an action button did.
type TapResult struct {
	Status int    // the HTTP status the action's URL answered
	Body   string // its answer, up to 64 KiB
	// Cleared: the action has clear set and succeeded, so the app would
	// remove the notification.
	Cleared bool
}

type failure struct {
	status int
	text   string
}

// Server is a running fake ntfy server. Its embedded httptest.Server gives
// URL, Client and Close.
type Server struct {
	*httptest.Server

	mu        sync.Mutex
	publishes []Publish
	token     string
	user      string
	pass      string
	fail      []failure
	unhealthy bool
	tapClient *http.Client
}

// New starts a fake ntfy server over plain HTTP, closed when the test ends.
func New(t testing.TB) *Server {
	s := &Server{}
	s.Server = httptest.NewServer(s.handler())
	t.Cleanup(s.Close)
	return s
}

// NewTLS starts a fake ntfy server over HTTPS; Client() trusts it.
func NewTLS(t testing.TB) *Server {
	s := &Server{}
	s.Server = httptest.NewTLSServer(s.handler())
	t.Cleanup(s.Close)
	return s
}

// RequireToken makes publishing and /v1/account need this access token,
// sent as "Bearer <token>" or as the password of basic auth (as ntfy
// allows).
func (s *Server) RequireToken(token string) {
	s.mu.Lock()
	s.token, s.user, s.pass = token, "", ""
	s.mu.Unlock()
}

// RequireBasic makes publishing and /v1/account need this user name and
// password.
func (s *Server) RequireBasic(username, password string) {
	s.mu.Lock()
	s.token, s.user, s.pass = "", username, password
	s.mu.Unlock()
}

// FailNext makes the next publish answer status with ntfy's error JSON
// {"code":<status*100+1>,"http":<status>,"error":<text>}. Calls queue up.
func (s *Server) FailNext(status int, text string) {
	s.mu.Lock()
	s.fail = append(s.fail, failure{status, text})
	s.mu.Unlock()
}

// SetHealthy sets what /v1/health answers (healthy at first).
func (s *Server) SetHealthy(healthy bool) {
	s.mu.Lock()
	s.unhealthy = !healthy
	s.mu.Unlock()
}

// SetTapClient sets the client Tap uses (http.DefaultClient at first):
// use the lastmile test server's Client() when it speaks TLS.
func (s *Server) SetTapClient(c *http.Client) {
	s.mu.Lock()
	s.tapClient = c
	s.mu.Unlock()
}

// Publishes returns the messages accepted so far.
func (s *Server) Publishes() []Publish {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Publish(nil), s.publishes...)
}

// Tap performs the action labelled label of publish number i (0-based)
// the way the ntfy app does when the button is tapped: an http action
// sends its method (POST by default) to its URL with its headers and
// body; a view action opens its URL (a GET, like a browser).
func (s *Server) Tap(ctx context.Context, i int, label string) (TapResult, error) {
	s.mu.Lock()
	client := s.tapClient
	var p Publish
	ok := i >= 0 && i < len(s.publishes)
	if ok {
		p = s.publishes[i]
	}
	s.mu.Unlock()
	if !ok {
		return TapResult{}, fmt.Errorf("ntfytest: no publish number %d", i)
	}
	if client == nil {
		client = http.DefaultClient
	}
	var a *Action
	for j := range p.Actions {
		if p.Actions[j].Label == label {
			a = &p.Actions[j]
			break
		}
	}
	if a == nil {
		return TapResult{}, fmt.Errorf("ntfytest: publish %d has no action labelled %q", i, label)
	}
	method, body := http.MethodGet, ""
	switch a.Action {
	case "http":
		method, body = a.Method, a.Body
		if method == "" {
			method = http.MethodPost
		}
	case "view":
	default:
		return TapResult{}, fmt.Errorf("ntfytest: cannot tap a %q action", a.Action)
	}
	req, err := http.NewRequestWithContext(ctx, method, a.URL, strings.NewReader(body))
	if err != nil {
		return TapResult{}, err
	}
	req.Header.Set("User-Agent", "ntfy/1.16.0 (ntfytest)")
	for k, v := range a.Headers {
		req.Header.Set(k, v)
	}
	resp, err := client.Do(req)
	if err != nil {
		return TapResult{}, err
	}
	defer resp.Body.Close()
	answer, err := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	if err != nil {
		return TapResult{}, err
	}
	ok = resp.StatusCode >= 200 && resp.StatusCode < 300
	return TapResult{Status: resp.StatusCode, Body: string(answer), Cleared: a.Action == "http" && a.Clear && ok}, nil
}

func (s *Server) handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /v1/health", func(w http.ResponseWriter, r *http.Request) {
		s.mu.Lock()
		healthy := !s.unhealthy
		s.mu.Unlock()
		writeJSON(w, http.StatusOK, map[string]bool{"healthy": healthy})
	})
	mux.HandleFunc("GET /v1/account", func(w http.ResponseWriter, r *http.Request) {
		user, ok := s.authorized(r)
		if !ok {
			writeError(w, http.StatusUnauthorized, 40101, "unauthorized")
			return
		}
		writeJSON(w, http.StatusOK, map[string]string{"username": user, "role": "user"})
	})
	mux.HandleFunc("POST /{$}", s.publish)
	mux.HandleFunc("PUT /{$}", s.publish)
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		writeError(w, http.StatusNotFound, 40401, "page not found (ntfytest only takes JSON publishes to /)")
	})
	return mux
}

// authorized checks the Authorization header against what is required
// and returns the user it stands for.
func (s *Server) authorized(r *http.Request) (string, bool) {
	s.mu.Lock()
	token, user, pass := s.token, s.user, s.pass
	s.mu.Unlock()
	eq := func(a, b string) bool { return subtle.ConstantTimeCompare([]byte(a), []byte(b)) == 1 }
	h := r.Header.Get("Authorization")
	switch {
	case token != "":
		if bearer, ok := strings.CutPrefix(h, "Bearer "); ok && eq(bearer, token) {
			return "token-user", true
		}
		if _, p, ok := r.BasicAuth(); ok && eq(p, token) {
			return "token-user", true
		}
		return "", false
	case user != "":
		u, p, ok := r.BasicAuth()
		return u, ok && eq(u, user) && eq(p, pass)
	}
	return "*", true
}

var topicRE = regexp.MustCompile(`^[-_A-Za-z0-9]{1,64}$`)

// message is ntfy's JSON publish body; fields ntfy knows but lastmile
// does not send are listed so that only true typos are refused.
type message struct {
	Topic    string   `json:"topic"`
	Message  string   `json:"message"`
	Title    string   `json:"title"`
	Priority int      `json:"priority"`
	Tags     []string `json:"tags"`
	Click    string   `json:"click"`
	Actions  []Action `json:"actions"`
	Markdown bool     `json:"markdown"`
	Attach   string   `json:"attach"`
	Filename string   `json:"filename"`
	Icon     string   `json:"icon"`
	Delay    string   `json:"delay"`
	Email    string   `json:"email"`
	Call     string   `json:"call"`
	Cache    string   `json:"cache"`
	Firebase string   `json:"firebase"`
}

func (s *Server) publish(w http.ResponseWriter, r *http.Request) {
	if _, ok := s.authorized(r); !ok {
		writeError(w, http.StatusUnauthorized, 40101, "unauthorized")
		return
	}
	s.mu.Lock()
	var f *failure
	if len(s.fail) > 0 {
		f = &s.fail[0]
		s.fail = s.fail[1:]
	}
	s.mu.Unlock()
	if f != nil {
		writeError(w, f.status, f.status*100+1, f.text)
		return
	}
	raw, err := io.ReadAll(http.MaxBytesReader(w, r.Body, 1<<20))
	if err != nil {
		writeError(w, http.StatusRequestEntityTooLarge, 41301, "request entity too large")
		return
	}
	var m message
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&m); err != nil {
		writeError(w, http.StatusBadRequest, 40001, "invalid request: "+err.Error())
		return
	}
	if err := check(&m); err != nil {
		writeError(w, http.StatusBadRequest, err.code, err.text)
		return
	}
	p := Publish{ID: newID(), Topic: m.Topic, Title: m.Title, Message: m.Message, Priority: m.Priority, Tags: m.Tags,
		Click: m.Click, Markdown: m.Markdown, Actions: m.Actions, Authorization: r.Header.Get("Authorization"), Raw: raw}
	s.mu.Lock()
	s.publishes = append(s.publishes, p)
	s.mu.Unlock()

	answer := map[string]any{"id": p.ID, "time": time.Now().Unix(), "expires": time.Now().Add(12 * time.Hour).Unix(),
		"event": "message", "topic": p.Topic, "message": p.Message}
	if m.Message == "" {
		answer["message"] = "triggered"
	}
	if p.Title != "" {
		answer["title"] = p.Title
	}
	if p.Priority != 0 {
		answer["priority"] = p.Priority
	}
	if len(p.Tags) > 0 {
		answer["tags"] = p.Tags
	}
	if p.Click != "" {
		answer["click"] = p.Click
	}
	if len(p.Actions) > 0 {
		answer["actions"] = p.Actions
	}
	writeJSON(w, http.StatusOK, answer)
}

type checkError struct {
	code int
	text string
}

// check refuses what ntfy refuses, with ntfy's error codes.
func check(m *message) *checkError {
	if !topicRE.MatchString(m.Topic) {
		return &checkError{40009, "invalid request: topic invalid"}
	}
	if m.Priority < 0 || m.Priority > 5 {
		return &checkError{40007, "invalid priority"}
	}
	if len(m.Message) > 4096 {
		// ntfy would turn it into an attachment; no caller wants that.
		return &checkError{41301, "message longer than 4096 bytes (ntfy would make it an attachment)"}
	}
	if len(m.Actions) > 3 {
		return &checkError{40018, "invalid request: action invalid: too many actions, only 3 allowed"}
	}
	for i, a := range m.Actions {
		bad := func(what string) *checkError {
			return &checkError{40018, fmt.Sprintf("invalid request: action %d invalid: %s", i+1, what)}
		}
		switch a.Action {
		case "view", "http":
			if a.URL == "" {
				return bad("url is required")
			}
			if !strings.HasPrefix(a.URL, "http://") && !strings.HasPrefix(a.URL, "https://") && a.Action == "http" {
				return bad("url must be http(s)")
			}
		case "broadcast":
		case "copy":
			if a.Value == "" {
				return bad("value is required")
			}
		default:
			return bad(fmt.Sprintf("action type %q not supported", a.Action))
		}
		if a.Label == "" {
			return bad("label is required")
		}
		if a.Method != "" && a.Action != "http" {
			return bad("method is only for http actions")
		}
	}
	return nil
}

func newID() string {
	var b [9]byte
	rand.Read(b[:])
	return strings.NewReplacer("+", "A", "/", "B").Replace(base64.StdEncoding.EncodeToString(b[:]))
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v)
}

func writeError(w http.ResponseWriter, status, code int, text string) {
	writeJSON(w, status, map[string]any{"code": code, "http": status, "error": text, "link": "https://ntfy.sh/docs/publish/"})
}
