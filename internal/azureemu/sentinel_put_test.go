package azureemu

import (
	"net/http"
	"strings"
	"testing"
	"time"
)

func TestSentinelPut(t *testing.T) {
	v := sentinelEnv(t)
	tok := v.token(t, "contributor", armScope)
	path := func(name string) string { return incidentsPath() + "/" + name + apiV }

	resp, body := v.do(t, http.MethodPut, path("11111111-1111-1111-1111-111111111111"), tok, putBody("", baseProps()))
	if resp.StatusCode != 201 {
		t.Fatalf("create: %d %s", resp.StatusCode, body)
	}
	created := jsonMap(t, body)
	etag := created["etag"].(string)
	props := created["properties"].(map[string]any)
	if !strings.HasPrefix(etag, `"`) || !strings.HasSuffix(etag, `"`) || props["incidentNumber"] != float64(1) ||
		created["type"] != "Microsoft.SecurityInsights/incidents" || props["createdTimeUtc"] != armTime(v.clk.Now()) {
		t.Fatalf("created %s", body)
	}
	resp, body = v.do(t, http.MethodPut, path("22222222-2222-2222-2222-222222222222"), tok, putBody("", baseProps()))
	if resp.StatusCode != 201 || jsonMap(t, body)["properties"].(map[string]any)["incidentNumber"] != float64(2) {
		t.Fatalf("second create not number 2: %d %s", resp.StatusCode, body)
	}

	v.clk.Advance(time.Minute)
	upd := baseProps()
	upd["status"] = "Active"
	upd["owner"] = map[string]any{"objectId": "2046feea-040d-4a46-9e2b-91c2941bfa70", "assignedTo": "Alex Oncall"}
	resp, body = v.do(t, http.MethodPut, path("11111111-1111-1111-1111-111111111111"), tok, putBody(etag, upd))
	if resp.StatusCode != 200 {
		t.Fatalf("update: %d %s", resp.StatusCode, body)
	}
	updated := jsonMap(t, body)
	if updated["etag"] == etag || updated["properties"].(map[string]any)["lastModifiedTimeUtc"] != armTime(v.clk.Now()) {
		t.Fatalf("update did not bump etag/lastModified: %s", body)
	}

	resp, body = v.do(t, http.MethodPut, path("11111111-1111-1111-1111-111111111111"), tok, putBody(etag, upd))
	if resp.StatusCode != 409 || errMessage(t, body) != "Newer version of resource '11111111-1111-1111-1111-111111111111' exists. Data was not saved" {
		t.Fatalf("stale etag: %d %s", resp.StatusCode, body)
	}
	resp, body = v.do(t, http.MethodPut, path("11111111-1111-1111-1111-111111111111"), tok, putBody("", upd), "If-Match", etag)
	if resp.StatusCode != 409 {
		t.Fatalf("stale If-Match: %d %s", resp.StatusCode, body)
	}

	mod := func(f func(p map[string]any)) map[string]any {
		p := baseProps()
		f(p)
		return putBody("", p)
	}
	cases := []struct {
		name   string
		body   any
		status int
		msg    string
	}{
		{"no properties", map[string]any{"etag": ""}, 400, "Properties"},
		{"no title", mod(func(p map[string]any) { delete(p, "title") }), 400, "Title"},
		{"no severity", mod(func(p map[string]any) { delete(p, "severity") }), 400, "Severity"},
		{"no status", mod(func(p map[string]any) { delete(p, "status") }), 400, "Status"},
		{"bad severity", mod(func(p map[string]any) { p["severity"] = "Critical" }), 400, "Severity"},
		{"close without classification", mod(func(p map[string]any) { p["status"] = "Closed" }), 400, "Classification is required"},
		{"bad classification", mod(func(p map[string]any) { p["status"] = "Closed"; p["classification"] = "Whatever" }), 400, "Classification"},
		{"reason mismatch", mod(func(p map[string]any) {
			p["status"] = "Closed"
			p["classification"] = "TruePositive"
			p["classificationReason"] = "IncorrectAlertLogic"
		}), 400, "ClassificationReason"},
		{"owner not guid", mod(func(p map[string]any) { p["owner"] = map[string]any{"objectId": "bob"} }), 400, "ObjectId"},
		{"auto label", mod(func(p map[string]any) {
			p["labels"] = []any{map[string]any{"labelName": "x", "labelType": "AutoAssigned"}}
		}), 400, "read-only"},
		{"empty label", mod(func(p map[string]any) { p["labels"] = []any{map[string]any{"labelName": ""}} }), 400, "LabelName"},
		{"not json", "{", 400, "could not be deserialized"},
		{"close with classification", mod(func(p map[string]any) {
			p["status"] = "closed"
			p["classification"] = "FalsePositive"
			p["classificationReason"] = "InaccurateData"
			p["classificationComment"] = "closed from lastmile"
		}), 200, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			resp, body := v.do(t, http.MethodPut, path("22222222-2222-2222-2222-222222222222"), tok, tc.body)
			if resp.StatusCode != tc.status {
				t.Fatalf("%d %s, want %d", resp.StatusCode, body, tc.status)
			}
			if tc.status == 400 && !strings.Contains(errMessage(t, body), tc.msg) {
				t.Fatalf("message %q, want it to mention %q", errMessage(t, body), tc.msg)
			}
		})
	}
	got, _ := v.emu.Incident("22222222-2222-2222-2222-222222222222")
	if got.Status != "Closed" || got.Classification != "FalsePositive" || got.ClassificationReason != "InaccurateData" || got.ClassificationComment != "closed from lastmile" {
		t.Errorf("closed incident %+v", got)
	}
	rows, _ := v.emu.Rows(testWSName, "SecurityIncident")
	if len(rows) < 3 {
		t.Errorf("SecurityIncident rows %d, want one per change", len(rows))
	}
}

