// Package pushtest is a fake Web Push service and browser for tests: the
// server checks every request as a real push service would (VAPID
// signature and claims, TTL, Urgency, Topic, Content-Encoding, size),
// decrypts the body with the subscribing browser's keys, records what it
// got, and answers 201 — or 404, 410, 429, 500… when told to.
//
//	srv := pushtest.NewServer(t, pushtest.WithClock(clk))
//	addr := srv.Subscribe("ana")          // the contact method's address
//	… send a notification to addr …
//	n, _ := srv.Delivered("ana")[0].Notification()
//	srv.Unsubscribe("ana", http.StatusGone) // later pushes answer 410
package pushtest

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/lastmile/lastmile/internal/clock"
)

// maxBody is the size every push service must accept (RFC 8030 §7.2);
// this fake, like Mozilla's, answers 413 to anything larger.
const maxBody = 4096

// Server is a fake push service. Each subscription is an endpoint
// URL+"/push/<name>".
type Server struct {
	// URL is the server's origin, http://127.0.0.1:port.
	URL string

	srv   *httptest.Server
	clock clock.Clock

	mu     sync.Mutex
	subs   map[string]*subscriber
	pushes []Push
	fails  []failure
	n      int
}

type subscriber struct {
	browser *Browser
	appKey  string // applicationServerKey the subscription is bound to; "" for any
	gone    int    // 404 or 410 once unsubscribed
}

type failure struct {
	name   string
	status int
	body   string
}

// Push is one request the fake received.
type Push struct {
	// Endpoint is the subscription's name ("ana"), or the request path
	// when it matched no subscription.
	Endpoint string
	// Status is what the fake answered; Problem says why it refused a
	// request a real push service would refuse ("" for a valid one, also
	// when a scripted failure was answered).
	Status  int
	Problem string
	Header  http.Header
	TTL     int
	Urgency string
	Topic   string
	// VAPID is the checked Authorization header.
	VAPID VAPID
	// Body is the encrypted body as received; Plaintext its decryption.
	Body      []byte
	Plaintext []byte
	// Location is the message URI answered with 201.
	Location string
}

// Notification is the payload lastmile's push channel sends, as the service
// worker reads it with event.data.json().
type Notification struct {
	NotificationID     string   `json:"notificationId"`
	AlertID            string   `json:"alertId"`
	Kind               string   `json:"kind"`
	Title              string   `json:"title"`
	Body               string   `json:"body"`
	Severity           string   `json:"severity"`
	Team               string   `json:"team"`
	URL                string   `json:"url"`
	Tag                string   `json:"tag"`
	Actions            []Action `json:"actions"`
	RequireInteraction bool     `json:"requireInteraction"`
	Renotify           bool     `json:"renotify"`
}

// Action is a notification button: the service worker POSTs URL when it is
// clicked.
type Action struct {
	Action string `json:"action"`
	Title  string `json:"title"`
	URL    string `json:"url"`
}

// Notification decodes the decrypted payload.
func (p Push) Notification() (Notification, error) {
	var n Notification
	if err := json.Unmarshal(p.Plaintext, &n); err != nil {
		return Notification{}, fmt.Errorf("push payload is not JSON: %w", err)
	}
	return n, nil
}

// Option configures a Server.
type Option func(*Server)

// WithClock judges VAPID expiry by c instead of the wall clock: pass the
// fake clock the sender uses.
func WithClock(c clock.Clock) Option { return func(s *Server) { s.clock = c } }

// NewServer starts a fake push service on 127.0.0.1, closed when the test
// ends. t may be nil; call Close then.
func NewServer(t testing.TB, opts ...Option) *Server {
	s := &Server{clock: clock.Real{}, subs: map[string]*subscriber{}}
	for _, o := range opts {
		o(s)
	}
	s.srv = httptest.NewServer(http.HandlerFunc(s.handle))
	s.URL = s.srv.URL
	if t != nil {
		t.Cleanup(s.Close)
	}
	return s
}

// Close shuts the server down.
func (s *Server) Close() { s.srv.Close() }

// Endpoint is the endpoint URL of the subscription name.
func (s *Server) Endpoint(name string) string { return s.URL + "/push/" + name }

// Subscribe makes a browser subscription at this push service and returns
// its PushSubscription JSON. Any VAPID key is accepted for it.
func (s *Server) Subscribe(name string) string { return s.SubscribeWithKey(name, "") }

// SubscribeWithKey is Subscribe bound to an applicationServerKey, like
// pushManager.subscribe({applicationServerKey}): pushes signed with another
// key are refused with 403.
func (s *Server) SubscribeWithKey(name, applicationServerKey string) string {
	b := NewBrowser()
	s.mu.Lock()
	s.subs[name] = &subscriber{browser: b, appKey: applicationServerKey}
	s.mu.Unlock()
	return b.Subscription(s.Endpoint(name))
}

// Browser is the browser holding subscription name (nil if none).
func (s *Server) Browser(name string) *Browser {
	s.mu.Lock()
	defer s.mu.Unlock()
	if sub := s.subs[name]; sub != nil {
		return sub.browser
	}
	return nil
}

// Unsubscribe makes every later push to name answer status: 410 (what FCM
// and Mozilla answer for a subscription the user removed) or 404 (RFC
// 8030's expired subscription).
func (s *Server) Unsubscribe(name string, status int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if sub := s.subs[name]; sub != nil {
		sub.gone = status
	}
}

// FailNext makes the next valid push to name ("" for any subscription)
// answer status with body instead of 201. 429 and 503 carry Retry-After:
// 30. Calls queue up. A request the fake refuses on its own merits (a bad
// signature) does not use up a scripted failure.
func (s *Server) FailNext(name string, status int, body string) {
	s.mu.Lock()
	s.fails = append(s.fails, failure{name, status, body})
	s.mu.Unlock()
}

