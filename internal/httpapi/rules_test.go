package httpapi_test

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/lastmile/lastmile/internal/team"
)

func TestSettingsAndRulesThroughTheAPI(t *testing.T) {
	e := sqliteEnv(t)
	ann, annKey := e.user("ann@example.com", e.team.ID, team.RoleResponder)
	bob, bobKey := e.user("bob@example.com", e.team.ID, team.RoleResponder)
	_, mgrKey := e.user("mgr@example.com", e.team.ID, team.RoleManager)
	base := "/api/v1/teams/" + e.team.ID

	settings := map[string]int{"targetResponseSeconds": 300, "repeatEverySeconds": 120, "repeatLimit": 3, "ackTimeoutSeconds": 0}
	if r := e.api("PUT", base+"/alert-settings", annKey, settings); r.status != 403 {
		t.Fatalf("responder sets settings: %d", r.status)
	}
	if r := e.api("PUT", base+"/alert-settings", mgrKey, settings); r.status != 200 {
		t.Fatalf("manager sets settings: %d %s", r.status, r.body)
	}
	if r := e.api("PUT", base+"/alert-settings", mgrKey, map[string]int{"targetResponseSeconds": 5}); r.status != 400 || !strings.Contains(string(r.body), "targetResponseSeconds") {
		t.Fatalf("bad settings: %d %s", r.status, r.body)
	}
	if r := e.api("GET", base+"/alert-settings", annKey, nil); r.status != 200 || r.json(t)["repeatLimit"] != float64(3) {
		t.Fatalf("read settings: %d %s", r.status, r.body)
	}

	if r := e.api("PUT", base+"/notification-rules", mgrKey, []map[string]any{{"channel": "push", "delaySeconds": 0}, {"channel": "sms", "delaySeconds": 120}}); r.status != 200 {
		t.Fatalf("team rules: %d %s", r.status, r.body)
	}
	cm := e.api("POST", "/api/v1/users/"+ann.ID+"/contact-methods", annKey, map[string]string{"channel": "sms", "address": "+4915112345678"})
	smsID := cm.json(t)["id"].(string)
	r := e.api("GET", base+"/members/"+ann.ID+"/notification-rules", annKey, nil)
	var eff struct{ Items []team.EffectiveRule }
	json.Unmarshal(r.body, &eff)
	if r.status != 200 || len(eff.Items) != 1 || eff.Items[0].Channel != "sms" || !eff.Items[0].TeamDefault || eff.Items[0].DelaySeconds != 120 {
		t.Fatalf("effective rules: %d %s", r.status, r.body)
	}
	if r := e.api("GET", base+"/members/"+ann.ID+"/notification-rules", bobKey, nil); r.status != 403 {
		t.Fatalf("bob reads ann's rules: %d", r.status)
	}
	if r := e.api("GET", base+"/members/"+ann.ID+"/notification-rules", mgrKey, nil); r.status != 200 {
		t.Fatalf("manager reads ann's rules: %d", r.status)
	}

	if r := e.api("PUT", "/api/v1/users/"+ann.ID+"/notification-rules", bobKey, []map[string]any{}); r.status != 403 {
		t.Fatalf("bob sets ann's rules: %d", r.status)
	}
	if r := e.api("PUT", "/api/v1/users/"+ann.ID+"/notification-rules", annKey, []map[string]any{{"contactMethodId": smsID, "delaySeconds": 60}}); r.status != 200 {
		t.Fatalf("own rules: %d %s", r.status, r.body)
	}
	if r := e.api("PUT", "/api/v1/users/"+bob.ID+"/notification-rules", bobKey, []map[string]any{{"contactMethodId": smsID}}); r.status != 400 {
		t.Fatalf("bob using ann's contact method: %d", r.status)
	}
	r = e.api("GET", "/api/v1/users/"+ann.ID+"/notification-rules", annKey, nil)
	if r.status != 200 || !strings.Contains(string(r.body), `"delaySeconds":60`) {
		t.Fatalf("read own rules: %d %s", r.status, r.body)
	}
	if r := e.api("DELETE", base+"/alert-settings", mgrKey, nil); r.status != 405 || !strings.Contains(r.header.Get("Allow"), "PUT") {
		t.Fatalf("DELETE settings: %d allow %q", r.status, r.header.Get("Allow"))
	}
}
