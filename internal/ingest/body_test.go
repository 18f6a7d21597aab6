package ingest

import (
	"bytes"
	"encoding/base64"
	"errors"
	"fmt"
	"math/rand/v2"
	"mime/multipart"
	"net/textproto"
	"reflect"
	"runtime"
	"strings"
	"testing"
)

// str and lit build expected fields: str for string values, lit for numbers,
// booleans and null; top marks fields at the top level of the body.
func str(name, value string, top bool) Field {
	return Field{Name: name, Value: value, Top: top, String: true}
}

func lit(name, value string, top bool) Field {
	return Field{Name: name, Value: value, Top: top}
}

// top is a shorthand for a top-level string field.
func top(name, value string) Field { return str(name, value, true) }

func fieldsString(fs []Field) string {
	var b strings.Builder
	for _, f := range fs {
		fmt.Fprintf(&b, "\n\t{Name:%q Value:%q Top:%v String:%v}", f.Name, f.Value, f.Top, f.String)
	}
	if b.Len() == 0 {
		return " (none)"
	}
	return b.String()
}

func checkFields(t *testing.T, got, want []Field) {
	t.Helper()
	if len(got) == 0 && len(want) == 0 {
		return
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("fields:\ngot:%s\nwant:%s", fieldsString(got), fieldsString(want))
	}
}

// checkWarnings asserts exactly len(want) warnings, each containing the
// corresponding substring.
func checkWarnings(t *testing.T, got, want []string) {
	t.Helper()
	if len(got) != len(want) {
		t.Errorf("warnings = %q, want %d warnings matching %q", got, len(want), want)
		return
	}
	for i := range want {
		if !strings.Contains(got[i], want[i]) {
			t.Errorf("warning[%d] = %q, want it to contain %q", i, got[i], want[i])
		}
	}
}

// parseBody calls ParseBody and turns a panic into a test failure, so one
// bad input does not abort the whole test binary.
func parseBody(t *testing.T, ct string, body []byte, lim Limits) (b Body, err error) {
	t.Helper()
	defer func() {
		if v := recover(); v != nil {
			t.Fatalf("ParseBody(%q, %q) panicked: %v", ct, body, v)
		}
	}()
	return ParseBody(ct, body, lim)
}

func mustParse(t *testing.T, ct string, body []byte, lim Limits) Body {
	t.Helper()
	b, err := parseBody(t, ct, body, lim)
	if err != nil {
		t.Fatalf("ParseBody(%q, %q) error: %v", ct, body, err)
	}
	return b
}

func checkError(t *testing.T, err error, kind ErrorKind, msg, details string) {
	t.Helper()
	if err == nil {
		t.Fatalf("ParseBody succeeded, want error kind %d (%q)", kind, msg)
	}
	var be *Error
	if !errors.As(err, &be) {
		t.Fatalf("error %v (%T) is not *ingest.Error", err, err)
	}
	if be.Kind != kind {
		t.Errorf("error kind = %d, want %d (error %q)", be.Kind, kind, err)
	}
	if !strings.Contains(be.Message, msg) {
		t.Errorf("error message = %q, want it to contain %q", be.Message, msg)
	}
	if !strings.Contains(be.Details, details) {
		t.Errorf("error details = %q, want them to contain %q", be.Details, details)
	}
	if be.Details == "" {
		t.Errorf("error %q has no details", be.Message)
	}
	if got, want := err.Error(), be.Message+": "+be.Details; got != want {
		t.Errorf("Error() = %q, want %q", got, want)
	}
}

func TestDefaultLimits(t *testing.T) {
	want := Limits{MaxAttachmentBytes: 4 << 20, MaxAttachments: 20, MaxFields: 2000}
	if DefaultLimits != want {
		t.Errorf("DefaultLimits = %+v, want %+v", DefaultLimits, want)
	}
}

type bodyCase struct {
	name     string
	ct       string
	body     string
	format   string
	fields   []Field
	text     string
	warnings []string
}

func runBodyCases(t *testing.T, cases []bodyCase) {
	t.Helper()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			b := mustParse(t, tc.ct, []byte(tc.body), DefaultLimits)
			if b.Format != tc.format {
				t.Errorf("Format = %q, want %q", b.Format, tc.format)
			}
			checkFields(t, b.Fields, tc.fields)
			if b.Text != tc.text {
				t.Errorf("Text = %q, want %q", b.Text, tc.text)
			}
			checkWarnings(t, b.Warnings, tc.warnings)
			if len(b.Attachments) != 0 {
				t.Errorf("Attachments = %d, want none", len(b.Attachments))
			}
		})
	}
}

// TestParseBodyContentTypes checks which parser each declared content type
// selects, and the sniffing of undeclared, text and octet-stream bodies.
func TestParseBodyContentTypes(t *testing.T) {
	const js = `{"title":"Disk full","count":3}`
	jsFields := []Field{top("title", "Disk full"), lit("count", "3", true)}
	const xmlBody = `<alert><title>Disk full</title><count>3</count></alert>`
	xmlFields := []Field{top("title", "Disk full"), top("count", "3")}
	runBodyCases(t, []bodyCase{
		{name: "application/json", ct: "application/json", body: js, format: "json", fields: jsFields},
		{name: "application/json charset utf-8", ct: "application/json; charset=utf-8", body: js, format: "json", fields: jsFields},
		{name: "application/json quoted upper-case charset", ct: `application/json; charset="UTF-8"`, body: js, format: "json", fields: jsFields},
		{name: "application/json charset utf8", ct: "application/json;charset=utf8", body: js, format: "json", fields: jsFields},
		{name: "application/json charset us-ascii", ct: "application/json; charset=us-ascii", body: js, format: "json", fields: jsFields},
		{name: "upper-case media type", ct: "Application/JSON", body: js, format: "json", fields: jsFields},
		{name: "text/json", ct: "text/json", body: js, format: "json", fields: jsFields},
		{name: "application/x-json", ct: "application/x-json", body: js, format: "json", fields: jsFields},
		{name: "vendor +json", ct: "application/vnd.foo+json", body: js, format: "json", fields: jsFields},
		{name: "vendor +json with params", ct: "application/vnd.foo+json; version=2; charset=utf-8", body: js, format: "json", fields: jsFields},
		{name: "broken content-type header keeps media type", ct: "application/json; charset", body: js, format: "json", fields: jsFields},
		{name: "garbage content-type header is sniffed", ct: ";;;", body: js, format: "json", fields: jsFields},
		{name: "text/plain holding JSON", ct: "text/plain", body: js, format: "json", fields: jsFields},
		{name: "text/plain holding JSON with whitespace", ct: "text/plain; charset=utf-8", body: "\n\t " + js + "\r\n", format: "json", fields: jsFields},
		{name: "text/plain holding a JSON array", ct: "text/plain", body: `["a",1]`, format: "json",
			fields: []Field{top("0", "a"), lit("1", "1", true)}},
		{name: "text/plain holding broken JSON is text", ct: "text/plain", body: ` {"title": `, format: "text", text: `{"title":`},
		{name: "text/plain holding JSON with trailing data is text", ct: "text/plain", body: `{"a":1} trailing`, format: "text", text: `{"a":1} trailing`},
		{name: "text/plain", ct: "text/plain", body: "  Server db1 is down\n", format: "text", text: "Server db1 is down"},
		{name: "text/plain multi-line", ct: "text/plain", body: "line 1\nline 2\n", format: "text", text: "line 1\nline 2"},
		{name: "text/plain with equals sign stays text", ct: "text/plain", body: "CPU load=95%", format: "text", text: "CPU load=95%"},
		{name: "text/plain holding XML", ct: "text/plain", body: xmlBody, format: "xml", fields: xmlFields},
		{name: "text/csv is sniffed as text", ct: "text/csv", body: "a,b,c", format: "text", text: "a,b,c"},
		{name: "missing content type with JSON", ct: "", body: js, format: "json", fields: jsFields},
		{name: "missing content type with XML", ct: "", body: xmlBody, format: "xml", fields: xmlFields},
		{name: "missing content type with XML prolog", ct: "", body: `<?xml version="1.0"?>` + "\n" + xmlBody, format: "xml", fields: xmlFields},
		{name: "missing content type with broken XML is text", ct: "", body: "<alert><title>x</alert>", format: "text", text: "<alert><title>x</alert>"},
		{name: "missing content type with text", ct: "", body: "hello", format: "text", text: "hello"},
		{name: "missing content type with empty body", ct: "", body: "", format: "empty"},
		{name: "missing content type with blank body", ct: "", body: " \r\n\t", format: "empty"},
		{name: "text/plain empty body", ct: "text/plain", body: "", format: "empty"},
		{name: "octet-stream with JSON", ct: "application/octet-stream", body: js, format: "json", fields: jsFields},
		{name: "octet-stream with XML", ct: "application/octet-stream", body: xmlBody, format: "xml", fields: xmlFields},
		{name: "octet-stream with text", ct: "application/octet-stream", body: "plain words", format: "text", text: "plain words"},
		{name: "application/xml", ct: "application/xml", body: xmlBody, format: "xml", fields: xmlFields},
		{name: "text/xml", ct: "text/xml", body: xmlBody, format: "xml", fields: xmlFields},
		{name: "text/xml charset utf-8", ct: "text/xml; charset=utf-8", body: xmlBody, format: "xml", fields: xmlFields},
		{name: "vendor +xml", ct: "application/atom+xml", body: xmlBody, format: "xml", fields: xmlFields},
		{name: "form", ct: "application/x-www-form-urlencoded", body: "title=Disk+full&count=3", format: "form",
			fields: []Field{top("title", "Disk full"), top("count", "3")}},
		{name: "JSON object under form type", ct: "application/x-www-form-urlencoded", body: js, format: "json", fields: jsFields},
		{name: "JSON array under form type", ct: "application/x-www-form-urlencoded", body: ` ["x"] `, format: "json",
			fields: []Field{top("0", "x")}},
		{name: "broken JSON under form type is a form", ct: "application/x-www-form-urlencoded", body: `{"title"=x`, format: "form",
			fields: []Field{top(`{"title"`, "x")}},
		{name: "single-quoted JSON under form type is repaired", ct: "application/x-www-form-urlencoded", body: `{'title': 'x'}`, format: "json",
			fields: []Field{top("title", "x")}, warnings: []string{"single-quoted"}},
	})
}

