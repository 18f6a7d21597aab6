package web

import (
	"context"
	"encoding/json"
	"fmt"
	"html"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/lastmile/lastmile/internal/alert"
	"github.com/lastmile/lastmile/internal/ingest"
	"github.com/lastmile/lastmile/internal/store"
	"github.com/lastmile/lastmile/internal/team"
)

// postFrom submits a form as if from the page at referer.
func (c *client) postFrom(referer, path string, form url.Values) page {
	c.h.t.Helper()
	form.Set("_csrf", c.csrf)
	req, err := http.NewRequest(http.MethodPost, c.h.srv.URL+path, strings.NewReader(form.Encode()))
	if err != nil {
		c.h.t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Referer", c.h.srv.URL+referer)
	return c.do(req)
}

func (h *harness) timelineKinds(id string) []string {
	h.t.Helper()
	tl, err := h.alerts.Timeline(context.Background(), id)
	if err != nil {
		h.t.Fatal(err)
	}
	var out []string
	for _, e := range tl {
		out = append(out, e.Kind+":"+e.Actor.Name+":"+e.Text)
	}
	return out
}

func has(list []string, want string) bool {
	for _, s := range list {
		if strings.HasPrefix(s, want) {
			return true
		}
	}
	return false
}

func TestAlertPageShowsTheAlert(t *testing.T) {
	h := sqliteHarness(t)
	ann := h.member(h.team.ID, "ann@example.com", team.RoleResponder)
	berlin := "Europe/Berlin"
	if _, err := h.teams.UpdateUser(context.Background(), ann.ID, team.UserPatch{TimeZone: &berlin}); err != nil {
		t.Fatal(err)
	}
	var csv strings.Builder
	csv.WriteString("Computer,Account\n")
	for i := 1; i <= 25; i++ {
		fmt.Fprintf(&csv, "host-%02d,user-%02d\n", i, i)
	}
	a := h.raiseEvent(h.team, ingest.Event{Title: "Suspicious sign-in", Text: "line one\nline two", Severity: "high",
		SourceSystem: "Sentinel", Location: "52.52,13.405", ExternalID: "inc-7",
		Params: []ingest.Param{{Name: "Host", Value: "web-1"}, {Name: "Incident link", Value: "https://portal.example/inc/7"},
			{Name: "Trap", Value: "javascript:alert(1)"}}},
		ingest.Attachment{Name: "screen.png", ContentType: "image/png", Data: []byte("\x89PNG\r\n\x1a\nfake")},
		ingest.Attachment{Name: "alert-1-query-results.csv", ContentType: "text/csv", Data: []byte(csv.String())},
		ingest.Attachment{Name: "page.html", ContentType: "text/html", Data: []byte("<script>alert(1)</script>")})
	p := h.login("ann@example.com").get("/alerts/" + a.ID)
	if p.status != http.StatusOK {
		t.Fatalf("alert page: %d %s", p.status, p.body)
	}
	body := html.UnescapeString(p.body)
	for _, want := range []string{
		"Suspicious sign-in", "line one\nline two", ">Sentinel<", ">inc-7<", ">web-1<",
		`href="https://www.openstreetmap.org/?mlat=52.52&mlon=13.405#map=16/52.52/13.405"`,
		`href="https://portal.example/inc/7"`,
		`<img src="/alerts/` + a.ID + `/attachments/`, `alt="screen.png"`,
		"<td>host-01</td>", "<td>host-20</td>", "download the file for all",
		`download>page.html</a>`, `download>alert-1-query-results.csv</a>`,
		"Opened", "Mon 30 Mar 11:00", // created 09:00 UTC, shown in the member's zone
		`/alerts/` + a.ID + `/acknowledge"`, `/alerts/` + a.ID + `/close"`, `/alerts/` + a.ID + `/escalate"`, `/alerts/` + a.ID + `/annotate"`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("the alert page lacks %q", want)
		}
	}
	for _, bad := range []string{"<td>host-21</td>", `href="javascript:`, "undo-acknowledge", "undo-close", "<script>alert"} {
		if strings.Contains(body, bad) {
			t.Errorf("the alert page has %q", bad)
		}
	}
	if strings.Contains(p.body, `style=`) || strings.Contains(p.body, "onclick") {
		t.Errorf("the page has inline style or handlers, which the CSP forbids")
	}
}

