package web

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/lastmile/lastmile/internal/notify"
	"github.com/lastmile/lastmile/internal/notify/settings"
	"github.com/lastmile/lastmile/internal/seal"
	"github.com/lastmile/lastmile/internal/store"
	"github.com/lastmile/lastmile/internal/team"
)

// profileSMS is a channel provider serving sms, voice and email that keeps
// what it is asked to send.
type profileSMS struct {
	mu   sync.Mutex
	sent []notify.Message
}

type profileSMSChannel struct {
	name string
	f    *profileSMS
}

func (c profileSMSChannel) Name() string { return c.name }

func (c profileSMSChannel) Send(_ context.Context, m notify.Message) (string, error) {
	c.f.mu.Lock()
	defer c.f.mu.Unlock()
	c.f.sent = append(c.f.sent, m)
	return fmt.Sprintf("sms-%d", len(c.f.sent)), nil
}

func (f *profileSMS) last(t *testing.T) notify.Message {
	t.Helper()
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.sent) == 0 {
		t.Fatal("nothing was sent")
	}
	return f.sent[len(f.sent)-1]
}

// profileWithSMS replaces the harness's channels with ones where sms,
// voice and email go to f.
func profileWithSMS(f *profileSMS) harnessOption {
	return func(h *harness, cfg *Config) {
		box, err := seal.New([]byte("lastmile-web-test-key-32-bytes!!"))
		if err != nil {
			h.t.Fatal(err)
		}
		log := slog.New(slog.DiscardHandler)
		p := notify.Provider{Name: "fakesms", Channels: []string{"sms", "voice", "email"},
			Build: func(json.RawMessage, notify.Deps) ([]notify.Channel, error) {
				return []notify.Channel{profileSMSChannel{"sms", f}, profileSMSChannel{"voice", f}, profileSMSChannel{"email", f}}, nil
			}}
		svc := settings.New(h.db, box, h.clock, log, notify.Deps{Log: log, Clock: h.clock}, notify.NewRegistry(), p)
		if err := svc.Load(context.Background()); err != nil {
			h.t.Fatal(err)
		}
		cfg.Channels = svc
	}
}

