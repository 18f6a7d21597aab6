// Package twiliotest is a fake Twilio for tests: a REST server on loopback
// that checks requests the way Twilio does (Basic auth, required fields,
// E.164 numbers, the account's own numbers), answers Twilio-shaped JSON,
// records every message and call, fails on demand, and drives lastmile's
// callbacks the way Twilio does: inbound SMS, answered calls, keypresses
// and status reports, each signed with X-Twilio-Signature over the URL it
// actually calls.
//
//	tw := twiliotest.New(twiliotest.AccountSID, twiliotest.AuthToken)
//	defer tw.Close()
//	raw := tw.Settings(twiliotest.Number) // settings JSON for provider "twilio"
//	... send, then tw.Messages(), tw.Calls(), tw.Answer(ctx, sid), tw.Press(ctx, sid, "4")
package twiliotest

import (
	"crypto/subtle"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Credentials and a number the fake's account owns, for tests that need
// no particular ones. Twilio's credentials are alphanumeric.
const (
	AccountSID = "AC0123456789abcdef0123456789abcdef"
	AuthToken  = "f00dfeedc0ffee00f00dfeedc0ffee00"
	Number     = "+15005550006"
)

var (
	e164       = regexp.MustCompile(`^\+[1-9][0-9]{6,14}$`)
	serviceSID = regexp.MustCompile(`^MG[0-9a-fA-F]{32}$`)
)

// Message is an SMS the fake accepted.
type Message struct {
	SID                 string
	To                  string
	From                string
	MessagingServiceSID string
	Body                string
	StatusCallback      string
	// Form is every field as sent.
	Form url.Values
}

// Call is a call the fake accepted.
type Call struct {
	SID                  string
	To                   string
	From                 string
	URL                  string
	Method               string
	StatusCallback       string
	StatusCallbackMethod string
	StatusCallbackEvents []string
	Timeout              string
	// Form is every field as sent.
	Form url.Values
}

// Request is one request to the fake's REST API.
type Request struct {
	Method string
	Path   string
	Query  url.Values
	Form   url.Values
	// User is the Basic auth user name; the password is never kept.
	User       string
	Authorized bool
	// Status is what the fake answered (0: it dropped the connection).
	Status int
}

type failure struct {
	status  int
	code    int
	message string
}

// Server is a fake Twilio. Its methods are safe for concurrent use.
type Server struct {
	// URL is the REST API's base URL: the settings' apiUrl.
	URL        string
	AccountSID string
	AuthToken  string
	// Client sends the callbacks; replace it before use if needed.
	Client *http.Client

	srv *httptest.Server

	mu            sync.Mutex
	numbers       map[string]bool
	optedOut      map[string]bool
	accountStatus string
	messages      []Message
	calls         []Call
	gathers       map[string]gatherState // call sid → the last <Gather> seen
	requests      []Request
	fails         []failure
	seq           int
}

// New starts a fake Twilio for the account sid with authToken. numbers are
// the account's phone numbers (From must be one of them); with none, the
// account owns Number.
func New(sid, authToken string, numbers ...string) *Server {
	if len(numbers) == 0 {
		numbers = []string{Number}
	}
	s := &Server{
		AccountSID: sid, AuthToken: authToken,
		Client:        &http.Client{Timeout: 10 * time.Second},
		numbers:       map[string]bool{},
		optedOut:      map[string]bool{},
		gathers:       map[string]gatherState{},
		accountStatus: "active",
	}
	for _, n := range numbers {
		s.numbers[n] = true
	}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /2010-04-01/Accounts/{sid}/Messages.json", s.createMessage)
	mux.HandleFunc("POST /2010-04-01/Accounts/{sid}/Calls.json", s.createCall)
	mux.HandleFunc("GET /2010-04-01/Accounts/{sid}/IncomingPhoneNumbers.json", s.incomingNumbers)
	mux.HandleFunc("GET /2010-04-01/Accounts/{file}", s.account)
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		writeError(w, http.StatusNotFound, 20404, "The requested resource "+r.URL.Path+" was not found")
	})
	s.srv = httptest.NewServer(s.guard(mux))
	s.URL = s.srv.URL
	return s
}

