package ingest

import (
	"net/http"
	"net/url"
	"reflect"
	"strings"
	"testing"
	"unicode/utf8"
)

// want is the expected Event; every field is compared, so a zero value
// means "expected empty".
type want struct {
	title         string
	titleFallback bool
	text          string
	params        []Param
	externalID    string
	action        Action
	reason        string // substring; empty means no reason expected
	service       string
	location      string
	scenario      string
	filtering     bool
	sourceSystem  string
	severity      string
	warnings      []string // substrings, one per expected warning
}

func p(name, value string) Param { return Param{Name: name, Value: value} }

func checkEvent(t *testing.T, ev Event, w want) {
	t.Helper()
	if ev.Title != w.title {
		t.Errorf("Title = %q, want %q", ev.Title, w.title)
	}
	if ev.TitleFallback != w.titleFallback {
		t.Errorf("TitleFallback = %v, want %v", ev.TitleFallback, w.titleFallback)
	}
	if ev.Text != w.text {
		t.Errorf("Text = %q, want %q", ev.Text, w.text)
	}
	if ev.Params == nil {
		t.Errorf("Params is nil, want a non-nil slice (it is sent as JSON)")
	}
	if !(len(ev.Params) == 0 && len(w.params) == 0) && !reflect.DeepEqual(ev.Params, w.params) {
		t.Errorf("Params = %q, want %q", ev.Params, w.params)
	}
	if ev.ExternalID != w.externalID {
		t.Errorf("ExternalID = %q, want %q", ev.ExternalID, w.externalID)
	}
	wantAction := w.action
	if wantAction == "" {
		wantAction = ActionNew
	}
	if ev.Action != wantAction {
		t.Errorf("Action = %q, want %q (reason %q)", ev.Action, wantAction, ev.Reason)
	}
	if w.reason == "" && ev.Reason != "" {
		t.Errorf("Reason = %q, want none", ev.Reason)
	}
	if w.reason != "" && !strings.Contains(ev.Reason, w.reason) {
		t.Errorf("Reason = %q, want it to contain %q", ev.Reason, w.reason)
	}
	if ev.Service != w.service {
		t.Errorf("Service = %q, want %q", ev.Service, w.service)
	}
	if ev.Location != w.location {
		t.Errorf("Location = %q, want %q", ev.Location, w.location)
	}
	if ev.Scenario != w.scenario {
		t.Errorf("Scenario = %q, want %q", ev.Scenario, w.scenario)
	}
	if ev.Filtering != w.filtering {
		t.Errorf("Filtering = %v, want %v", ev.Filtering, w.filtering)
	}
	if ev.SourceSystem != w.sourceSystem {
		t.Errorf("SourceSystem = %q, want %q", ev.SourceSystem, w.sourceSystem)
	}
	if ev.Severity != w.severity {
		t.Errorf("Severity = %q, want %q", ev.Severity, w.severity)
	}
	checkWarnings(t, ev.Warnings, w.warnings)
}

type eventCase struct {
	name    string
	ct      string // application/json when empty
	body    string
	query   string
	headers map[string]string
	want    want
}

func runEventCases(t *testing.T, cases []eventCase) {
	t.Helper()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ct := tc.ct
			if ct == "" {
				ct = "application/json"
			}
			b := mustParse(t, ct, []byte(tc.body), DefaultLimits)
			q, err := url.ParseQuery(tc.query)
			if err != nil {
				t.Fatalf("bad query %q: %v", tc.query, err)
			}
			h := http.Header{}
			for k, v := range tc.headers {
				h.Set(k, v)
			}
			checkEvent(t, Interpret(b, MappingFromQuery(q), h), tc.want)
		})
	}
}