// Pushes returns every request received so far, accepted or not.
func (s *Server) Pushes() []Push {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Push(nil), s.pushes...)
}

// Delivered returns the pushes to name that were accepted (201).
func (s *Server) Delivered(name string) []Push {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []Push
	for _, p := range s.pushes {
		if p.Endpoint == name && p.Status == http.StatusCreated {
			out = append(out, p)
		}
	}
	return out
}

func (s *Server) handle(w http.ResponseWriter, r *http.Request) {
	p := Push{Endpoint: r.URL.Path, Header: r.Header.Clone()}
	body, err := io.ReadAll(io.LimitReader(r.Body, maxBody+1))
	p.Body = body
	name, isPush := strings.CutPrefix(r.URL.Path, "/push/")

	s.mu.Lock()
	sub, gone := s.subs[name], 0
	if isPush && sub != nil {
		p.Endpoint, gone = name, sub.gone
	}
	s.mu.Unlock()

	switch {
	case !isPush || sub == nil:
		s.refuse(w, &p, http.StatusNotFound, "no such subscription")
	case gone != 0:
		s.refuse(w, &p, gone, "subscription removed")
	case r.Method != http.MethodPost:
		w.Header().Set("Allow", http.MethodPost)
		s.refuse(w, &p, http.StatusMethodNotAllowed, "push messages are POSTed")
	case err != nil:
		s.refuse(w, &p, http.StatusBadRequest, "reading body: "+err.Error())
	case len(body) > maxBody:
		s.refuse(w, &p, http.StatusRequestEntityTooLarge, fmt.Sprintf("body larger than %d bytes", maxBody))
	default:
		if status, problem := s.check(r, &p, sub); status != 0 {
			s.refuse(w, &p, status, problem)
			return
		}
		s.accept(w, &p)
	}
}

// check validates a push like a real push service; it returns the status
// and reason to refuse it with, or 0.
func (s *Server) check(r *http.Request, p *Push, sub *subscriber) (int, string) {
	ttl := r.Header.Get("TTL")
	if ttl == "" {
		return http.StatusBadRequest, "TTL header missing (RFC 8030 §5.2)"
	}
	n, err := strconv.Atoi(ttl)
	if err != nil || n < 0 || strings.Trim(ttl, "0123456789") != "" {
		return http.StatusBadRequest, "TTL is not a number of seconds"
	}
	p.TTL = n
	if v := r.Header.Values("Urgency"); len(v) > 0 {
		if len(v) > 1 {
			return http.StatusBadRequest, "more than one Urgency header"
		}
		switch v[0] {
		case "very-low", "low", "normal", "high":
			p.Urgency = v[0]
		default:
			return http.StatusBadRequest, fmt.Sprintf("Urgency %q is not very-low, low, normal or high", v[0])
		}
	}
	if t := r.Header.Get("Topic"); t != "" {
		if len(t) > 32 || strings.Trim(t, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_") != "" {
			return http.StatusBadRequest, "Topic must be at most 32 base64url characters (RFC 8030 §5.4)"
		}
		p.Topic = t
	}
	if ce := r.Header.Get("Content-Encoding"); ce != "aes128gcm" {
		return http.StatusBadRequest, fmt.Sprintf("Content-Encoding is %q, not aes128gcm", ce)
	}
	if ct := r.Header.Get("Content-Type"); ct != "application/octet-stream" {
		return http.StatusBadRequest, fmt.Sprintf("Content-Type is %q, not application/octet-stream", ct)
	}
	authz := r.Header.Get("Authorization")
	if authz == "" {
		return http.StatusUnauthorized, "no VAPID Authorization header"
	}
	v, err := ParseVAPID(authz)
	if err != nil {
		return http.StatusForbidden, err.Error()
	}
	p.VAPID = v
	if err := v.Claims.Check(s.URL, s.clock.Now()); err != nil {
		return http.StatusForbidden, err.Error()
	}
	if sub.appKey != "" && strings.TrimRight(v.Key, "=") != strings.TrimRight(sub.appKey, "=") {
		return http.StatusForbidden, "VAPID key differs from the subscription's applicationServerKey"
	}
	pt, err := sub.browser.Decrypt(p.Body)
	if err != nil {
		return http.StatusBadRequest, "cannot decrypt: " + err.Error()
	}
	p.Plaintext = pt
	return 0, ""
}

func (s *Server) refuse(w http.ResponseWriter, p *Push, status int, problem string) {
	p.Status, p.Problem = status, problem
	s.mu.Lock()
	s.pushes = append(s.pushes, *p)
	s.mu.Unlock()
	http.Error(w, problem, status)
}

func (s *Server) accept(w http.ResponseWriter, p *Push) {
	s.mu.Lock()
	var f *failure
	for i := range s.fails {
		if s.fails[i].name == "" || s.fails[i].name == p.Endpoint {
			ff := s.fails[i]
			f = &ff
			s.fails = append(s.fails[:i], s.fails[i+1:]...)
			break
		}
	}
	s.n++
	if f == nil {
		p.Status, p.Location = http.StatusCreated, fmt.Sprintf("%s/message/%d", s.URL, s.n)
	} else {
		p.Status = f.status
	}
	s.pushes = append(s.pushes, *p)
	s.mu.Unlock()

	if f != nil {
		if f.status == http.StatusTooManyRequests || f.status == http.StatusServiceUnavailable {
			w.Header().Set("Retry-After", "30")
		}
		w.WriteHeader(f.status)
		io.WriteString(w, f.body)
		return
	}
	w.Header().Set("Location", p.Location)
	w.Header().Set("TTL", strconv.Itoa(p.TTL))
	w.WriteHeader(http.StatusCreated)
}
