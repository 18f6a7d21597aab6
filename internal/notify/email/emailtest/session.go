package emailtest

import (
	"crypto/subtle"
	"io"
	"slices"
	"strings"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"
)

// session is one client's conversation.
type session struct {
	srv      *Server
	conn     *smtp.Conn
	authUser string
	from     string
	to       []string
}

var errAuthRequired = &smtp.SMTPError{Code: 530, EnhancedCode: smtp.EnhancedCode{5, 7, 0}, Message: "Authentication required"}

func (s *session) isTLS() bool {
	_, ok := s.conn.TLSConnectionState()
	return ok
}

// AuthMechanisms offers login only when the server has credentials.
func (s *session) AuthMechanisms() []string {
	if s.srv.opt.Username == "" {
		return nil
	}
	return s.srv.opt.Mechanisms
}

// Auth checks the credentials like a real server: both must match.
func (s *session) Auth(mech string) (sasl.Server, error) {
	if s.srv.opt.Username == "" || !slices.Contains(s.srv.opt.Mechanisms, mech) {
		return nil, smtp.ErrAuthUnknownMechanism
	}
	check := func(username, password string) error {
		ok := subtle.ConstantTimeCompare([]byte(username), []byte(s.srv.opt.Username)) == 1 &&
			subtle.ConstantTimeCompare([]byte(password), []byte(s.srv.opt.Password)) == 1
		s.srv.mu.Lock()
		s.srv.logins = append(s.srv.logins, Login{Mechanism: mech, Username: username, OK: ok, TLS: s.isTLS()})
		s.srv.mu.Unlock()
		if !ok {
			return smtp.ErrAuthFailed
		}
		s.authUser = username
		return nil
	}
	switch mech {
	case sasl.Plain:
		return sasl.NewPlainServer(func(identity, username, password string) error {
			if identity != "" && identity != username {
				return smtp.ErrAuthFailed
			}
			return check(username, password)
		}), nil
	case sasl.Login:
		return &loginServer{check: check}, nil
	}
	return nil, smtp.ErrAuthUnknownMechanism
}

func (s *session) Mail(from string, _ *smtp.MailOptions) error {
	if s.srv.opt.Username != "" && s.authUser == "" {
		return errAuthRequired
	}
	if err := s.srv.pop(&s.srv.failMail); err != nil {
		return err
	}
	s.from = from
	return nil
}

func (s *session) Rcpt(to string, _ *smtp.RcptOptions) error {
	if err := s.srv.pop(&s.srv.failRcpt); err != nil {
		return err
	}
	if !strings.Contains(to, "@") {
		return &smtp.SMTPError{Code: 553, EnhancedCode: smtp.EnhancedCode{5, 1, 3}, Message: "Bad recipient address syntax"}
	}
	s.to = append(s.to, to)
	return nil
}

func (s *session) Data(r io.Reader) error {
	raw, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	if err := s.srv.pop(&s.srv.failData); err != nil {
		return err
	}
	m, err := parse(raw)
	if err != nil {
		return &smtp.SMTPError{Code: 554, EnhancedCode: smtp.EnhancedCode{5, 6, 0}, Message: "Message refused: " + err.Error()}
	}
	m.From, m.To, m.TLS, m.AuthUser, m.HELO = s.from, append([]string(nil), s.to...), s.isTLS(), s.authUser, s.conn.Hostname()
	s.srv.mu.Lock()
	s.srv.messages = append(s.srv.messages, m)
	s.srv.mu.Unlock()
	return nil
}

func (s *session) Reset() { s.from, s.to = "", nil }

func (s *session) Logout() error { return nil }

// loginServer is the server side of AUTH LOGIN, which go-sasl lacks:
// it prompts "Username:" (unless the client sent it with AUTH) and then
// "Password:".
type loginServer struct {
	check    func(username, password string) error
	step     int
	username string
}

func (l *loginServer) Next(response []byte) ([]byte, bool, error) {
	switch l.step {
	case 0:
		l.step = 2
		if response == nil {
			l.step = 1
			return []byte("Username:"), false, nil
		}
		l.username = string(response)
		return []byte("Password:"), false, nil
	case 1:
		l.username, l.step = string(response), 2
		return []byte("Password:"), false, nil
	case 2:
		l.step = 3
		return nil, true, l.check(l.username, string(response))
	}
	return nil, false, sasl.ErrUnexpectedClientResponse
}
