package email_test

import (
	"context"
	"encoding/json"
	"log/slog"
	"net"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/lastmile/lastmile/internal/clock"
	"github.com/lastmile/lastmile/internal/notify"
	"github.com/lastmile/lastmile/internal/notify/email"
	"github.com/lastmile/lastmile/internal/notify/email/emailtest"
)

var now = time.Date(2026, 11, 30, 9, 15, 0, 0, time.UTC)

func deps() notify.Deps {
	return notify.Deps{Log: slog.New(slog.DiscardHandler), Clock: clock.NewFake(now), BaseURL: "https://lastmile.example"}
}

// build returns the email channel for raw settings, failing the test on
// an error.
func build(t *testing.T, raw json.RawMessage) *email.Channel {
	t.Helper()
	chs, err := email.Provider().Build(raw, deps())
	if err != nil {
		t.Fatalf("build: %v", err)
	}
	if len(chs) != 1 || chs[0].Name() != "email" {
		t.Fatalf("channels %v", chs)
	}
	return chs[0].(*email.Channel)
}

// with changes one field of settings.
func with(raw json.RawMessage, key string, value any) json.RawMessage {
	var m map[string]any
	json.Unmarshal(raw, &m)
	if value == nil {
		delete(m, key)
	} else {
		m[key] = value
	}
	b, _ := json.Marshal(m)
	return b
}

func alert() notify.Message {
	return notify.Message{
		NotificationID: "n1", AlertID: "a1", TeamID: "t1", TeamName: "Ops", UserID: "u1",
		Channel: "email", Address: "Ana <Ana@Example.com>", Kind: "alert",
		Title: "Disk full on db1", Text: "/var is at 99%.\nWrites fail.", Severity: "high",
		AlertURL: "https://lastmile.example/alerts/a1",
		Actions: []notify.Action{
			{Name: "acknowledge", Label: "Acknowledge", URL: "https://lastmile.example/a/tok-ack", Token: "tok-ack"},
			{Name: "close", Label: "Close", URL: "https://lastmile.example/a/tok-close", Token: "tok-close"},
		},
	}
}

func onlyMessage(t *testing.T, srv *emailtest.Server) emailtest.Message {
	t.Helper()
	ms := srv.Messages()
	if len(ms) != 1 {
		t.Fatalf("%d messages arrived, want 1", len(ms))
	}
	return ms[0]
}

func TestSendOverSTARTTLSWithLogin(t *testing.T) {
	srv := emailtest.New(t, emailtest.Options{STARTTLS: true, Username: "lastmile", Password: "s3cret"})
	ch := build(t, srv.Settings("lastmile <alerts@example.com>"))
	id, err := ch.Send(context.Background(), alert())
	if err != nil {
		t.Fatal(err)
	}
	m := onlyMessage(t, srv)
	if !m.TLS || m.AuthUser != "lastmile" || m.HELO != "lastmile.example" {
		t.Errorf("tls %v, user %q, helo %q", m.TLS, m.AuthUser, m.HELO)
	}
	if m.From != "alerts@example.com" || !slices.Equal(m.To, []string{"ana@example.com"}) {
		t.Errorf("envelope %q -> %q", m.From, m.To)
	}
	if logins := srv.Logins(); len(logins) != 1 || logins[0].Mechanism != "PLAIN" || !logins[0].OK || !logins[0].TLS {
		t.Errorf("logins %+v", logins)
	}
	if id != "<n1@lastmile.example>" {
		t.Errorf("provider id %q", id)
	}
	want := map[string]string{
		"From":                     `"lastmile" <alerts@example.com>`,
		"To":                       "ana@example.com",
		"Date":                     "Mon, 30 Nov 2026 09:15:00 +0000",
		"Message-Id":               "<n1@lastmile.example>",
		"In-Reply-To":              "<alert-a1@lastmile.example>",
		"References":               "<alert-a1@lastmile.example>",
		"Auto-Submitted":           "auto-generated",
		"X-Auto-Response-Suppress": "All",
		"X-Lastmile-Alert-Id":      "a1",
		"Mime-Version":             "1.0",
	}
	for k, v := range want {
		if got := m.Header.Get(k); got != v {
			t.Errorf("%s: %q, want %q", k, got, v)
		}
	}
	if m.Subject != "[lastmile] [high] Disk full on db1 — Team Ops" {
		t.Errorf("subject %q", m.Subject)
	}
	if raw := m.Header.Get("Subject"); !strings.HasPrefix(raw, "=?UTF-8?q?") {
		t.Errorf("non-ASCII subject not RFC 2047 encoded: %q", raw)
	}
	if !strings.HasPrefix(m.Header.Get("Content-Type"), "multipart/alternative;") {
		t.Errorf("content type %q", m.Header.Get("Content-Type"))
	}
	links := []string{"https://lastmile.example/a/tok-ack", "https://lastmile.example/a/tok-close", "https://lastmile.example/alerts/a1"}
	if !slices.Equal(m.Links, links) {
		t.Errorf("html links %q, want %q", m.Links, links)
	}
	if !slices.Equal(m.TextURLs, links) {
		t.Errorf("text links %q, want %q", m.TextURLs, links)
	}
	for _, part := range []string{m.Text, m.HTML} {
		for _, s := range []string{"Disk full on db1", "Team Ops", "/var is at 99%.", "Writes fail.", "Acknowledge", "Close", "Links work once and expire", "HIGH"} {
			if !strings.Contains(part, s) {
				t.Errorf("a part lacks %q:\n%s", s, part)
			}
		}
	}
	if !strings.Contains(m.HTML, "Open in lastmile") || !strings.Contains(m.Text, "Open in lastmile: https://lastmile.example/alerts/a1") {
		t.Error("no Open in lastmile link")
	}
	if !strings.Contains(m.HTML, "#ea580c") {
		t.Error("no severity colour in the HTML")
	}
	if !strings.Contains(string(m.Raw), "Content-Transfer-Encoding: quoted-printable") {
		t.Error("parts are not quoted-printable")
	}
}