// Close stops the server.
func (s *Server) Close() { s.srv.Close() }

// Settings returns settings for provider "twilio" that point at this fake
// and send from from (a number the account owns).
func (s *Server) Settings(from string) json.RawMessage {
	b, _ := json.Marshal(map[string]string{"accountSid": s.AccountSID, "authToken": s.AuthToken, "fromNumber": from, "apiUrl": s.URL})
	return b
}

// FailNext makes the next REST request fail with a Twilio error: HTTP
// status, Twilio error code and message. Status 0 drops the connection
// instead, like a network failure. Failures queue up in order.
func (s *Server) FailNext(status, code int, message string) {
	s.mu.Lock()
	s.fails = append(s.fails, failure{status, code, message})
	s.mu.Unlock()
}

// OptOut marks number as having replied STOP: SMS to it fail with 21610
// until it replies START (or OptIn is called).
func (s *Server) OptOut(number string) {
	s.mu.Lock()
	s.optedOut[number] = true
	s.mu.Unlock()
}

// OptIn undoes OptOut.
func (s *Server) OptIn(number string) {
	s.mu.Lock()
	delete(s.optedOut, number)
	s.mu.Unlock()
}

// SetAccountStatus sets what the account resource reports: active,
// suspended or closed.
func (s *Server) SetAccountStatus(status string) {
	s.mu.Lock()
	s.accountStatus = status
	s.mu.Unlock()
}

// Messages returns the SMS accepted so far.
func (s *Server) Messages() []Message {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Message(nil), s.messages...)
}

// Calls returns the calls accepted so far.
func (s *Server) Calls() []Call {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Call(nil), s.calls...)
}

// Requests returns every REST request so far, accepted or not.
func (s *Server) Requests() []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Request(nil), s.requests...)
}

// guard records the request, applies a queued failure and checks the
// credentials, as Twilio does before anything else.
func (s *Server) guard(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		r.Body = http.MaxBytesReader(w, r.Body, 1<<20)
		_ = r.ParseForm()
		user, pass, _ := r.BasicAuth()
		authorized := subtle.ConstantTimeCompare([]byte(user), []byte(s.AccountSID)) == 1 &&
			subtle.ConstantTimeCompare([]byte(pass), []byte(s.AuthToken)) == 1
		rec := &statusRecorder{ResponseWriter: w}
		s.mu.Lock()
		idx := len(s.requests)
		s.requests = append(s.requests, Request{Method: r.Method, Path: r.URL.Path, Query: r.URL.Query(), Form: r.PostForm, User: user, Authorized: authorized})
		var fail *failure
		if len(s.fails) > 0 {
			fail = &s.fails[0]
			s.fails = s.fails[1:]
		}
		s.mu.Unlock()
		defer func() {
			s.mu.Lock()
			s.requests[idx].Status = rec.status
			s.mu.Unlock()
		}()
		switch {
		case fail != nil && fail.status == 0:
			if hj, ok := w.(http.Hijacker); ok {
				if conn, _, err := hj.Hijack(); err == nil {
					conn.Close()
					return
				}
			}
			writeError(rec, http.StatusBadGateway, 0, "connection dropped")
		case fail != nil:
			writeError(rec, fail.status, fail.code, fail.message)
		case !authorized:
			writeError(rec, http.StatusUnauthorized, 20003, "Authenticate")
		case !strings.HasPrefix(r.URL.Path, "/2010-04-01/Accounts/"+s.AccountSID+"/") && r.URL.Path != "/2010-04-01/Accounts/"+s.AccountSID+".json":
			writeError(rec, http.StatusNotFound, 20404, "The requested resource "+r.URL.Path+" was not found")
		default:
			next.ServeHTTP(rec, r)
		}
	})
}