func TestParseBodyJSONValues(t *testing.T) {
	runBodyCases(t, []bodyCase{
		{name: "literal numbers kept as sent", ct: "application/json",
			body:   `{"price":1.50,"exp":1e3,"big":12345678901234567890,"neg":-0,"upper":1E+2,"tiny":0.000001,"huge":123456789012345678901234567890.123456789}`,
			format: "json",
			fields: []Field{
				lit("price", "1.50", true), lit("exp", "1e3", true), lit("big", "12345678901234567890", true),
				lit("neg", "-0", true), lit("upper", "1E+2", true), lit("tiny", "0.000001", true),
				lit("huge", "123456789012345678901234567890.123456789", true),
			}},
		{name: "booleans and null", ct: "application/json", body: `{"up":true,"down":false,"none":null}`, format: "json",
			fields: []Field{lit("up", "true", true), lit("down", "false", true), lit("none", "", true)}},
		{name: "strings that look like numbers stay strings", ct: "application/json", body: `{"n":"1.50","b":"true","z":""}`, format: "json",
			fields: []Field{top("n", "1.50"), top("b", "true"), top("z", "")}},
		{name: "escapes decoded", ct: "application/json", body: `{"s":"a\"b\\c\nd\u00fc\ud83d\ude00"}`, format: "json",
			fields: []Field{top("s", "a\"b\\c\nd\u00fc\U0001F600")}},
		{name: "nested objects and arrays flattened", ct: "application/json",
			body:   `{"host":{"name":"db1","ip":{"v4":"10.0.0.1"}},"tags":["a","b"],"items":[{"id":1},{"id":2,"ok":true}],"matrix":[[1,2],[3]],"empty":{},"none":[],"last":"x"}`,
			format: "json",
			fields: []Field{
				str("host.name", "db1", false), str("host.ip.v4", "10.0.0.1", false),
				str("tags.0", "a", false), str("tags.1", "b", false),
				lit("items.0.id", "1", false), lit("items.1.id", "2", false), lit("items.1.ok", "true", false),
				lit("matrix.0.0", "1", false), lit("matrix.0.1", "2", false), lit("matrix.1.0", "3", false),
				top("last", "x"),
			}},
		{name: "field order kept", ct: "application/json", body: `{"zulu":"1","alpha":"2","mike":"3","bravo":"4"}`, format: "json",
			fields: []Field{top("zulu", "1"), top("alpha", "2"), top("mike", "3"), top("bravo", "4")}},
		{name: "duplicate names kept in order", ct: "application/json", body: `{"a":"1","b":"2","a":"3"}`, format: "json",
			fields: []Field{top("a", "1"), top("b", "2"), top("a", "3")}},
		{name: "names with dots and case kept", ct: "application/json", body: `{"Host.Name":"x","X-S4-Service":"s"}`, format: "json",
			fields: []Field{top("Host.Name", "x"), top("X-S4-Service", "s")}},
		{name: "top-level string", ct: "application/json", body: `"Server down"`, format: "json", text: "Server down"},
		{name: "top-level number", ct: "application/json", body: ` 12345678901234567890 `, format: "json", text: "12345678901234567890"},
		{name: "top-level boolean", ct: "application/json", body: `true`, format: "json", text: "true"},
		{name: "top-level null", ct: "application/json", body: `null`, format: "json"},
		{name: "top-level array", ct: "application/json", body: `["a",2,{"k":"v"},null]`, format: "json",
			fields: []Field{top("0", "a"), lit("1", "2", true), str("2.k", "v", false), lit("3", "", true)}},
		{name: "empty object", ct: "application/json", body: `{}`, format: "json"},
		{name: "empty array", ct: "application/json", body: ` [ ] `, format: "json"},
		{name: "whitespace around value", ct: "application/json", body: "\r\n {\"a\" : \"b\"}\n\n", format: "json",
			fields: []Field{top("a", "b")}},
		{name: "NUL escapes removed from names and values", ct: "application/json", body: `{"a\u0000b":"x\u0000y\u0000"}`, format: "json",
			fields: []Field{top("ab", "xy")}},
		{name: "payload= prefix (Zabbix) repaired", ct: "application/json", body: `payload={"title":"Zabbix","n":1}`, format: "json",
			fields: []Field{top("title", "Zabbix"), lit("n", "1", true)}, warnings: []string{`"payload="`}},
		{name: "prefix with spaces repaired", ct: "application/json", body: ` data=  [ "x" ]`, format: "json",
			fields: []Field{top("0", "x")}, warnings: []string{`"data="`}},
		{name: "single-quoted JSON (C# sample) repaired", ct: "application/json", body: `{'Title': 'Alert', 'n': 1.50, 'ok': true}`, format: "json",
			fields:   []Field{top("Title", "Alert"), lit("n", "1.50", true), lit("ok", "true", true)},
			warnings: []string{"single-quoted strings"}},
		{name: "single-quoted string holding double quotes", ct: "application/json", body: `{'msg': 'say "hi"'}`, format: "json",
			fields: []Field{top("msg", `say "hi"`)}, warnings: []string{"single-quoted"}},
		{name: "single-quoted string with escaped quote", ct: "application/json", body: `{'msg': 'it\'s \\ fine'}`, format: "json",
			fields: []Field{top("msg", `it's \ fine`)}, warnings: []string{"single-quoted"}},
		{name: "mixed quotes repaired", ct: "application/json", body: `{"a": 'x', 'b': "it's"}`, format: "json",
			fields: []Field{top("a", "x"), top("b", "it's")}, warnings: []string{"single-quoted"}},
		{name: "valid JSON with apostrophes needs no repair", ct: "application/json", body: `{"msg":"it's"}`, format: "json",
			fields: []Field{top("msg", "it's")}},
	})
}