func TestAlertActionsChangeTheAlertAndItsTimeline(t *testing.T) {
	eachDialect(t, func(t *testing.T, h *harness) {
		h.member(h.team.ID, "ann@example.com", team.RoleResponder)
		a := h.inboxAlert(h.team, "Disk full", "high")
		c := h.login("ann@example.com")
		ctx := context.Background()
		status := func() alert.Status {
			t.Helper()
			got, err := h.alerts.Get(ctx, a.ID)
			if err != nil {
				t.Fatal(err)
			}
			return got.Status
		}
		for _, step := range []struct {
			action, flash string
			want          alert.Status
			kind          string
			buttons       []string // valid after the step
		}{
			{"acknowledge", "Acknowledged", alert.StatusAcknowledged, "acknowledged:ann", []string{"undo-acknowledge", "close"}},
			{"undo-acknowledge", "Acknowledgement undone", alert.StatusNew, "unacknowledged:ann", []string{"acknowledge", "close", "escalate"}},
			{"close", "Closed", alert.StatusClosed, "closed:ann", []string{"undo-close"}},
			{"undo-close", "Reopened", alert.StatusNew, "reopened:ann", []string{"acknowledge", "close", "escalate"}},
		} {
			p := c.post("/alerts/"+a.ID+"/"+step.action, nil)
			if p.status != http.StatusSeeOther || p.location != "/alerts/"+a.ID {
				t.Fatalf("%s: %d %q %s", step.action, p.status, p.location, p.body)
			}
			if got := status(); got != step.want {
				t.Fatalf("after %s the alert is %s, want %s", step.action, got, step.want)
			}
			if !has(h.timelineKinds(a.ID), step.kind) {
				t.Fatalf("after %s the timeline lacks %s: %v", step.action, step.kind, h.timelineKinds(a.ID))
			}
			page := c.get("/alerts/" + a.ID)
			if !strings.Contains(page.body, `class="flash ok" role="status">`+step.flash+`<`) {
				t.Errorf("after %s the page does not say %q", step.action, step.flash)
			}
			for _, b := range []string{"acknowledge", "undo-acknowledge", "close", "undo-close", "escalate"} {
				want := false
				for _, v := range step.buttons {
					want = want || v == b
				}
				if got := strings.Contains(page.body, `action="/alerts/`+a.ID+`/`+b+`"`); got != want {
					t.Errorf("after %s the %s button shown = %v, want %v", step.action, b, got, want)
				}
			}
		}
		if p := c.post("/alerts/"+a.ID+"/annotate", url.Values{"text": {"  checked the disk\nit is the logs  "}}); p.status != http.StatusSeeOther {
			t.Fatalf("annotate: %d %s", p.status, p.body)
		}
		if !has(h.timelineKinds(a.ID), "annotated:ann:checked the disk\nit is the logs") {
			t.Fatalf("the note is not on the timeline: %v", h.timelineKinds(a.ID))
		}
		if !strings.Contains(html.UnescapeString(c.get("/alerts/"+a.ID).body), "checked the disk\nit is the logs") {
			t.Errorf("the page does not show the note")
		}
		// Escalating needs the engine to have planned the alert; the test
		// has no engine, so plan it by hand.
		p := c.post("/alerts/"+a.ID+"/escalate", nil)
		if p.status != http.StatusConflict || !strings.Contains(p.body, "cannot escalate") {
			t.Fatalf("escalating an unplanned alert: %d", p.status)
		}
		if _, err := h.db.Exec(ctx, `UPDATE alert_engine SET state = 'active' WHERE alert_id = ?`, a.ID); err != nil {
			t.Fatal(err)
		}
		if p := c.post("/alerts/"+a.ID+"/escalate", nil); p.status != http.StatusSeeOther {
			t.Fatalf("escalate: %d %s", p.status, p.body)
		}
		if !has(h.timelineKinds(a.ID), "escalated:ann") {
			t.Fatalf("the escalation is not on the timeline")
		}
		if !strings.Contains(c.get("/alerts/"+a.ID).body, "Escalated") {
			t.Errorf("the page's timeline lacks the escalation")
		}
	})
}