func TestInterpretTitleAndText(t *testing.T) {
	cases := []eventCase{}
	for _, name := range []string{"subject", "title", "task", "job", "case", "incident", "x-s4-subject",
		"Subject", "TITLE", "Task", "JOB", "Case", "InCiDeNt", "X-S4-Subject", "X-S4-SUBJECT"} {
		cases = append(cases, eventCase{name: "title name " + name, body: `{"` + name + `":"Disk full","host":"db1"}`,
			want: want{title: "Disk full", params: []Param{p("host", "db1")}}})
	}
	for _, name := range []string{"text", "message", "messagetext", "description", "body", "content",
		"Text", "MESSAGE", "MessageText", "Description", "BODY", "Content"} {
		cases = append(cases, eventCase{name: "text name " + name, body: `{"` + name + `":"It is full","host":"db1"}`,
			want: want{title: FallbackTitle, titleFallback: true, text: "It is full", params: []Param{p("host", "db1")}}})
	}
	cases = append(cases, []eventCase{
		{name: "names that only resemble title names are parameters", body: `{"titles":"a","sub":"b","msg":"c","alert.title":"d"}`,
			want: want{title: "Alert", titleFallback: true, params: []Param{p("titles", "a"), p("sub", "b"), p("msg", "c"), p("alert.title", "d")}}},
		{name: "first title wins, later ones are parameters", body: `{"title":"A","subject":"B","Title":"C"}`,
			want: want{title: "A", params: []Param{p("subject", "B"), p("Title", "C")}}},
		{name: "first title wins in document order, not list order", body: `{"incident":"I","subject":"S"}`,
			want: want{title: "I", params: []Param{p("subject", "S")}}},
		{name: "first text wins", body: `{"message":"M","text":"T","body":"B"}`,
			want: want{title: "Alert", titleFallback: true, text: "M", params: []Param{p("text", "T"), p("body", "B")}}},
		{name: "title and text together", body: `{"host":"h","text":"T","title":"A","n":1}`,
			want: want{title: "A", text: "T", params: []Param{p("host", "h"), p("n", "1")}}},
		{name: "title and text trimmed", body: `{"title":"  Disk full \n","text":"\tT  "}`,
			want: want{title: "Disk full", text: "T"}},
		{name: "blank title skipped and kept as parameter", body: `{"title":"   ","subject":"S"}`,
			want: want{title: "S", params: []Param{p("title", "   ")}}},
		{name: "empty title skipped", body: `{"title":"","text":""}`,
			want: want{title: "Alert", titleFallback: true, params: []Param{p("title", ""), p("text", "")}}},
		{name: "number title is a parameter", body: `{"title":5}`,
			want: want{title: "Alert", titleFallback: true, params: []Param{p("title", "5")}}},
		{name: "number title does not block a later string title", body: `{"title":5,"subject":"S"}`,
			want: want{title: "S", params: []Param{p("title", "5")}}},
		{name: "boolean and null titles are parameters", body: `{"title":true,"subject":null}`,
			want: want{title: "Alert", titleFallback: true, params: []Param{p("title", "true"), p("subject", "")}}},
		{name: "number text is a parameter", body: `{"text":1.50}`,
			want: want{title: "Alert", titleFallback: true, params: []Param{p("text", "1.50")}}},
		{name: "nested title is a parameter", body: `{"alert":{"title":"x","text":"y"}}`,
			want: want{title: "Alert", titleFallback: true, params: []Param{p("alert.title", "x"), p("alert.text", "y")}}},
		{name: "title inside a top-level array is not top-level", body: `[{"title":"x"}]`,
			want: want{title: "Alert", titleFallback: true, params: []Param{p("0.title", "x")}}},
		{name: "X-S4-Subject as title", body: `{"X-S4-Subject":"S4 title","title":"T"}`,
			want: want{title: "S4 title", params: []Param{p("title", "T")}}},
		{name: "title before X-S4-Subject wins", body: `{"title":"T","X-S4-Subject":"S4 title"}`,
			want: want{title: "T", params: []Param{p("X-S4-Subject", "S4 title")}}},
		{name: "fallback title for empty object", body: `{}`,
			want: want{title: "Alert", titleFallback: true}},
		{name: "fallback title for empty body", ct: "text/plain", body: ``,
			want: want{title: "Alert", titleFallback: true}},
		{name: "plain text body is the text", ct: "text/plain", body: "Server db1 is down\n",
			want: want{title: "Alert", titleFallback: true, text: "Server db1 is down"}},
		{name: "top-level JSON string is the text", body: `"Server down"`,
			want: want{title: "Alert", titleFallback: true, text: "Server down"}},
		{name: "XML root text is the text", ct: "application/xml", body: `<message>down</message>`,
			want: want{title: "Alert", titleFallback: true, text: "down"}},
		{name: "form title and text", ct: "application/x-www-form-urlencoded", body: "Title=Disk+full&Message=97 % (Total)&host=db1",
			want: want{title: "Disk full", text: "97 % (Total)", params: []Param{p("host", "db1")}}},
		{name: "XML title and text", ct: "application/xml", body: `<alert id="1"><Subject>S</Subject><Description>D</Description><host>h</host></alert>`,
			want: want{title: "S", text: "D", params: []Param{p("id", "1"), p("host", "h")}}},
		{name: "params keep original names, order and literal values", body: `{"Zeta":1.50,"alpha":"a","Big":12345678901234567890,"n":null,"t":{"x":["1"]}}`,
			want: want{title: "Alert", titleFallback: true, params: []Param{p("Zeta", "1.50"), p("alpha", "a"), p("Big", "12345678901234567890"), p("n", ""), p("t.x.0", "1")}}},
	}...)
	runEventCases(t, cases)
}