type statusRecorder struct {
	http.ResponseWriter
	status int
}

func (r *statusRecorder) WriteHeader(code int) {
	if r.status == 0 {
		r.status = code
	}
	r.ResponseWriter.WriteHeader(code)
}

func (r *statusRecorder) Write(b []byte) (int, error) {
	if r.status == 0 {
		r.status = http.StatusOK
	}
	return r.ResponseWriter.Write(b)
}

func writeError(w http.ResponseWriter, status, code int, message string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(map[string]any{
		"code": code, "message": message, "status": status,
		"more_info": fmt.Sprintf("https://www.twilio.com/docs/errors/%d", code),
	})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v)
}

func (s *Server) nextSID(prefix string) string {
	s.seq++
	return fmt.Sprintf("%s%032x", prefix, s.seq)
}

func validCallbackURL(u string) bool {
	p, err := url.Parse(u)
	return err == nil && (p.Scheme == "https" || p.Scheme == "http") && p.Host != "" && !strings.Contains(p.Hostname(), "_")
}

func (s *Server) createMessage(w http.ResponseWriter, r *http.Request) {
	f := r.PostForm
	to, from, service, body, cb := f.Get("To"), f.Get("From"), f.Get("MessagingServiceSid"), f.Get("Body"), f.Get("StatusCallback")
	s.mu.Lock()
	defer s.mu.Unlock()
	switch {
	case to == "":
		writeError(w, http.StatusBadRequest, 21604, "A 'To' phone number is required.")
	case !e164.MatchString(to):
		writeError(w, http.StatusBadRequest, 21211, fmt.Sprintf("The 'To' number %s is not a valid phone number.", to))
	case from == "" && service == "":
		writeError(w, http.StatusBadRequest, 21603, "A 'From' phone number is required.")
	case service != "" && !serviceSID.MatchString(service):
		writeError(w, http.StatusBadRequest, 21701, fmt.Sprintf("The Messaging Service Sid %s is invalid.", service))
	case from != "" && !s.numbers[from]:
		writeError(w, http.StatusBadRequest, 21606, fmt.Sprintf("The From phone number %s is not a valid, SMS-capable inbound phone number or short code for your account.", from))
	case body == "" && f.Get("MediaUrl") == "":
		writeError(w, http.StatusBadRequest, 21602, "Message body is required.")
	case len([]rune(body)) > 1600:
		writeError(w, http.StatusBadRequest, 21617, "The concatenated message body exceeds the 1600 character limit.")
	case cb != "" && !validCallbackURL(cb):
		writeError(w, http.StatusBadRequest, 21609, "Invalid StatusCallback URL: "+cb)
	case s.optedOut[to]:
		writeError(w, http.StatusBadRequest, 21610, "Attempt to send to unsubscribed recipient")
	default:
		m := Message{SID: s.nextSID("SM"), To: to, From: from, MessagingServiceSID: service, Body: body, StatusCallback: cb, Form: f}
		s.messages = append(s.messages, m)
		status := "queued"
		if service != "" {
			status = "accepted"
		}
		writeJSON(w, http.StatusCreated, map[string]any{
			"sid": m.SID, "account_sid": s.AccountSID, "messaging_service_sid": nullable(service), "from": nullable(from),
			"to": to, "body": body, "status": status, "direction": "outbound-api", "num_segments": "1", "num_media": "0",
			"error_code": nil, "error_message": nil, "api_version": "2010-04-01",
			"uri": "/2010-04-01/Accounts/" + s.AccountSID + "/Messages/" + m.SID + ".json",
		})
	}
}

