package httpapi_test

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/lastmile/lastmile/internal/alert"
	"github.com/lastmile/lastmile/internal/team"
)

func TestLifecycle(t *testing.T) {
	eachDialect(t, func(t *testing.T, e *env) {
		_, id := e.sendJSON(`{"Title":"db down","X-S4-ExternalID":"life-1"}`)
		act := func(action string, body any, wantStatus int, wantAlert alert.Status) {
			t.Helper()
			r := e.api("POST", "/api/v1/alerts/"+id+"/"+action, e.adminKey, body)
			if r.status != wantStatus {
				t.Fatalf("%s: status %d, want %d: %s", action, r.status, wantStatus, r.body)
			}
			if r.status == 409 && !strings.Contains(string(r.body), "cannot "+action) {
				t.Fatalf("%s: 409 body does not say what was refused: %s", action, r.body)
			}
			if got := e.alert(id).Status; got != wantAlert {
				t.Fatalf("after %s: alert is %s, want %s", action, got, wantAlert)
			}
		}
		act("undo-acknowledge", nil, 409, alert.StatusNew)
		act("undo-close", nil, 409, alert.StatusNew)
		act("acknowledge", map[string]string{"note": "on it"}, 200, alert.StatusAcknowledged)
		act("acknowledge", nil, 409, alert.StatusAcknowledged)
		if a := e.alert(id); a.AcknowledgedAt == nil || a.AcknowledgedBy != "admin@example.com" {
			t.Fatalf("acknowledged alert %+v", a)
		}
		act("undo-acknowledge", nil, 200, alert.StatusNew)
		act("acknowledge", nil, 200, alert.StatusAcknowledged)
		act("close", nil, 200, alert.StatusClosed)
		act("close", nil, 409, alert.StatusClosed)
		act("acknowledge", nil, 409, alert.StatusClosed)
		act("undo-close", nil, 200, alert.StatusAcknowledged) // back to where it was
		act("undo-acknowledge", nil, 200, alert.StatusNew)
		act("close", nil, 200, alert.StatusClosed)
		act("undo-close", nil, 200, alert.StatusNew)
		act("close", nil, 200, alert.StatusClosed)

		// Reopening clashes with a newer open alert of the same external id.
		st, _ := e.sendJSON(`{"Title":"db down again","X-S4-ExternalID":"life-1"}`)
		if st != alert.EventCreated {
			t.Fatalf("new event after close: %s", st)
		}
		act("undo-close", nil, 409, alert.StatusClosed)

		if r := e.api("POST", "/api/v1/alerts/"+id+"/annotate", e.adminKey, map[string]string{"text": "root cause: full disk"}); r.status != 201 {
			t.Fatalf("annotate: %d %s", r.status, r.body)
		}
		if r := e.api("POST", "/api/v1/alerts/"+id+"/annotate", e.adminKey, map[string]string{"text": " "}); r.status != 400 {
			t.Fatalf("empty annotation: %d", r.status)
		}
		r := e.api("GET", "/api/v1/alerts/"+id+"/timeline", e.adminKey, nil)
		var tl struct{ Items []alert.TimelineEntry }
		json.Unmarshal(r.body, &tl)
		var kinds []string
		for _, x := range tl.Items {
			kinds = append(kinds, x.Kind)
			if x.Kind != alert.KindCreated && (x.Actor.Type != "user" || x.Actor.Name != "admin@example.com") {
				t.Errorf("entry %s has actor %+v", x.Kind, x.Actor)
			}
		}
		want := "created acknowledged unacknowledged acknowledged closed reopened unacknowledged closed reopened closed annotated"
		if got := strings.Join(kinds, " "); got != want {
			t.Fatalf("timeline\n got %s\nwant %s", got, want)
		}
		if tl.Items[1].Text != "on it" {
			t.Errorf("acknowledge note %q", tl.Items[1].Text)
		}
		if r := e.api("POST", "/api/v1/alerts/nope/acknowledge", e.adminKey, nil); r.status != 404 {
			t.Fatalf("unknown alert: %d", r.status)
		}
	})
}

func TestBulkActions(t *testing.T) {
	e := sqliteEnv(t)
	var ids []string
	for i := range 3 {
		_, id := e.sendJSON(fmt.Sprintf(`{"Title":"bulk %d"}`, i))
		ids = append(ids, id)
	}
	e.api("POST", "/api/v1/alerts/"+ids[2]+"/close", e.adminKey, nil)
	r := e.api("POST", "/api/v1/alerts/acknowledge", e.adminKey, map[string]any{"ids": append(ids, "missing")})
	if r.status != 200 {
		t.Fatalf("bulk: %d %s", r.status, r.body)
	}
	var res struct{ Items []alert.BulkResult }
	json.Unmarshal(r.body, &res)
	got := ""
	for _, x := range res.Items {
		got += fmt.Sprintf("%v ", x.OK)
	}
	if got != "true true false false " || res.Items[2].Error == "" {
		t.Fatalf("bulk results %+v", res.Items)
	}
	r = e.api("POST", "/api/v1/alerts/close", e.adminKey, map[string]any{"ids": ids[:2], "note": "maintenance"})
	json.Unmarshal(r.body, &res)
	if r.status != 200 || !res.Items[0].OK || e.alert(ids[1]).Status != alert.StatusClosed {
		t.Fatalf("bulk close: %d %s", r.status, r.body)
	}
	if r := e.api("POST", "/api/v1/alerts/close", e.adminKey, map[string]any{"ids": []string{}}); r.status != 400 {
		t.Fatalf("empty bulk: %d", r.status)
	}
}