func TestSentinelComments(t *testing.T) {
	v := sentinelEnv(t)
	resp := v.app(t, "commenter", App{DisplayName: "lastmile connector", ARMRoles: map[string][]string{wsPath(): {"Microsoft Sentinel Responder"}}})
	tok := v.token(t, "commenter", armScope)
	inc, _ := v.emu.AddIncident(testWSName, Incident{Title: "t"})
	cpath := incidentsPath() + "/" + inc.Name + "/comments/"
	v.clk.Advance(time.Minute)

	r, body := v.do(t, http.MethodPut, cpath+"c-1"+apiV, tok, map[string]any{"properties": map[string]any{"message": "acknowledged by Alex"}})
	if r.StatusCode != 201 {
		t.Fatalf("comment: %d %s", r.StatusCode, body)
	}
	author := jsonMap(t, body)["properties"].(map[string]any)["author"].(map[string]any)
	if author["objectId"] != resp.ObjectID || author["name"] != "lastmile connector" {
		t.Errorf("author %v", author)
	}
	after, _ := v.emu.Incident(inc.Name)
	if after.ETag == inc.ETag || !after.LastModified.Equal(v.clk.Now()) {
		t.Errorf("comment did not bump the incident: %+v", after)
	}
	if r, body := v.do(t, http.MethodPut, cpath+"c-1"+apiV, tok, map[string]any{"properties": map[string]any{"message": "edited"}}); r.StatusCode != 200 {
		t.Errorf("edit: %d %s", r.StatusCode, body)
	}
	for _, bad := range []any{map[string]any{"properties": map[string]any{"message": ""}}, map[string]any{}, map[string]any{"properties": map[string]any{"message": strings.Repeat("x", maxCommentLength+1)}}} {
		if r, body := v.do(t, http.MethodPut, cpath+"c-2"+apiV, tok, bad); r.StatusCode != 400 {
			t.Errorf("bad comment: %d %s", r.StatusCode, body)
		}
	}
	r, body = v.do(t, http.MethodGet, incidentsPath()+"/"+inc.Name+"/comments"+apiV, tok, nil)
	if list := jsonMap(t, body)["value"].([]any); r.StatusCode != 200 || len(list) != 1 {
		t.Fatalf("list: %d %s", r.StatusCode, body)
	}
	if r, _ := v.do(t, http.MethodGet, cpath+"c-1"+apiV, tok, nil); r.StatusCode != 200 {
		t.Errorf("get comment %d", r.StatusCode)
	}
	if r, _ := v.do(t, http.MethodPut, incidentsPath()+"/nope/comments/c"+apiV, tok, map[string]any{"properties": map[string]any{"message": "x"}}); r.StatusCode != 404 {
		t.Errorf("comment on missing incident %d", r.StatusCode)
	}
	if cs := v.emu.Comments(inc.Name); len(cs) != 1 || cs[0].Message != "edited" {
		t.Errorf("Comments() %+v", cs)
	}
}