func TestSendOverImplicitTLS(t *testing.T) {
	srv := emailtest.New(t, emailtest.Options{ImplicitTLS: true, Username: "lastmile", Password: "s3cret"})
	ch := build(t, srv.Settings("alerts@example.com"))
	if _, err := ch.Send(context.Background(), alert()); err != nil {
		t.Fatal(err)
	}
	if m := onlyMessage(t, srv); !m.TLS || m.AuthUser != "lastmile" {
		t.Errorf("tls %v, user %q", m.TLS, m.AuthUser)
	}
}

func TestLoginMechanismWhenNoPlain(t *testing.T) {
	srv := emailtest.New(t, emailtest.Options{STARTTLS: true, Username: "lastmile", Password: "s3cret", Mechanisms: []string{"LOGIN"}})
	if _, err := build(t, srv.Settings("alerts@example.com")).Send(context.Background(), alert()); err != nil {
		t.Fatal(err)
	}
	if logins := srv.Logins(); len(logins) != 1 || logins[0].Mechanism != "LOGIN" || !logins[0].OK {
		t.Errorf("logins %+v", logins)
	}
	onlyMessage(t, srv)
}

func TestPlainRelayOnLoopback(t *testing.T) {
	srv := emailtest.New(t, emailtest.Options{})
	if _, err := build(t, srv.Settings("alerts@example.com")).Send(context.Background(), alert()); err != nil {
		t.Fatal(err)
	}
	if m := onlyMessage(t, srv); m.TLS || m.AuthUser != "" {
		t.Errorf("tls %v, user %q", m.TLS, m.AuthUser)
	}
}

func TestRefusedPasswordIsPermanent(t *testing.T) {
	srv := emailtest.New(t, emailtest.Options{STARTTLS: true, Username: "lastmile", Password: "s3cret"})
	ch := build(t, with(srv.Settings("alerts@example.com"), "password", "wrong-horse"))
	for name, run := range map[string]func() error{
		"send":  func() error { _, err := ch.Send(context.Background(), alert()); return err },
		"check": func() error { return ch.Check(context.Background()) },
	} {
		err := run()
		if err == nil || !notify.IsPermanent(err) || !strings.Contains(err.Error(), "the SMTP server refused the username or password") {
			t.Errorf("%s: %v (permanent %v)", name, err, notify.IsPermanent(err))
		}
		if err != nil && strings.Contains(err.Error(), "wrong-horse") {
			t.Errorf("%s: the error shows the password: %v", name, err)
		}
	}
	if len(srv.Messages()) != 0 {
		t.Error("a message arrived without a login")
	}
}

