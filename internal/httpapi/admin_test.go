package httpapi_test

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/lastmile/lastmile/internal/team"
)

func TestAuthentication(t *testing.T) {
	e := sqliteEnv(t)
	if r := e.api("GET", "/api/v1/users/me", "", nil); r.status != 401 || r.header.Get("WWW-Authenticate") == "" {
		t.Fatalf("no key: %d", r.status)
	}
	if r := e.api("GET", "/api/v1/users/me", "lm_notakey", nil); r.status != 401 {
		t.Fatalf("bad key: %d", r.status)
	}
	r := e.do("GET", "/api/v1/users/me", nil, map[string]string{"X-S4-Api-Key": e.adminKey})
	if r.status != 200 || r.json(t)["email"] != "admin@example.com" {
		t.Fatalf("X-S4-Api-Key: %d %s", r.status, r.body)
	}
	// A new key works, is listed without its secret, and stops working when revoked.
	me := r.json(t)["id"].(string)
	r = e.api("POST", "/api/v1/users/"+me+"/api-keys", e.adminKey, map[string]string{"name": "ci"})
	created := r.json(t)
	key, keyID := created["key"].(string), created["id"].(string)
	if r.status != 201 || !strings.HasPrefix(key, "lm_") {
		t.Fatalf("create key: %d %s", r.status, r.body)
	}
	if r := e.api("GET", "/api/v1/users/"+me+"/api-keys", key, nil); r.status != 200 || strings.Contains(string(r.body), key) {
		t.Fatalf("list keys: %d, contains secret %v", r.status, strings.Contains(string(r.body), key))
	}
	if r := e.api("DELETE", "/api/v1/users/"+me+"/api-keys/"+keyID, e.adminKey, nil); r.status != 204 {
		t.Fatalf("revoke: %d", r.status)
	}
	if r := e.api("GET", "/api/v1/users/me", key, nil); r.status != 401 {
		t.Fatalf("revoked key: %d", r.status)
	}
}

func TestRoles(t *testing.T) {
	e := sqliteEnv(t)
	responder, rkey := e.user("r@example.com", e.team.ID, team.RoleResponder)
	_, mkey := e.user("m@example.com", e.team.ID, team.RoleManager)
	_, akey := e.user("a@example.com", e.team.ID, team.RoleAdmin)
	cases := []struct {
		name, method, path, key string
		body                    any
		status                  int
	}{
		{"responder lists users", "GET", "/api/v1/users", rkey, nil, 403},
		{"responder creates team", "POST", "/api/v1/teams", rkey, map[string]string{"name": "X"}, 403},
		{"responder adds member", "POST", "/api/v1/teams/" + e.team.ID + "/members", rkey, map[string]string{"user": "m@example.com"}, 403},
		{"responder reads members", "GET", "/api/v1/teams/" + e.team.ID + "/members", rkey, nil, 200},
		{"responder adds category", "POST", "/api/v1/teams/" + e.team.ID + "/categories", rkey, map[string]any{"name": "Net"}, 403},
		{"manager adds category", "POST", "/api/v1/teams/" + e.team.ID + "/categories", mkey, map[string]any{"name": "Net", "keywords": []string{"switch"}}, 201},
		{"manager rotates secret", "POST", "/api/v1/teams/" + e.team.ID + "/rotate-secret", mkey, nil, 403},
		{"team admin renames team", "PATCH", "/api/v1/teams/" + e.team.ID, akey, map[string]string{"name": "Operations"}, 200},
		{"team admin deletes team", "DELETE", "/api/v1/teams/" + e.team.ID, akey, nil, 403},
		{"responder reads own user", "GET", "/api/v1/users/" + responder.ID, rkey, nil, 200},
		{"manager reads another user", "GET", "/api/v1/users/" + responder.ID, mkey, nil, 403},
		{"responder makes self admin", "PATCH", "/api/v1/users/" + responder.ID, rkey, map[string]any{"isAdmin": true}, 403},
		{"responder sets own time zone", "PATCH", "/api/v1/users/" + responder.ID, rkey, map[string]any{"timeZone": "Europe/Berlin"}, 200},
		{"bad time zone", "PATCH", "/api/v1/users/" + responder.ID, rkey, map[string]any{"timeZone": "Mars/Olympus"}, 400},
		{"unknown field", "PATCH", "/api/v1/users/" + responder.ID, rkey, map[string]any{"tz": "UTC"}, 400},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if r := e.api(c.method, c.path, c.key, c.body); r.status != c.status {
				t.Fatalf("status %d, want %d: %s", r.status, c.status, r.body)
			}
		})
	}
}