func TestInterpretControlFields(t *testing.T) {
	const id = `"X-S4-ExternalID":"ext-1",`
	runEventCases(t, []eventCase{
		{name: "control fields and title/text excluded from params",
			body: `{"title":"T","text":"X","X-S4-Service":"svc","X-S4-Unknown":"u","x-s4-empty":"","host":"h"}`,
			want: want{title: "T", text: "X", service: "svc", params: []Param{p("host", "h")}}},
		{name: "nested X-S4 names are parameters", body: `{"meta":{"X-S4-Service":"svc","X-S4-Status":"resolved"}}`,
			want: want{title: "Alert", titleFallback: true, params: []Param{p("meta.X-S4-Service", "svc"), p("meta.X-S4-Status", "resolved")}}},
		{name: "service trimmed", body: `{"X-S4-Service":"  Database  "}`,
			want: want{title: "Alert", titleFallback: true, service: "Database"}},
		{name: "control names are case-insensitive", body: `{"x-s4-service":"a","X-S4-SOURCESYSTEM":"b","X-s4-ExternalId":"c"}`,
			want: want{title: "Alert", titleFallback: true, service: "a", sourceSystem: "b", externalID: "c"}},
		{name: "first non-empty control value wins", body: `{"X-S4-Service":"","x-s4-service":"second","X-S4-SERVICE":"third"}`,
			want: want{title: "Alert", titleFallback: true, service: "second"}},
		{name: "source system", body: `{"X-S4-SourceSystem":"Zabbix"}`,
			want: want{title: "Alert", titleFallback: true, sourceSystem: "Zabbix"}},
		{name: "severity", body: `{"X-S4-Severity":" 2 "}`,
			want: want{title: "Alert", titleFallback: true, severity: "2"}},

		{name: "location", body: `{"X-S4-Location":"52.5200,13.4050"}`,
			want: want{title: "Alert", titleFallback: true, location: "52.5200,13.4050"}},
		{name: "location with spaces normalised", body: `{"X-S4-Location":" 52.52 , 13.405 "}`,
			want: want{title: "Alert", titleFallback: true, location: "52.52,13.405"}},
		{name: "location negative bounds", body: `{"X-S4-Location":"-90,-180"}`,
			want: want{title: "Alert", titleFallback: true, location: "-90,-180"}},
		{name: "location positive bounds", body: `{"X-S4-Location":"90,180"}`,
			want: want{title: "Alert", titleFallback: true, location: "90,180"}},
		{name: "location not numbers", body: `{"X-S4-Location":"Berlin"}`,
			want: want{title: "Alert", titleFallback: true, warnings: []string{`X-S4-Location "Berlin" is not "latitude,longitude"; ignored`}}},
		{name: "location without longitude", body: `{"X-S4-Location":"52.5"}`,
			want: want{title: "Alert", titleFallback: true, warnings: []string{`X-S4-Location "52.5"`}}},
		{name: "location latitude out of range", body: `{"X-S4-Location":"90.1,0"}`,
			want: want{title: "Alert", titleFallback: true, warnings: []string{`X-S4-Location "90.1,0"`}}},
		{name: "location longitude out of range", body: `{"X-S4-Location":"0,-180.5"}`,
			want: want{title: "Alert", titleFallback: true, warnings: []string{`X-S4-Location "0,-180.5"`}}},
		{name: "location with three parts", body: `{"X-S4-Location":"1,2,3"}`,
			want: want{title: "Alert", titleFallback: true, warnings: []string{`X-S4-Location "1,2,3"`}}},
		{name: "location infinite", body: `{"X-S4-Location":"Inf,0"}`,
			want: want{title: "Alert", titleFallback: true, warnings: []string{`X-S4-Location "Inf,0"`}}},
		{name: "location NaN", body: `{"X-S4-Location":"NaN,NaN"}`,
			want: want{title: "Alert", titleFallback: true, warnings: []string{`X-S4-Location "NaN,NaN"`}}},

		{name: "scenario single_ack", body: `{"X-S4-AlertingScenario":"single_ack"}`,
			want: want{title: "Alert", titleFallback: true, scenario: "single_ack"}},
		{name: "scenario multi_ack", body: `{"X-S4-AlertingScenario":"multi_ack"}`,
			want: want{title: "Alert", titleFallback: true, scenario: "multi_ack"}},
		{name: "scenario emergency", body: `{"X-S4-AlertingScenario":"emergency"}`,
			want: want{title: "Alert", titleFallback: true, scenario: "emergency"}},
		{name: "scenario upper-case normalised", body: `{"X-S4-AlertingScenario":" Multi_ACK "}`,
			want: want{title: "Alert", titleFallback: true, scenario: "multi_ack"}},
		{name: "scenario invalid", body: `{"X-S4-AlertingScenario":"broadcast"}`,
			want: want{title: "Alert", titleFallback: true, warnings: []string{`X-S4-AlertingScenario "broadcast" is not single_ack, multi_ack or emergency`}}},

		{name: "external id", body: `{"X-S4-ExternalID":"  INC-42  "}`,
			want: want{title: "Alert", titleFallback: true, externalID: "INC-42"}},
		{name: "external id null", body: `{"X-S4-ExternalID":null,"a":"1"}`,
			want: want{title: "Alert", titleFallback: true, params: []Param{p("a", "1")}}},
		{name: "external id empty", body: `{"X-S4-ExternalID":""}`,
			want: want{title: "Alert", titleFallback: true}},
		{name: "external id number kept digit for digit", body: `{"X-S4-ExternalID":12345678901234567890}`,
			want: want{title: "Alert", titleFallback: true, externalID: "12345678901234567890"}},
		{name: "external id decimal number", body: `{"X-S4-ExternalID":1.50}`,
			want: want{title: "Alert", titleFallback: true, externalID: "1.50"}},

		{name: "status new", body: `{` + id + `"X-S4-Status":"new"}`,
			want: want{title: "Alert", titleFallback: true, externalID: "ext-1", action: ActionNew}},
		{name: "status empty is new", body: `{` + id + `"X-S4-Status":""}`,
			want: want{title: "Alert", titleFallback: true, externalID: "ext-1", action: ActionNew}},
		{name: "status blank is new", body: `{` + id + `"X-S4-Status":"  "}`,
			want: want{title: "Alert", titleFallback: true, externalID: "ext-1", action: ActionNew}},
		{name: "status New", body: `{"X-S4-Status":"New"}`,
			want: want{title: "Alert", titleFallback: true, action: ActionNew}},
		{name: "status acknowledged", body: `{` + id + `"X-S4-Status":"acknowledged"}`,
			want: want{title: "Alert", titleFallback: true, externalID: "ext-1", action: ActionAcknowledge}},
		{name: "status Acknowledged", body: `{` + id + `"X-S4-Status":"Acknowledged"}`,
			want: want{title: "Alert", titleFallback: true, externalID: "ext-1", action: ActionAcknowledge}},
		{name: "status resolved", body: `{` + id + `"X-S4-Status":"resolved"}`,
			want: want{title: "Alert", titleFallback: true, externalID: "ext-1", action: ActionResolve}},
		{name: "status Resolved", body: `{` + id + `"X-S4-Status":"Resolved"}`,
			want: want{title: "Alert", titleFallback: true, externalID: "ext-1", action: ActionResolve}},
		{name: "status RESOLVED padded", body: `{` + id + `"X-S4-Status":" RESOLVED "}`,
			want: want{title: "Alert", titleFallback: true, externalID: "ext-1", action: ActionResolve}},
		{name: "status other is discarded", body: `{` + id + `"X-S4-Status":"closed"}`,
			want: want{title: "Alert", titleFallback: true, externalID: "ext-1", action: ActionDiscard,
				reason: `X-S4-Status "closed" is not new, acknowledged or resolved`}},
		{name: "status abbreviation is discarded", body: `{` + id + `"X-S4-Status":"ack"}`,
			want: want{title: "Alert", titleFallback: true, externalID: "ext-1", action: ActionDiscard, reason: `X-S4-Status "ack"`}},
		{name: "status number is discarded", body: `{` + id + `"X-S4-Status":2}`,
			want: want{title: "Alert", titleFallback: true, externalID: "ext-1", action: ActionDiscard, reason: `X-S4-Status "2"`}},
		{name: "resolved without external id is discarded", body: `{"title":"T","X-S4-Status":"resolved"}`,
			want: want{title: "T", action: ActionDiscard, reason: "a status change needs an external id"}},
		{name: "acknowledged without external id is discarded", body: `{"X-S4-Status":"acknowledged","X-S4-ExternalID":""}`,
			want: want{title: "Alert", titleFallback: true, action: ActionDiscard, reason: "needs an external id"}},
		{name: "new without external id is fine", body: `{"X-S4-Status":"new"}`,
			want: want{title: "Alert", titleFallback: true}},

		{name: "filtering true", body: `{"X-S4-Filtering":true}`, want: want{title: "Alert", titleFallback: true, filtering: true}},
		{name: "filtering \"true\"", body: `{"X-S4-Filtering":"true"}`, want: want{title: "Alert", titleFallback: true, filtering: true}},
		{name: "filtering \"TRUE\"", body: `{"X-S4-Filtering":" TRUE "}`, want: want{title: "Alert", titleFallback: true, filtering: true}},
		{name: "filtering \"1\"", body: `{"X-S4-Filtering":"1"}`, want: want{title: "Alert", titleFallback: true, filtering: true}},
		{name: "filtering 1", body: `{"X-S4-Filtering":1}`, want: want{title: "Alert", titleFallback: true, filtering: true}},
		{name: "filtering yes", body: `{"X-S4-Filtering":"yes"}`, want: want{title: "Alert", titleFallback: true, filtering: true}},
		{name: "filtering on", body: `{"X-S4-Filtering":"on"}`, want: want{title: "Alert", titleFallback: true, filtering: true}},
		{name: "filtering false", body: `{"X-S4-Filtering":false}`, want: want{title: "Alert", titleFallback: true}},
		{name: "filtering \"false\"", body: `{"X-S4-Filtering":"false"}`, want: want{title: "Alert", titleFallback: true}},
		{name: "filtering \"0\"", body: `{"X-S4-Filtering":"0"}`, want: want{title: "Alert", titleFallback: true}},
		{name: "filtering null", body: `{"X-S4-Filtering":null}`, want: want{title: "Alert", titleFallback: true}},
		{name: "filtering other", body: `{"X-S4-Filtering":"maybe"}`, want: want{title: "Alert", titleFallback: true}},

		{name: "all control fields together",
			body: `{"Title":"T","Message":"M","X-S4-Service":"S","X-S4-Location":"1,2","X-S4-AlertingScenario":"emergency","X-S4-ExternalID":"E","X-S4-Status":"resolved","X-S4-Filtering":"true","X-S4-SourceSystem":"Sys","X-S4-Severity":"3","p":"v"}`,
			want: want{title: "T", text: "M", service: "S", location: "1,2", scenario: "emergency", externalID: "E", action: ActionResolve,
				filtering: true, sourceSystem: "Sys", severity: "3", params: []Param{p("p", "v")}}},
		{name: "control fields in a form", ct: "application/x-www-form-urlencoded",
			body: "subject=S&X-S4-ExternalID=E&X-S4-Status=acknowledged&X-S4-Filtering=1",
			want: want{title: "S", externalID: "E", action: ActionAcknowledge, filtering: true}},
		{name: "control fields as XML child elements", ct: "application/xml",
			body: `<alert><title>T</title><X-S4-ExternalID>E</X-S4-ExternalID><X-S4-Status>acknowledged</X-S4-Status><x><X-S4-Service>nested</X-S4-Service></x></alert>`,
			want: want{title: "T", externalID: "E", action: ActionAcknowledge, params: []Param{p("x.X-S4-Service", "nested")}}},
		{name: "control fields as XML root attributes", ct: "application/xml",
			body: `<alert X-S4-ExternalID="E" X-S4-Status="resolved"><title>T</title></alert>`,
			want: want{title: "T", externalID: "E", action: ActionResolve}},
	})
}

