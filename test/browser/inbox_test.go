package browser_test

import (
	"context"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/lastmile/lastmile/internal/alert"
	"github.com/lastmile/lastmile/internal/team"
)

// A responder signs in, sees a new alert arrive in the inbox without
// reloading, opens it, acknowledges, annotates and closes it; the page and
// the store agree at each step.
func TestResponderHandlesAnAlertFromTheInbox(t *testing.T) {
	s := startSite(t)
	ann := s.member("ann@example.com", team.RoleResponder)
	b := s.open(t)
	b.login("ann@example.com")
	b.waitJS("the inbox", `location.pathname === "/inbox" && !!document.getElementById("inbox-live")`)
	b.waitText("All clear")

	// A mark on the window survives only if the page is not reloaded.
	b.do("mark the page", chromedp.Evaluate[chromedp.Void](`window.lastmileTestMark = "still here"`))
	id := s.raise("CPU hot on web-3", "high")
	b.waitJS("the new alert in the inbox", `!!document.querySelector('#inbox-live a[href="/alerts/`+id+`"]')`)
	if mark := eval[string](b, `window.lastmileTestMark || ""`); mark != "still here" {
		t.Fatalf("the inbox reloaded to show the alert")
	}
	if row := eval[string](b, `document.querySelector('[data-alert-id="`+id+`"]').innerText`); !strings.Contains(row, "CPU hot on web-3") || !strings.Contains(row, "Ops") {
		t.Fatalf("inbox row %q", row)
	}

	b.do("open the alert", chromedp.Click(chromedp.CSS(`a[href="/alerts/`+id+`"]`), chromedp.NodeVisible))
	b.waitJS("the alert page", `location.pathname === "/alerts/`+id+`" && !!document.querySelector("#alert-head h1")`)
	if h := eval[string](b, `document.querySelector("#alert-head h1").textContent`); h != "CPU hot on web-3" {
		t.Fatalf("alert page heading %q", h)
	}

	b.clickButton("Acknowledge")
	b.waitJS("the acknowledgement on the timeline", `!!document.querySelector("#alert-timeline .tl-acknowledged")`)
	b.waitJS("the status badge", `document.querySelector("#alert-head").innerText.includes("Acknowledged")`)
	if a := get(t, s, id); a.Status != alert.StatusAcknowledged || a.AcknowledgedBy == "" {
		t.Fatalf("after Acknowledge the alert is %s by %q", a.Status, a.AcknowledgedBy)
	}

	b.do("write a note", chromedp.SendKeys(chromedp.CSS(`form[action$="/annotate"] textarea[name="text"]`), "Restarted the collector"))
	b.clickButton("Add note")
	b.waitJS("the note on the timeline", `document.querySelector("#alert-timeline").innerText.includes("Restarted the collector")`)
	if !annotated(t, s, id, ann.ID, "Restarted the collector") {
		t.Fatalf("the note is not on the alert's timeline in the store")
	}

	b.clickButton("Close")
	b.waitJS("the close on the timeline", `!!document.querySelector("#alert-timeline .tl-closed")`)
	b.waitJS("the closed badge", `document.querySelector("#alert-head").innerText.includes("Closed")`)
	if a := get(t, s, id); a.Status != alert.StatusClosed {
		t.Fatalf("after Close the alert is %s", a.Status)
	}
}

func get(t *testing.T, s *site, id string) alert.Alert {
	t.Helper()
	a, err := s.a.Alerts.Get(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

func annotated(t *testing.T, s *site, alertID, userID, text string) bool {
	t.Helper()
	tl, err := s.a.Alerts.Timeline(context.Background(), alertID)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range tl {
		if e.Actor.ID == userID && strings.Contains(e.Text, text) {
			return true
		}
	}
	return false
}