func TestServerRepliesSteerRetries(t *testing.T) {
	srv := emailtest.New(t, emailtest.Options{STARTTLS: true, Username: "lastmile", Password: "s3cret"})
	ch := build(t, srv.Settings("alerts@example.com"))
	for _, tc := range []struct {
		name      string
		fail      func(code int, msg string)
		code      int
		msg       string
		permanent bool
		words     string
	}{
		{"rcpt 550", srv.FailNextRcpt, 550, "5.1.1 no such user", true, "the SMTP server refused the recipient ana@example.com: 550 5.1.1 no such user"},
		{"rcpt 553", srv.FailNextRcpt, 553, "mailbox name not allowed", true, "refused the recipient ana@example.com"},
		{"rcpt 450", srv.FailNextRcpt, 450, "mailbox busy", false, "for now"},
		{"data 451", srv.FailNextData, 451, "try again later", false, "the SMTP server refused the message for now: 451"},
		{"data 554", srv.FailNextData, 554, "spam detected", true, "refused the message: 554"},
		{"mail 550", srv.FailNextMail, 550, "sender not allowed", true, "refused the sender alerts@example.com"},
		{"mail 421", srv.FailNextMail, 421, "too busy", false, "421"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := len(srv.Messages())
			tc.fail(tc.code, tc.msg)
			_, err := ch.Send(context.Background(), alert())
			if err == nil || notify.IsPermanent(err) != tc.permanent || !strings.Contains(err.Error(), tc.words) {
				t.Fatalf("err %v, permanent %v; want permanent %v and %q", err, notify.IsPermanent(err), tc.permanent, tc.words)
			}
			if len(srv.Messages()) != before {
				t.Error("the message was recorded anyway")
			}
			// The next send goes through: failures are one-shot.
			if _, err := ch.Send(context.Background(), alert()); err != nil {
				t.Fatal(err)
			}
		})
	}
}

func TestHTMLEscapesEverything(t *testing.T) {
	srv := emailtest.New(t, emailtest.Options{})
	m := alert()
	m.Title = `<script>alert("x")</script>`
	m.Text = `<img src=x onerror=alert(1)> & "quotes"`
	m.TeamName = "<b>Ops</b>"
	m.AlertURL = "javascript:alert(1)"
	m.Actions[0].URL = `https://lastmile.example/a/x"><script>`
	if _, err := build(t, srv.Settings("alerts@example.com")).Send(context.Background(), m); err != nil {
		t.Fatal(err)
	}
	got := onlyMessage(t, srv)
	for _, bad := range []string{"<script>", "<img", "<b>Ops", "javascript:"} {
		if strings.Contains(got.HTML, bad) {
			t.Errorf("HTML contains %q unescaped", bad)
		}
	}
	for _, good := range []string{"&lt;script&gt;", "&lt;img src=x onerror=alert(1)&gt; &amp; &#34;quotes&#34;", "#ZgotmplZ"} {
		if !strings.Contains(got.HTML, good) {
			t.Errorf("HTML lacks %q", good)
		}
	}
	if got.Subject != `[lastmile] [high] <script>alert("x")</script> — Team <b>Ops</b>` {
		t.Errorf("subject %q", got.Subject)
	}
}

func TestMailsOfOneAlertThread(t *testing.T) {
	srv := emailtest.New(t, emailtest.Options{})
	ch := build(t, srv.Settings("alerts@example.com"))
	first, second := alert(), alert()
	second.NotificationID, second.Kind, second.Round = "n2", "repeat", 2
	var ids []string
	for _, m := range []notify.Message{first, second} {
		id, err := ch.Send(context.Background(), m)
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, id)
	}
	ms := srv.Messages()
	if len(ms) != 2 {
		t.Fatalf("%d messages", len(ms))
	}
	if ids[0] == ids[1] || ms[0].Header.Get("Message-Id") != ids[0] || ms[1].Header.Get("Message-Id") != ids[1] {
		t.Errorf("message ids %q, headers %q %q", ids, ms[0].Header.Get("Message-Id"), ms[1].Header.Get("Message-Id"))
	}
	for _, h := range []string{"References", "In-Reply-To"} {
		if a, b := ms[0].Header.Get(h), ms[1].Header.Get(h); a != b || a != "<alert-a1@lastmile.example>" {
			t.Errorf("%s: %q and %q", h, a, b)
		}
	}
	if ms[0].Subject != ms[1].Subject {
		t.Errorf("subjects differ: %q, %q", ms[0].Subject, ms[1].Subject)
	}
	if !strings.Contains(ms[1].Text, "Reminder: this alert is still open") {
		t.Errorf("repeat text:\n%s", ms[1].Text)
	}
}