func TestInterpretHeaders(t *testing.T) {
	runEventCases(t, []eventCase{
		{name: "all X-S4 headers used when the body lacks them", body: `{"title":"T"}`,
			headers: map[string]string{
				"X-S4-Service": "HS", "X-S4-Location": "10,20", "X-S4-AlertingScenario": "Single_Ack",
				"X-S4-ExternalID": " HE ", "X-S4-Status": "Resolved", "X-S4-Filtering": "true",
				"X-S4-SourceSystem": "HSys", "X-S4-Severity": "1",
			},
			want: want{title: "T", service: "HS", location: "10,20", scenario: "single_ack", externalID: "HE",
				action: ActionResolve, filtering: true, sourceSystem: "HSys", severity: "1"}},
		{name: "lower-case header names", body: `{}`,
			headers: map[string]string{"x-s4-externalid": "e", "x-s4-status": "acknowledged"},
			want:    want{title: "Alert", titleFallback: true, externalID: "e", action: ActionAcknowledge}},
		{name: "body wins over headers", body: `{"X-S4-Service":"BS","X-S4-ExternalID":"BE","X-S4-Status":"new","X-S4-Location":"1,1","X-S4-Filtering":"false"}`,
			headers: map[string]string{"X-S4-Service": "HS", "X-S4-ExternalID": "HE", "X-S4-Status": "resolved", "X-S4-Location": "2,2", "X-S4-Filtering": "true"},
			want:    want{title: "Alert", titleFallback: true, service: "BS", externalID: "BE", location: "1,1"}},
		{name: "empty body value falls back to the header", body: `{"X-S4-Service":"","X-S4-ExternalID":null,"X-S4-Status":""}`,
			headers: map[string]string{"X-S4-Service": "HS", "X-S4-ExternalID": "HE", "X-S4-Status": "acknowledged"},
			want:    want{title: "Alert", titleFallback: true, service: "HS", externalID: "HE", action: ActionAcknowledge}},
		{name: "header status with body external id", body: `{"X-S4-ExternalID":"BE"}`,
			headers: map[string]string{"X-S4-Status": "resolved"},
			want:    want{title: "Alert", titleFallback: true, externalID: "BE", action: ActionResolve}},
		{name: "header status without any external id is discarded", body: `{}`,
			headers: map[string]string{"X-S4-Status": "resolved"},
			want:    want{title: "Alert", titleFallback: true, action: ActionDiscard, reason: "needs an external id"}},
		{name: "header status invalid is discarded", body: `{}`,
			headers: map[string]string{"X-S4-Status": "done"},
			want:    want{title: "Alert", titleFallback: true, action: ActionDiscard, reason: `X-S4-Status "done"`}},
		{name: "header location invalid warns", body: `{}`,
			headers: map[string]string{"X-S4-Location": "nowhere"},
			want:    want{title: "Alert", titleFallback: true, warnings: []string{`X-S4-Location "nowhere"`}}},
		{name: "header scenario invalid warns", body: `{}`,
			headers: map[string]string{"X-S4-AlertingScenario": "all"},
			want:    want{title: "Alert", titleFallback: true, warnings: []string{`X-S4-AlertingScenario "all"`}}},
		{name: "header external id wins over ExtIDParam", body: `{"id":"B"}`, query: "ExtIDParam=id",
			headers: map[string]string{"X-S4-ExternalID": "H"},
			want:    want{title: "Alert", titleFallback: true, externalID: "H", params: []Param{p("id", "B")}}},
		{name: "header status wins over ExtStatusParam", body: `{"id":"B","state":"OK"}`, query: "ExtIDParam=id&ExtStatusParam=state&ResolvedStatus=OK",
			headers: map[string]string{"X-S4-Status": "new"},
			want:    want{title: "Alert", titleFallback: true, externalID: "B", params: []Param{p("id", "B"), p("state", "OK")}}},
	})
}