func TestAlertActionMistakesSayWhatIsWrong(t *testing.T) {
	h := sqliteHarness(t)
	h.member(h.team.ID, "ann@example.com", team.RoleResponder)
	a := h.inboxAlert(h.team, "Disk full", "high")
	c := h.login("ann@example.com")
	if p := c.post("/alerts/"+a.ID+"/explode", nil); p.status != http.StatusBadRequest || !strings.Contains(html.UnescapeString(p.body), `unknown action "explode"`) {
		t.Errorf("unknown action: %d", p.status)
	}
	if p := c.post("/alerts/"+a.ID+"/annotate", url.Values{"text": {"   "}}); p.status != http.StatusBadRequest || !strings.Contains(p.body, "annotation text must have 1 to 10000 characters") {
		t.Errorf("empty note: %d", p.status)
	}
	h.act(a, "close")
	// A refused form goes back to its page with the reason.
	p := c.postFrom("/alerts/"+a.ID, "/alerts/"+a.ID+"/acknowledge", url.Values{})
	if p.status != http.StatusSeeOther || p.location != "/alerts/"+a.ID {
		t.Fatalf("acknowledging a closed alert: %d %q", p.status, p.location)
	}
	if page := c.get(p.location); !strings.Contains(page.body, "cannot acknowledge an alert that is closed") || !strings.Contains(page.body, `flash error`) {
		t.Errorf("the page does not say why acknowledging failed")
	}
}

func TestAlertActionAnswersScriptsWithJSON(t *testing.T) {
	h := sqliteHarness(t)
	h.member(h.team.ID, "ann@example.com", team.RoleResponder)
	a := h.inboxAlert(h.team, "Disk full", "high")
	c := h.login("ann@example.com")
	req, _ := http.NewRequest(http.MethodPost, h.srv.URL+"/alerts/"+a.ID+"/acknowledge", strings.NewReader(""))
	req.Header.Set("Accept", "application/json")
	req.Header.Set("X-CSRF-Token", c.csrf)
	p := c.do(req)
	var got map[string]string
	if err := json.Unmarshal([]byte(p.body), &got); err != nil || p.status != http.StatusOK || got["message"] != "Acknowledged" || got["status"] != "acknowledged" {
		t.Fatalf("JSON acknowledge: %d %s", p.status, p.body)
	}
	if strings.Contains(p.header.Get("Set-Cookie"), flashCookie) {
		t.Errorf("a script's action left a flash message for a later page")
	}
	p = c.do(req.Clone(context.Background()))
	if err := json.Unmarshal([]byte(p.body), &got); err != nil || p.status != http.StatusConflict || !strings.Contains(got["message"], "cannot acknowledge") {
		t.Fatalf("JSON refusal: %d %s", p.status, p.body)
	}
}

