package emailtest_test

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"net/smtp"
	"net/textproto"
	"strings"
	"testing"

	"github.com/lastmile/lastmile/internal/notify/email/emailtest"
)

// send hands raw to the fake with net/smtp over STARTTLS and AUTH PLAIN.
func send(t *testing.T, srv *emailtest.Server, raw string) error {
	t.Helper()
	c, err := smtp.Dial(srv.Addr())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	roots := x509.NewCertPool()
	roots.AppendCertsFromPEM([]byte(srv.CAPEM()))
	if err := c.StartTLS(&tls.Config{ServerName: "localhost", RootCAs: roots}); err != nil {
		t.Fatal(err)
	}
	if err := c.Auth(smtp.PlainAuth("", "u", "p", srv.Host())); err != nil {
		t.Fatal(err)
	}
	if err := c.Mail("a@example.com"); err != nil {
		return err
	}
	if err := c.Rcpt("b@example.com"); err != nil {
		return err
	}
	w, err := c.Data()
	if err != nil {
		return err
	}
	w.Write([]byte(raw))
	return w.Close()
}

func code(err error) int {
	var e *textproto.Error
	if errors.As(err, &e) {
		return e.Code
	}
	return 0
}

func TestFakeChecksMessagesLikeAStrictServer(t *testing.T) {
	srv := emailtest.New(t, emailtest.Options{STARTTLS: true, Username: "u", Password: "p"})
	good := "From: a@example.com\r\nDate: Mon, 30 Nov 2026 09:15:00 +0000\r\nSubject: =?UTF-8?q?caf=C3=A9?=\r\n\r\nhello https://x.example/1\r\n"
	if err := send(t, srv, good); err != nil {
		t.Fatal(err)
	}
	m := srv.Messages()[0]
	if m.Subject != "café" || m.Text != "hello https://x.example/1\n" || m.TextURLs[0] != "https://x.example/1" || !m.TLS || m.AuthUser != "u" {
		t.Errorf("recorded %+v", m)
	}
	for name, raw := range map[string]string{
		"no Date":   "From: a@example.com\r\n\r\nhi\r\n",
		"no From":   "Date: Mon, 30 Nov 2026 09:15:00 +0000\r\n\r\nhi\r\n",
		"long line": "From: a@example.com\r\nDate: Mon, 30 Nov 2026 09:15:00 +0000\r\n\r\n" + strings.Repeat("x", 999) + "\r\n",
		"bad UTF-8": "From: a@example.com\r\nDate: Mon, 30 Nov 2026 09:15:00 +0000\r\nContent-Type: text/plain; charset=UTF-8\r\n\r\n\xff\r\n",
	} {
		if err := send(t, srv, raw); code(err) != 554 {
			t.Errorf("%s: %v", name, err)
		}
	}
	srv.FailNextRcpt(550, "5.1.1 no such user")
	srv.FailNextRcpt(451, "later")
	if err := send(t, srv, good); code(err) != 550 || !strings.Contains(err.Error(), "5.1.1 no such user") {
		t.Errorf("first rcpt: %v", err)
	}
	if err := send(t, srv, good); code(err) != 451 {
		t.Errorf("second rcpt: %v", err)
	}
	if err := send(t, srv, good); err != nil {
		t.Errorf("third: %v", err)
	}
	if n := len(srv.Messages()); n != 2 {
		t.Errorf("%d messages recorded", n)
	}
}
