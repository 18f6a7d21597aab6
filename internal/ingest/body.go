// Package ingest turns inbound requests into fields an alert is built from:
// it parses bodies of every format senders use (JSON, form, multipart, XML,
// plain text) and interprets them the way SIGNL4's webhook does.
package ingest

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"regexp"
	"strings"
	"unicode/utf8"

	"golang.org/x/text/encoding/htmlindex"
)

// Field is one value of a body, flattened: nested names are joined by dots.
type Field struct {
	Name  string
	Value string
	// Top is set for fields at the top level of the body; only those can
	// give an alert its title and text.
	Top bool
	// String is set when the value was a string (not a number, boolean or
	// null), since only strings become titles.
	String bool
}

// Attachment is a file sent with a multipart body.
type Attachment struct {
	Name        string
	ContentType string
	Data        []byte
}

// Body is a parsed request body.
type Body struct {
	Format      string // json, form, multipart, xml, text, empty
	Fields      []Field
	Text        string // the whole body, for plain text
	Attachments []Attachment
	Warnings    []string
}

// Limits bound what a body may hold.
type Limits struct {
	MaxAttachmentBytes int64
	MaxAttachments     int
	MaxFields          int
}

// DefaultLimits are SIGNL4's: 4 MB per attachment.
var DefaultLimits = Limits{MaxAttachmentBytes: 4 << 20, MaxAttachments: 20, MaxFields: 2000}

// ErrorKind separates bad bodies (400) from unsupported types (415) and
// oversized parts (413).
type ErrorKind int

// Body error kinds.
const (
	Malformed ErrorKind = iota
	UnsupportedType
	PartTooLarge
)

// Error explains why a body was refused.
type Error struct {
	Kind    ErrorKind
	Message string
	Details string
}

func (e *Error) Error() string { return e.Message + ": " + e.Details }

func malformed(format string, err error) error {
	return &Error{Kind: Malformed, Message: "body is not valid " + format, Details: err.Error()}
}

// ParseBody parses body according to its declared content type. A missing,
// text/plain or application/octet-stream type is sniffed, because many
// senders send JSON without saying so.
func ParseBody(contentType string, body []byte, lim Limits) (Body, error) {
	mediaType, params, err := mime.ParseMediaType(contentType)
	if contentType == "" {
		mediaType, err = "", nil
	}
	if err != nil {
		// A broken Content-Type header (seen from hand-written scripts) is
		// treated like a missing one rather than losing the alert.
		mediaType = strings.ToLower(strings.TrimSpace(strings.SplitN(contentType, ";", 2)[0]))
	}
	charset := params["charset"]
	if charset == "" {
		charset = xmlDeclaredCharset(body)
	}
	// Multipart bodies carry binary files, and form bodies escape their
	// bytes: both are decoded field by field, not as a whole.
	var warn string
	raw := body
	form := mediaType == "application/x-www-form-urlencoded" && !looksLikeJSON(body)
	if !strings.HasPrefix(mediaType, "multipart/") && !form {
		if body, warn, err = toUTF8(body, charset); err != nil {
			return Body{}, err
		}
	}
	var b Body
	switch {
	case mediaType == "multipart/form-data" || mediaType == "multipart/mixed":
		b, err = parseMultipart(body, params["boundary"], lim)
	case mediaType == "application/x-www-form-urlencoded":
		// curl -d sends this type whatever the body is, so JSON under a form
		// type is common: read it as the JSON it is.
		if !form {
			if jb, jerr := parseDeclaredJSON(bytes.TrimSpace(body)); jerr == nil {
				b = jb
				break
			}
			form, warn = true, "" // parseForm decodes and warns field by field

		}
		b, err = parseForm(raw, charset)
	case isJSONType(mediaType):
		b, err = parseDeclaredJSON(body)
	case mediaType == "application/xml" || mediaType == "text/xml" || strings.HasSuffix(mediaType, "+xml"):
		b, err = parseXML(body)
	case mediaType == "" || strings.HasPrefix(mediaType, "text/") || mediaType == "application/octet-stream":
		b = sniff(body)
	default:
		return Body{}, &Error{Kind: UnsupportedType, Message: "unsupported content type " + mediaType,
			Details: "send application/json, application/x-www-form-urlencoded, multipart/form-data, application/xml or text/plain"}
	}
	if err != nil {
		return Body{}, err
	}
	if warn != "" {
		b.Warnings = append(b.Warnings, warn)
	}
	if lim.MaxFields > 0 && len(b.Fields) > lim.MaxFields {
		n := fmt.Sprint(len(b.Fields))
		if len(b.Fields) >= maxParsedFields {
			n = "at least " + n
		}
		b.Warnings = append(b.Warnings, fmt.Sprintf("body has %s fields; only the first %d were kept", n, lim.MaxFields))
		b.Fields = b.Fields[:lim.MaxFields]
	}
	for i := range b.Fields {
		b.Fields[i].Name = clean(b.Fields[i].Name)
		b.Fields[i].Value = clean(b.Fields[i].Value)
	}
	b.Text = clean(b.Text)
	return b, nil
}

func looksLikeJSON(body []byte) bool {
	t := bytes.TrimSpace(body)
	return len(t) > 0 && (t[0] == '{' || t[0] == '[')
}