func TestKinds(t *testing.T) {
	srv := emailtest.New(t, emailtest.Options{})
	ch := build(t, srv.Settings("alerts@example.com"))
	verify := notify.Message{NotificationID: "v1", Address: "ana@example.com", Kind: notify.KindVerify, Code: "123456",
		AlertURL: "https://lastmile.example/x", Actions: alert().Actions}
	test := notify.Message{NotificationID: "t1", Address: "ana@example.com", Kind: notify.KindTest, TeamName: "Ops"}
	bundle := notify.Message{NotificationID: "b1", Address: "ana@example.com", Kind: notify.KindBundle, TeamName: "Ops",
		AlertURL: "https://lastmile.example/alerts", Bundle: []notify.AlertRef{
			{ID: "a1", Title: "Disk full on db1", Severity: "low"},
			{ID: "a2", Title: "API down", Severity: "critical"},
			{ID: "a3", Title: "Backup late"},
		}}
	for _, m := range []notify.Message{verify, test, bundle} {
		if _, err := ch.Send(context.Background(), m); err != nil {
			t.Fatalf("%s: %v", m.Kind, err)
		}
	}
	ms := srv.Messages()
	v, tst, b := ms[0], ms[1], ms[2]

	if v.Subject != "[lastmile] Your verification code is 123456" || !strings.Contains(v.Text, "Your lastmile verification code is 123456") || !strings.Contains(v.HTML, "123456") {
		t.Errorf("verify: %q\n%s", v.Subject, v.Text)
	}
	if len(v.Links) != 0 || len(v.TextURLs) != 0 || v.Header.Get("References") != "" {
		t.Errorf("verify mail carries links %q %q or threading", v.Links, v.TextURLs)
	}

	if tst.Subject != "[lastmile] Test notification — Team Ops" || !strings.Contains(tst.Text, "test message from lastmile") {
		t.Errorf("test: %q\n%s", tst.Subject, tst.Text)
	}

	if b.Subject != "[lastmile] [critical] 3 new alerts — Team Ops" {
		t.Errorf("bundle subject %q", b.Subject)
	}
	for _, s := range []string{"3 new alerts in Team Ops", "Disk full on db1", "API down", "Backup late", "CRITICAL", "LOW", "MEDIUM"} {
		if !strings.Contains(b.Text, s) || !strings.Contains(b.HTML, s) {
			t.Errorf("bundle lacks %q", s)
		}
	}
	if !slices.Equal(b.Links, []string{"https://lastmile.example/alerts"}) {
		t.Errorf("bundle links %q", b.Links)
	}
}

func TestLongAndNonASCIISubjects(t *testing.T) {
	srv := emailtest.New(t, emailtest.Options{})
	m := alert()
	m.Title = "Überhitzung im Rechenzentrum Süd: Kühlung ausgefallen, Temperatur steigt über 40 °C in Reihe 7 und 8\r\nBcc: evil@example.com"
	m.TeamName = "Rechenzentrum"
	if _, err := build(t, srv.Settings("lastmile <alerts@example.com>")).Send(context.Background(), m); err != nil {
		t.Fatal(err)
	}
	got := onlyMessage(t, srv)
	want := "[lastmile] [high] Überhitzung im Rechenzentrum Süd: Kühlung ausgefallen, Temperatur steigt über 40 °C in Reihe 7 und 8 Bcc: evil@example.com — Team Rechenzentrum"
	if got.Subject != want {
		t.Errorf("subject\n%q\nwant\n%q", got.Subject, want)
	}
	if got.Header.Get("Bcc") != "" {
		t.Error("a line break in the title made a header")
	}
	head, _, _ := strings.Cut(string(got.Raw), "\r\n\r\n")
	for line := range strings.SplitSeq(head, "\r\n") {
		if len(line) > 78 {
			t.Errorf("header line of %d characters: %q", len(line), line)
		}
	}
}

