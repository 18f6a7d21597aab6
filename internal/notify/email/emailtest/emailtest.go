// Package emailtest is a fake SMTP server for tests: it listens on
// 127.0.0.1, offers STARTTLS and/or implicit TLS with a certificate from a
// throwaway CA (CAPEM lets clients trust it), requires AUTH PLAIN or
// LOGIN with the credentials it was given, checks each message like a
// strict mail server (From and Date present, CRLF lines of at most 998
// characters, parseable MIME, valid UTF-8) and records it parsed: envelope,
// headers, text part, HTML part and the links in them. It fails the next
// MAIL, RCPT or DATA with any reply on demand.
//
//	srv := emailtest.New(t, emailtest.Options{STARTTLS: true, Username: "u", Password: "p"})
//	chans, _ := email.Provider().Build(srv.Settings("lastmile <alerts@example.com>"), deps)
//	... send ...
//	m := srv.Messages()[0] // m.To, m.Subject, m.Text, m.HTML, m.Links
package emailtest

import (
	"crypto/tls"
	"encoding/json"
	"fmt"
	"io"
	"log"
	"net"
	"net/mail"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"
)

// Options shape the fake server.
type Options struct {
	// STARTTLS offers STARTTLS on the plain connection (port 587 style).
	STARTTLS bool
	// ImplicitTLS speaks TLS from the first byte (port 465 style).
	ImplicitTLS bool
	// Username and Password, when set, make the server require a login
	// before MAIL FROM and accept only these credentials.
	Username, Password string
	// Mechanisms offered for login: "PLAIN", "LOGIN" (default both).
	Mechanisms []string
	// AllowInsecureAuth offers AUTH on an unencrypted connection too; a
	// real submission server does not.
	AllowInsecureAuth bool
}

// Message is one mail the server accepted.
type Message struct {
	From     string   // envelope sender (MAIL FROM)
	To       []string // envelope recipients (RCPT TO)
	Raw      []byte   // as received, CRLF line ends, dots unstuffed
	Header   mail.Header
	Subject  string   // decoded from RFC 2047
	Text     string   // the text/plain part, decoded
	HTML     string   // the text/html part, decoded
	Links    []string // href targets in the HTML part, in order, unescaped
	TextURLs []string // http(s) URLs in the text part, in order
	TLS      bool     // the connection was encrypted
	AuthUser string   // who logged in, "" for nobody
	HELO     string   // the name the client gave in EHLO/HELO
}

// Login is one attempt to log in.
type Login struct {
	Mechanism string
	Username  string
	OK        bool
	TLS       bool
}

// reply is a scripted failure.
type reply struct {
	code int
	msg  string
}

// Server is a running fake SMTP server.
type Server struct {
	opt   Options
	smtp  *smtp.Server
	ln    net.Listener
	caPEM []byte

	mu       sync.Mutex
	messages []Message
	logins   []Login
	sessions int
	failMail []reply
	failRcpt []reply
	failData []reply
}