func TestParseBodyForm(t *testing.T) {
	runBodyCases(t, []bodyCase{
		{name: "PRTG percent with plus and %20", ct: "application/x-www-form-urlencoded",
			body:   "title=Disk+C%3A+low&msg=97 % (Total)&free=3%20GB&sign=a%2Bb&pct=100%&pct2=5%2&last=%",
			format: "form",
			fields: []Field{
				top("title", "Disk C: low"), top("msg", "97 % (Total)"), top("free", "3 GB"),
				top("sign", "a+b"), top("pct", "100%"), top("pct2", "5%2"), top("last", "%"),
			}},
		{name: "order kept and duplicates kept", ct: "application/x-www-form-urlencoded", body: "z=1&a=2&z=3", format: "form",
			fields: []Field{top("z", "1"), top("a", "2"), top("z", "3")}},
		{name: "names are unescaped too", ct: "application/x-www-form-urlencoded", body: "host%2Ename=db1&my+key=v", format: "form",
			fields: []Field{top("host.name", "db1"), top("my key", "v")}},
		{name: "missing value, empty value, empty pairs", ct: "application/x-www-form-urlencoded", body: "&flag&&empty=&k=v=w&", format: "form",
			fields: []Field{top("flag", ""), top("empty", ""), top("k", "v=w")}},
		{name: "lower and upper hex", ct: "application/x-www-form-urlencoded", body: "u=%c3%bc%C3%BC", format: "form",
			fields: []Field{top("u", "üü")}},
		{name: "surrounding whitespace trimmed", ct: "application/x-www-form-urlencoded", body: "\r\na=1\r\n", format: "form",
			fields: []Field{top("a", "1")}},
		{name: "NUL escapes removed", ct: "application/x-www-form-urlencoded", body: "a%00b=c%00d", format: "form",
			fields: []Field{top("ab", "cd")}},
		{name: "invalid UTF-8 escapes replaced", ct: "application/x-www-form-urlencoded", body: "v=a%FFb", format: "form",
			fields: []Field{top("v", "a\uFFFDb")}, warnings: []string{"form values are not valid UTF-8; invalid bytes were replaced"}},
		{name: "numbers stay strings", ct: "application/x-www-form-urlencoded", body: "n=1.50", format: "form",
			fields: []Field{top("n", "1.50")}},
		{name: "empty form", ct: "application/x-www-form-urlencoded", body: "  ", format: "empty"},
		{name: "form with charset utf-8", ct: "application/x-www-form-urlencoded; charset=UTF-8", body: "a=%E2%82%AC", format: "form",
			fields: []Field{top("a", "€")}},
	})
}

func TestParseBodyXML(t *testing.T) {
	runBodyCases(t, []bodyCase{
		{name: "attributes and nested elements", ct: "application/xml",
			body:   `<alert id="7" severity="high"><title lang="en">Disk full</title><host><name>db1</name><ip v="4">10.0.0.1</ip></host><empty/></alert>`,
			format: "xml",
			fields: []Field{
				top("id", "7"), top("severity", "high"),
				str("title@lang", "en", false), top("title", "Disk full"),
				str("host.name", "db1", false), str("host.ip@v", "4", false), str("host.ip", "10.0.0.1", false),
				top("empty", ""),
			}},
		{name: "deep nesting", ct: "application/xml", body: `<r><a><b><c>deep</c></b></a></r>`, format: "xml",
			fields: []Field{str("a.b.c", "deep", false)}},
		{name: "repeated elements kept in order", ct: "text/xml", body: `<r><tag>a</tag><x>1</x><tag>b</tag></r>`, format: "xml",
			fields: []Field{top("tag", "a"), top("x", "1"), top("tag", "b")}},
		{name: "namespaces: prefixes dropped and xmlns attributes skipped", ct: "application/xml",
			body:   `<a:alert xmlns:a="urn:a" xmlns="urn:d"><a:title>T</a:title><b:x xmlns:b="urn:b" b:attr="v">1</b:x><plain>p</plain></a:alert>`,
			format: "xml",
			fields: []Field{top("title", "T"), str("x@attr", "v", false), top("x", "1"), top("plain", "p")}},
		{name: "text values trimmed, entities and CDATA decoded", ct: "application/xml",
			body:   "<r><t>\n  a &lt; b &amp; c  \n</t><c><![CDATA[x < y]]></c><n>&#252;</n></r>",
			format: "xml",
			fields: []Field{top("t", "a < b & c"), top("c", "x < y"), top("n", "ü")}},
		{name: "comments and processing instructions ignored", ct: "application/xml",
			body:   `<?xml version="1.0" encoding="UTF-8"?><!-- c --><r><a>1<!-- inner --></a></r><!-- after -->`,
			format: "xml",
			fields: []Field{top("a", "1")}},
		{name: "root with text only gives Text", ct: "application/xml", body: `<message>  Server down  </message>`, format: "xml", text: "Server down"},
		{name: "root attributes and text", ct: "application/xml", body: `<message level="2">down</message>`, format: "xml",
			fields: []Field{top("level", "2")}, text: "down"},
		{name: "empty root", ct: "application/xml", body: `<r/>`, format: "xml"},
		{name: "whitespace after root allowed", ct: "application/xml", body: "<r><a>1</a></r>\n\n", format: "xml",
			fields: []Field{top("a", "1")}},
	})
}

