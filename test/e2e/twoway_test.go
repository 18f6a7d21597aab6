package e2e

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/lastmile/lastmile/internal/notify/email/emailtest"
	"github.com/lastmile/lastmile/internal/notify/ntfy/ntfytest"
	"github.com/lastmile/lastmile/internal/notify/slack/slacktest"
	"github.com/lastmile/lastmile/internal/store/storetest"
	"github.com/lastmile/lastmile/internal/team"
)

// bob joins the team with one address and is the only one on duty, so
// every message of an alert is for him: answers must act as bob, not as
// Ann, who is also a member.
func (s *server) onlyBob(channel, address string) team.User {
	s.t.Helper()
	ctx := context.Background()
	bob, _ := s.a.Teams.CreateUser(ctx, team.NewUser{Email: "bob@example.com", Name: "Bob"})
	s.a.Teams.AddMember(ctx, s.teamID, bob.ID, team.RoleResponder)
	s.call("POST", "/api/v1/users/"+bob.ID+"/contact-methods", map[string]any{"channel": channel, "address": address, "verified": true}, 201)
	s.a.Teams.SetTeamRules(ctx, s.teamID, []team.TeamRule{{Channel: channel}})
	if err := s.a.Duty.PunchOut(ctx, s.teamID, s.ann.ID); err != nil {
		s.t.Fatal(err)
	}
	if _, err := s.a.Duty.PunchIn(ctx, s.teamID, bob.ID, false); err != nil {
		s.t.Fatal(err)
	}
	return bob
}

// acknowledgedBy returns who acknowledged an alert, from its timeline.
func (s *server) acknowledgedBy(id string) string {
	s.t.Helper()
	out := s.call("GET", "/api/v1/alerts/"+id+"/timeline", nil, 200)
	raw, _ := json.Marshal(out["items"])
	var items []struct {
		Kind  string `json:"kind"`
		Actor struct {
			ID string `json:"id"`
		} `json:"actor"`
	}
	json.Unmarshal(raw, &items)
	for _, it := range items {
		if it.Kind == "acknowledged" {
			return it.Actor.ID
		}
	}
	return ""
}

// An email's Acknowledge link: GET shows a page and changes nothing (mail
// scanners follow links), its form POSTs and acknowledges as the
// recipient; the link then no longer works.
func TestEmailLinkAcknowledges(t *testing.T) {
	s := startWithChannels(t, storetest.URL(t, storetest.Dialects(t)[0]))
	mail := emailtest.New(t, emailtest.Options{STARTTLS: true, Username: "lastmile", Password: "s3cret"})
	var settings map[string]any
	json.Unmarshal(mail.Settings("lastmile <alerts@example.com>"), &settings)
	s.call("PUT", "/api/v1/channels/email", map[string]any{"settings": settings}, 200)
	bob := s.onlyBob("email", "bob@example.com")
	id := s.raise("db down")
	s.until("the mail", func() bool { return len(mail.Messages()) == 1 })
	m := mail.Messages()[0]
	if !m.TLS || m.AuthUser != "lastmile" || m.To[0] != "bob@example.com" || !strings.Contains(m.Subject, "db down") {
		t.Fatalf("mail %+v", m)
	}
	var ack string
	for _, l := range m.Links {
		if strings.Contains(l, "/actions/") && ack == "" {
			ack = l
		}
	}
	if ack == "" {
		t.Fatalf("no action link in %v", m.Links)
	}
	resp, err := http.Get(ack)
	if err != nil {
		t.Fatal(err)
	}
	page, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.Contains(string(page), `method="post"`) || s.alert(id)["status"] != "new" {
		t.Fatalf("GET answered %d, alert %v: %s", resp.StatusCode, s.alert(id)["status"], page)
	}
	for i, want := range []int{200, 409} {
		resp, err := http.PostForm(ack, url.Values{})
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != want {
			t.Fatalf("POST %d answered %d, want %d", i+1, resp.StatusCode, want)
		}
	}
	if by := s.acknowledgedBy(id); by != bob.ID {
		t.Fatalf("acknowledged by %q, want bob %q", by, bob.ID)
	}
}

// ntfy: the phone's Acknowledge button calls lastmile directly.
func TestNtfyActionAcknowledges(t *testing.T) {
	s := startWithChannels(t, storetest.URL(t, storetest.Dialects(t)[0]))
	nt := ntfytest.New(t)
	s.call("PUT", "/api/v1/channels/ntfy", map[string]any{"settings": map[string]any{"serverUrl": nt.URL}}, 200)
	bob := s.onlyBob("ntfy", "lastmile-bob-7f3a")
	id := s.raise("disk full")
	s.until("the publish", func() bool { return len(nt.Publishes()) == 1 })
	res, err := nt.Tap(context.Background(), 0, "Acknowledge")
	if err != nil {
		t.Fatal(err)
	}
	if res.Status != 200 || !res.Cleared {
		t.Fatalf("tap %+v", res)
	}
	if by := s.acknowledgedBy(id); by != bob.ID {
		t.Fatalf("acknowledged by %q, want bob", by)
	}
	if res, _ := nt.Tap(context.Background(), 0, "Acknowledge"); res.Status != 409 {
		t.Fatalf("a second tap answered %d", res.Status)
	}
}

// Slack: a button click, signed like Slack's, acknowledges; the same click
// with the wrong signing secret is refused.
func TestSlackButtonAcknowledges(t *testing.T) {
	s := startWithChannels(t, storetest.URL(t, storetest.Dialects(t)[0]))
	sl := slacktest.New(t, slacktest.Options{Clock: s.clock})
	const secret = "8f742231b10e8888abcd99yyyzzz85a5"
	s.call("PUT", "/api/v1/channels/slack", map[string]any{"settings": map[string]any{"signingSecret": secret, "apiUrl": sl.APIURL()}}, 200)
	bob := s.onlyBob("slack", sl.WebhookURL("ops"))
	id := s.raise("api slow")
	s.until("the message", func() bool { return len(sl.Messages()) == 1 })
	msg := sl.Messages()[0]
	ctx := context.Background()
	forged, err := sl.Click(ctx, s.a.BaseURL(), "not-the-secret", msg, "lastmile_acknowledge", "mallory")
	if err != nil {
		t.Fatal(err)
	}
	if forged.Status != 401 || s.alert(id)["status"] != "new" {
		t.Fatalf("forged click answered %d, alert %v", forged.Status, s.alert(id)["status"])
	}
	res, err := sl.Click(ctx, s.a.BaseURL(), secret, msg, "lastmile_acknowledge", "bob")
	if err != nil {
		t.Fatal(err)
	}
	if res.Status != 200 {
		t.Fatalf("click answered %d %s", res.Status, res.Body)
	}
	if by := s.acknowledgedBy(id); by != bob.ID {
		t.Fatalf("acknowledged by %q, want bob", by)
	}
	deadline := time.Now().Add(5 * time.Second)
	for len(sl.Responses()) == 0 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if len(sl.Responses()) == 0 || !strings.Contains(string(sl.Responses()[0].Body), "cknowledged") {
		t.Fatalf("the message was not updated: %+v", sl.Responses())
	}
}
