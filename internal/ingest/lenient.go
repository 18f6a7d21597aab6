package ingest

import (
	"bytes"
	"fmt"
	"regexp"
	"strings"
)

// Real senders declare JSON and send something close to it. These repairs
// turn the known near-misses into the alert the sender meant, with a warning
// on the event, instead of refusing a page at 3 a.m.

// formPrefix matches "payload=" before a JSON body: Zabbix's SIGNL4 media
// type sends exactly that under Content-Type: application/json.
var formPrefix = regexp.MustCompile(`^\s*[A-Za-z_][A-Za-z0-9_]*=\s*[\[{]`)

func parseDeclaredJSON(body []byte) (Body, error) {
	b, err := parseJSON(body)
	if err == nil {
		return b, nil
	}
	if loc := formPrefix.FindIndex(body); loc != nil {
		prefix := strings.TrimSpace(string(body[:bytes.IndexByte(body, '=')]))
		if b2, err2 := parseJSON(body[loc[1]-1:]); err2 == nil {
			b2.Warnings = append(b2.Warnings, fmt.Sprintf("body started with %q before the JSON; the prefix was ignored", prefix+"="))
			return b2, nil
		}
	}
	if fixed, ok := singleQuotedJSON(body); ok {
		if b2, err2 := parseJSON(fixed); err2 == nil {
			b2.Warnings = append(b2.Warnings, "body used single-quoted strings, which JSON does not allow; they were read as strings")
			return b2, nil
		}
	}
	return Body{}, err
}

// singleQuotedJSON rewrites 'strings' as "strings" (the official C# sample
// sends {'Title': 'Alert'}). It reports false when there is nothing to fix.
func singleQuotedJSON(body []byte) ([]byte, bool) {
	if bytes.IndexByte(body, '\'') < 0 {
		return nil, false
	}
	var out bytes.Buffer
	var quote byte // the quote of the string we are in, or 0
	for i := 0; i < len(body); i++ {
		c := body[i]
		switch {
		case quote == 0 && (c == '"' || c == '\''):
			quote = c
			out.WriteByte('"')
		case quote != 0 && c == '\\' && i+1 < len(body):
			if body[i+1] == '\'' {
				out.WriteByte('\'')
			} else {
				out.WriteByte(c)
				out.WriteByte(body[i+1])
			}
			i++
		case quote != 0 && c == quote:
			quote = 0
			out.WriteByte('"')
		case quote == '\'' && c == '"':
			out.WriteString(`\"`)
		default:
			out.WriteByte(c)
		}
	}
	return out.Bytes(), quote == 0
}

// unescapeLenient decodes a form value like url.QueryUnescape but keeps a
// '%' that starts no valid escape ("97 % (Total)" from PRTG) as it is.
func unescapeLenient(s string) string {
	if !strings.ContainsAny(s, "%+") {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '+':
			b.WriteByte(' ')
		case c == '%' && i+2 < len(s) && ishex(s[i+1]) && ishex(s[i+2]):
			b.WriteByte(unhex(s[i+1])<<4 | unhex(s[i+2]))
			i += 2
		default:
			b.WriteByte(c)
		}
	}
	return b.String()
}

func ishex(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}

func unhex(c byte) byte {
	switch {
	case '0' <= c && c <= '9':
		return c - '0'
	case 'a' <= c && c <= 'f':
		return c - 'a' + 10
	}
	return c - 'A' + 10
}