func TestParseBodyErrors(t *testing.T) {
	cases := []struct {
		name    string
		ct      string
		body    string
		lim     Limits
		kind    ErrorKind
		msg     string
		details string
	}{
		{name: "trailing garbage after JSON", ct: "application/json", body: `{"a":1} x`, kind: Malformed, msg: "body is not valid JSON", details: "unexpected data after the JSON value"},
		{name: "second JSON value", ct: "application/json", body: `{"a":1}{"b":2}`, kind: Malformed, msg: "body is not valid JSON", details: "unexpected data after the JSON value"},
		{name: "extra closing brace", ct: "application/json", body: `{"a":1}}`, kind: Malformed, msg: "body is not valid JSON"},
		{name: "trailing garbage after array", ct: "application/json", body: `[1] ,`, kind: Malformed, msg: "body is not valid JSON"},
		{name: "truncated JSON", ct: "application/json", body: `{"a":`, kind: Malformed, msg: "body is not valid JSON", details: "unexpected end of JSON input"},
		{name: "truncated array", ct: "application/json", body: `[1,2`, kind: Malformed, msg: "body is not valid JSON", details: "unexpected end of JSON input"},
		{name: "missing colon", ct: "application/json", body: `{"a" 1}`, kind: Malformed, msg: "body is not valid JSON", details: "offset"},
		{name: "trailing comma", ct: "application/json", body: `{"a":1,}`, kind: Malformed, msg: "body is not valid JSON", details: "offset"},
		{name: "bare word", ct: "application/json", body: `hello`, kind: Malformed, msg: "body is not valid JSON", details: "invalid character"},
		{name: "empty body declared JSON", ct: "application/json", body: ``, kind: Malformed, msg: "body is not valid JSON", details: "unexpected end of JSON input"},
		{name: "prefix before broken JSON", ct: "application/json", body: `payload={"a":`, kind: Malformed, msg: "body is not valid JSON"},
		{name: "unterminated single quote", ct: "application/json", body: `{'a': 'x}`, kind: Malformed, msg: "body is not valid JSON"},
		{name: "broken vendor JSON", ct: "application/vnd.foo+json", body: `{`, kind: Malformed, msg: "body is not valid JSON", details: "unexpected end of JSON input"},
		{name: "image/png", ct: "image/png", body: "\x89PNG\r\n", kind: UnsupportedType, msg: "unsupported content type image/png", details: "application/json"},
		{name: "application/pdf", ct: "application/pdf", body: "%PDF", kind: UnsupportedType, msg: "unsupported content type application/pdf"},
		{name: "multipart/related", ct: "multipart/related; boundary=x", body: "", kind: UnsupportedType, msg: "unsupported content type multipart/related"},
		{name: "unknown charset", ct: "text/plain; charset=klingon", body: "x", kind: UnsupportedType, msg: "unsupported charset klingon", details: "WHATWG"},
		{name: "unknown charset on a form", ct: "application/x-www-form-urlencoded; charset=klingon", body: "a=1", kind: UnsupportedType, msg: "unsupported charset klingon", details: "WHATWG"},
		{name: "unknown charset on JSON", ct: "application/json; charset=klingon", body: "{}", kind: UnsupportedType, msg: "unsupported charset klingon"},
		{name: "multipart without boundary", ct: "multipart/form-data", body: "--x\r\n\r\n", kind: Malformed, msg: "body is not valid multipart", details: "boundary"},
		{name: "multipart truncated", ct: "multipart/form-data; boundary=xyz", body: "--xyz\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\nvalue", kind: Malformed, msg: "body is not valid multipart"},
		{name: "XML with two roots", ct: "application/xml", body: `<a>1</a><b>2</b>`, kind: Malformed, msg: "body is not valid XML", details: "more than one root element"},
		{name: "XML without root", ct: "application/xml", body: `just text`, kind: Malformed, msg: "body is not valid XML", details: "no root element"},
		{name: "empty XML", ct: "text/xml", body: ``, kind: Malformed, msg: "body is not valid XML", details: "no root element"},
		{name: "XML with mismatched tags", ct: "application/xml", body: `<a><b></a>`, kind: Malformed, msg: "body is not valid XML"},
		{name: "XML truncated", ct: "application/xml", body: `<a><b>x</b>`, kind: Malformed, msg: "body is not valid XML"},
		{name: "XML with unknown entity", ct: "application/xml", body: `<a>&nbsp;</a>`, kind: Malformed, msg: "body is not valid XML"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			lim := tc.lim
			if lim == (Limits{}) {
				lim = DefaultLimits
			}
			b, err := parseBody(t, tc.ct, []byte(tc.body), lim)
			checkError(t, err, tc.kind, tc.msg, tc.details)
			if !reflect.DeepEqual(b, Body{}) {
				t.Errorf("ParseBody returned %+v with its error, want a zero Body", b)
			}
		})
	}
}

func TestParseBodyCharsets(t *testing.T) {
	cases := []bodyCase{
		{name: "windows-1252 text", ct: "text/plain; charset=windows-1252", body: "Gr\xfc\xdfe \x80 5", format: "text", text: "Grüße € 5"},
		{name: "windows-1252 JSON", ct: "application/json; charset=windows-1252", body: "{\"title\":\"M\xfcller\",\"t\":\"\x93q\x94\"}", format: "json",
			fields: []Field{top("title", "Müller"), top("t", "\u201cq\u201d")}},
		{name: "upper-case quoted charset", ct: `application/json; charset="Windows-1252"`, body: "{\"a\":\"\xfc\"}", format: "json",
			fields: []Field{top("a", "ü")}},
		{name: "iso-8859-1 label", ct: "text/plain; charset=ISO-8859-1", body: "\xfc", format: "text", text: "ü"},
		{name: "latin1 label", ct: "text/plain; charset=latin1", body: "caf\xe9", format: "text", text: "café"},
		{name: "windows-1252 form", ct: "application/x-www-form-urlencoded; charset=windows-1252", body: "name=J\xfcrgen&x=1", format: "form",
			fields: []Field{top("name", "Jürgen"), top("x", "1")}},
		{name: "windows-1252 XML", ct: "application/xml; charset=windows-1252", body: "<r><t>\xfc</t></r>", format: "xml",
			fields: []Field{top("t", "ü")}},
		{name: "windows-1252 sniffed JSON", ct: "text/plain; charset=windows-1252", body: "{\"a\":\"\xfc\"}", format: "json",
			fields: []Field{top("a", "ü")}},
		{name: "utf-16le JSON", ct: "application/json; charset=utf-16le", body: "{\x00\"\x00a\x00\"\x00:\x00\"\x00\xfc\x00\"\x00}\x00", format: "json",
			fields: []Field{top("a", "ü")}},
		{name: "invalid UTF-8 in JSON replaced with warning", ct: "application/json", body: "{\"t\":\"a\xffb\xc3\"}", format: "json",
			fields: []Field{top("t", "a\uFFFDb\uFFFD")}, warnings: []string{"body is not valid UTF-8; invalid bytes were replaced"}},
		{name: "invalid UTF-8 in name replaced with warning", ct: "application/json", body: "{\"k\xfe\":\"v\"}", format: "json",
			fields: []Field{top("k\uFFFD", "v")}, warnings: []string{"not valid UTF-8"}},
		{name: "invalid UTF-8 in text replaced with warning", ct: "text/plain", body: "down \xc3\x28 now", format: "text",
			text: "down \uFFFD( now", warnings: []string{"not valid UTF-8"}},
		{name: "invalid UTF-8 in form replaced with warning", ct: "application/x-www-form-urlencoded", body: "a=\xff", format: "form",
			fields: []Field{top("a", "\uFFFD")}, warnings: []string{"not valid UTF-8"}},
		{name: "invalid UTF-8 in XML replaced with warning", ct: "application/xml", body: "<r><a>\xff</a></r>", format: "xml",
			fields: []Field{top("a", "\uFFFD")}, warnings: []string{"not valid UTF-8"}},
		{name: "octet-stream binary becomes text with warning", ct: "application/octet-stream", body: "\xff\xfeok\xc0", format: "text",
			text: "\uFFFDok\uFFFD", warnings: []string{"not valid UTF-8"}},
		{name: "valid UTF-8 has no warning", ct: "text/plain", body: "Grüße 😀", format: "text", text: "Grüße 😀"},
		{name: "NUL bytes removed from text", ct: "text/plain", body: "a\x00b\x00\x00c", format: "text", text: "abc"},
		{name: "NUL bytes removed from form", ct: "application/x-www-form-urlencoded", body: "k\x00=v\x00v", format: "form",
			fields: []Field{top("k", "vv")}},
		{name: "NUL bytes and invalid UTF-8 together", ct: "text/plain", body: "a\x00\xffb", format: "text", text: "a\uFFFDb",
			warnings: []string{"not valid UTF-8"}},
	}
	runBodyCases(t, cases)
}