func TestAnotherTeamsAlertCannotBeSeenOrChanged(t *testing.T) {
	eachDialect(t, func(t *testing.T, h *harness) {
		sec := h.secondTeam("Sec")
		h.member(h.team.ID, "ann@example.com", team.RoleResponder)
		theirs := h.raiseEvent(sec, ingest.Event{Title: "Secret", Severity: "high"},
			ingest.Attachment{Name: "x.png", ContentType: "image/png", Data: []byte("png")})
		c := h.login("ann@example.com")
		for _, action := range []string{"acknowledge", "undo-acknowledge", "close", "undo-close", "escalate", "annotate"} {
			if p := c.post("/alerts/"+theirs.ID+"/"+action, url.Values{"text": {"hi"}}); p.status != http.StatusNotFound {
				t.Errorf("%s on another team's alert: %d, want 404", action, p.status)
			}
		}
		if p := c.get("/alerts/" + theirs.ID + "/attachments/" + theirs.Attachments[0].ID); p.status != http.StatusNotFound {
			t.Errorf("another team's attachment: %d", p.status)
		}
		got, _ := h.alerts.Get(context.Background(), theirs.ID)
		if got.Status != alert.StatusNew || len(h.timelineKinds(theirs.ID)) != 1 {
			t.Errorf("another team's alert changed: %s %v", got.Status, h.timelineKinds(theirs.ID))
		}
	})
}

func TestAttachmentsAreServedSafely(t *testing.T) {
	h := sqliteHarness(t)
	h.member(h.team.ID, "ann@example.com", team.RoleResponder)
	a := h.raiseEvent(h.team, ingest.Event{Title: "With files"},
		ingest.Attachment{Name: "shot.png", ContentType: "image/png", Data: []byte("\x89PNG\r\n\x1a\nimage")},
		ingest.Attachment{Name: "../../evil page.html", ContentType: "text/html; charset=utf-8", Data: []byte("<script>alert(1)</script>")},
		ingest.Attachment{Name: "logo.svg", ContentType: "image/svg+xml", Data: []byte("<svg onload=alert(1)/>")})
	other := h.raiseEvent(h.team, ingest.Event{Title: "Other"}, ingest.Attachment{Name: "o.png", ContentType: "image/png", Data: []byte("o")})
	c := h.login("ann@example.com")
	byName := map[string]string{}
	for _, at := range a.Attachments {
		byName[at.Name] = at.ID
	}
	img := c.get("/alerts/" + a.ID + "/attachments/" + byName["shot.png"])
	if img.status != http.StatusOK || img.header.Get("Content-Type") != "image/png" || !strings.HasPrefix(img.header.Get("Content-Disposition"), "inline") ||
		img.body != "\x89PNG\r\n\x1a\nimage" {
		t.Errorf("image: %d %q %q", img.status, img.header.Get("Content-Type"), img.header.Get("Content-Disposition"))
	}
	for _, name := range []string{"../../evil page.html", "logo.svg"} {
		p := c.get("/alerts/" + a.ID + "/attachments/" + byName[name])
		if p.status != http.StatusOK || p.header.Get("Content-Type") != "application/octet-stream" || !strings.HasPrefix(p.header.Get("Content-Disposition"), "attachment") {
			t.Errorf("%s: %d %q %q, want a download", name, p.status, p.header.Get("Content-Type"), p.header.Get("Content-Disposition"))
		}
		if strings.Contains(p.header.Get("Content-Disposition"), "..") || strings.Contains(p.header.Get("Content-Disposition"), "/") {
			t.Errorf("%s: the download name keeps its path: %q", name, p.header.Get("Content-Disposition"))
		}
	}
	for _, p := range []page{img} {
		if p.header.Get("X-Content-Type-Options") != "nosniff" || !strings.Contains(p.header.Get("Content-Security-Policy"), "sandbox") {
			t.Errorf("attachment headers: %v", p.header)
		}
	}
	if p := c.get("/alerts/" + a.ID + "/attachments/" + other.Attachments[0].ID); p.status != http.StatusNotFound {
		t.Errorf("another alert's attachment under this alert: %d", p.status)
	}
	// Only safe image types are shown inline on the page.
	body := c.get("/alerts/" + a.ID).body
	if strings.Contains(body, `alt="logo.svg"`) || !strings.Contains(body, `alt="shot.png"`) {
		t.Errorf("the page shows the wrong attachments inline")
	}
}

