package email

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/smtp"
	"slices"
	"strings"
	"time"

	"github.com/lastmile/lastmile/internal/notify"
)

// defaultTimeout bounds a conversation whose context has no deadline. It
// is wall-clock time on purpose: it guards a network connection, which a
// fake clock does not move.
const defaultTimeout = 30 * time.Second

// session is an open, greeted, secured and logged-in SMTP connection.
type session struct {
	cfg    *config
	client *smtp.Client
	conn   net.Conn
	stop   func() bool // stops cancelling the connection with the context
}

// dial connects, greets, secures the connection as configured and logs in.
func dial(ctx context.Context, cfg *config) (*session, error) {
	var d net.Dialer
	conn, err := d.DialContext(ctx, "tcp", cfg.addr())
	if err != nil {
		return nil, cfg.explain(ctx, stepConnect, "", err)
	}
	deadline, ok := ctx.Deadline()
	if !ok {
		deadline = time.Now().Add(defaultTimeout)
	}
	conn.SetDeadline(deadline)
	// net/smtp takes no context: a cancelled context ends the conversation
	// by moving the deadline into the past.
	stop := context.AfterFunc(ctx, func() { conn.SetDeadline(time.Unix(1, 0)) })
	s := &session{cfg: cfg, conn: conn, stop: stop}
	fail := func(step string, err error) (*session, error) {
		s.close()
		return nil, cfg.explain(ctx, step, "", err)
	}

	tlsConf := &tls.Config{ServerName: cfg.serverName, RootCAs: cfg.roots, MinVersion: tls.VersionTLS12}
	if cfg.security == SecurityTLS {
		tc := tls.Client(conn, tlsConf)
		if err := tc.HandshakeContext(ctx); err != nil {
			return fail(stepTLS, err)
		}
		s.conn = tc
	}
	s.client, err = smtp.NewClient(s.conn, cfg.host)
	if err != nil {
		return fail(stepGreeting, err)
	}
	if err := s.client.Hello(cfg.helo); err != nil {
		return fail(stepHello, err)
	}
	secure := cfg.security == SecurityTLS
	if cfg.security == SecurityStartTLS {
		if ok, _ := s.client.Extension("STARTTLS"); !ok {
			s.close()
			return nil, notify.Permanent(fmt.Errorf("the SMTP server %s does not offer STARTTLS, so mail to it would travel unencrypted; if it expects TLS from the first byte (usually port 465) set security to \"tls\"", cfg.addr()))
		}
		if err := s.client.StartTLS(tlsConf); err != nil {
			return fail(stepStartTLS, err)
		}
		secure = true
	}
	if cfg.username != "" {
		if !secure {
			// parseSettings already refuses this; never send a password in clear.
			s.close()
			return nil, notify.Permanent(errors.New("refusing to send the SMTP password over an unencrypted connection"))
		}
		auth, err := cfg.auth(s.client)
		if err != nil {
			s.close()
			return nil, err
		}
		if err := s.client.Auth(auth); err != nil {
			return fail(stepAuth, err)
		}
	}
	return s, nil
}

// auth picks PLAIN, or LOGIN for servers that offer only that.
func (c *config) auth(client *smtp.Client) (smtp.Auth, error) {
	ok, params := client.Extension("AUTH")
	if !ok {
		return nil, notify.Permanent(fmt.Errorf("the SMTP server %s does not offer login (AUTH); remove username and password if it accepts mail from lastmile without them", c.addr()))
	}
	mechs := strings.Fields(strings.ToUpper(params))
	switch {
	case slices.Contains(mechs, "PLAIN"):
		return smtp.PlainAuth("", c.username, c.password, c.host), nil
	case slices.Contains(mechs, "LOGIN"):
		return loginAuth{c.username, c.password}, nil
	}
	return nil, notify.Permanent(fmt.Errorf("the SMTP server %s offers login only by %s; lastmile supports PLAIN and LOGIN", c.addr(), strings.Join(mechs, ", ")))
}

// close ends the connection without a goodbye.
func (s *session) close() {
	s.stop()
	if s.client != nil {
		s.client.Close()
		return
	}
	s.conn.Close()
}

// quit says goodbye; its answer does not matter once mail was accepted.
func (s *session) quit() {
	s.client.Quit()
	s.close()
}

// send hands one message to the server.
func (s *session) send(ctx context.Context, to string, msg []byte) error {
	if err := s.client.Mail(s.cfg.from.Address); err != nil {
		return s.cfg.explain(ctx, stepMail, to, err)
	}
	if err := s.client.Rcpt(to); err != nil {
		return s.cfg.explain(ctx, stepRcpt, to, err)
	}
	w, err := s.client.Data()
	if err != nil {
		return s.cfg.explain(ctx, stepData, to, err)
	}
	if _, err := w.Write(msg); err != nil {
		w.Close()
		return s.cfg.explain(ctx, stepData, to, err)
	}
	if err := w.Close(); err != nil {
		return s.cfg.explain(ctx, stepData, to, err)
	}
	return nil
}

// loginAuth is the LOGIN mechanism, for servers that offer no PLAIN.
type loginAuth struct{ username, password string }

func (a loginAuth) Start(server *smtp.ServerInfo) (string, []byte, error) {
	if !server.TLS {
		return "", nil, errors.New("refusing to send the SMTP password over an unencrypted connection")
	}
	return "LOGIN", nil, nil
}

func (a loginAuth) Next(fromServer []byte, more bool) ([]byte, error) {
	if !more {
		return nil, nil
	}
	prompt := strings.ToLower(string(fromServer))
	switch {
	case strings.Contains(prompt, "user"):
		return []byte(a.username), nil
	case strings.Contains(prompt, "pass"):
		return []byte(a.password), nil
	}
	return nil, fmt.Errorf("unexpected LOGIN prompt %q from the SMTP server", fromServer)
}
