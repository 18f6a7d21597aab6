package ingest

import (
	"bytes"
	"errors"
	"net/url"
	"reflect"
	"strings"
	"testing"
	"unicode/utf8"
)

// fuzzLimits are small so that the field, attachment size and attachment
// count limits are reached by small inputs.
var fuzzLimits = Limits{MaxAttachmentBytes: 64, MaxAttachments: 2, MaxFields: 8}

const fuzzMultipart = "--b\r\n" +
	"Content-Disposition: form-data; name=\"title\"\r\n\r\n" +
	"Disk full\r\n" +
	"--b\r\n" +
	"Content-Disposition: form-data; name=\"f\"; filename=\"a.bin\"\r\n" +
	"Content-Type: application/octet-stream\r\n\r\n" +
	"\x00\xff\xfe\r\n" +
	"--b\r\n" +
	"Content-Disposition: form-data; name=\"g\"; filename=\"b.txt\"\r\n" +
	"Content-Transfer-Encoding: base64\r\n\r\n" +
	"aGVs\r\nbG8=\r\n" +
	"--b--\r\n"

func addBodySeeds(f *testing.F, withQuery bool) {
	seeds := []struct{ ct, body, query string }{
		{"application/json", `{"title":"Disk full","n":1.50,"big":12345678901234567890,"ok":true,"x":null}`, "ExtIDParam=id"},
		{"application/json; charset=utf-8", `{"h":{"a":[1,{"b":"c"}]},"X-S4-Status":"resolved","X-S4-ExternalID":"e"}`, "ExtStatusParam=h.a.0&ResolvedStatus=1"},
		{"application/json", `payload={"Title":"z"}`, ""},
		{"application/json", `{'Title': 'it\'s "x"'}`, ""},
		{"application/json", `["a",1] x`, ""},
		{"application/vnd.foo+json", `"just a string"`, ""},
		{"application/x-www-form-urlencoded", "title=Disk+full&msg=97 % (Total)&id=%41%zz&state=OK", "extidparam=id&ExtStatusParam=state&ResolvedStatus=ok&NewStatus=new"},
		{"application/x-www-form-urlencoded; charset=windows-1252", "a=\xfc&b=%FC", ""},
		{"multipart/form-data; boundary=b", fuzzMultipart, "ExtIDParam=title"},
		{"multipart/mixed; boundary=b", fuzzMultipart, ""},
		{"application/xml", `<alert id="1"><title lang="en">T</title><h><n>x</n></h></alert>`, "ExtIDParam=id"},
		{"text/xml", `<a:r xmlns:a="urn:a"><a:x>1</a:x></a:r>`, ""},
		{"", `<r><a>1</a></r>`, ""},
		{"", "<?xml version=\"1.0\" encoding=\"windows-1252\"?>\n<r>\n <a>\xfc</a>\n</r>", ""},
		{"application/xml", "<r>\n<a>1</a></r>", ""},
		{"", `{"X-S4-Location":"1,2","X-S4-AlertingScenario":"emergency"}`, ""},
		{"text/plain", "Server down \x00\xff", ""},
		{"text/plain; charset=windows-1252", "Gr\xfc\xdfe", ""},
		{"application/octet-stream", "\x89PNG\r\n", ""},
		{"image/png", "\x89PNG", ""},
		{"application/json; charset", `{}`, "NewStatus=x&ExtStatusParam=s"},
	}
	for _, s := range seeds {
		if withQuery {
			f.Add(s.ct, []byte(s.body), s.query)
		} else {
			f.Add(s.ct, []byte(s.body))
		}
	}
}

// fuzzParse runs ParseBody and turns a panic into a failure that names the
// input, so a crashing corpus entry does not abort the whole test binary.
func fuzzParse(t *testing.T, ct string, body []byte) (b Body, err error) {
	t.Helper()
	defer func() {
		if v := recover(); v != nil {
			t.Fatalf("ParseBody(%q, %q) panicked: %v", ct, body, v)
		}
	}()
	return ParseBody(ct, body, fuzzLimits)
}

func checkStorable(t *testing.T, what, s string) {
	t.Helper()
	if !utf8.ValidString(s) {
		t.Errorf("%s %q is not valid UTF-8", what, s)
	}
	if strings.IndexByte(s, 0) >= 0 {
		t.Errorf("%s %q holds a NUL byte", what, s)
	}
}