func TestTeamsMembersAndContacts(t *testing.T) {
	e := sqliteEnv(t)
	r := e.api("POST", "/api/v1/teams", e.adminKey, map[string]string{"name": "SOC", "defaultScenario": "multi_ack"})
	if r.status != 201 {
		t.Fatalf("create team: %d %s", r.status, r.body)
	}
	created := r.json(t)
	soc, secret := created["id"].(string), created["secret"].(string)
	if created["webhookUrl"] != "http://lastmile.test/webhook/"+secret || created["defaultScenario"] != "multi_ack" {
		t.Fatalf("created team %s", r.body)
	}
	if r := e.api("POST", "/api/v1/teams", e.adminKey, map[string]string{"name": "Bad", "defaultScenario": "all_hands"}); r.status != 400 {
		t.Fatalf("bad scenario: %d", r.status)
	}
	if r := e.api("GET", "/api/v1/teams", e.adminKey, nil); strings.Contains(string(r.body), `"Bad"`) {
		t.Fatal("a refused team was created anyway")
	}
	if r := e.api("POST", "/api/v1/teams", e.adminKey, map[string]string{"name": "SOC"}); r.status != 409 {
		t.Fatalf("duplicate team: %d", r.status)
	}
	// Alerts to the new team get its default scenario.
	r = e.do("POST", "/webhook/"+secret, strings.NewReader(`{"Title":"x"}`), map[string]string{"Content-Type": "application/json"})
	if a := e.alert(r.header.Get("X-Lastmile-Alert-Id")); a.Scenario != "multi_ack" || a.TeamID != soc {
		t.Fatalf("alert %+v", a)
	}

	r = e.api("POST", "/api/v1/users", e.adminKey, map[string]any{"email": "Ann@Example.com", "name": "Ann", "timeZone": "Europe/Berlin"})
	if r.status != 201 || r.json(t)["email"] != "ann@example.com" {
		t.Fatalf("create user: %d %s", r.status, r.body)
	}
	ann := r.json(t)["id"].(string)
	if r := e.api("POST", "/api/v1/teams/"+soc+"/members", e.adminKey, map[string]string{"user": "ann@example.com", "role": "manager"}); r.status != 201 {
		t.Fatalf("add member: %d %s", r.status, r.body)
	}
	if r := e.api("POST", "/api/v1/teams/"+soc+"/members", e.adminKey, map[string]string{"user": ann, "role": "boss"}); r.status != 400 {
		t.Fatalf("bad role: %d", r.status)
	}
	if r := e.api("PATCH", "/api/v1/teams/"+soc+"/members/"+ann, e.adminKey, map[string]string{"role": "responder"}); r.status != 200 || r.json(t)["role"] != "responder" {
		t.Fatalf("set role: %d %s", r.status, r.body)
	}
	r = e.api("GET", "/api/v1/teams/"+soc+"/members", e.adminKey, nil)
	var members struct{ Items []team.Member }
	json.Unmarshal(r.body, &members)
	if len(members.Items) != 1 || members.Items[0].TimeZone != "Europe/Berlin" {
		t.Fatalf("members %s", r.body)
	}

	cm := e.api("POST", "/api/v1/users/"+ann+"/contact-methods", e.adminKey, map[string]string{"channel": "sms", "address": "+49 (151) 1234-5678"})
	if cm.status != 201 || cm.json(t)["address"] != "+4915112345678" {
		t.Fatalf("contact method: %d %s", cm.status, cm.body)
	}
	if r := e.api("POST", "/api/v1/users/"+ann+"/contact-methods", e.adminKey, map[string]string{"channel": "sms", "address": "0151 1234"}); r.status != 400 || !strings.Contains(string(r.body), "E.164") {
		t.Fatalf("bad phone: %d %s", r.status, r.body)
	}
	if r := e.api("DELETE", "/api/v1/users/"+ann+"/contact-methods/"+cm.json(t)["id"].(string), e.adminKey, nil); r.status != 204 {
		t.Fatalf("delete contact: %d", r.status)
	}
	if r := e.api("DELETE", "/api/v1/teams/"+soc+"/members/"+ann, e.adminKey, nil); r.status != 204 {
		t.Fatalf("remove member: %d", r.status)
	}
	if r := e.api("DELETE", "/api/v1/users/"+ann, e.adminKey, nil); r.status != 204 {
		t.Fatalf("delete user: %d", r.status)
	}
	if r := e.api("GET", "/api/v1/users/"+ann+"/api-keys", e.adminKey, nil); r.status != 404 {
		t.Fatalf("keys of deleted user: %d", r.status)
	}

	// Rotating the secret retires the old one at once.
	r = e.api("POST", "/api/v1/teams/"+soc+"/rotate-secret", e.adminKey, nil)
	newSecret := r.json(t)["secret"].(string)
	if r := e.do("POST", "/webhook/"+secret, strings.NewReader("x"), nil); r.status != 404 {
		t.Fatalf("old secret: %d", r.status)
	}
	if r := e.do("POST", "/webhook/"+newSecret, strings.NewReader("x"), nil); r.status != 201 {
		t.Fatalf("new secret: %d", r.status)
	}
}