func TestCheck(t *testing.T) {
	tlsSrv := emailtest.New(t, emailtest.Options{STARTTLS: true, Username: "lastmile", Password: "s3cret"})
	plainSrv := emailtest.New(t, emailtest.Options{Username: "lastmile", Password: "s3cret", AllowInsecureAuth: true})
	noAuthSrv := emailtest.New(t, emailtest.Options{STARTTLS: true})
	closed := closedPort(t)

	if err := build(t, tlsSrv.Settings("alerts@example.com")).Check(context.Background()); err != nil {
		t.Fatalf("check: %v", err)
	}
	if len(tlsSrv.Messages()) != 0 || len(tlsSrv.Logins()) != 1 {
		t.Errorf("check sent %d messages, logged in %d times", len(tlsSrv.Messages()), len(tlsSrv.Logins()))
	}

	for _, tc := range []struct {
		name      string
		raw       json.RawMessage
		words     string
		permanent bool
	}{
		{"connection refused", with(with(tlsSrv.Settings("alerts@example.com"), "port", closed), "caPem", nil),
			"could not connect to the SMTP server 127.0.0.1:" + strconv.Itoa(closed) + ": connection refused", false},
		{"certificate not trusted", with(tlsSrv.Settings("alerts@example.com"), "caPem", nil),
			"is not trusted (signed by an unknown authority); if your relay uses an internal CA, paste that CA certificate into caPem", true},
		{"certificate for another name", with(tlsSrv.Settings("alerts@example.com"), "tlsServerName", "smtp.example.com"),
			"is not valid for the name \"smtp.example.com\"; set tlsServerName", true},
		{"no STARTTLS", with(with(plainSrv.Settings("alerts@example.com"), "security", "starttls"), "caPem", nil),
			"does not offer STARTTLS", true},
		{"password refused", with(tlsSrv.Settings("alerts@example.com"), "password", "nope"),
			"the SMTP server refused the username or password", true},
		{"no AUTH offered", with(with(noAuthSrv.Settings("alerts@example.com"), "username", "u"), "password", "p"),
			"does not offer login (AUTH)", true},
		{"implicit TLS against STARTTLS server", with(tlsSrv.Settings("alerts@example.com"), "security", "tls"),
			"did not answer with TLS", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := build(t, tc.raw).Check(context.Background())
			if err == nil || !strings.Contains(err.Error(), tc.words) || notify.IsPermanent(err) != tc.permanent {
				t.Fatalf("err %v (permanent %v); want %q, permanent %v", err, notify.IsPermanent(err), tc.words, tc.permanent)
			}
		})
	}
}

func TestCancelledContextStops(t *testing.T) {
	srv := emailtest.New(t, emailtest.Options{STARTTLS: true})
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := build(t, srv.Settings("alerts@example.com")).Send(ctx, alert())
	if err == nil || notify.IsPermanent(err) {
		t.Fatalf("err %v, want a retryable error", err)
	}
}

func TestSendRefusesBadAddress(t *testing.T) {
	srv := emailtest.New(t, emailtest.Options{})
	m := alert()
	m.Address = "not an address"
	if _, err := build(t, srv.Settings("alerts@example.com")).Send(context.Background(), m); !notify.IsPermanent(err) {
		t.Fatalf("err %v", err)
	}
	if srv.Sessions() != 0 {
		t.Error("connected for a bad address")
	}
}

func closedPort(t *testing.T) int {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	return port
}

func TestInvitation(t *testing.T) {
	srv := emailtest.New(t, emailtest.Options{})
	ch := build(t, srv.Settings("alerts@example.com"))
	m := notify.Message{NotificationID: "invite-u1", Address: "bob@example.com", Kind: notify.KindInvite, Severity: "info",
		Title: "You are invited to Team Ops on lastmile", Text: "Ann invited you.",
		Actions: []notify.Action{{Name: "invite", Label: "Choose your password", URL: "https://lastmile.example/invite/tok"}}}
	if _, err := ch.Send(context.Background(), m); err != nil {
		t.Fatal(err)
	}
	got := srv.Messages()[0]
	if got.Subject != "[lastmile] You are invited to Team Ops on lastmile" {
		t.Errorf("subject %q", got.Subject)
	}
	for _, want := range []string{"Ann invited you.", "https://lastmile.example/invite/tok", "If you did not expect it"} {
		if !strings.Contains(got.Text, want) {
			t.Errorf("text lacks %q:\n%s", want, got.Text)
		}
	}
	if strings.Contains(got.Text, "on call") {
		t.Errorf("an invitation says the reader is on call:\n%s", got.Text)
	}
}