func TestAlertPageShowsLinkedIncidentDeliveriesAndWriteBacks(t *testing.T) {
	eachDialect(t, func(t *testing.T, h *harness) {
		ctx := context.Background()
		ann := h.member(h.team.ID, "ann@example.com", team.RoleResponder)
		a := h.raiseEvent(h.team, ingest.Event{Title: "Incident 42", Severity: "high", ExternalID: "inc-42",
			Params: []ingest.Param{{Name: "Incident link", Value: "https://portal.azure.com/#incident/42"}}})
		now := store.Micros(h.clock.Now())
		for _, q := range []struct {
			sql  string
			args []any
		}{
			{`INSERT INTO connectors (id, team_id, name, kind, source, settings, next_poll_at, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
				[]any{"conn-1", h.team.ID, "Contoso Sentinel", "microsoft", "sentinel", "{}", now, now, now}},
			{`INSERT INTO connector_items (connector_id, external_id, alert_id, remote_status, remote_owner, created_at) VALUES (?, ?, ?, ?, ?, ?)`,
				[]any{"conn-1", "inc-42", a.ID, "Active", "soc@contoso.example", now}},
			{`INSERT INTO notifications (id, alert_id, team_id, user_id, channel, address, kind, round, tier, due_at, status, sent_at, delivery, created_at, dedup_key)
				VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
				[]any{"n-1", a.ID, h.team.ID, ann.ID, "sms", "+15550100", "alert", 1, 1, now, "sent", now, "delivered", now, "k-1"}},
		} {
			if _, err := h.db.Exec(ctx, q.sql, q.args...); err != nil {
				t.Fatal(err)
			}
		}
		c := h.login("ann@example.com")
		if p := c.post("/alerts/"+a.ID+"/annotate", url.Values{"text": {"looking"}}); p.status != http.StatusSeeOther {
			t.Fatalf("annotate: %d", p.status)
		}
		// The connector sent the note back.
		if _, err := h.db.Exec(ctx, `UPDATE connector_writebacks SET status = 'sent', sent_at = ? WHERE alert_id = ? AND kind = 'annotated'`, now, a.ID); err != nil {
			t.Fatal(err)
		}
		body := html.UnescapeString(c.get("/alerts/" + a.ID).body)
		for _, want := range []string{"Linked incident", "Microsoft Sentinel incident", "Contoso Sentinel", ">inc-42<", ">Active<",
			`href="https://portal.azure.com/#incident/42"`, "1 sent", "Written back",
			"<td>sms</td>", ">sent</span>", "delivered"} {
			if !strings.Contains(body, want) {
				t.Errorf("the alert page lacks %q", want)
			}
		}
		if strings.Contains(body, "+15550100") {
			t.Errorf("the page shows a member's phone number")
		}
		// The live part carries the same, without the layout.
		part := c.get("/alerts/" + a.ID + "?partial=1")
		if part.status != http.StatusOK || strings.Contains(part.body, "<html") || !strings.Contains(part.body, `id="alert-timeline"`) ||
			!strings.Contains(part.body, `id="alert-head"`) || !strings.Contains(part.body, `id="alert-incident"`) {
			t.Errorf("partial alert page: %d", part.status)
		}
	})
}

func TestLocationLinks(t *testing.T) {
	for loc, want := range map[string]string{
		"52.52,13.405":           "https://www.openstreetmap.org/?mlat=52.52&mlon=13.405#map=16/52.52/13.405",
		" -33.9 , 18.4 ":         "https://www.openstreetmap.org/?mlat=-33.9&mlon=18.4#map=16/-33.9/18.4",
		"95,10":                  "https://www.openstreetmap.org/search?query=95%2C10",
		"Main St 1, Springfield": "https://www.openstreetmap.org/search?query=Main+St+1%2C+Springfield",
	} {
		if got := locationLink(loc); got == nil || got.URL != want {
			t.Errorf("locationLink(%q) = %+v, want %s", loc, got, want)
		}
	}
	if locationLink("  ") != nil {
		t.Errorf("an empty location has a map link")
	}
}