func TestInterpretNilHeader(t *testing.T) {
	b := mustParse(t, "application/json", []byte(`{"title":"T","X-S4-ExternalID":"E","X-S4-Status":"resolved"}`), DefaultLimits)
	ev := Interpret(b, Mapping{}, nil)
	checkEvent(t, ev, want{title: "T", externalID: "E", action: ActionResolve})
}

func TestInterpretExternalIDLength(t *testing.T) {
	a := strings.Repeat
	cases := []struct {
		name  string
		id    string
		query string // the id is sent in field "id" when set, else as X-S4-ExternalID
		want  string
		cut   bool
	}{
		{name: "500 ASCII bytes kept", id: a("a", 500), want: a("a", 500)},
		{name: "501 ASCII bytes cut to 500", id: a("a", 501), want: a("a", 500), cut: true},
		{name: "250 two-byte characters (500 bytes) kept", id: a("ü", 250), want: a("ü", 250)},
		{name: "two-byte character across the cut dropped", id: a("a", 499) + "ü" + "tail", want: a("a", 499), cut: true},
		{name: "three-byte character across the cut (1 byte in) dropped", id: a("a", 499) + "€" + "tail", want: a("a", 499), cut: true},
		{name: "three-byte character across the cut (2 bytes in) dropped", id: a("a", 498) + "€" + "tail", want: a("a", 498), cut: true},
		{name: "four-byte character across the cut dropped", id: a("a", 497) + "😀" + "tail", want: a("a", 497), cut: true},
		{name: "four-byte character ending at the cut kept", id: a("a", 496) + "😀" + "tail", want: a("a", 496) + "😀", cut: true},
		{name: "multi-byte characters only", id: a("€", 200), want: a("€", 166), cut: true},
		{name: "cut applies to ExtIDParam too", id: a("a", 499) + "ü", query: "ExtIDParam=id", want: a("a", 499), cut: true},
		{name: "surrounding spaces trimmed before measuring", id: "  " + a("a", 500) + "  ", want: a("a", 500)},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			name := "X-S4-ExternalID"
			if tc.query != "" {
				name = "id"
			}
			b := Body{Format: "json", Fields: []Field{top(name, tc.id)}}
			q, _ := url.ParseQuery(tc.query)
			ev := Interpret(b, MappingFromQuery(q), nil)
			if ev.ExternalID != tc.want {
				t.Errorf("ExternalID has %d bytes (%q...), want %d bytes", len(ev.ExternalID), prefix(ev.ExternalID), len(tc.want))
			}
			if !utf8.ValidString(ev.ExternalID) {
				t.Errorf("ExternalID is not valid UTF-8")
			}
			if len(ev.ExternalID) > 500 {
				t.Errorf("ExternalID has %d bytes, more than 500", len(ev.ExternalID))
			}
			var warn []string
			if tc.cut {
				warn = []string{"external id longer than 500 bytes was cut"}
			}
			checkWarnings(t, ev.Warnings, warn)
		})
	}
}

func prefix(s string) string {
	if len(s) > 20 {
		return s[:20]
	}
	return s
}