func TestMethodNotAllowedAndUnknownRoutes(t *testing.T) {
	e := sqliteEnv(t)
	r := e.api("PUT", "/api/v1/users/me", e.adminKey, nil)
	if r.status != 405 || !strings.Contains(r.header.Get("Allow"), "GET") {
		t.Fatalf("PUT me: %d allow %q", r.status, r.header.Get("Allow"))
	}
	if r := e.api("GET", "/api/v1/nothing", e.adminKey, nil); r.status != 404 || r.json(t)["code"] != "not_found" {
		t.Fatalf("unknown route: %d %s", r.status, r.body)
	}
	if r := e.do("POST", "/webhook/", strings.NewReader("x"), nil); r.status != 404 {
		t.Fatalf("webhook without secret: %d", r.status)
	}
}

func TestHealth(t *testing.T) {
	e := sqliteEnv(t)
	if r := e.do("GET", "/healthz", nil, nil); r.status != 200 {
		t.Fatalf("healthz %d", r.status)
	}
	if r := e.do("GET", "/readyz", nil, nil); r.status != 200 {
		t.Fatalf("readyz %d %s", r.status, r.body)
	}
	if _, err := e.db.Exec(t.Context(), `INSERT INTO schema_migrations (version, name, applied_at) VALUES (9999, 'future', 0)`); err != nil {
		t.Fatal(err)
	}
	if r := e.do("GET", "/readyz", nil, nil); r.status != 503 {
		t.Fatalf("readyz with a foreign schema: %d", r.status)
	}
	e.db.Close()
	if r := e.do("GET", "/readyz", nil, nil); r.status != 503 {
		t.Fatalf("readyz with the database gone: %d", r.status)
	}
	if r := e.do("GET", "/healthz", nil, nil); r.status != 200 {
		t.Fatalf("healthz with the database gone: %d", r.status)
	}
}
