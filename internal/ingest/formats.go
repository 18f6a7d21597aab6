package ingest

import (
	"bytes"
	"encoding/base64"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"mime/multipart"
	"strings"
	"unicode/utf8"

	"golang.org/x/text/encoding/htmlindex"
)

// parseForm keeps fields in the order sent, which url.ParseQuery does not.
func parseForm(body []byte, charset string) (Body, error) {
	b := Body{Format: "form"}
	decode := func(s string) string { return s }
	if cs := strings.ToLower(strings.TrimSpace(charset)); cs != "" && cs != "utf-8" && cs != "utf8" && cs != "us-ascii" {
		enc, err := htmlindex.Get(cs)
		if err != nil {
			return Body{}, &Error{Kind: UnsupportedType, Message: "unsupported charset " + charset, Details: "send UTF-8 or a charset listed in the WHATWG encoding standard"}
		}
		dec := enc.NewDecoder()
		decode = func(s string) string {
			out, err := dec.String(s)
			if err != nil {
				return s
			}
			return out
		}
	}
	invalid := false
	s := strings.TrimSpace(string(body))
	if s == "" {
		b.Format = "empty"
		return b, nil
	}
	for _, pair := range strings.Split(s, "&") {
		if pair == "" {
			continue
		}
		k, v, _ := strings.Cut(pair, "=")
		name, value := decode(unescapeLenient(k)), decode(unescapeLenient(v))
		invalid = invalid || !utf8.ValidString(name) || !utf8.ValidString(value)
		addField(&b.Fields, Field{Name: name, Value: value, Top: true, String: true})
	}
	if invalid {
		b.Warnings = append(b.Warnings, "form values are not valid UTF-8; invalid bytes were replaced")
	}
	return b, nil
}

func parseMultipart(body []byte, boundary string, lim Limits) (Body, error) {
	if boundary == "" {
		return Body{}, malformed("multipart", errors.New("the Content-Type header has no boundary parameter"))
	}
	b := Body{Format: "multipart"}
	mr := multipart.NewReader(bytes.NewReader(body), boundary)
	for {
		p, err := mr.NextPart()
		if err == io.EOF {
			break
		}
		if err != nil {
			return Body{}, malformed("multipart", err)
		}
		var r io.Reader = p
		if strings.EqualFold(p.Header.Get("Content-Transfer-Encoding"), "base64") {
			r = base64.NewDecoder(base64.StdEncoding, &newlineSkipper{r: p})
		}
		if p.FileName() == "" {
			v, err := io.ReadAll(io.LimitReader(r, 1<<20))
			if err != nil {
				return Body{}, malformed("multipart", fmt.Errorf("field %q: %w", p.FormName(), err))
			}
			addField(&b.Fields, Field{Name: p.FormName(), Value: string(v), Top: true, String: true})
			continue
		}
		if lim.MaxAttachments > 0 && len(b.Attachments) >= lim.MaxAttachments {
			return Body{}, &Error{Kind: PartTooLarge, Message: "too many attachments", Details: fmt.Sprintf("at most %d attachments per event", lim.MaxAttachments)}
		}
		data, err := io.ReadAll(io.LimitReader(r, lim.MaxAttachmentBytes+1))
		if err != nil {
			return Body{}, malformed("multipart", fmt.Errorf("attachment %q: %w", p.FileName(), err))
		}
		if int64(len(data)) > lim.MaxAttachmentBytes {
			return Body{}, &Error{Kind: PartTooLarge, Message: "attachment too large",
				Details: fmt.Sprintf("attachment %q is larger than %d bytes (4 MB per attachment)", p.FileName(), lim.MaxAttachmentBytes)}
		}
		ct := p.Header.Get("Content-Type")
		if ct == "" {
			ct = "application/octet-stream"
		}
		b.Attachments = append(b.Attachments, Attachment{Name: clean(p.FileName()), ContentType: ct, Data: data})
	}
	return b, nil
}

// newlineSkipper drops line breaks from base64 parts, which mail-style
// encoders wrap at 76 characters.
type newlineSkipper struct{ r io.Reader }

func (n *newlineSkipper) Read(p []byte) (int, error) {
	for {
		k, err := n.r.Read(p)
		j := 0
		for _, c := range p[:k] {
			if c != '\r' && c != '\n' {
				p[j] = c
				j++
			}
		}
		if j > 0 || err != nil {
			return j, err
		}
	}
}

// parseXML flattens the children of the root element: <alert><title>x</title>
// <host><name>h</name></host></alert> gives title=x and host.name=h.
// Attributes become fields named element@attribute.
func parseXML(body []byte) (Body, error) {
	b := Body{Format: "xml"}
	dec := xml.NewDecoder(bytes.NewReader(body))
	dec.Strict = true
	// ParseBody has already decoded the body to UTF-8, whatever the prolog
	// still says.
	dec.CharsetReader = func(_ string, r io.Reader) (io.Reader, error) { return r, nil }
	var path []string
	var text []*strings.Builder
	var hasChild []bool
	root := false
	for {
		tok, err := dec.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			return Body{}, malformed("XML", err)
		}
		switch t := tok.(type) {
		case xml.StartElement:
			if len(path) == 0 && root {
				return Body{}, malformed("XML", errors.New("more than one root element"))
			}
			root = true
			if len(path) >= maxDepth {
				return Body{}, malformed("XML", errTooDeep)
			}
			if len(hasChild) > 0 {
				hasChild[len(hasChild)-1] = true
			}
			path = append(path, t.Name.Local)
			text = append(text, &strings.Builder{})
			hasChild = append(hasChild, false)
			name := strings.Join(path[1:], ".")
			for _, a := range t.Attr {
				if a.Name.Space == "xmlns" || a.Name.Local == "xmlns" {
					continue
				}
				n := a.Name.Local
				if name != "" {
					n = name + "@" + a.Name.Local
				}
				addField(&b.Fields, Field{Name: n, Value: a.Value, Top: len(path) == 1, String: true})
			}
		case xml.CharData:
			if len(text) > 0 {
				text[len(text)-1].Write(t)
			}
		case xml.EndElement:
			n := len(path)
			if n > 1 && !hasChild[n-1] {
				addField(&b.Fields, Field{Name: strings.Join(path[1:], "."), Value: strings.TrimSpace(text[n-1].String()), Top: n == 2, String: true})
			} else if n == 1 && !hasChild[0] {
				b.Text = strings.TrimSpace(text[0].String())
			}
			path, text, hasChild = path[:n-1], text[:n-1], hasChild[:n-1]
		}
	}
	if !root {
		return Body{}, malformed("XML", errors.New("no root element"))
	}
	return b, nil
}