func TestMappingFromQuery(t *testing.T) {
	cases := []struct {
		query string
		want  Mapping
	}{
		{query: "", want: Mapping{}},
		{query: "ExtIDParam=id&ExtStatusParam=state&ResolvedStatus=OK&AckStatus=ACK&NewStatus=PROBLEM",
			want: Mapping{ExtIDParam: "id", ExtStatusParam: "state", ResolvedStatus: "OK", AckStatus: "ACK", NewStatus: "PROBLEM"}},
		{query: "extidparam=a&extstatusparam=b&resolvedstatus=c&ackstatus=d&newstatus=e",
			want: Mapping{ExtIDParam: "a", ExtStatusParam: "b", ResolvedStatus: "c", AckStatus: "d", NewStatus: "e"}},
		{query: "ExtIdParam=a&EXTSTATUSPARAM=b&resolvedStatus=c&ackstatus=d&NEWSTATUS=e",
			want: Mapping{ExtIDParam: "a", ExtStatusParam: "b", ResolvedStatus: "c", AckStatus: "d", NewStatus: "e"}},
		{query: "ExtIDParam=+event.id+&ResolvedStatus=%20ok%20", want: Mapping{ExtIDParam: "event.id", ResolvedStatus: "ok"}},
		{query: "ExtIDParam=first&ExtIDParam=second", want: Mapping{ExtIDParam: "first"}},
		{query: "ExtIDParam=&other=x&secret=y", want: Mapping{}},
		{query: "ExtIDParam=a%FFb%00c&NewStatus=%E2%82%AC", want: Mapping{ExtIDParam: "a\uFFFDbc", NewStatus: "€"}},
	}
	for _, tc := range cases {
		t.Run(tc.query, func(t *testing.T) {
			q, err := url.ParseQuery(tc.query)
			if err != nil {
				t.Fatal(err)
			}
			if got := MappingFromQuery(q); got != tc.want {
				t.Errorf("MappingFromQuery(%q) = %+v, want %+v", tc.query, got, tc.want)
			}
		})
	}
	t.Run("empty value list ignored", func(t *testing.T) {
		if got := MappingFromQuery(url.Values{"ExtIDParam": {}}); got != (Mapping{}) {
			t.Errorf("got %+v, want zero Mapping", got)
		}
	})
}

func TestInterpretMapping(t *testing.T) {
	const full = "ExtIDParam=id&ExtStatusParam=state&ResolvedStatus=OK&AckStatus=ACK&NewStatus=PROBLEM"
	body := func(state string) string { return `{"title":"T","id":"42","state":"` + state + `"}` }
	params := func(state string) []Param { return []Param{p("id", "42"), p("state", state)} }
	runEventCases(t, []eventCase{
		{name: "resolved status, same case", body: body("OK"), query: full,
			want: want{title: "T", externalID: "42", action: ActionResolve, params: params("OK")}},
		{name: "resolved status, other case", body: body("ok"), query: full,
			want: want{title: "T", externalID: "42", action: ActionResolve, params: params("ok")}},
		{name: "resolved status padded", body: body("  Ok "), query: full,
			want: want{title: "T", externalID: "42", action: ActionResolve, params: params("  Ok ")}},
		{name: "ack status", body: body("ack"), query: full,
			want: want{title: "T", externalID: "42", action: ActionAcknowledge, params: params("ack")}},
		{name: "new status", body: body("Problem"), query: full,
			want: want{title: "T", externalID: "42", action: ActionNew, params: params("Problem")}},
		{name: "value matching none is discarded when NewStatus is given", body: body("unknown"), query: full,
			want: want{title: "T", externalID: "42", action: ActionDiscard, params: params("unknown"),
				reason: `state is "unknown", which is not NewStatus "PROBLEM", ResolvedStatus "OK" or AckStatus "ACK"`}},
		{name: "value matching none is new without NewStatus", body: body("unknown"),
			query: "ExtIDParam=id&ExtStatusParam=state&ResolvedStatus=OK&AckStatus=ACK",
			want:  want{title: "T", externalID: "42", action: ActionNew, params: params("unknown")}},
		{name: "mapping parameter names in any case", body: body("ok"),
			query: "extidparam=id&EXTSTATUSPARAM=state&resolvedstatus=ok",
			want:  want{title: "T", externalID: "42", action: ActionResolve, params: params("ok")}},
		{name: "ExtIdParam spelling", body: body("ack"),
			query: "ExtIdParam=id&ExtStatusParam=state&AckStatus=ACK",
			want:  want{title: "T", externalID: "42", action: ActionAcknowledge, params: params("ack")}},
		{name: "ExtIDParam alone sets the external id", body: `{"id":" 7 "}`, query: "ExtIDParam=id",
			want: want{title: "Alert", titleFallback: true, externalID: "7", params: []Param{p("id", " 7 ")}}},
		{name: "nested dotted field names", body: `{"event":{"id":"E1","status":"RESOLVED"},"title":"T"}`,
			query: "ExtIDParam=event.id&ExtStatusParam=event.status&ResolvedStatus=resolved",
			want:  want{title: "T", externalID: "E1", action: ActionResolve, params: []Param{p("event.id", "E1"), p("event.status", "RESOLVED")}}},
		{name: "array index in field name", body: `{"alerts":[{"fingerprint":"fp1","status":"firing"}]}`,
			query: "ExtIDParam=alerts.0.fingerprint&ExtStatusParam=alerts.0.status&ResolvedStatus=resolved&NewStatus=firing",
			want: want{title: "Alert", titleFallback: true, externalID: "fp1",
				params: []Param{p("alerts.0.fingerprint", "fp1"), p("alerts.0.status", "firing")}}},
		{name: "field names matched case-insensitively", body: `{"EventID":"7","State":"OK"}`,
			query: "ExtIDParam=eventid&ExtStatusParam=STATE&ResolvedStatus=ok",
			want:  want{title: "Alert", titleFallback: true, externalID: "7", action: ActionResolve, params: []Param{p("EventID", "7"), p("State", "OK")}}},
		{name: "exact field name preferred over case-insensitive match", body: `{"eventid":"lower","EventID":"exact"}`,
			query: "ExtIDParam=EventID",
			want:  want{title: "Alert", titleFallback: true, externalID: "exact", params: []Param{p("eventid", "lower"), p("EventID", "exact")}}},
		{name: "numeric values", body: `{"id":12345678901234567890,"state":1}`,
			query: "ExtIDParam=id&ExtStatusParam=state&ResolvedStatus=1&NewStatus=0",
			want: want{title: "Alert", titleFallback: true, externalID: "12345678901234567890", action: ActionResolve,
				params: []Param{p("id", "12345678901234567890"), p("state", "1")}}},
		{name: "form body", ct: "application/x-www-form-urlencoded", body: "host=db1&trigger_id=99&trigger_status=PROBLEM",
			query: "ExtIDParam=trigger_id&ExtStatusParam=trigger_status&ResolvedStatus=OK&NewStatus=PROBLEM",
			want: want{title: "Alert", titleFallback: true, externalID: "99",
				params: []Param{p("host", "db1"), p("trigger_id", "99"), p("trigger_status", "PROBLEM")}}},
		{name: "status change without external id is discarded", body: `{"state":"OK"}`,
			query: "ExtStatusParam=state&ResolvedStatus=OK",
			want:  want{title: "Alert", titleFallback: true, action: ActionDiscard, reason: "needs an external id", params: []Param{p("state", "OK")}}},
		{name: "status change with empty mapped id is discarded", body: `{"id":"","state":"ACK"}`,
			query: "ExtIDParam=id&ExtStatusParam=state&AckStatus=ack",
			want:  want{title: "Alert", titleFallback: true, action: ActionDiscard, reason: "needs an external id", params: []Param{p("id", ""), p("state", "ACK")}}},
		{name: "ExtIDParam field missing warns", body: `{"title":"T"}`, query: "ExtIDParam=nope",
			want: want{title: "T", warnings: []string{`ExtIDParam names field "nope", which the body does not have`}}},
		{name: "ExtStatusParam field missing warns and stays new", body: `{"id":"1"}`,
			query: "ExtIDParam=id&ExtStatusParam=nope&ResolvedStatus=OK",
			want: want{title: "Alert", titleFallback: true, externalID: "1", params: []Param{p("id", "1")},
				warnings: []string{`ExtStatusParam names field "nope", which the body does not have`}}},
		{name: "ExtStatusParam field missing with NewStatus discards", body: `{"id":"1"}`,
			query: "ExtIDParam=id&ExtStatusParam=nope&NewStatus=PROBLEM",
			want: want{title: "Alert", titleFallback: true, externalID: "1", params: []Param{p("id", "1")}, action: ActionDiscard,
				reason: `nope is "", which is not NewStatus "PROBLEM"`, warnings: []string{`ExtStatusParam names field "nope"`}}},
		{name: "both mapping fields missing warn twice", body: `{}`,
			query: "ExtIDParam=a&ExtStatusParam=b",
			want: want{title: "Alert", titleFallback: true,
				warnings: []string{`ExtIDParam names field "a"`, `ExtStatusParam names field "b"`}}},
		{name: "statuses without ExtStatusParam do nothing", body: `{"id":"1","state":"OK"}`,
			query: "ExtIDParam=id&ResolvedStatus=OK&NewStatus=x",
			want:  want{title: "Alert", titleFallback: true, externalID: "1", params: []Param{p("id", "1"), p("state", "OK")}}},
		{name: "X-S4-ExternalID in body wins over ExtIDParam", body: `{"X-S4-ExternalID":"S4","id":"mapped"}`, query: "ExtIDParam=id",
			want: want{title: "Alert", titleFallback: true, externalID: "S4", params: []Param{p("id", "mapped")}}},
		{name: "X-S4-Status in body wins over ExtStatusParam", body: `{"X-S4-ExternalID":"E","X-S4-Status":"acknowledged","state":"OK"}`,
			query: "ExtStatusParam=state&ResolvedStatus=OK",
			want:  want{title: "Alert", titleFallback: true, externalID: "E", action: ActionAcknowledge, params: []Param{p("state", "OK")}}},
		{name: "ExtIDParam may name a control field", body: `{"X-S4-Service":"svc"}`, query: "ExtIDParam=x-s4-service",
			want: want{title: "Alert", titleFallback: true, externalID: "svc", service: "svc"}},
		{name: "body warnings come first", body: `payload={"a":"1"}`, query: "ExtIDParam=missing",
			want: want{title: "Alert", titleFallback: true, params: []Param{p("a", "1")},
				warnings: []string{`"payload="`, `ExtIDParam names field "missing"`}}},
	})
}

