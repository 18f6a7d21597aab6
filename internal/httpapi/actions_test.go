package httpapi_test

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/lastmile/lastmile/internal/alert"
	"github.com/lastmile/lastmile/internal/notify/action"
	"github.com/lastmile/lastmile/internal/team"
)

// actionLink requests an action link as a browser would.
func (e *env) actionLink(method, token string) response {
	e.t.Helper()
	return e.do(method, "/actions/"+token, nil, map[string]string{"Accept": "text/html,application/xhtml+xml"})
}

// wantPage checks an action page's status and that it is HTML holding
// every one of words.
func wantPage(t *testing.T, what string, r response, status int, words ...string) {
	t.Helper()
	if r.status != status {
		t.Fatalf("%s: status %d, want %d: %s", what, r.status, status, r.body)
	}
	if ct := r.header.Get("Content-Type"); !strings.HasPrefix(ct, "text/html") {
		t.Fatalf("%s: Content-Type %q", what, ct)
	}
	if r.header.Get("Cache-Control") != "no-store" || r.header.Get("Referrer-Policy") != "no-referrer" {
		t.Fatalf("%s: headers %v", what, r.header)
	}
	for _, w := range words {
		if !strings.Contains(string(r.body), w) {
			t.Fatalf("%s: page does not hold %q:\n%s", what, w, r.body)
		}
	}
}

func TestActionLinks(t *testing.T) {
	eachDialect(t, func(t *testing.T, e *env) {
		ana, _ := e.user("ana@example.com", e.team.ID, team.RoleResponder)
		_, id := e.sendJSON(`{"Title":"disk full on db-7"}`)
		status := func(id string) alert.Status {
			t.Helper()
			return e.alert(id).Status
		}
		ack := e.tokens.Issue(action.Claims{AlertID: id, UserID: ana.ID, Action: action.Acknowledge})

		// GET only asks; fetching it twice (a mail scanner, then the member) changes nothing.
		for range 2 {
			wantPage(t, "GET", e.actionLink("GET", ack), http.StatusOK, "disk full on db-7", `<form method="post">`, "Acknowledge")
		}
		if s := status(id); s != alert.StatusNew {
			t.Fatalf("GET changed the alert to %s", s)
		}

		// One character changed: refused, both ways, and nothing happens.
		i := strings.IndexByte(ack, '.') / 2
		tampered := ack[:i] + string("AB"[boolIndex(ack[i] == 'A')]) + ack[i+1:]
		wantPage(t, "GET tampered", e.actionLink("GET", tampered), http.StatusForbidden, "not valid")
		wantPage(t, "POST tampered", e.actionLink("POST", tampered), http.StatusForbidden, "not valid")
		sig := len(ack) - 5
		tampered = ack[:sig] + string("AB"[boolIndex(ack[sig] == 'A')]) + ack[sig+1:]
		wantPage(t, "POST tampered signature", e.actionLink("POST", tampered), http.StatusForbidden, "not valid")
		if s := status(id); s != alert.StatusNew {
			t.Fatalf("a tampered token changed the alert to %s", s)
		}

		// POST performs it, as the member the token is for.
		wantPage(t, "POST", e.actionLink("POST", ack), http.StatusOK, "Acknowledged", "disk full on db-7")
		a := e.alert(id)
		if a.Status != alert.StatusAcknowledged || a.AcknowledgedBy != "ana@example.com" {
			t.Fatalf("after POST: %s by %q", a.Status, a.AcknowledgedBy)
		}
		tl, err := e.alerts.Timeline(context.Background(), id)
		if err != nil {
			t.Fatal(err)
		}
		var acked *alert.TimelineEntry
		for i := range tl {
			if tl[i].Kind == alert.KindAcknowledged {
				acked = &tl[i]
			}
		}
		if acked == nil || acked.Actor.Type != "user" || acked.Actor.ID != ana.ID || !strings.Contains(acked.Text, "link") {
			t.Fatalf("timeline acknowledgement %+v", acked)
		}

		// Once only, whichever way it is asked.
		wantPage(t, "POST again", e.actionLink("POST", ack), http.StatusConflict, "already used")
		wantPage(t, "GET after use", e.actionLink("GET", ack), http.StatusConflict, "already used")
		if r := e.do("POST", "/actions/"+ack, nil, map[string]string{"Accept": "application/json"}); r.status != http.StatusConflict || r.json(t)["code"] != "conflict" {
			t.Fatalf("JSON POST again: %d %s", r.status, r.body)
		}

		// Scripts and push service workers ask for JSON.
		_, id2 := e.sendJSON(`{"Title":"queue backlog"}`)
		cls := e.tokens.Issue(action.Claims{AlertID: id2, UserID: ana.ID, Action: action.Close})
		r := e.do("POST", "/actions/"+cls, nil, map[string]string{"Accept": "application/json"})
		if !strings.HasPrefix(r.header.Get("Content-Type"), "application/json") || r.status != 200 {
			t.Fatalf("JSON POST: %d %s %s", r.status, r.header.Get("Content-Type"), r.body)
		}
		var res struct{ AlertID, Action, Message string }
		if err := json.Unmarshal(r.body, &res); err != nil || res.AlertID != id2 || res.Action != action.Close || !strings.Contains(res.Message, "Closed") {
			t.Fatalf("JSON answer %+v (%v): %s", res, err, r.body)
		}
		if s := status(id2); s != alert.StatusClosed {
			t.Fatalf("after a JSON close: %s", s)
		}

		// A member who left the team can no longer act.
		bob, _ := e.user("bob@example.com", e.team.ID, team.RoleResponder)
		_, id3 := e.sendJSON(`{"Title":"cert expires"}`)
		left := e.tokens.Issue(action.Claims{AlertID: id3, UserID: bob.ID, Action: action.Acknowledge})
		if err := e.teams.RemoveMember(context.Background(), e.team.ID, bob.ID); err != nil {
			t.Fatal(err)
		}
		wantPage(t, "POST by a former member", e.actionLink("POST", left), http.StatusForbidden, "no longer a member")
		if s := status(id3); s != alert.StatusNew {
			t.Fatalf("a former member changed the alert to %s", s)
		}

		// Expired: refused, and the alert stays as it was.
		expiring := e.tokens.Issue(action.Claims{AlertID: id3, UserID: ana.ID, Action: action.Acknowledge})
		e.clock.Advance(action.Lifetime + time.Second)
		wantPage(t, "GET expired", e.actionLink("GET", expiring), http.StatusForbidden, "expired")
		wantPage(t, "POST expired", e.actionLink("POST", expiring), http.StatusForbidden, "expired")
		if s := status(id3); s != alert.StatusNew {
			t.Fatalf("an expired token changed the alert to %s", s)
		}
	})
}

func boolIndex(b bool) int {
	if b {
		return 1
	}
	return 0
}