// profilePostFrom submits a form as a browser does from the page at from:
// with a Referer, so a refusal comes back to that page as a flash message.
func profilePostFrom(c *client, from, path string, form url.Values) page {
	c.h.t.Helper()
	form.Set("_csrf", c.csrf)
	req, err := http.NewRequest(http.MethodPost, c.h.srv.URL+path, strings.NewReader(form.Encode()))
	if err != nil {
		c.h.t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Referer", c.h.srv.URL+from)
	return c.do(req)
}

func TestProfileSavesNameAndTimeZone(t *testing.T) {
	h := sqliteHarness(t)
	ann := h.member(h.team.ID, "ann@example.com", team.RoleResponder)
	c := h.login("ann@example.com")
	p := c.get("/profile")
	if p.status != http.StatusOK || !strings.Contains(p.body, `value="UTC"`) || !strings.Contains(p.body, `<datalist id="tz-list">`) {
		t.Fatalf("profile page: %d\n%s", p.status, p.body)
	}
	if p := c.post("/profile", url.Values{"name": {"Ann Example"}, "timeZone": {"Europe/Berlin"}}); p.status != http.StatusSeeOther {
		t.Fatalf("save: %d %s", p.status, p.body)
	}
	u, err := h.teams.User(context.Background(), ann.ID)
	if err != nil || u.Name != "Ann Example" || u.TimeZone != "Europe/Berlin" {
		t.Fatalf("after saving the user is %+v, %v", u, err)
	}
	if p := c.get("/profile"); !strings.Contains(p.body, `value="Ann Example"`) || !strings.Contains(p.body, "Times are shown in Europe/Berlin") {
		t.Errorf("the page does not show the saved name and a confirmation")
	}

	p = profilePostFrom(c, "/profile", "/profile", url.Values{"name": {"Ann"}, "timeZone": {"Mars/Olympus"}})
	if p.status != http.StatusSeeOther || p.location != "/profile" {
		t.Fatalf("a wrong time zone: %d %q, want back to the profile", p.status, p.location)
	}
	if p := c.get("/profile"); !strings.Contains(p.body, `class="flash error"`) || !strings.Contains(p.body, "Mars/Olympus") || !strings.Contains(p.body, "is not an IANA time zone name") {
		t.Errorf("the refusal of a wrong time zone is not shown:\n%s", p.body)
	}
	if u, _ := h.teams.User(context.Background(), ann.ID); u.TimeZone != "Europe/Berlin" || u.Name != "Ann Example" {
		t.Errorf("a refused save changed the user: %+v", u)
	}
	if p := c.post("/profile", url.Values{"name": {" "}, "timeZone": {"UTC"}}); p.status != http.StatusBadRequest || !strings.Contains(p.body, "enter your name") {
		t.Errorf("an empty name: %d", p.status)
	}
}

func TestPasswordChangeEndsOtherSessions(t *testing.T) {
	eachDialect(t, func(t *testing.T, h *harness) {
		ctx := context.Background()
		ann := h.member(h.team.ID, "ann@example.com", team.RoleResponder)
		bob := h.member(h.team.ID, "bob@example.com", team.RoleResponder)
		phone, laptop, bobs := h.login("ann@example.com"), h.login("ann@example.com"), h.login("bob@example.com")
		const next = "a much longer new secret"
		if p := laptop.post("/profile/password", url.Values{"current": {"not it at all"}, "new": {next}, "repeat": {next}}); p.status != http.StatusBadRequest || !strings.Contains(p.body, "current password is not right") {
			t.Fatalf("wrong current password: %d", p.status)
		}
		if p := laptop.post("/profile/password", url.Values{"current": {testPassword}, "new": {"short"}, "repeat": {"short"}}); p.status != http.StatusBadRequest || !strings.Contains(p.body, "at least 12 characters") {
			t.Fatalf("short new password: %d", p.status)
		}
		if p := laptop.post("/profile/password", url.Values{"current": {testPassword}, "new": {next}, "repeat": {next + "x"}}); p.status != http.StatusBadRequest {
			t.Fatalf("repetition differs: %d", p.status)
		}
		if _, err := h.teams.CheckPassword(ctx, ann.Email, testPassword); err != nil {
			t.Fatalf("a refused change changed the password: %v", err)
		}
		p := laptop.post("/profile/password", url.Values{"current": {testPassword}, "new": {next}, "repeat": {next}})
		if p.status != http.StatusSeeOther {
			t.Fatalf("change password: %d %s", p.status, p.body)
		}
		if _, err := h.teams.CheckPassword(ctx, ann.Email, next); err != nil {
			t.Fatalf("the new password does not work: %v", err)
		}
		if p := phone.get("/profile"); p.status != http.StatusSeeOther || !strings.HasPrefix(p.location, "/login") {
			t.Errorf("the other session survived the password change: %d %q", p.status, p.location)
		}
		if p := laptop.get("/profile"); p.status != http.StatusOK || !strings.Contains(p.body, "Password changed. 1 other session was signed out.") {
			t.Errorf("the browser that changed the password was signed out or not told: %d", p.status)
		}
		if p := bobs.get("/profile"); p.status != http.StatusOK {
			t.Errorf("another user's session ended: %d", p.status)
		}
		if list, _ := h.sessions.List(ctx, bob.ID); len(list) != 1 {
			t.Errorf("bob has %d sessions, want 1", len(list))
		}
	})
}

// profileContactID returns the id of the user's contact method on channel.
func profileContactID(t *testing.T, h *harness, userID, channel string) string {
	t.Helper()
	cms, err := h.teams.ContactMethods(context.Background(), userID)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range cms {
		if c.Channel == channel {
			return c.ID
		}
	}
	return ""
}

func TestContactMethodAddVerifyTestDelete(t *testing.T) {
	sms := &profileSMS{}
	h := newHarness(t, store.SQLite, profileWithSMS(sms))
	ann := h.member(h.team.ID, "ann@example.com", team.RoleResponder)
	c := h.login("ann@example.com")
	p := c.post("/profile/contacts", url.Values{"channel": {"sms"}, "address": {"+49 151 1234 5678"}, "label": {"Work phone"}})
	if p.status != http.StatusSeeOther {
		t.Fatalf("add: %d %s", p.status, p.body)
	}
	id := profileContactID(t, h, ann.ID, "sms")
	msg := sms.last(t)
	if id == "" || msg.Kind != notify.KindVerify || msg.Address != "+4915112345678" || len(msg.Code) != 6 {
		t.Fatalf("adding a number sent %+v (contact %q), want a code to +4915112345678", msg, id)
	}
	p = c.get("/profile")
	if !strings.Contains(p.body, "We sent a six-digit code") || !strings.Contains(p.body, "needs verification") || !strings.Contains(p.body, "/profile/contacts/"+id+"/verify") {
		t.Fatalf("the page does not ask for the code:\n%s", p.body)
	}
	wrong := "000000"
	if msg.Code == wrong {
		wrong = "111111"
	}
	if p := c.post("/profile/contacts/"+id+"/verify", url.Values{"code": {wrong}}); p.status != http.StatusBadRequest || !strings.Contains(p.body, "not right") {
		t.Fatalf("a wrong code: %d", p.status)
	}
	if p := c.post("/profile/contacts/"+id+"/verify", url.Values{"code": {msg.Code}}); p.status != http.StatusSeeOther {
		t.Fatalf("the right code: %d %s", p.status, p.body)
	}
	cm, err := h.teams.ContactMethod(context.Background(), ann.ID, id)
	if err != nil || !cm.Verified {
		t.Fatalf("after the right code the number is %+v, %v", cm, err)
	}
	if p := c.get("/profile"); !strings.Contains(p.body, ">verified<") || !strings.Contains(p.body, "Send test") {
		t.Errorf("the page does not show the number verified with a test button")
	}
	if p := c.post("/profile/contacts/"+id+"/test", nil); p.status != http.StatusSeeOther {
		t.Fatalf("test: %d %s", p.status, p.body)
	}
	if m := sms.last(t); m.Kind != notify.KindTest || m.Address != "+4915112345678" {
		t.Fatalf("the test sent %+v", m)
	}
	if p := c.post("/profile/contacts/"+id+"/delete", nil); p.status != http.StatusSeeOther {
		t.Fatalf("delete: %d", p.status)
	}
	if profileContactID(t, h, ann.ID, "sms") != "" {
		t.Fatal("the number is still there after delete")
	}
	if p := c.post("/profile/contacts", url.Values{"channel": {"push"}, "address": {"x"}}); p.status != http.StatusBadRequest || !strings.Contains(p.body, "Enable push on this device") {
		t.Errorf("adding a push device by hand: %d", p.status)
	}
	if p := c.post("/profile/contacts", url.Values{"channel": {"sms"}, "address": {"0151 123"}}); p.status != http.StatusBadRequest || !strings.Contains(p.body, "country code") {
		t.Errorf("a number without country code: %d", p.status)
	}
}

func TestContactMethodsWhenChannelsAreNotSetUp(t *testing.T) {
	h := sqliteHarness(t) // its sms channel has no provider settings
	ann := h.member(h.team.ID, "ann@example.com", team.RoleResponder)
	c := h.login("ann@example.com")
	if p := c.post("/profile/contacts", url.Values{"channel": {"sms"}, "address": {"+4915112345678"}}); p.status != http.StatusSeeOther {
		t.Fatalf("add: %d %s", p.status, p.body)
	}
	id := profileContactID(t, h, ann.ID, "sms")
	p := c.get("/profile")
	if !strings.Contains(p.body, "the code could not be sent") || !strings.Contains(p.body, "Cannot send codes: the sms channel is not set up") {
		t.Fatalf("the page does not say the code could not be sent:\n%s", p.body)
	}
	// The code the service makes (as an administrator's SMS would carry
	// it) still verifies the number through the page.
	_, code, err := h.teams.StartVerification(context.Background(), ann.ID, id)
	if err != nil {
		t.Fatal(err)
	}
	if p := c.post("/profile/contacts/"+id+"/verify", url.Values{"code": {code[:3] + " " + code[3:]}}); p.status != http.StatusSeeOther {
		t.Fatalf("verify: %d %s", p.status, p.body)
	}
	if cm, _ := h.teams.ContactMethod(context.Background(), ann.ID, id); !cm.Verified {
		t.Fatal("the number is not verified")
	}
	if p := c.post("/profile/contacts/"+id+"/test", nil); p.status != http.StatusServiceUnavailable || !strings.Contains(p.body, "the sms channel is not set up") {
		t.Errorf("a test on a channel that is not set up: %d", p.status)
	}

	none := newHarness(t, store.SQLite, func(h *harness, cfg *Config) { cfg.Channels = nil })
	none.member(none.team.ID, "ann@example.com", team.RoleResponder)
	nc := none.login("ann@example.com")
	nc.post("/profile/contacts", url.Values{"channel": {"email"}, "address": {"ann@example.com"}})
	if p := nc.get("/profile"); p.status != http.StatusOK || !strings.Contains(p.body, "channels are not set up on this server") {
		t.Errorf("without channels the page does not say so: %d", p.status)
	}
}

func TestNobodyTouchesAnotherUsersContactMethods(t *testing.T) {
	h := sqliteHarness(t)
	ctx := context.Background()
	h.member(h.team.ID, "ann@example.com", team.RoleResponder)
	bob := h.member(h.team.ID, "bob@example.com", team.RoleResponder)
	cm, err := h.teams.AddContactMethod(ctx, bob.ID, "sms", "+4915112345678", "")
	if err != nil {
		t.Fatal(err)
	}
	hook, err := h.teams.AddContactMethod(ctx, bob.ID, "webhook", "https://hooks.example/bob", "")
	if err != nil {
		t.Fatal(err)
	}
	c := h.login("ann@example.com")
	for _, action := range []string{"delete", "send-code", "verify", "test"} {
		if p := c.post("/profile/contacts/"+cm.ID+"/"+action, url.Values{"code": {"123456"}}); p.status != http.StatusNotFound {
			t.Errorf("%s on bob's number: %d, want 404", action, p.status)
		}
	}
	if p := c.post("/profile/contacts/"+hook.ID+"/delete", nil); p.status != http.StatusNotFound {
		t.Errorf("deleting bob's webhook: %d, want 404", p.status)
	}
	if cms, _ := h.teams.ContactMethods(ctx, bob.ID); len(cms) != 2 {
		t.Fatalf("bob has %d contact methods left, want 2", len(cms))
	}
	if p := c.post("/profile/rules", url.Values{"minutes": {"0"}, "method": {hook.ID}}); p.status != http.StatusBadRequest {
		t.Errorf("a rule with bob's webhook: %d, want 400", p.status)
	}
	if p := h.login("bob@example.com").get("/profile"); strings.Contains(p.body, "ann@example.com") {
		t.Errorf("bob's profile shows ann's data")
	}
}

func TestNotificationRulesAreSavedAndShown(t *testing.T) {
	h := sqliteHarness(t)
	ctx := context.Background()
	ann := h.member(h.team.ID, "ann@example.com", team.RoleResponder)
	hook, err := h.teams.AddContactMethod(ctx, ann.ID, "webhook", "https://hooks.example/ann", "Pager bridge")
	if err != nil {
		t.Fatal(err)
	}
	mail, err := h.teams.AddContactMethod(ctx, ann.ID, "email", "ann@example.com", "")
	if err != nil {
		t.Fatal(err)
	}
	c := h.login("ann@example.com")
	if p := c.get("/profile"); !strings.Contains(dutyBetween(p.body, "What applies in each team", "</section>"), "team default") {
		t.Errorf("without own rules the page does not show the team defaults")
	}
	form := url.Values{"minutes": {"0", "5", "", "2"}, "method": {hook.ID, mail.ID, "", ""}}
	if p := c.post("/profile/rules", form); p.status != http.StatusSeeOther {
		t.Fatalf("save rules: %d %s", p.status, p.body)
	}
	rules, err := h.teams.UserRules(ctx, ann.ID)
	if err != nil || len(rules) != 2 || rules[0].ContactMethodID != hook.ID || rules[0].DelaySeconds != 0 || rules[1].ContactMethodID != mail.ID || rules[1].DelaySeconds != 300 {
		t.Fatalf("saved rules %+v, %v; want the webhook at once and email after 5 minutes", rules, err)
	}
	p := c.get("/profile")
	if !strings.Contains(p.body, "Saved. 2 steps reach you.") || !strings.Contains(p.body, `value="5"`) || !strings.Contains(p.body, `<option value="`+mail.ID+`" selected>`) {
		t.Errorf("the page does not show the saved steps")
	}
	applies := dutyBetween(p.body, "What applies in each team", "</section>")
	if !strings.Contains(applies, "after 5 min · email") || strings.Contains(applies, "team default") {
		t.Errorf("the effective rules do not show the own steps:\n%s", applies)
	}
	if p := c.post("/profile/rules", url.Values{"minutes": {"soon"}, "method": {hook.ID}}); p.status != http.StatusBadRequest || !strings.Contains(p.body, "not a number of minutes") {
		t.Errorf("minutes that are not a number: %d", p.status)
	}
	if p := c.post("/profile/rules", url.Values{"minutes": {""}, "method": {""}}); p.status != http.StatusSeeOther {
		t.Fatalf("clear rules: %d", p.status)
	}
	if rules, _ := h.teams.UserRules(ctx, ann.ID); len(rules) != 0 {
		t.Errorf("clearing left %d rules", len(rules))
	}
}

func TestProfileListsDevicesAndSessions(t *testing.T) {
	h := sqliteHarness(t)
	ctx := context.Background()
	ann := h.member(h.team.ID, "ann@example.com", team.RoleResponder)
	dev, err := h.teams.AddContactMethod(ctx, ann.ID, "push", `{"endpoint":"https://push.example/1"}`, "Firefox on Android")
	if err != nil {
		t.Fatal(err)
	}
	h.login("ann@example.com") // another browser
	h.clock.Advance(time.Minute)
	c := h.login("ann@example.com")
	p := c.get("/profile")
	devices := dutyBetween(p.body, `id="devices"`, "</section>")
	if !strings.Contains(devices, "Firefox on Android") || !strings.Contains(devices, "/profile/contacts/"+dev.ID+"/delete") {
		t.Errorf("the device is not listed with a remove button:\n%s", devices)
	}
	if strings.Contains(dutyBetween(p.body, `id="contacts"`, "</section>"), "push.example") {
		t.Errorf("the push subscription is listed among contact methods")
	}
	if _, err := h.teams.SetUserRules(ctx, ann.ID, []team.UserRule{{DelaySeconds: 0, ContactMethodID: dev.ID}}); err != nil {
		t.Fatal(err)
	}
	p = c.get("/profile")
	if strings.Contains(p.body, "push.example") || !strings.Contains(p.body, "push <span class=\"muted\">Firefox on Android</span>") {
		t.Errorf("the rules in force name the device by its subscription, not its label:\n%s", dutyBetween(p.body, `id="rules"`, "</section>"))
	}
	if !strings.Contains(p.body, `<section id="push-device" class="card" data-vapid="/api/v1/push/vapid-public-key"></section>`) {
		t.Errorf("the push device element is missing")
	}
	sessions := dutyBetween(p.body, `id="sessions"`, "</section>")
	if strings.Count(sessions, `class="cm session"`) != 2 || strings.Count(sessions, "this browser") != 1 || !strings.Contains(sessions, `action="/logout-everywhere"`) {
		t.Errorf("the sessions list is wrong:\n%s", sessions)
	}
	if p := c.post("/profile/contacts/"+dev.ID+"/delete", nil); p.status != http.StatusSeeOther || p.location != "/profile#devices" {
		t.Fatalf("remove device: %d %q", p.status, p.location)
	}
	if profileContactID(t, h, ann.ID, "push") != "" {
		t.Error("the device is still there")
	}
}

func TestProfileBrowserNames(t *testing.T) {
	for ua, want := range map[string]string{
		"Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0 Mobile Safari/537.36":                       "Chrome on Android",
		"Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1": "Safari on iPhone",
		"Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0 Safari/537.36 Edg/126.0":                   "Edge on Windows",
		"Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0":                                                                  "Firefox on Linux",
		"": "Unknown browser",
	} {
		if got := profileBrowser(ua); got != want {
			t.Errorf("profileBrowser(%q) = %q, want %q", ua, got, want)
		}
	}
}