// TestParseBodyFormCharsets: a form's non-ASCII characters are
// percent-encoded in the declared charset (what browsers and most HTTP
// clients send), so the charset applies to the unescaped bytes, and invalid
// UTF-8 produced by unescaping is replaced with a warning.
func TestParseBodyFormCharsets(t *testing.T) {
	const form = "application/x-www-form-urlencoded"
	runBodyCases(t, []bodyCase{
		{name: "windows-1252 percent escapes", ct: form + "; charset=windows-1252", body: "name=J%FCrgen&sym=%80", format: "form",
			fields: []Field{top("name", "Jürgen"), top("sym", "€")}},
		{name: "windows-1252 raw and escaped bytes together", ct: form + "; charset=windows-1252", body: "a=\xfc%FC&%E4=b", format: "form",
			fields: []Field{top("a", "üü"), top("ä", "b")}},
		{name: "iso-8859-1 percent escapes", ct: form + "; charset=ISO-8859-1", body: "c=caf%E9", format: "form",
			fields: []Field{top("c", "café")}},
		{name: "utf-8 percent escapes", ct: form + "; charset=utf-8", body: "name=J%C3%BCrgen", format: "form",
			fields: []Field{top("name", "Jürgen")}},
		{name: "invalid UTF-8 escape replaced with a warning", ct: form, body: "v=a%FFb&ok=1", format: "form",
			fields: []Field{top("v", "a\uFFFDb"), top("ok", "1")}, warnings: []string{"not valid UTF-8"}},
		{name: "invalid UTF-8 escape in a name replaced with a warning", ct: form, body: "k%C3=v", format: "form",
			fields: []Field{top("k\uFFFD", "v")}, warnings: []string{"not valid UTF-8"}},
		{name: "one warning for several invalid values", ct: form, body: "a=%FF&b=%FE", format: "form",
			fields: []Field{top("a", "\uFFFD"), top("b", "\uFFFD")}, warnings: []string{"not valid UTF-8"}},
		{name: "windows-1252 JSON under form type", ct: form + "; charset=windows-1252", body: "{\"a\":\"\xfc\"}", format: "json",
			fields: []Field{top("a", "ü")}},
		{name: "windows-1252 form that starts like JSON (decoded once)", ct: form + "; charset=windows-1252", body: "[a]=\xfc", format: "form",
			fields: []Field{top("[a]", "ü")}},
		{name: "invalid UTF-8 in a form that starts like JSON warns once", ct: form, body: "[a]=\xff", format: "form",
			fields: []Field{top("[a]", "\uFFFD")}, warnings: []string{"not valid UTF-8"}},
		{name: "windows-1252 escaped form that starts like JSON", ct: form + "; charset=windows-1252", body: "{a}=%FC", format: "form",
			fields: []Field{top("{a}", "ü")}},
	})
}

// TestParseBodyXMLEncodingDeclaration: XML written by Windows tools declares
// its encoding in the prolog. The body is decoded once, from the
// Content-Type charset or else from the prolog, and the prolog must not make
// the XML decoder refuse the document.
func TestParseBodyXMLEncodingDeclaration(t *testing.T) {
	cases := []struct {
		name   string
		ct     string
		body   string
		want   []Field
		format string
	}{
		{name: "windows-1252 declared in header and prolog", ct: "application/xml; charset=windows-1252",
			body: `<?xml version="1.0" encoding="windows-1252"?><alert><title>Gr` + "\xfc" + `n</title></alert>`,
			want: []Field{top("title", "Grün")}},
		{name: "ISO-8859-1 declared in header and prolog", ct: "text/xml; charset=ISO-8859-1",
			body: `<?xml version="1.0" encoding="ISO-8859-1"?><alert><title>caf` + "\xe9" + `</title></alert>`,
			want: []Field{top("title", "café")}},
		{name: "windows-1252 declared in the prolog only", ct: "application/xml",
			body: `<?xml version="1.0" encoding="windows-1252"?><alert><title>Gr` + "\xfc" + `n</title></alert>`,
			want: []Field{top("title", "Grün")}},
		{name: "single-quoted prolog encoding, sniffed", ct: "",
			body: `<?xml version='1.0' encoding='ISO-8859-1'?><alert><title>caf` + "\xe9" + `</title></alert>`,
			want: []Field{top("title", "café")}},
		{name: "header charset wins over the prolog", ct: "application/xml; charset=utf-8",
			body: `<?xml version="1.0" encoding="windows-1252"?><alert><title>Grün</title></alert>`,
			want: []Field{top("title", "Grün")}},
		{name: "UTF-8 declared in the prolog", ct: "application/xml",
			body: `<?xml version="1.0" encoding="UTF-8"?><alert><title>Grün</title></alert>`,
			want: []Field{top("title", "Grün")}},
		// .NET's XmlWriter over a StringWriter always declares utf-16, and
		// the string is then sent as UTF-8: bytes that spell "<?xml" in
		// ASCII cannot be UTF-16, so the declaration must not be applied.
		{name: "utf-16 declared over ASCII bytes (.NET StringWriter)", ct: "application/xml",
			body: `<?xml version="1.0" encoding="utf-16"?><alert><title>T</title></alert>`,
			want: []Field{top("title", "T")}},
		{name: "utf-16 declared over ASCII bytes, sniffed", ct: "",
			body: `<?xml version="1.0" encoding="utf-16"?><alert><title>T</title></alert>`,
			want: []Field{top("title", "T")}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			b := mustParse(t, tc.ct, []byte(tc.body), DefaultLimits)
			if b.Format != "xml" {
				t.Errorf("Format = %q, want xml (text %q)", b.Format, b.Text)
			}
			checkFields(t, b.Fields, tc.want)
		})
	}
}

func TestParseBodyMaxFields(t *testing.T) {
	cases := []struct {
		name      string
		ct        string
		body      string
		maxFields int
		want      []Field
		warnings  []string
	}{
		{name: "JSON truncated", ct: "application/json", body: `{"a":"1","b":"2","c":"3","d":"4"}`, maxFields: 2,
			want: []Field{top("a", "1"), top("b", "2")}, warnings: []string{"body has 4 fields; only the first 2 were kept"}},
		{name: "nested JSON counts leaves", ct: "application/json", body: `{"h":{"a":1,"b":2},"c":"3"}`, maxFields: 1,
			want: []Field{lit("h.a", "1", false)}, warnings: []string{"body has 3 fields; only the first 1 were kept"}},
		{name: "form truncated", ct: "application/x-www-form-urlencoded", body: "a=1&b=2&c=3", maxFields: 2,
			want: []Field{top("a", "1"), top("b", "2")}, warnings: []string{"body has 3 fields; only the first 2 were kept"}},
		{name: "XML truncated", ct: "application/xml", body: `<r x="0"><a>1</a><b>2</b></r>`, maxFields: 2,
			want: []Field{top("x", "0"), top("a", "1")}, warnings: []string{"body has 3 fields; only the first 2 were kept"}},
		{name: "exactly at the limit", ct: "application/json", body: `{"a":"1","b":"2"}`, maxFields: 2,
			want: []Field{top("a", "1"), top("b", "2")}},
		{name: "zero means no limit", ct: "application/json", body: `{"a":"1","b":"2","c":"3"}`, maxFields: 0,
			want: []Field{top("a", "1"), top("b", "2"), top("c", "3")}},
		{name: "truncation warning after charset warning", ct: "application/json", body: "{\"a\":\"\xff\",\"b\":\"2\"}", maxFields: 1,
			want: []Field{top("a", "\uFFFD")}, warnings: []string{"not valid UTF-8", "body has 2 fields; only the first 1 were kept"}},
		{name: "truncation warning after repair warning", ct: "application/json", body: `payload={"a":"1","b":"2"}`, maxFields: 1,
			want: []Field{top("a", "1")}, warnings: []string{`"payload="`, "body has 2 fields; only the first 1 were kept"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			lim := DefaultLimits
			lim.MaxFields = tc.maxFields
			b := mustParse(t, tc.ct, []byte(tc.body), lim)
			checkFields(t, b.Fields, tc.want)
			checkWarnings(t, b.Warnings, tc.warnings)
		})
	}
}

