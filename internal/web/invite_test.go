package web

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"

	"github.com/lastmile/lastmile/internal/apperr"
	"github.com/lastmile/lastmile/internal/notify"
	"github.com/lastmile/lastmile/internal/notify/settings"
	"github.com/lastmile/lastmile/internal/seal"
	"github.com/lastmile/lastmile/internal/team"
)

var inviteLinkRE = regexp.MustCompile(`http://lastmile\.test/invite/([A-Za-z0-9_-]{43})`)

// inviteToken returns the invitation token shown on a page.
func inviteToken(t *testing.T, body string) string {
	t.Helper()
	m := inviteLinkRE.FindStringSubmatch(body)
	if m == nil {
		t.Fatalf("no invitation link on the page:\n%s", body)
	}
	return m[1]
}

func TestInviteByEmailEndToEnd(t *testing.T) {
	eachDialect(t, func(t *testing.T, h *harness) {
		ctx := context.Background()
		h.member(h.team.ID, "tadm@example.com", team.RoleAdmin)
		tadm := h.login("tadm@example.com")
		p := tadm.post("/teams/"+h.team.ID+"/invite", url.Values{"email": {"New.Person@Example.com"}, "name": {"New Person"}, "role": {"manager"}})
		if p.status != http.StatusOK {
			t.Fatalf("invite: %d %s", p.status, p.body)
		}
		if !strings.Contains(p.body, "Email is not set up") {
			t.Error("the page does not say why the link was not emailed")
		}
		token := inviteToken(t, p.body)
		u, err := h.teams.UserByEmail(ctx, "new.person@example.com")
		if err != nil || u.Name != "New Person" {
			t.Fatalf("invited user %+v %v", u, err)
		}
		if m, err := h.teams.Member(ctx, h.team.ID, u.ID); err != nil || m.Role != team.RoleManager {
			t.Fatalf("membership %+v %v, want manager", m, err)
		}
		if _, err := h.teams.CheckPassword(ctx, u.Email, ""); err == nil {
			t.Fatal("the invited user can sign in without a password")
		}
		// Only the token's hash is stored.
		var stored []byte
		if err := h.db.QueryRow(ctx, `SELECT token_hash FROM invites WHERE user_id = ?`, u.ID).Scan(&stored); err != nil {
			t.Fatal(err)
		}
		if sum := sha256.Sum256([]byte(token)); !bytes.Equal(stored, sum[:]) {
			t.Fatal("the stored invitation is not the SHA-256 of the token")
		}
		if again := tadm.get("/teams/" + h.team.ID); strings.Contains(again.body, token) || !strings.Contains(again.body, "invited") {
			t.Error("the members page shows the link again, or does not mark the member as invited")
		}

		anon := h.anon()
		form := anon.get("/invite/" + token)
		if form.status != http.StatusOK || !strings.Contains(form.body, "new.person@example.com") || !strings.Contains(form.body, `autocomplete="new-password"`) {
			t.Fatalf("invitation form: %d %s", form.status, form.body)
		}
		path := "/invite/" + token
		if p := anon.post(path, url.Values{"name": {"Nova"}, "password": {"a long password 1"}, "confirm": {"a long password 2"}}); p.status != http.StatusBadRequest || !strings.Contains(p.body, "not the same") {
			t.Fatalf("different passwords: %d", p.status)
		}
		if p := anon.post(path, url.Values{"password": {"short"}, "confirm": {"short"}}); p.status != http.StatusBadRequest || !strings.Contains(p.body, "12 characters") {
			t.Fatalf("short password: %d %s", p.status, p.body)
		}
		p = anon.post(path, url.Values{"name": {"Nova"}, "password": {"a long password 1"}, "confirm": {"a long password 1"}})
		if p.status != http.StatusSeeOther || p.location != "/inbox" {
			t.Fatalf("accept: %d %q %s", p.status, p.location, p.body)
		}
		// The browser is signed in as the new member, who is a manager.
		if c := anon.get("/teams/" + h.team.ID); c.status != http.StatusOK || !strings.Contains(c.body, "Nova") {
			t.Fatalf("after accepting, the members page answers %d", c.status)
		}
		if _, err := h.teams.CheckPassword(ctx, u.Email, "a long password 1"); err != nil {
			t.Fatal("the chosen password does not sign in")
		}
		// The link works once.
		if p := h.anon().get(path); p.status != http.StatusNotFound || !strings.Contains(p.body, "already been used") {
			t.Fatalf("a used link: %d %s", p.status, p.body)
		}
		if p := h.anon().post(path, url.Values{"password": {"another password!"}, "confirm": {"another password!"}}); p.status != http.StatusNotFound {
			t.Fatalf("posting to a used link: %d", p.status)
		}
		if _, err := h.teams.CheckPassword(ctx, u.Email, "another password!"); err == nil {
			t.Fatal("a used link changed the password")
		}
	})
}