func (s *Server) createCall(w http.ResponseWriter, r *http.Request) {
	f := r.PostForm
	to, from, u, cb := f.Get("To"), f.Get("From"), f.Get("Url"), f.Get("StatusCallback")
	method := strings.ToUpper(f.Get("Method"))
	if method == "" {
		method = http.MethodPost
	}
	events := f["StatusCallbackEvent"]
	s.mu.Lock()
	defer s.mu.Unlock()
	badEvent := ""
	for _, e := range events {
		if e != "initiated" && e != "ringing" && e != "answered" && e != "completed" {
			badEvent = e
		}
	}
	timeout, terr := strconv.Atoi(f.Get("Timeout"))
	switch {
	case to == "":
		writeError(w, http.StatusBadRequest, 21201, "No 'To' number is specified")
	case !e164.MatchString(to):
		writeError(w, http.StatusBadRequest, 21211, fmt.Sprintf("Invalid 'To' Phone Number: %s", to))
	case from == "":
		writeError(w, http.StatusBadRequest, 21213, "No 'From' number is specified")
	case !s.numbers[from]:
		writeError(w, http.StatusBadRequest, 21210, fmt.Sprintf("The source phone number provided, %s, is not yet verified for your account.", from))
	case u == "" && f.Get("Twiml") == "" && f.Get("ApplicationSid") == "":
		writeError(w, http.StatusBadRequest, 21205, "Url parameter is required.")
	case u != "" && (!validCallbackURL(u) || len(u) > 4000):
		writeError(w, http.StatusBadRequest, 21205, "Url is not a valid URL: "+u)
	case method != http.MethodPost && method != http.MethodGet:
		writeError(w, http.StatusBadRequest, 21207, "Method is not valid: "+method)
	case cb != "" && !validCallbackURL(cb):
		writeError(w, http.StatusBadRequest, 21609, "Invalid StatusCallback URL: "+cb)
	case badEvent != "":
		writeError(w, http.StatusBadRequest, 21626, "Invalid StatusCallbackEvent: "+badEvent)
	case f.Get("Timeout") != "" && (terr != nil || timeout < 1 || timeout > 600):
		writeError(w, http.StatusBadRequest, 21216, "Timeout must be between 1 and 600 seconds")
	default:
		if len(events) == 0 {
			events = []string{"completed"}
		}
		c := Call{SID: s.nextSID("CA"), To: to, From: from, URL: u, Method: method, StatusCallback: cb,
			StatusCallbackMethod: f.Get("StatusCallbackMethod"), StatusCallbackEvents: events, Timeout: f.Get("Timeout"), Form: f}
		s.calls = append(s.calls, c)
		writeJSON(w, http.StatusCreated, map[string]any{
			"sid": c.SID, "account_sid": s.AccountSID, "to": to, "from": from, "status": "queued",
			"direction": "outbound-api", "answered_by": nil, "api_version": "2010-04-01",
			"uri": "/2010-04-01/Accounts/" + s.AccountSID + "/Calls/" + c.SID + ".json",
		})
	}
}

func (s *Server) account(w http.ResponseWriter, r *http.Request) {
	if r.PathValue("file") != s.AccountSID+".json" {
		writeError(w, http.StatusNotFound, 20404, "The requested resource "+r.URL.Path+" was not found")
		return
	}
	s.mu.Lock()
	status := s.accountStatus
	s.mu.Unlock()
	writeJSON(w, http.StatusOK, map[string]any{"sid": s.AccountSID, "friendly_name": "fake account", "status": status, "type": "Full"})
}

func (s *Server) incomingNumbers(w http.ResponseWriter, r *http.Request) {
	want := r.URL.Query().Get("PhoneNumber")
	s.mu.Lock()
	var list []map[string]any
	for n := range s.numbers {
		if want == "" || n == want {
			list = append(list, map[string]any{"sid": fmt.Sprintf("PN%032x", len(list)+1), "phone_number": n,
				"capabilities": map[string]bool{"sms": true, "voice": true, "mms": false}})
		}
	}
	s.mu.Unlock()
	if list == nil {
		list = []map[string]any{}
	}
	writeJSON(w, http.StatusOK, map[string]any{"incoming_phone_numbers": list, "page": 0, "page_size": 50})
}

func nullable(s string) any {
	if s == "" {
		return nil
	}
	return s
}