// xmlDeclaredCharset returns the encoding an XML prolog declares, so that a
// document that says encoding="windows-1252" is read as such even when the
// Content-Type header names no charset.
func xmlDeclaredCharset(body []byte) string {
	if !bytes.HasPrefix(body, []byte("<?xml")) {
		return ""
	}
	end := bytes.Index(body, []byte("?>"))
	if end < 0 {
		return ""
	}
	m := xmlEncoding.FindSubmatch(body[:end])
	if m == nil {
		return ""
	}
	label := strings.ToLower(string(m[1]))
	// A prolog read as ASCII cannot be UTF-16 or UTF-32: .NET writes
	// encoding="utf-16" over UTF-8 bytes when it serialises to a string.
	// Unknown labels are ignored too, rather than refusing the alert.
	if strings.HasPrefix(label, "utf-16") || strings.HasPrefix(label, "utf-32") || strings.HasPrefix(label, "ucs") {
		return ""
	}
	if _, err := htmlindex.Get(label); err != nil {
		return ""
	}
	return label
}

var xmlEncoding = regexp.MustCompile(`encoding\s*=\s*["']([A-Za-z0-9._:-]+)["']`)

func isJSONType(mt string) bool {
	return mt == "application/json" || mt == "text/json" || mt == "application/x-json" || strings.HasSuffix(mt, "+json")
}

// sniff decides what an undeclared body is: a JSON value, XML, or else plain
// text.
func sniff(body []byte) Body {
	trimmed := bytes.TrimSpace(body)
	if len(trimmed) == 0 {
		return Body{Format: "empty"}
	}
	switch trimmed[0] {
	case '{', '[':
		if b, err := parseJSON(trimmed); err == nil {
			return b
		}
	case '<':
		if b, err := parseXML(trimmed); err == nil {
			return b
		}
	}
	return Body{Format: "text", Text: string(trimmed)}
}

// toUTF8 decodes a body sent in another charset (Windows tools send
// windows-1252) and replaces invalid UTF-8, which PostgreSQL refuses to store.
func toUTF8(body []byte, charset string) ([]byte, string, error) {
	cs := strings.ToLower(strings.TrimSpace(charset))
	if cs != "" && cs != "utf-8" && cs != "utf8" && cs != "us-ascii" {
		enc, err := htmlindex.Get(cs)
		if err != nil {
			return nil, "", &Error{Kind: UnsupportedType, Message: "unsupported charset " + charset, Details: "send UTF-8 or a charset listed in the WHATWG encoding standard"}
		}
		out, err := io.ReadAll(enc.NewDecoder().Reader(bytes.NewReader(body)))
		if err != nil {
			return nil, "", malformed(charset+" text", err)
		}
		return out, "", nil
	}
	if !utf8.Valid(body) {
		return bytes.ToValidUTF8(body, []byte("\uFFFD")), "body is not valid UTF-8; invalid bytes were replaced", nil
	}
	return body, "", nil
}

// clean makes a string storable in every database: valid UTF-8, no NUL.
func clean(s string) string {
	if strings.IndexByte(s, 0) >= 0 {
		s = strings.ReplaceAll(s, "\x00", "")
	}
	if !utf8.ValidString(s) {
		s = strings.ToValidUTF8(s, "\uFFFD")
	}
	return s
}

func parseJSON(body []byte) (Body, error) {
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	b := Body{Format: "json"}
	tok, err := dec.Token()
	if err != nil {
		return Body{}, malformed("JSON", jsonErr(err, dec))
	}
	switch t := tok.(type) {
	case json.Delim:
		if err := walkJSON(dec, t, "", 1, &b.Fields); err != nil {
			return Body{}, malformed("JSON", jsonErr(err, dec))
		}
	case string:
		b.Text = t
	default:
		b.Text = scalarString(t)
	}
	if _, err := dec.Token(); err != io.EOF {
		return Body{}, malformed("JSON", fmt.Errorf("unexpected data after the JSON value at offset %d", dec.InputOffset()))
	}
	return b, nil
}

func jsonErr(err error, dec *json.Decoder) error {
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		return errors.New("unexpected end of JSON input")
	}
	return fmt.Errorf("%w (near offset %d)", err, dec.InputOffset())
}

// maxDepth bounds nesting: every level lengthens the dotted names of the
// levels below, so a deep body would cost memory quadratic in its depth. No
// real sender nests anywhere near this deep.
const maxDepth = 64

// maxParsedFields bounds the fields kept while parsing, so that a huge flat
// body cannot hold the server's memory; Limits.MaxFields trims further.
const maxParsedFields = 10000

var errTooDeep = fmt.Errorf("the body nests deeper than %d levels", maxDepth)

// addField appends f unless maxParsedFields are already kept.
func addField(out *[]Field, f Field) {
	if len(*out) < maxParsedFields {
		*out = append(*out, f)
	}
}

// walkJSON reads the object or array whose opening delimiter was just read
// and appends its values as flattened fields, in document order.
func walkJSON(dec *json.Decoder, open json.Delim, prefix string, depth int, out *[]Field) error {
	if depth > maxDepth {
		return errTooDeep
	}
	for i := 0; dec.More(); i++ {
		var name string
		if open == '{' {
			tok, err := dec.Token()
			if err != nil {
				return err
			}
			name = tok.(string)
		} else {
			name = fmt.Sprint(i)
		}
		if prefix != "" {
			name = prefix + "." + name
		}
		tok, err := dec.Token()
		if err != nil {
			return err
		}
		switch t := tok.(type) {
		case json.Delim:
			if err := walkJSON(dec, t, name, depth+1, out); err != nil {
				return err
			}
		case string:
			addField(out, Field{Name: name, Value: t, Top: prefix == "", String: true})
		default:
			addField(out, Field{Name: name, Value: scalarString(t), Top: prefix == ""})
		}
	}
	_, err := dec.Token() // the closing delimiter
	return err
}

func scalarString(v any) string {
	switch t := v.(type) {
	case json.Number:
		return t.String() // the literal digits, as sent
	case bool:
		if t {
			return "true"
		}
		return "false"
	case nil:
		return ""
	}
	return fmt.Sprint(v)
}