func TestInviteLinksExpireAndUnknownOnesAreRefused(t *testing.T) {
	h := sqliteHarness(t)
	admin := h.login("admin@example.com")
	token := inviteToken(t, admin.post("/admin/users", url.Values{"email": {"late@example.com"}}).body)
	if p := h.anon().get("/invite/not-a-real-token"); p.status != http.StatusNotFound || !strings.Contains(p.body, "not valid") {
		t.Errorf("unknown token: %d", p.status)
	}
	h.clock.Advance(inviteValidity)
	if p := h.anon().get("/invite/" + token); p.status != http.StatusNotFound || !strings.Contains(p.body, "expired") {
		t.Fatalf("expired link: %d %s", p.status, p.body)
	}
	if p := h.anon().post("/invite/"+token, url.Values{"password": {"a long password 1"}, "confirm": {"a long password 1"}}); p.status != http.StatusNotFound {
		t.Fatalf("posting to an expired link: %d", p.status)
	}
}

func TestInviteAddsExistingUsersDirectly(t *testing.T) {
	h := sqliteHarness(t)
	ctx := context.Background()
	h.member(h.team.ID, "tadm@example.com", team.RoleAdmin)
	known := h.user("known@example.com", false)
	tadm := h.login("tadm@example.com")
	p := tadm.post("/teams/"+h.team.ID+"/invite", url.Values{"email": {"known@example.com"}, "role": {"responder"}})
	if p.status != http.StatusSeeOther {
		t.Fatalf("adding an existing user: %d %s", p.status, p.body)
	}
	if _, err := h.teams.Member(ctx, h.team.ID, known.ID); err != nil {
		t.Fatal("the existing user was not added")
	}
	var n int
	if err := h.db.QueryRow(ctx, `SELECT COUNT(*) FROM invites WHERE user_id = ?`, known.ID).Scan(&n); err != nil || n != 0 {
		t.Fatalf("an existing user got %d invitations (%v)", n, err)
	}
	if p := tadm.post("/teams/"+h.team.ID+"/invite", url.Values{"email": {"known@example.com"}}); p.status != http.StatusConflict {
		t.Errorf("adding a member twice: %d, want 409", p.status)
	}
	if p := tadm.post("/teams/"+h.team.ID+"/invite", url.Values{"email": {"not an address"}}); p.status != http.StatusBadRequest {
		t.Errorf("a wrong address: %d, want 400", p.status)
	}
	if p := tadm.post("/teams/"+h.team.ID+"/members/"+known.ID+"/invite", nil); p.status != http.StatusConflict {
		t.Errorf("a new link for someone who has joined: %d, want 409", p.status)
	}
}

// A team admin must not get a link that sets an instance administrator's
// password, even one who has not joined yet.
func TestInviteLinkForAdministratorsOnlyFromAdministrators(t *testing.T) {
	h := sqliteHarness(t)
	ctx := context.Background()
	h.member(h.team.ID, "tadm@example.com", team.RoleAdmin)
	admin := h.login("admin@example.com")
	inviteToken(t, admin.post("/admin/users", url.Values{"email": {"boss@example.com"}, "admin": {"yes"}}).body)
	boss, err := h.teams.UserByEmail(ctx, "boss@example.com")
	if err != nil || !boss.IsAdmin {
		t.Fatalf("new administrator %+v %v", boss, err)
	}
	tadm := h.login("tadm@example.com")
	p := tadm.post("/teams/"+h.team.ID+"/invite", url.Values{"email": {"boss@example.com"}})
	if p.status != http.StatusSeeOther || inviteLinkRE.MatchString(p.body) {
		t.Fatalf("adding a pending administrator to a team: %d, or a link was shown", p.status)
	}
	if p := tadm.post("/teams/"+h.team.ID+"/members/"+boss.ID+"/invite", nil); p.status != http.StatusConflict {
		t.Fatalf("a team admin asking a new link for an administrator: %d, want 409", p.status)
	}
}

// inviteMailer is an email provider that keeps what it sends, or fails.
type inviteMailer struct {
	mu   sync.Mutex
	sent []notify.Message
	fail bool
}

func (m *inviteMailer) Name() string { return "email" }