func FuzzParseBody(f *testing.F) {
	addBodySeeds(f, false)
	f.Fuzz(func(t *testing.T, ct string, body []byte) {
		orig := bytes.Clone(body)
		b, err := fuzzParse(t, ct, body)
		if !bytes.Equal(body, orig) {
			t.Fatalf("ParseBody modified its input")
		}
		if err != nil {
			var be *Error
			if !errors.As(err, &be) {
				t.Fatalf("error %v is %T, want *ingest.Error", err, err)
			}
			if be.Kind != Malformed && be.Kind != UnsupportedType && be.Kind != PartTooLarge {
				t.Errorf("error kind %d is unknown", be.Kind)
			}
			if be.Message == "" {
				t.Errorf("error has no message")
			}
			if !reflect.DeepEqual(b, Body{}) {
				t.Errorf("ParseBody returned a body with its error: %+v", b)
			}
			return
		}
		switch b.Format {
		case "json", "form", "multipart", "xml", "text", "empty":
		default:
			t.Errorf("Format %q is unknown", b.Format)
		}
		for i, fl := range b.Fields {
			checkStorable(t, "field name", fl.Name)
			checkStorable(t, "value of field "+fl.Name, fl.Value)
			if b.Format != "json" && !fl.String {
				t.Errorf("field %d %q of a %s body is not a string", i, fl.Name, b.Format)
			}
		}
		checkStorable(t, "text", b.Text)
		for _, a := range b.Attachments {
			checkStorable(t, "attachment name", a.Name)
			if int64(len(a.Data)) > fuzzLimits.MaxAttachmentBytes {
				t.Errorf("attachment %q has %d bytes, limit %d", a.Name, len(a.Data), fuzzLimits.MaxAttachmentBytes)
			}
			if a.ContentType == "" {
				t.Errorf("attachment %q has no content type", a.Name)
			}
		}
		if len(b.Fields) > fuzzLimits.MaxFields {
			t.Errorf("%d fields, limit %d", len(b.Fields), fuzzLimits.MaxFields)
		}
		if len(b.Attachments) > fuzzLimits.MaxAttachments {
			t.Errorf("%d attachments, limit %d", len(b.Attachments), fuzzLimits.MaxAttachments)
		}
		if b.Format != "multipart" && len(b.Attachments) > 0 {
			t.Errorf("%s body has attachments", b.Format)
		}
		if (b.Format == "text" || b.Format == "empty") && len(b.Fields) > 0 {
			t.Errorf("%s body has fields", b.Format)
		}
		if b.Format == "empty" && b.Text != "" {
			t.Errorf("empty body has text %q", b.Text)
		}
		// Parsing is deterministic.
		again, err := fuzzParse(t, ct, body)
		if err != nil || !reflect.DeepEqual(again, b) {
			t.Errorf("second parse differs: %+v, %v; first %+v", again, err, b)
		}
	})
}

func FuzzInterpret(f *testing.F) {
	addBodySeeds(f, true)
	f.Fuzz(func(t *testing.T, ct string, body []byte, query string) {
		b, err := fuzzParse(t, ct, body)
		if err != nil {
			return
		}
		q, _ := url.ParseQuery(query) // a bad query still yields the pairs before the error
		m := MappingFromQuery(q)
		ev := Interpret(b, m, nil)

		if ev.Title == "" {
			t.Fatalf("empty title")
		}
		if ev.Title != strings.TrimSpace(ev.Title) {
			t.Errorf("title %q is not trimmed", ev.Title)
		}
		if ev.TitleFallback && ev.Title != FallbackTitle {
			t.Errorf("TitleFallback set with title %q", ev.Title)
		}
		checkStorable(t, "title", ev.Title)
		checkStorable(t, "text", ev.Text)
		switch ev.Action {
		case ActionNew, ActionAcknowledge, ActionResolve, ActionDiscard:
		default:
			t.Fatalf("Action %q is not one of the four", ev.Action)
		}
		if ev.Action == ActionDiscard && ev.Reason == "" {
			t.Errorf("discarded without a reason")
		}
		if ev.Action != ActionDiscard && ev.Reason != "" {
			t.Errorf("action %s has a reason %q", ev.Action, ev.Reason)
		}
		if (ev.Action == ActionAcknowledge || ev.Action == ActionResolve) && ev.ExternalID == "" {
			t.Errorf("action %s without an external id", ev.Action)
		}
		if len(ev.ExternalID) > 500 {
			t.Errorf("external id has %d bytes", len(ev.ExternalID))
		}
		checkStorable(t, "external id", ev.ExternalID)
		switch ev.Scenario {
		case "", "single_ack", "multi_ack", "emergency":
		default:
			t.Errorf("Scenario %q is unknown", ev.Scenario)
		}
		if ev.Location != "" {
			if _, ok := parseLocation(ev.Location); !ok {
				t.Errorf("Location %q does not parse", ev.Location)
			}
		}
		if ev.Params == nil {
			t.Errorf("Params is nil")
		}
		if len(ev.Params) > len(b.Fields) {
			t.Errorf("%d params from %d fields", len(ev.Params), len(b.Fields))
		}
		for _, p := range ev.Params {
			checkStorable(t, "param name", p.Name)
			checkStorable(t, "value of param "+p.Name, p.Value)
		}
		if len(ev.Warnings) < len(b.Warnings) {
			t.Errorf("event has %d warnings, body had %d", len(ev.Warnings), len(b.Warnings))
		}
	})
}
