package emailtest

import (
	"bytes"
	"errors"
	"fmt"
	"html"
	"io"
	"mime"
	"mime/multipart"
	"mime/quotedprintable"
	"net/mail"
	"regexp"
	"strings"
	"unicode/utf8"
)

var (
	hrefRE = regexp.MustCompile(`href="([^"]*)"`)
	urlRE  = regexp.MustCompile(`https?://[^\s<>"]+`)
)

// parse checks raw like a strict server and takes it apart.
func parse(raw []byte) (Message, error) {
	m := Message{Raw: raw}
	for i, line := range bytes.Split(raw, []byte("\r\n")) {
		if bytes.IndexByte(line, '\n') >= 0 || bytes.IndexByte(line, '\r') >= 0 {
			return m, fmt.Errorf("line %d has a bare CR or LF; lines must end with CRLF", i+1)
		}
		if len(line) > 998 {
			return m, fmt.Errorf("line %d is %d characters long, more than 998 (RFC 5322 2.1.1)", i+1, len(line))
		}
	}
	msg, err := mail.ReadMessage(bytes.NewReader(raw))
	if err != nil {
		return m, fmt.Errorf("header: %v", err)
	}
	m.Header = msg.Header
	for _, h := range []string{"From", "Date"} {
		if msg.Header.Get(h) == "" {
			return m, fmt.Errorf("the %s header is missing (RFC 5322 3.6)", h)
		}
	}
	if _, err := msg.Header.Date(); err != nil {
		return m, fmt.Errorf("Date: %v", err)
	}
	if _, err := mail.ParseAddress(msg.Header.Get("From")); err != nil {
		return m, fmt.Errorf("From: %v", err)
	}
	if m.Subject, err = new(mime.WordDecoder).DecodeHeader(msg.Header.Get("Subject")); err != nil {
		return m, fmt.Errorf("Subject: %v", err)
	}
	if err := readPart(&m, msg.Header.Get("Content-Type"), msg.Header.Get("Content-Transfer-Encoding"), msg.Body); err != nil {
		return m, err
	}
	for _, sm := range hrefRE.FindAllStringSubmatch(m.HTML, -1) {
		m.Links = append(m.Links, html.UnescapeString(sm[1]))
	}
	m.TextURLs = urlRE.FindAllString(m.Text, -1)
	return m, nil
}

// readPart decodes one body part (recursing into multiparts) into m.
func readPart(m *Message, contentType, encoding string, body io.Reader) error {
	if contentType == "" {
		contentType = "text/plain; charset=us-ascii"
	}
	typ, params, err := mime.ParseMediaType(contentType)
	if err != nil {
		return fmt.Errorf("Content-Type %q: %v", contentType, err)
	}
	if strings.HasPrefix(typ, "multipart/") {
		if params["boundary"] == "" {
			return fmt.Errorf("Content-Type %q has no boundary", contentType)
		}
		mr := multipart.NewReader(body, params["boundary"])
		for {
			// NextRawPart leaves the transfer encoding for readPart to check.
			p, err := mr.NextRawPart()
			if errors.Is(err, io.EOF) {
				return nil
			}
			if err != nil {
				return fmt.Errorf("multipart: %v", err)
			}
			if err := readPart(m, p.Header.Get("Content-Type"), p.Header.Get("Content-Transfer-Encoding"), p); err != nil {
				return err
			}
		}
	}
	var r io.Reader
	switch strings.ToLower(encoding) {
	case "", "7bit", "8bit":
		r = body
	case "quoted-printable":
		r = quotedprintable.NewReader(body)
	default:
		r = body // base64 and others: recorded as they are
	}
	data, err := io.ReadAll(r)
	if err != nil {
		return fmt.Errorf("%s part: %v", typ, err)
	}
	if cs := strings.ToLower(params["charset"]); (cs == "utf-8" || cs == "us-ascii") && !utf8.Valid(data) {
		return fmt.Errorf("%s part says charset %s but is not valid UTF-8", typ, cs)
	}
	text := strings.ReplaceAll(string(data), "\r\n", "\n")
	switch typ {
	case "text/plain":
		m.Text = text
	case "text/html":
		m.HTML = text
	}
	return nil
}