func TestParseBodyDefaultMaxFields(t *testing.T) {
	var sb strings.Builder
	sb.WriteString("{")
	for i := 0; i < 2001; i++ {
		if i > 0 {
			sb.WriteString(",")
		}
		fmt.Fprintf(&sb, `"f%d":%d`, i, i)
	}
	sb.WriteString("}")
	b := mustParse(t, "application/json", []byte(sb.String()), DefaultLimits)
	if len(b.Fields) != 2000 {
		t.Fatalf("kept %d fields, want 2000", len(b.Fields))
	}
	if last := b.Fields[1999]; last != lit("f1999", "1999", true) {
		t.Errorf("last kept field = %+v, want f1999=1999", last)
	}
	checkWarnings(t, b.Warnings, []string{"body has 2001 fields; only the first 2000 were kept"})
}

// part describes one multipart part for buildMultipart.
type part struct {
	name, filename, ct, cte string
	data                    []byte
	header                  textproto.MIMEHeader // used as is when set
}

func buildMultipart(t *testing.T, boundary string, parts []part) []byte {
	t.Helper()
	var buf bytes.Buffer
	w := multipart.NewWriter(&buf)
	if err := w.SetBoundary(boundary); err != nil {
		t.Fatal(err)
	}
	for _, p := range parts {
		h := p.header
		if h == nil {
			h = textproto.MIMEHeader{}
			cd := fmt.Sprintf(`form-data; name=%q`, p.name)
			if p.filename != "" {
				cd += fmt.Sprintf(`; filename=%q`, p.filename)
			}
			h.Set("Content-Disposition", cd)
			if p.ct != "" {
				h.Set("Content-Type", p.ct)
			}
			if p.cte != "" {
				h.Set("Content-Transfer-Encoding", p.cte)
			}
		}
		pw, err := w.CreatePart(h)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := pw.Write(p.data); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// base64Lines encodes data as base64 wrapped at 76 characters with CRLF, as
// mail encoders do.
func base64Lines(data []byte) []byte {
	enc := base64.StdEncoding.EncodeToString(data)
	var out bytes.Buffer
	for len(enc) > 76 {
		out.WriteString(enc[:76])
		out.WriteString("\r\n")
		enc = enc[76:]
	}
	out.WriteString(enc)
	out.WriteString("\r\n")
	return out.Bytes()
}

func randomBytes(n int, seed uint64) []byte {
	r := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	// Bytes that break text handling: invalid UTF-8, NUL, CR LF, dashes,
	// a BOM, a lone continuation byte.
	out := []byte{0xff, 0xfe, 0x00, 0xc3, 0x28, '\r', '\n', '-', '-', 0x80, 0xef, 0xbb, 0xbf, 0xed, 0xa0, 0x80}
	for len(out) < n {
		out = append(out, byte(r.UintN(256)))
	}
	return out[:n]
}

func TestParseBodyMultipart(t *testing.T) {
	bin := randomBytes(64<<10, 1)
	small := randomBytes(300, 2)
	wrapped := randomBytes(1000, 3)
	cases := []struct {
		name        string
		ct          string // %s is replaced by the boundary
		parts       []part
		lim         Limits
		fields      []Field
		attachments []Attachment
		warnings    []string
	}{
		{name: "fields and a binary attachment", ct: "multipart/form-data; boundary=%s",
			parts: []part{
				{name: "title", data: []byte("Disk full")},
				{name: "file", filename: "dump.bin", ct: "application/octet-stream", data: bin},
				{name: "host", data: []byte("db1")},
			},
			fields:      []Field{top("title", "Disk full"), top("host", "db1")},
			attachments: []Attachment{{Name: "dump.bin", ContentType: "application/octet-stream", Data: bin}}},
		{name: "multipart/mixed", ct: "multipart/mixed; boundary=%s",
			parts: []part{
				{name: "a", data: []byte("1")},
				{name: "img", filename: "p.png", ct: "image/png", data: small},
			},
			fields:      []Field{top("a", "1")},
			attachments: []Attachment{{Name: "p.png", ContentType: "image/png", Data: small}}},
		{name: "attachment without content type", ct: "multipart/form-data; boundary=%s",
			parts:       []part{{name: "f", filename: "x.dat", data: []byte("abc")}},
			attachments: []Attachment{{Name: "x.dat", ContentType: "application/octet-stream", Data: []byte("abc")}}},
		{name: "path in filename reduced to its base", ct: "multipart/form-data; boundary=%s",
			parts:       []part{{name: "f", filename: "C:/logs/app.log", ct: "text/plain", data: []byte("log")}},
			attachments: []Attachment{{Name: "app.log", ContentType: "text/plain", Data: []byte("log")}}},
		{name: "empty attachment", ct: "multipart/form-data; boundary=%s",
			parts:       []part{{name: "f", filename: "empty.txt", ct: "text/plain", data: nil}},
			attachments: []Attachment{{Name: "empty.txt", ContentType: "text/plain", Data: []byte{}}}},
		{name: "attachment exactly at the limit", ct: "multipart/form-data; boundary=%s",
			lim:         Limits{MaxAttachmentBytes: 300, MaxAttachments: 1},
			parts:       []part{{name: "f", filename: "a", ct: "application/octet-stream", data: small}},
			attachments: []Attachment{{Name: "a", ContentType: "application/octet-stream", Data: small}}},
		{name: "attachments up to the count limit", ct: "multipart/form-data; boundary=%s",
			lim: Limits{MaxAttachmentBytes: 10, MaxAttachments: 2},
			parts: []part{
				{name: "f1", filename: "1", ct: "text/plain", data: []byte("one")},
				{name: "f2", filename: "2", ct: "text/plain", data: []byte("two")},
			},
			attachments: []Attachment{
				{Name: "1", ContentType: "text/plain", Data: []byte("one")},
				{Name: "2", ContentType: "text/plain", Data: []byte("two")},
			}},
		{name: "base64 attachment decoded", ct: "multipart/form-data; boundary=%s",
			parts:       []part{{name: "f", filename: "w.bin", ct: "application/octet-stream", cte: "base64", data: base64Lines(wrapped)}},
			attachments: []Attachment{{Name: "w.bin", ContentType: "application/octet-stream", Data: wrapped}}},
		{name: "base64 with LF line breaks and upper-case encoding name", ct: "multipart/form-data; boundary=%s",
			parts: []part{{name: "f", filename: "w.bin", cte: "BASE64",
				data: bytes.ReplaceAll(base64Lines(wrapped), []byte("\r\n"), []byte("\n"))}},
			attachments: []Attachment{{Name: "w.bin", ContentType: "application/octet-stream", Data: wrapped}}},
		{name: "base64 text field decoded", ct: "multipart/form-data; boundary=%s",
			parts:  []part{{name: "title", cte: "base64", data: []byte(base64.StdEncoding.EncodeToString([]byte("Grüße aus dem Rechenzentrum")))}},
			fields: []Field{top("title", "Grüße aus dem Rechenzentrum")}},
		{name: "quoted-printable text field decoded", ct: "multipart/form-data; boundary=%s",
			parts:  []part{{name: "title", cte: "quoted-printable", data: []byte("Gr=C3=BC=C3=9Fe")}},
			fields: []Field{top("title", "Grüße")}},
		{name: "text fields cleaned, no warning for the body", ct: "multipart/form-data; boundary=%s",
			parts: []part{
				{name: "bad", data: []byte("a\xffb")},
				{name: "nul", data: []byte("x\x00y")},
			},
			fields: []Field{top("bad", "a\uFFFDb"), top("nul", "xy")}},
		{name: "body charset not applied to binary parts", ct: "multipart/form-data; charset=windows-1252; boundary=%s",
			parts:       []part{{name: "f", filename: "b", data: small}},
			attachments: []Attachment{{Name: "b", ContentType: "application/octet-stream", Data: small}}},
		{name: "quoted boundary parameter", ct: `multipart/form-data; boundary="%s"`,
			parts:  []part{{name: "a", data: []byte("1")}},
			fields: []Field{top("a", "1")}},
		{name: "field limit applies to parts", ct: "multipart/form-data; boundary=%s",
			lim: Limits{MaxAttachmentBytes: 10, MaxAttachments: 1, MaxFields: 1},
			parts: []part{
				{name: "a", data: []byte("1")},
				{name: "b", data: []byte("2")},
			},
			fields: []Field{top("a", "1")}, warnings: []string{"body has 2 fields; only the first 1 were kept"}},
		{name: "no parts", ct: "multipart/form-data; boundary=%s"},
	}
	const boundary = "b0undary-XYZ"
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			lim := tc.lim
			if lim == (Limits{}) {
				lim = DefaultLimits
			}
			raw := buildMultipart(t, boundary, tc.parts)
			orig := bytes.Clone(raw)
			b := mustParse(t, fmt.Sprintf(tc.ct, boundary), raw, lim)
			if b.Format != "multipart" {
				t.Errorf("Format = %q, want multipart", b.Format)
			}
			checkFields(t, b.Fields, tc.fields)
			checkWarnings(t, b.Warnings, tc.warnings)
			if len(b.Attachments) != len(tc.attachments) {
				t.Fatalf("got %d attachments, want %d", len(b.Attachments), len(tc.attachments))
			}
			for i, want := range tc.attachments {
				got := b.Attachments[i]
				if got.Name != want.Name || got.ContentType != want.ContentType {
					t.Errorf("attachment %d = %q (%q), want %q (%q)", i, got.Name, got.ContentType, want.Name, want.ContentType)
				}
				if !bytes.Equal(got.Data, want.Data) {
					t.Errorf("attachment %d: %d bytes differ from the %d sent (first difference at %d)", i, len(got.Data), len(want.Data), firstDiff(got.Data, want.Data))
				}
			}
			if !bytes.Equal(raw, orig) {
				t.Error("ParseBody modified the request body")
			}
		})
	}
}

