package httpapi_test

import (
	"context"
	"net/http"
	"strings"
	"testing"

	"github.com/lastmile/lastmile/internal/team"
)

// The web app's scripts call the API with the session cookie; a change
// needs the session's CSRF token too, so another site's page cannot make
// the browser act.
func TestSessionCookieAuthenticatesWithCSRFForChanges(t *testing.T) {
	e := sqliteEnv(t)
	ctx := context.Background()
	u, err := e.teams.CreateUser(ctx, team.NewUser{Email: "ann@example.com"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.teams.AddMember(ctx, e.team.ID, u.ID, team.RoleResponder); err != nil {
		t.Fatal(err)
	}
	ss, err := e.sessions.Create(ctx, u.ID, "password", "test")
	if err != nil {
		t.Fatal(err)
	}
	cookie := e.sessions.CookieName() + "=" + ss.ID

	r := e.do("GET", "/api/v1/users/me", nil, map[string]string{"Cookie": cookie})
	if r.status != http.StatusOK || r.json(t)["email"] != "ann@example.com" {
		t.Fatalf("GET with the session cookie: %d %s", r.status, r.body)
	}
	body := `{"name": "Ann"}`
	r = e.do("PATCH", "/api/v1/users/"+u.ID, strings.NewReader(body), map[string]string{"Cookie": cookie, "Content-Type": "application/json"})
	if r.status != http.StatusForbidden || !strings.Contains(string(r.body), "X-CSRF-Token") {
		t.Fatalf("PATCH with the cookie but no CSRF token: %d %s, want 403 naming X-CSRF-Token", r.status, r.body)
	}
	r = e.do("PATCH", "/api/v1/users/"+u.ID, strings.NewReader(body), map[string]string{"Cookie": cookie, "Content-Type": "application/json", "X-CSRF-Token": "forged"})
	if r.status != http.StatusForbidden {
		t.Fatalf("PATCH with a forged CSRF token: %d", r.status)
	}
	r = e.do("PATCH", "/api/v1/users/"+u.ID, strings.NewReader(body), map[string]string{"Cookie": cookie, "Content-Type": "application/json", "X-CSRF-Token": ss.CSRF})
	if r.status != http.StatusOK {
		t.Fatalf("PATCH with the session's CSRF token: %d %s", r.status, r.body)
	}
	if got, _ := e.teams.User(ctx, u.ID); got.Name != "Ann" {
		t.Fatalf("name after PATCH = %q", got.Name)
	}

	// A responder's session reaches no further than their API key would.
	if r := e.do("GET", "/api/v1/users", nil, map[string]string{"Cookie": cookie}); r.status != http.StatusForbidden {
		t.Fatalf("a responder's session listed all users: %d", r.status)
	}
	// An ended session is no session.
	if err := e.sessions.Delete(ctx, ss.ID); err != nil {
		t.Fatal(err)
	}
	if r := e.do("GET", "/api/v1/users/me", nil, map[string]string{"Cookie": cookie}); r.status != http.StatusUnauthorized {
		t.Fatalf("an ended session answered %d, want 401", r.status)
	}
}