// TestInterpretDoesNotChangeBody: Interpret must not write into the body it
// is given, so one parsed body can be interpreted more than once (a preview,
// a retry) without one event's warnings changing another's.
func TestInterpretDoesNotChangeBody(t *testing.T) {
	// A body whose warnings slice has spare capacity, as append leaves it
	// after three warnings (1, 2, 4).
	warnings := make([]string, 0, 4)
	warnings = append(warnings, "w1", "w2", "w3")
	b := Body{Format: "json", Warnings: warnings}

	ev1 := Interpret(b, Mapping{ExtIDParam: "first"}, nil)
	want1 := []string{"w1", "w2", "w3", `ExtIDParam names field "first", which the body does not have`}
	if !reflect.DeepEqual(ev1.Warnings, want1) {
		t.Fatalf("first event warnings = %q, want %q", ev1.Warnings, want1)
	}
	ev2 := Interpret(b, Mapping{ExtIDParam: "second"}, nil)
	if !strings.Contains(ev2.Warnings[3], `"second"`) {
		t.Errorf("second event warning = %q, want it to name \"second\"", ev2.Warnings[3])
	}
	if !reflect.DeepEqual(ev1.Warnings, want1) {
		t.Errorf("interpreting the body again changed the first event's warnings to %q, want %q", ev1.Warnings, want1)
	}
	if !reflect.DeepEqual(b.Warnings, []string{"w1", "w2", "w3"}) {
		t.Errorf("body warnings changed to %q", b.Warnings)
	}
}