func firstDiff(a, b []byte) int {
	for i := 0; i < len(a) && i < len(b); i++ {
		if a[i] != b[i] {
			return i
		}
	}
	return min(len(a), len(b))
}

func TestParseBodyMultipartErrors(t *testing.T) {
	cases := []struct {
		name    string
		ct      string
		parts   []part
		raw     string // used instead of parts when set
		lim     Limits
		kind    ErrorKind
		msg     string
		details string
	}{
		{name: "attachment larger than the limit", ct: "multipart/form-data; boundary=B",
			lim:   Limits{MaxAttachmentBytes: 299, MaxAttachments: 5},
			parts: []part{{name: "f", filename: "big.bin", data: randomBytes(300, 4)}},
			kind:  PartTooLarge, msg: "attachment too large", details: `attachment "big.bin" is larger than 299 bytes`},
		{name: "attachment larger than 4 MB by default", ct: "multipart/form-data; boundary=B",
			lim:   DefaultLimits,
			parts: []part{{name: "f", filename: "huge.bin", data: randomBytes(4<<20+1, 5)}},
			kind:  PartTooLarge, msg: "attachment too large", details: "larger than 4194304 bytes"},
		{name: "base64 attachment larger than the limit once decoded", ct: "multipart/form-data; boundary=B",
			lim:   Limits{MaxAttachmentBytes: 100, MaxAttachments: 5},
			parts: []part{{name: "f", filename: "b64", cte: "base64", data: base64Lines(randomBytes(101, 6))}},
			kind:  PartTooLarge, msg: "attachment too large", details: `"b64"`},
		{name: "too many attachments", ct: "multipart/form-data; boundary=B",
			lim: Limits{MaxAttachmentBytes: 100, MaxAttachments: 2},
			parts: []part{
				{name: "f", filename: "1", data: []byte("1")},
				{name: "x", data: []byte("field")},
				{name: "f", filename: "2", data: []byte("2")},
				{name: "f", filename: "3", data: []byte("3")},
			},
			kind: PartTooLarge, msg: "too many attachments", details: "at most 2 attachments"},
		{name: "invalid base64", ct: "multipart/form-data; boundary=B",
			parts: []part{{name: "f", filename: "x", cte: "base64", data: []byte("!!!not base64!!!")}},
			kind:  Malformed, msg: "body is not valid multipart", details: `attachment "x"`},
		{name: "invalid base64 text field", ct: "multipart/form-data; boundary=B",
			parts: []part{{name: "title", cte: "base64", data: []byte("@@@")}},
			kind:  Malformed, msg: "body is not valid multipart", details: `field "title"`},
		{name: "missing boundary parameter", ct: "multipart/form-data",
			parts: []part{{name: "a", data: []byte("1")}},
			kind:  Malformed, msg: "body is not valid multipart", details: "no boundary parameter"},
		{name: "empty boundary parameter", ct: `multipart/form-data; boundary=""`,
			parts: []part{{name: "a", data: []byte("1")}},
			kind:  Malformed, msg: "body is not valid multipart", details: "no boundary parameter"},
		{name: "wrong boundary", ct: "multipart/form-data; boundary=other",
			parts: []part{{name: "a", data: []byte("1")}},
			kind:  Malformed, msg: "body is not valid multipart"},
		{name: "body without closing delimiter", ct: "multipart/form-data; boundary=B",
			raw:  "--B\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\n1\r\n",
			kind: Malformed, msg: "body is not valid multipart"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			raw := []byte(tc.raw)
			if tc.raw == "" {
				raw = buildMultipart(t, "B", tc.parts)
			}
			lim := tc.lim
			if lim == (Limits{}) {
				lim = DefaultLimits
			}
			_, err := parseBody(t, tc.ct, raw, lim)
			checkError(t, err, tc.kind, tc.msg, tc.details)
		})
	}
}