// New starts a fake server on 127.0.0.1 and stops it when the test ends.
func New(t testing.TB, opt Options) *Server {
	t.Helper()
	s, err := Start(opt)
	if err != nil {
		t.Fatalf("emailtest: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// Start starts a fake server on 127.0.0.1; Close stops it.
func Start(opt Options) (*Server, error) {
	if len(opt.Mechanisms) == 0 {
		opt.Mechanisms = []string{sasl.Plain, sasl.Login}
	}
	s := &Server{opt: opt}
	var tlsConf *tls.Config
	if opt.STARTTLS || opt.ImplicitTLS {
		caPEM, cert, err := newCA()
		if err != nil {
			return nil, err
		}
		s.caPEM = caPEM
		tlsConf = &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	if opt.ImplicitTLS {
		ln = tls.NewListener(ln, tlsConf)
	}
	s.ln = ln
	srv := smtp.NewServer(s)
	srv.Domain = "emailtest.localhost"
	srv.ReadTimeout = 30 * time.Second
	srv.WriteTimeout = 30 * time.Second
	srv.MaxMessageBytes = 10 << 20
	srv.MaxRecipients = 50
	srv.AllowInsecureAuth = opt.AllowInsecureAuth
	srv.ErrorLog = log.New(io.Discard, "", 0)
	if opt.STARTTLS {
		srv.TLSConfig = tlsConf
	}
	s.smtp = srv
	go srv.Serve(ln)
	return s, nil
}

// Close stops the server and drops open connections.
func (s *Server) Close() error { return s.smtp.Close() }

// Host is "127.0.0.1".
func (s *Server) Host() string { return "127.0.0.1" }

// Port is the port the server listens on.
func (s *Server) Port() int { return s.ln.Addr().(*net.TCPAddr).Port }

// Addr is host:port.
func (s *Server) Addr() string { return s.ln.Addr().String() }

// CAPEM is the PEM of the CA that signed the server's certificate (empty
// without TLS): clients trust the fake by adding it as a root.
func (s *Server) CAPEM() string { return string(s.caPEM) }

// Settings returns email provider settings that reach this server as
// from: security "tls", "starttls" or "none" to match the options, its
// CA, and its credentials.
func (s *Server) Settings(from string) json.RawMessage {
	security := "none"
	switch {
	case s.opt.ImplicitTLS:
		security = "tls"
	case s.opt.STARTTLS:
		security = "starttls"
	}
	v := map[string]any{"host": s.Host(), "port": s.Port(), "security": security, "from": from}
	if s.caPEM != nil {
		v["caPem"] = string(s.caPEM)
	}
	if s.opt.Username != "" {
		v["username"], v["password"] = s.opt.Username, s.opt.Password
	}
	b, _ := json.Marshal(v)
	return b
}

// Messages returns the mails accepted so far.
func (s *Server) Messages() []Message {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Message(nil), s.messages...)
}

// Logins returns the login attempts so far.
func (s *Server) Logins() []Login {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Login(nil), s.logins...)
}

// Sessions counts the sessions begun with EHLO or HELO (a STARTTLS
// begins a new one): zero means no client got as far as greeting.
func (s *Server) Sessions() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.sessions
}

// FailNextMail makes the next MAIL FROM answer code and msg (a 5xx code
// refuses for good, a 4xx one for now). Calls queue up.
func (s *Server) FailNextMail(code int, msg string) { s.push(&s.failMail, code, msg) }

// FailNextRcpt makes the next RCPT TO answer code and msg, like
// FailNextRcpt(550, "no such user").
func (s *Server) FailNextRcpt(code int, msg string) { s.push(&s.failRcpt, code, msg) }

// FailNextData makes the next message (after its data was read) answer
// code and msg, like FailNextData(451, "try again later").
func (s *Server) FailNextData(code int, msg string) { s.push(&s.failData, code, msg) }

func (s *Server) push(q *[]reply, code int, msg string) {
	s.mu.Lock()
	*q = append(*q, reply{code, msg})
	s.mu.Unlock()
}

// pop returns the next scripted failure of q as an SMTP error, or nil.
func (s *Server) pop(q *[]reply) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(*q) == 0 {
		return nil
	}
	r := (*q)[0]
	*q = (*q)[1:]
	e := &smtp.SMTPError{Code: r.code, EnhancedCode: smtp.EnhancedCodeNotSet, Message: r.msg}
	// A message starting with an enhanced code ("5.1.1 no such user")
	// gives it, instead of the generic x.0.0 the server would add.
	if code, rest, ok := strings.Cut(r.msg, " "); ok {
		var c smtp.EnhancedCode
		if n, err := fmt.Sscanf(code, "%d.%d.%d", &c[0], &c[1], &c[2]); err == nil && n == 3 {
			e.EnhancedCode, e.Message = c, rest
		}
	}
	return e
}

// NewSession implements smtp.Backend.
func (s *Server) NewSession(c *smtp.Conn) (smtp.Session, error) {
	s.mu.Lock()
	s.sessions++
	s.mu.Unlock()
	return &session{srv: s, conn: c}, nil
}
