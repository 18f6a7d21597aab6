package web

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/lastmile/lastmile/internal/team"
)

func TestAdminPagesRefuseNonAdministrators(t *testing.T) {
	h := sqliteHarness(t)
	h.member(h.team.ID, "tadm@example.com", team.RoleAdmin)
	h.member(h.team.ID, "resp@example.com", team.RoleResponder)
	victim := h.user("victim@example.com", false)
	for _, email := range []string{"tadm@example.com", "resp@example.com"} {
		c := h.login(email)
		for _, path := range []string{"/admin", "/admin/users"} {
			if p := c.get(path); p.status != http.StatusForbidden {
				t.Errorf("%s GET %s: %d, want 403", email, path, p.status)
			}
		}
		if p := c.post("/admin/users", url.Values{"email": {"sneaky@example.com"}, "admin": {"yes"}}); p.status != http.StatusForbidden {
			t.Errorf("%s adding a user: %d, want 403", email, p.status)
		}
		if p := c.post("/admin/users/"+victim.ID+"/admin", url.Values{"admin": {"yes"}}); p.status != http.StatusForbidden {
			t.Errorf("%s making someone an administrator: %d, want 403", email, p.status)
		}
		if p := c.post("/admin/users/"+victim.ID+"/invite", nil); p.status != http.StatusForbidden || inviteLinkRE.MatchString(p.body) {
			t.Errorf("%s asking a sign-in link for another user: %d", email, p.status)
		}
		if p := c.post("/admin/users/"+victim.ID+"/delete", url.Values{"confirm": {"yes"}}); p.status != http.StatusForbidden {
			t.Errorf("%s deleting a user: %d, want 403", email, p.status)
		}
	}
	ctx := context.Background()
	if _, err := h.teams.UserByEmail(ctx, "sneaky@example.com"); err == nil {
		t.Error("a refused request created a user")
	}
	if u, err := h.teams.User(ctx, victim.ID); err != nil || u.IsAdmin {
		t.Errorf("a refused request changed or deleted the user: %+v %v", u, err)
	}
	if p := h.anon().get("/admin/users"); p.status != http.StatusSeeOther || !strings.HasPrefix(p.location, "/login") {
		t.Errorf("signed out GET /admin/users: %d %q", p.status, p.location)
	}
}

func TestAdminLanding(t *testing.T) {
	h := sqliteHarness(t)
	p := h.login("admin@example.com").get("/admin")
	if p.status != http.StatusOK {
		t.Fatalf("GET /admin: %d", p.status)
	}
	for _, s := range []string{`href="/admin/users"`, `href="/admin/channels"`, "http://lastmile.test", "SQLite", "Email is not set up"} {
		if !strings.Contains(p.body, s) {
			t.Errorf("the admin page lacks %q", s)
		}
	}
}

func TestAdminUsers(t *testing.T) {
	eachDialect(t, func(t *testing.T, h *harness) {
		ctx := context.Background()
		ann := h.member(h.team.ID, "ann@example.com", team.RoleManager)
		admin := h.login("admin@example.com")
		p := admin.get("/admin/users")
		if p.status != http.StatusOK || !strings.Contains(p.body, "ann@example.com") || !strings.Contains(p.body, `<a href="/teams/`+h.team.ID+`">Ops</a> <span class="muted small">(manager)</span>`) {
			t.Fatalf("users page: %d, lacks ann and her team:\n%s", p.status, p.body)
		}

		// Add: created without a password, with a link to choose one.
		p = admin.post("/admin/users", url.Values{"email": {"bob@example.com"}, "name": {"Bob"}, "admin": {"yes"}})
		if p.status != http.StatusOK {
			t.Fatalf("add user: %d %s", p.status, p.body)
		}
		token := inviteToken(t, p.body)
		bob, err := h.teams.UserByEmail(ctx, "bob@example.com")
		if err != nil || !bob.IsAdmin || bob.Name != "Bob" {
			t.Fatalf("added user %+v %v", bob, err)
		}
		if p := admin.post("/admin/users", url.Values{"email": {"bob@example.com"}}); p.status != http.StatusConflict {
			t.Errorf("adding bob twice: %d, want 409", p.status)
		}
		if p := h.anon().post("/invite/"+token, url.Values{"password": {"bob's password!"}, "confirm": {"bob's password!"}}); p.status != http.StatusSeeOther {
			t.Fatalf("bob accepting: %d", p.status)
		}

		// Administrator rights: for others, never for oneself.
		if p := admin.post("/admin/users/"+ann.ID+"/admin", url.Values{"admin": {"yes"}}); p.status != http.StatusSeeOther {
			t.Fatalf("make ann admin: %d", p.status)
		}
		if u, _ := h.teams.User(ctx, ann.ID); !u.IsAdmin {
			t.Fatal("ann is not an administrator")
		}
		if p := admin.post("/admin/users/"+ann.ID+"/admin", url.Values{"admin": {"no"}}); p.status != http.StatusSeeOther {
			t.Fatalf("take ann's rights: %d", p.status)
		}
		if u, _ := h.teams.User(ctx, ann.ID); u.IsAdmin {
			t.Fatal("ann is still an administrator")
		}
		if p := admin.post("/admin/users/"+h.admin.ID+"/admin", url.Values{"admin": {"no"}}); p.status != http.StatusConflict {
			t.Errorf("taking one's own rights: %d, want 409", p.status)
		}
		if u, _ := h.teams.User(ctx, h.admin.ID); !u.IsAdmin {
			t.Fatal("the administrator took away their own rights")
		}

		// A new sign-in link replaces a forgotten password.
		p = admin.post("/admin/users/"+ann.ID+"/invite", nil)
		reset := inviteToken(t, p.body)
		if p := h.anon().post("/invite/"+reset, url.Values{"password": {"ann's new password"}, "confirm": {"ann's new password"}}); p.status != http.StatusSeeOther {
			t.Fatalf("ann resetting: %d", p.status)
		}
		if _, err := h.teams.CheckPassword(ctx, "ann@example.com", "ann's new password"); err != nil {
			t.Fatal("ann's new password does not work")
		}

		// Delete: confirmed, and never oneself.
		if p := admin.post("/admin/users/"+ann.ID+"/delete", nil); p.status != http.StatusBadRequest {
			t.Errorf("delete without confirming: %d, want 400", p.status)
		}
		if p := admin.post("/admin/users/"+h.admin.ID+"/delete", url.Values{"confirm": {"yes"}}); p.status != http.StatusConflict {
			t.Errorf("deleting oneself: %d, want 409", p.status)
		}
		if p := admin.post("/admin/users/"+ann.ID+"/delete", url.Values{"confirm": {"yes"}}); p.status != http.StatusSeeOther {
			t.Fatalf("delete ann: %d", p.status)
		}
		if _, err := h.teams.User(ctx, ann.ID); err == nil {
			t.Fatal("ann still exists")
		}
		if _, err := h.teams.User(ctx, h.admin.ID); err != nil {
			t.Fatal("the administrator was deleted")
		}
	})
}