// TestParseBodyDoesNotModifyInput: the raw body is stored as received, so
// parsing must not change it, whatever the format.
func TestParseBodyDoesNotModifyInput(t *testing.T) {
	cases := []struct{ name, ct, body string }{
		{"json", "application/json", "{\"a\":\"\xff\\u0000\"}"},
		{"form", "application/x-www-form-urlencoded", "a=%41\xff&b=+"},
		{"text", "text/plain", " \xfe text \x00 "},
		{"windows-1252", "text/plain; charset=windows-1252", "\xfc\x80"},
		{"single-quoted", "application/json", "{'a': 'b\"'}"},
		{"xml", "application/xml", "<r><a>\xff</a></r>"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			in := []byte(tc.body)
			if _, err := parseBody(t, tc.ct, in, DefaultLimits); err != nil {
				t.Fatalf("ParseBody error: %v", err)
			}
			if string(in) != tc.body {
				t.Errorf("body changed from %q to %q", tc.body, in)
			}
		})
	}
}

func TestUnescapeLenient(t *testing.T) {
	cases := []struct{ in, want string }{
		{"", ""},
		{"plain", "plain"},
		{"a+b", "a b"},
		{"%20", " "},
		{"%2B", "+"},
		{"%41%42", "AB"},
		{"97 % (Total)", "97 % (Total)"},
		{"100%", "100%"},
		{"%", "%"},
		{"%4", "%4"},
		{"%4g", "%4g"},
		{"%%41", "%A"},
		{"%e2%82%ac", "€"},
		{"a%0Ab", "a\nb"},
	}
	for _, tc := range cases {
		t.Run(tc.in, func(t *testing.T) {
			if got := unescapeLenient(tc.in); got != tc.want {
				t.Errorf("unescapeLenient(%q) = %q, want %q", tc.in, got, tc.want)
			}
		})
	}
}

func TestSingleQuotedJSON(t *testing.T) {
	cases := []struct {
		in   string
		want string
		ok   bool
	}{
		{in: `{"a":1}`, ok: false, want: ""},
		{in: `{'a': 'b'}`, ok: true, want: `{"a": "b"}`},
		{in: `{'a': 'say "hi"'}`, ok: true, want: `{"a": "say \"hi\""}`},
		{in: `{'a': 'it\'s'}`, ok: true, want: `{"a": "it's"}`},
		{in: `{"a": "it's", 'b': 'c'}`, ok: true, want: `{"a": "it's", "b": "c"}`},
		{in: `{'a': 'x\n'}`, ok: true, want: `{"a": "x\n"}`},
		{in: `{'a': 'open}`, ok: false},
	}
	for _, tc := range cases {
		t.Run(tc.in, func(t *testing.T) {
			got, ok := singleQuotedJSON([]byte(tc.in))
			if ok != tc.ok {
				t.Fatalf("singleQuotedJSON(%q) ok = %v, want %v", tc.in, ok, tc.ok)
			}
			if ok && string(got) != tc.want {
				t.Errorf("singleQuotedJSON(%q) = %q, want %q", tc.in, got, tc.want)
			}
		})
	}
}

// TestParseBodyXMLPrettyPrinted: most XML senders indent their documents, so
// elements with children also hold whitespace text before and after them.
// (parseXML once kept a []strings.Builder that append copied on growth, and
// writing to a copied, non-empty Builder panicked.)
func TestParseBodyXMLPrettyPrinted(t *testing.T) {
	const indented = "<alert>\n  <title>Disk full</title>\n  <host>\n    <name>db1</name>\n  </host>\n</alert>\n"
	want := []Field{top("title", "Disk full"), str("host.name", "db1", false)}
	cases := []struct {
		name, ct, body string
		want           []Field
	}{
		{name: "application/xml indented", ct: "application/xml", body: indented, want: want},
		{name: "text/xml with CRLF", ct: "text/xml", body: strings.ReplaceAll(indented, "\n", "\r\n"), want: want},
		{name: "sniffed without content type", ct: "", body: indented, want: want},
		{name: "sniffed under text/plain", ct: "text/plain", body: indented, want: want},
		{name: "whitespace around a nested child only", ct: "application/xml", body: "<a><b>\n<c>1</c>\n</b></a>", want: []Field{str("b.c", "1", false)}},
		{name: "root text before and after a child", ct: "application/xml", body: "<r>x<a>1</a>y</r>", want: []Field{top("a", "1")}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			b := mustParse(t, tc.ct, []byte(tc.body), DefaultLimits)
			if b.Format != "xml" {
				t.Errorf("Format = %q, want xml", b.Format)
			}
			checkFields(t, b.Fields, tc.want)
			if b.Text != "" {
				t.Errorf("Text = %q, want none", b.Text)
			}
		})
	}
}

// TestParseBodyDeepNestingIsBounded: a small, deeply nested body must not
// make the server allocate memory (or spend time) quadratic in its depth.
// Flattened names are built level by level ("0.0.0...", "a.a.a..."), each
// level copying its parent's name, and MaxFields only trims the result at
// the end; a 60 KB body of "[" reaches a 3.6 GB RSS, and 60000 "<a>" take
// about 28 s of CPU.
func TestParseBodyDeepNestingIsBounded(t *testing.T) {
	const depth = 10000
	const maxAlloc = 64 << 20
	cases := []struct {
		name, ct, body string
		wantErr        bool
		wantFields     int
	}{
		{name: "unclosed JSON arrays", ct: "application/json", body: strings.Repeat("[", depth), wantErr: true},
		{name: "closed JSON objects", ct: "application/json", body: strings.Repeat(`{"a":`, depth) + "1" + strings.Repeat("}", depth), wantErr: true},
		{name: "unclosed XML elements", ct: "application/xml", body: strings.Repeat("<a>", depth), wantErr: true},
		{name: "closed XML elements with attributes", ct: "application/xml", body: strings.Repeat(`<a x="1">`, depth) + strings.Repeat("</a>", depth), wantErr: true},
		{name: "64 levels are fine", ct: "application/json", body: strings.Repeat(`{"a":`, 63) + "1" + strings.Repeat("}", 63), wantFields: 1},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var before, after runtime.MemStats
			runtime.GC()
			runtime.ReadMemStats(&before)
			b, err := parseBody(t, tc.ct, []byte(tc.body), DefaultLimits)
			runtime.ReadMemStats(&after)
			if tc.wantErr {
				checkError(t, err, Malformed, "body is not valid", "")
			} else {
				if err != nil {
					t.Fatalf("ParseBody error: %v", err)
				}
				if len(b.Fields) != tc.wantFields {
					t.Errorf("kept %d fields, want %d", len(b.Fields), tc.wantFields)
				}
			}
			if alloc := after.TotalAlloc - before.TotalAlloc; alloc > maxAlloc {
				t.Errorf("parsing a %d-byte body nested %d deep allocated %d MB, want at most %d MB", len(tc.body), depth, alloc>>20, maxAlloc>>20)
			}
		})
	}
}

// A prolog naming an encoding the bytes cannot be in (UTF-16 read as ASCII)
// or one nobody knows is ignored rather than refusing the alert.
func TestParseBodyXMLPrologEncodingIgnoredWhenImpossible(t *testing.T) {
	for _, enc := range []string{"utf-16", "UTF-16LE", "klingon"} {
		for _, ct := range []string{"application/xml", ""} {
			body := `<?xml version="1.0" encoding="` + enc + `"?><alert><title>T</title></alert>`
			b, err := ParseBody(ct, []byte(body), DefaultLimits)
			if err != nil {
				t.Fatalf("%s under %q: %v", enc, ct, err)
			}
			if b.Format != "xml" || len(b.Fields) != 1 || b.Fields[0].Name != "title" || b.Fields[0].Value != "T" {
				t.Fatalf("%s under %q: %+v", enc, ct, b)
			}
		}
	}
}