func (m *inviteMailer) Send(_ context.Context, msg notify.Message) (string, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.fail {
		return "", errors.New("550 mailbox unavailable")
	}
	m.sent = append(m.sent, msg)
	return "mail-1", nil
}

func (m *inviteMailer) messages() []notify.Message {
	m.mu.Lock()
	defer m.mu.Unlock()
	return append([]notify.Message(nil), m.sent...)
}

// withInviteMailer gives the web app an email channel that is m.
func withInviteMailer(m *inviteMailer) harnessOption {
	return func(h *harness, cfg *Config) {
		box, err := seal.New([]byte("lastmile-web-test-key-32-bytes!!"))
		if err != nil {
			h.t.Fatal(err)
		}
		log := slog.New(slog.DiscardHandler)
		p := notify.Provider{Name: "testmail", Channels: []string{"email"},
			Build: func(json.RawMessage, notify.Deps) ([]notify.Channel, error) { return []notify.Channel{m}, nil }}
		svc := settings.New(h.db, box, h.clock, log, notify.Deps{Log: log, Clock: h.clock}, notify.NewRegistry(), p)
		if err := svc.Load(context.Background()); err != nil {
			h.t.Fatal(err)
		}
		cfg.Channels = svc
	}
}

func TestInviteIsEmailedWhenEmailWorks(t *testing.T) {
	mail := &inviteMailer{}
	h := sqliteHarness(t, withInviteMailer(mail))
	h.member(h.team.ID, "tadm@example.com", team.RoleAdmin)
	p := h.login("tadm@example.com").post("/teams/"+h.team.ID+"/invite", url.Values{"email": {"mailed@example.com"}, "role": {"responder"}})
	if p.status != http.StatusOK || !strings.Contains(p.body, "Invitation sent") || inviteLinkRE.MatchString(p.body) {
		t.Fatalf("emailed invitation: %d; the page must say it was sent and not show the link:\n%s", p.status, p.body)
	}
	msgs := mail.messages()
	if len(msgs) != 1 || msgs[0].Address != "mailed@example.com" || !strings.Contains(msgs[0].Title, "Team Ops") {
		t.Fatalf("sent %+v", msgs)
	}
	token := inviteToken(t, msgs[0].Text)
	if len(msgs[0].Actions) != 1 || !strings.HasSuffix(msgs[0].Actions[0].URL, "/invite/"+token) {
		t.Errorf("the email's button does not open the link: %+v", msgs[0].Actions)
	}
	c := h.anon()
	if p := c.post("/invite/"+token, url.Values{"password": {"mailed password 1"}, "confirm": {"mailed password 1"}}); p.status != http.StatusSeeOther {
		t.Fatalf("accepting the emailed link: %d %s", p.status, p.body)
	}
	// Signed in as a responder, the console answers "forbidden", not "sign in".
	if p := c.get("/console"); p.status != http.StatusForbidden {
		t.Fatalf("after accepting, /console answers %d, want 403 for a signed-in responder", p.status)
	}

	// When the email fails, the link is shown with the reason.
	mail.mu.Lock()
	mail.fail = true
	mail.mu.Unlock()
	p = h.login("admin@example.com").post("/admin/users", url.Values{"email": {"bounced@example.com"}})
	if p.status != http.StatusOK || !strings.Contains(p.body, "could not be sent") {
		t.Fatalf("failed email: %d %s", p.status, p.body)
	}
	inviteToken(t, p.body)
}

func TestInviteUseIsOnce(t *testing.T) {
	eachDialect(t, func(t *testing.T, h *harness) {
		ctx := context.Background()
		u := h.user("twice@example.com", false)
		st := h.web.invites()
		first, err := st.create(ctx, u.ID, h.admin.ID)
		if err != nil {
			t.Fatal(err)
		}
		second, err := st.create(ctx, u.ID, h.admin.ID)
		if err != nil {
			t.Fatal(err)
		}
		if ok, _ := st.isPending(ctx, u.ID); !ok {
			t.Fatal("an invited user is not pending")
		}
		if err := st.use(ctx, first, u.ID); err != nil {
			t.Fatal(err)
		}
		if err := st.use(ctx, first, u.ID); apperr.KindOf(err) != apperr.NotFound {
			t.Fatalf("using a token twice: %v", err)
		}
		// Using one link closes the user's other links.
		if _, err := st.lookup(ctx, second); apperr.KindOf(err) != apperr.NotFound {
			t.Fatalf("the second link still works after the first was used: %v", err)
		}
		if ok, _ := st.isPending(ctx, u.ID); ok {
			t.Fatal("a user who used an invitation is still pending")
		}
	})
}