// TestInterpretHeaderValuesAreStorable: header values end up in the event
// (and the external id in a database column), so they must be valid UTF-8
// like every value taken from the body. net/http passes bytes 0x80-0xFF in
// header values through unchanged.
func TestInterpretHeaderValuesAreStorable(t *testing.T) {
	cases := []struct {
		name, header, value, want string
		get                       func(Event) string
	}{
		{name: "external id", header: "X-S4-ExternalID", value: "id-\xff\xfe", want: "id-\uFFFD", get: func(e Event) string { return e.ExternalID }},
		{name: "service", header: "X-S4-Service", value: "svc-\xc3", want: "svc-\uFFFD", get: func(e Event) string { return e.Service }},
		{name: "source system", header: "X-S4-SourceSystem", value: "\x80sys", want: "\uFFFDsys", get: func(e Event) string { return e.SourceSystem }},
		{name: "severity", header: "X-S4-Severity", value: "\xe9", want: "\uFFFD", get: func(e Event) string { return e.Severity }},
		{name: "valid UTF-8 kept", header: "X-S4-Service", value: " Datenbank Grüße ", want: "Datenbank Grüße", get: func(e Event) string { return e.Service }},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			h := http.Header{}
			h.Set(tc.header, tc.value)
			ev := Interpret(Body{Format: "empty"}, Mapping{}, h)
			if got := tc.get(ev); got != tc.want {
				t.Errorf("%s from header %q = %q, want %q", tc.header, tc.value, got, tc.want)
			}
		})
	}
	t.Run("invalid status", func(t *testing.T) {
		h := http.Header{}
		h.Set("X-S4-Status", "res\xffolved")
		ev := Interpret(Body{Format: "empty"}, Mapping{}, h)
		if ev.Action != ActionDiscard {
			t.Errorf("Action = %q, want discard", ev.Action)
		}
		if want := "X-S4-Status \"res\uFFFDolved\" is not new"; !strings.Contains(ev.Reason, want) || !utf8.ValidString(ev.Reason) {
			t.Errorf("Reason = %q, want valid UTF-8 containing %q", ev.Reason, want)
		}
	})
	t.Run("invalid location warning", func(t *testing.T) {
		h := http.Header{}
		h.Set("X-S4-Location", "\xff")
		ev := Interpret(Body{Format: "empty"}, Mapping{}, h)
		checkWarnings(t, ev.Warnings, []string{"X-S4-Location \"\uFFFD\""})
	})
}

// TestInterpretReasonIsStorable: the discard reason is stored with the
// event; a mapping parameter taken from the query string must not make it
// invalid UTF-8.
func TestInterpretReasonIsStorable(t *testing.T) {
	q, err := url.ParseQuery("ExtStatusParam=st%FFate&NewStatus=PROBLEM")
	if err != nil {
		t.Fatal(err)
	}
	b := mustParse(t, "application/json", []byte(`{"id":"1"}`), DefaultLimits)
	ev := Interpret(b, MappingFromQuery(q), nil)
	checkEvent(t, ev, want{title: "Alert", titleFallback: true, params: []Param{p("id", "1")}, action: ActionDiscard,
		reason:   "st\uFFFDate is \"\", which is not NewStatus \"PROBLEM\"",
		warnings: []string{"ExtStatusParam names field \"st\uFFFDate\""}})
	if !utf8.ValidString(ev.Reason) {
		t.Errorf("Reason = %q, not valid UTF-8", ev.Reason)
	}
}

func TestTruthy(t *testing.T) {
	cases := map[string]bool{
		"true": true, "TRUE": true, " True ": true, "1": true, "yes": true, "YES": true, "on": true, "On": true,
		"": false, "false": false, "0": false, "no": false, "off": false, "2": false, "y": false, "truee": false,
	}
	for in, want := range cases {
		t.Run(in, func(t *testing.T) {
			if got := truthy(in); got != want {
				t.Errorf("truthy(%q) = %v, want %v", in, got, want)
			}
		})
	}
}

func TestParseLocation(t *testing.T) {
	cases := []struct {
		in   string
		want string
		ok   bool
	}{
		{in: "52.52,13.405", want: "52.52,13.405", ok: true},
		{in: " 52.52 ,\t13.405 ", want: "52.52,13.405", ok: true},
		{in: "0,0", want: "0,0", ok: true},
		{in: "-90,-180", want: "-90,-180", ok: true},
		{in: "90,180", want: "90,180", ok: true},
		{in: "-90.0001,0", ok: false},
		{in: "0,180.0001", ok: false},
		{in: "52.52", ok: false},
		{in: "52.52;13.4", ok: false},
		{in: "a,b", ok: false},
		{in: ",", ok: false},
		{in: "", ok: false},
		{in: "1,2,3", ok: false},
		{in: "+Inf,0", ok: false},
		{in: "NaN,0", ok: false},
		{in: "0,NaN", ok: false},
	}
	for _, tc := range cases {
		t.Run(tc.in, func(t *testing.T) {
			got, ok := parseLocation(tc.in)
			if ok != tc.ok || got != tc.want {
				t.Errorf("parseLocation(%q) = %q, %v; want %q, %v", tc.in, got, ok, tc.want, tc.ok)
			}
		})
	}
}

func TestLookup(t *testing.T) {
	fields := []Field{top("Host", "a"), top("host", "b"), str("x.Y", "c", false), top("HOST", "d")}
	cases := []struct {
		name, want string
		ok         bool
	}{
		{name: "host", want: "b", ok: true},
		{name: "Host", want: "a", ok: true},
		{name: "HOST", want: "d", ok: true},
		{name: "hOsT", want: "a", ok: true},
		{name: "x.y", want: "c", ok: true},
		{name: "x", ok: false},
		{name: "", ok: false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, ok := lookup(fields, tc.name)
			if got != tc.want || ok != tc.ok {
				t.Errorf("lookup(%q) = %q, %v; want %q, %v", tc.name, got, ok, tc.want, tc.ok)
			}
		})
	}
}
