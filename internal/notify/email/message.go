package email

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"mime"
	"mime/multipart"
	"mime/quotedprintable"
	"net/mail"
	"net/textproto"
	"strings"
	"time"

	"github.com/lastmile/lastmile/internal/notify"
)

// header is one header field, kept in the order written.
type header struct{ name, value string }

// buildMessage renders m for the recipient to as a multipart/alternative
// mail and returns it with its Message-ID. host names this server in
// message ids.
func buildMessage(from *mail.Address, to, host string, now time.Time, m notify.Message) ([]byte, string, error) {
	v := newView(m)
	htmlPart, err := v.html()
	if err != nil {
		return nil, "", fmt.Errorf("render email: %w", err)
	}
	id := idPart(m.NotificationID)
	if id == "" {
		var b [16]byte
		rand.Read(b[:])
		id = hex.EncodeToString(b[:])
	}
	msgID := "<" + id + "@" + host + ">"

	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	for _, p := range []struct{ typ, content string }{{"text/plain", v.text()}, {"text/html", htmlPart}} {
		pw, err := mw.CreatePart(textproto.MIMEHeader{
			"Content-Type":              {p.typ + "; charset=UTF-8"},
			"Content-Transfer-Encoding": {"quoted-printable"},
		})
		if err != nil {
			return nil, "", err
		}
		qp := quotedprintable.NewWriter(pw)
		if _, err := qp.Write([]byte(p.content)); err != nil {
			return nil, "", err
		}
		if err := qp.Close(); err != nil {
			return nil, "", err
		}
	}
	if err := mw.Close(); err != nil {
		return nil, "", err
	}

	hs := []header{
		{"From", from.String()},
		{"To", to},
		{"Subject", mime.QEncoding.Encode("UTF-8", v.Subject)},
		{"Date", now.Format(time.RFC1123Z)},
		{"Message-ID", msgID},
	}
	if alert := idPart(m.AlertID); alert != "" {
		// Every mail of one alert answers the same made-up root, so mail
		// programs thread them together.
		root := "<alert-" + alert + "@" + host + ">"
		hs = append(hs, header{"In-Reply-To", root}, header{"References", root}, header{"X-Lastmile-Alert-Id", alert})
	}
	hs = append(hs,
		header{"Auto-Submitted", "auto-generated"},
		header{"X-Auto-Response-Suppress", "All"},
		header{"MIME-Version", "1.0"},
		header{"Content-Type", mime.FormatMediaType("multipart/alternative", map[string]string{"boundary": mw.Boundary()})},
	)
	var out bytes.Buffer
	for _, h := range hs {
		out.WriteString(fold(h.name + ": " + h.value))
		out.WriteString("\r\n")
	}
	out.WriteString("\r\n")
	out.Write(body.Bytes())
	return out.Bytes(), msgID, nil
}

// idPart keeps an id safe inside a Message-ID and a header: ids are
// server-made, but a header must never be able to carry a line break.
func idPart(s string) string {
	return strings.Map(func(r rune) rune {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '-', r == '_', r == '.':
			return r
		}
		return -1
	}, s)
}

// fold breaks a header line at spaces so no line is longer than 78
// characters where that is possible (RFC 5322 2.1.1); encoded words are
// separated by spaces, so long encoded subjects fold too.
func fold(line string) string {
	const limit = 76
	if len(line) <= limit {
		return line
	}
	words := strings.Split(line, " ")
	var b strings.Builder
	n := 0
	for i, w := range words {
		switch {
		case i == 0:
		case n+1+len(w) > limit && n > 0:
			b.WriteString("\r\n")
			n = 0
			fallthrough
		default:
			b.WriteString(" ")
			n++
		}
		b.WriteString(w)
		n += len(w)
	}
	return b.String()
}