func TestListFiltersAndPaging(t *testing.T) {
	e := sqliteEnv(t)
	for i := range 7 {
		_, id := e.sendJSON(fmt.Sprintf(`{"Title":"item %d","Message":"needle %d"}`, i, i%2))
		if i < 2 {
			e.api("POST", "/api/v1/alerts/"+id+"/acknowledge", e.adminKey, nil)
		}
	}
	var seen []string
	cursor := ""
	for pages := 0; ; pages++ {
		r := e.api("GET", "/api/v1/alerts?limit=3&cursor="+cursor, e.adminKey, nil)
		var p struct {
			Items      []alert.Alert
			NextCursor string
		}
		json.Unmarshal(r.body, &p)
		for _, a := range p.Items {
			seen = append(seen, a.Title)
		}
		if p.NextCursor == "" {
			break
		}
		cursor = p.NextCursor
		if pages > 5 {
			t.Fatal("paging does not end")
		}
	}
	if got := strings.Join(seen, ","); got != "item 6,item 5,item 4,item 3,item 2,item 1,item 0" {
		t.Fatalf("pages gave %s", got)
	}
	if n := len(e.listAlerts("?status=acknowledged")); n != 2 {
		t.Fatalf("acknowledged: %d", n)
	}
	if n := len(e.listAlerts("?status=new,acknowledged")); n != 7 {
		t.Fatalf("new,acknowledged: %d", n)
	}
	if n := len(e.listAlerts("?q=NEEDLE%201")); n != 3 {
		t.Fatalf("search: %d", n)
	}
	if n := len(e.listAlerts("?team=" + e.team.ID + "&since=2026-01-01T00:00:00Z")); n != 7 {
		t.Fatalf("team and since: %d", n)
	}
	for _, bad := range []string{"?status=open", "?limit=0", "?limit=x", "?since=yesterday"} {
		if r := e.api("GET", "/api/v1/alerts"+bad, e.adminKey, nil); r.status != 400 {
			t.Errorf("%s: status %d", bad, r.status)
		}
	}
}

// A responder sees and acts on their own teams' alerts only.
func TestTeamBoundaries(t *testing.T) {
	e := sqliteEnv(t)
	ctx := t.Context()
	other, otherSecret, err := e.teams.CreateTeam(ctx, "Other", "")
	if err != nil {
		t.Fatal(err)
	}
	_, mine := e.sendJSON(`{"Title":"ops alert"}`)
	r := e.do("POST", "/webhook/"+otherSecret, strings.NewReader(`{"Title":"other alert"}`), map[string]string{"Content-Type": "application/json"})
	theirs := r.header.Get("X-Lastmile-Alert-Id")
	_, key := e.user("responder@example.com", e.team.ID, team.RoleResponder)

	r = e.api("GET", "/api/v1/alerts", key, nil)
	if r.status != 200 || strings.Contains(string(r.body), "other alert") || !strings.Contains(string(r.body), "ops alert") {
		t.Fatalf("list: %d %s", r.status, r.body)
	}
	for _, c := range []struct{ method, path string }{
		{"GET", "/api/v1/alerts/" + theirs},
		{"POST", "/api/v1/alerts/" + theirs + "/acknowledge"},
		{"GET", "/api/v1/alerts/" + theirs + "/timeline"},
		{"GET", "/api/v1/teams/" + other.ID},
		{"GET", "/api/v1/alerts?team=" + other.ID},
		{"GET", "/api/v1/events?team=" + other.ID},
	} {
		if r := e.api(c.method, c.path, key, nil); r.status != 404 {
			t.Errorf("%s %s: status %d, want 404", c.method, c.path, r.status)
		}
	}
	if r := e.api("POST", "/api/v1/alerts/acknowledge", key, map[string]any{"ids": []string{theirs}}); !strings.Contains(string(r.body), `"ok":false`) {
		t.Errorf("bulk on another team's alert: %s", r.body)
	}
	if e.alert(theirs).Status != alert.StatusNew {
		t.Fatal("responder changed another team's alert")
	}
	if r := e.api("POST", "/api/v1/alerts/"+mine+"/acknowledge", key, nil); r.status != 200 {
		t.Fatalf("own alert: %d %s", r.status, r.body)
	}
	r = e.api("GET", "/api/v1/events", key, nil)
	if r.status != 200 || strings.Contains(string(r.body), "other alert") {
		t.Fatalf("events: %d", r.status)
	}
}
