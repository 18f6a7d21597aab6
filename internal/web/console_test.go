package web

import (
	"context"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/lastmile/lastmile/internal/team"
)

// consoleTeams adds a second team "Net" and, in "Ops", a responder, a
// manager and a team admin; "Net" gets a manager of its own.
func consoleTeams(t *testing.T, h *harness) (net team.Team) {
	t.Helper()
	net, _, err := h.teams.CreateTeam(context.Background(), "Net", "")
	if err != nil {
		t.Fatal(err)
	}
	h.member(h.team.ID, "resp@example.com", team.RoleResponder)
	h.member(h.team.ID, "mgr@example.com", team.RoleManager)
	h.member(h.team.ID, "tadm@example.com", team.RoleAdmin)
	h.member(net.ID, "netmgr@example.com", team.RoleManager)
	return net
}

func consoleRole(t *testing.T, h *harness, teamID, email string) team.Role {
	t.Helper()
	u, err := h.teams.UserByEmail(context.Background(), email)
	if err != nil {
		t.Fatal(err)
	}
	m, err := h.teams.Member(context.Background(), teamID, u.ID)
	if err != nil {
		t.Fatal(err)
	}
	return m.Role
}

func TestConsoleRoleBoundaries(t *testing.T) {
	h := sqliteHarness(t)
	net := consoleTeams(t, h)
	ops := "/teams/" + h.team.ID
	resp, mgr, tadm := h.login("resp@example.com"), h.login("mgr@example.com"), h.login("tadm@example.com")

	// A responder manages nothing: the console and their own team's
	// settings are forbidden, another team's do not exist.
	for _, path := range []string{"/console", ops, ops + "/escalation", ops + "/categories"} {
		if p := resp.get(path); p.status != http.StatusForbidden {
			t.Errorf("responder GET %s: %d, want 403", path, p.status)
		}
	}
	if p := resp.get("/console"); !strings.Contains(p.body, "team managers and admins") {
		t.Errorf("the console's refusal does not say who may use it: %s", p.body)
	}
	for _, path := range []string{"/teams/" + net.ID, "/teams/" + net.ID + "/escalation", "/teams/" + net.ID + "/categories"} {
		if p := resp.get(path); p.status != http.StatusNotFound {
			t.Errorf("responder GET %s of another team: %d, want 404", path, p.status)
		}
		if p := mgr.get(path); p.status != http.StatusNotFound {
			t.Errorf("manager GET %s of another team: %d, want 404", path, p.status)
		}
	}
	if p := resp.post(ops+"/categories", url.Values{"name": {"X"}, "keywords": {"x"}}); p.status != http.StatusForbidden {
		t.Errorf("responder creating a category: %d, want 403", p.status)
	}
	if p := resp.post(ops+"/escalation", url.Values{"target": {"5"}}); p.status != http.StatusForbidden {
		t.Errorf("responder saving escalation: %d, want 403", p.status)
	}
	if p := mgr.post("/teams/"+net.ID+"/categories", url.Values{"name": {"X"}, "keywords": {"x"}}); p.status != http.StatusNotFound {
		t.Errorf("manager creating a category in another team: %d, want 404", p.status)
	}

	// A manager sees the members but does not change them.
	resp2, _ := h.teams.UserByEmail(context.Background(), "resp@example.com")
	p := mgr.get(ops)
	if p.status != http.StatusOK || !strings.Contains(p.body, "resp@example.com") || !strings.Contains(p.body, "tadm@example.com") {
		t.Fatalf("manager GET members: %d", p.status)
	}
	if strings.Contains(p.body, "/members/"+resp2.ID+"/role") || strings.Contains(p.body, "Invite by email") {
		t.Error("a manager is offered to change roles or invite, which needs the admin role")
	}
	if p := mgr.post(ops+"/members/"+resp2.ID+"/role", url.Values{"role": {"admin"}}); p.status != http.StatusForbidden {
		t.Errorf("manager changing a role: %d, want 403", p.status)
	}
	if p := mgr.post(ops+"/members/"+resp2.ID+"/remove", nil); p.status != http.StatusForbidden {
		t.Errorf("manager removing a member: %d, want 403", p.status)
	}
	if p := mgr.post(ops+"/invite", url.Values{"email": {"x@example.com"}}); p.status != http.StatusForbidden {
		t.Errorf("manager inviting: %d, want 403", p.status)
	}
	if got := consoleRole(t, h, h.team.ID, "resp@example.com"); got != team.RoleResponder {
		t.Fatalf("a refused role change changed the role to %s", got)
	}

	// The team's admin may.
	if p := tadm.get(ops); !strings.Contains(p.body, "/members/"+resp2.ID+"/role") {
		t.Error("the team admin is not offered to change roles")
	}
	if p := tadm.post(ops+"/members/"+resp2.ID+"/role", url.Values{"role": {"manager"}}); p.status != http.StatusSeeOther {
		t.Fatalf("team admin changing a role: %d %s", p.status, p.body)
	}
	if got := consoleRole(t, h, h.team.ID, "resp@example.com"); got != team.RoleManager {
		t.Fatalf("role after change: %s, want manager", got)
	}
	tadmUser, _ := h.teams.UserByEmail(context.Background(), "tadm@example.com")
	if p := tadm.post(ops+"/members/"+tadmUser.ID+"/role", url.Values{"role": {"responder"}}); p.status == http.StatusSeeOther {
		t.Error("a team admin demoted themselves and would lose the team's settings")
	}
	if p := tadm.post(ops+"/members/"+resp2.ID+"/remove", nil); p.status != http.StatusSeeOther {
		t.Fatalf("team admin removing a member: %d", p.status)
	}
	if _, err := h.teams.Member(context.Background(), h.team.ID, resp2.ID); err == nil {
		t.Fatal("the removed member is still in the team")
	}
	// Deleting a team is for instance administrators only.
	if p := tadm.post(ops+"/delete", url.Values{"confirm": {"yes"}}); p.status != http.StatusForbidden {
		t.Errorf("team admin deleting the team: %d, want 403", p.status)
	}
}

func TestConsoleListsManagedTeamsWithCounts(t *testing.T) {
	eachDialect(t, func(t *testing.T, h *harness) {
		net := consoleTeams(t, h)
		ctx := context.Background()
		h.alert(h.team, "disk full", "high")
		h.alert(h.team, "cpu hot", "medium")
		mgr, _ := h.teams.UserByEmail(ctx, "mgr@example.com")
		if _, err := h.duty.PunchIn(ctx, h.team.ID, mgr.ID, false); err != nil {
			t.Fatal(err)
		}
		p := h.login("mgr@example.com").get("/console")
		if p.status != http.StatusOK {
			t.Fatalf("manager GET /console: %d", p.status)
		}
		row := consoleRow(t, p.body, h.team.ID)
		// 3 members, 1 on duty, 2 open alerts, in that order.
		if !regexp.MustCompile(`(?s)>3</td>.*>1</td>.*>2</a></td>`).MatchString(row) {
			t.Errorf("the Ops row does not show 3 members, 1 on duty, 2 open alerts:\n%s", row)
		}
		if strings.Contains(p.body, net.Name) || strings.Contains(p.body, "Create a team") {
			t.Error("a manager sees another team or the form to create teams")
		}
		a := h.login("admin@example.com").get("/console")
		if !strings.Contains(a.body, "/teams/"+net.ID) || !strings.Contains(a.body, "/teams/"+h.team.ID) || !strings.Contains(a.body, "Create a team") {
			t.Error("an administrator does not see every team and the form to create one")
		}
	})
}

// consoleRow returns the console table row of the team.
func consoleRow(t *testing.T, body, teamID string) string {
	t.Helper()
	i := strings.Index(body, `<a href="/teams/`+teamID+`">`)
	if i < 0 {
		t.Fatalf("no row for team %s", teamID)
	}
	j := strings.Index(body[i:], "</tr>")
	return body[i : i+j]
}

func TestConsoleCreateTeamShowsWebhookURLOnce(t *testing.T) {
	h := sqliteHarness(t)
	consoleTeams(t, h)
	if p := h.login("tadm@example.com").post("/console/teams", url.Values{"name": {"SOC"}}); p.status != http.StatusForbidden {
		t.Fatalf("a team admin creating a team: %d, want 403", p.status)
	}
	admin := h.login("admin@example.com")
	p := admin.post("/console/teams", url.Values{"name": {"SOC"}, "scenario": {"emergency"}})
	if p.status != http.StatusOK {
		t.Fatalf("create team: %d %s", p.status, p.body)
	}
	m := regexp.MustCompile(`http://lastmile\.test/webhook/([a-z2-7]+)`).FindStringSubmatch(p.body)
	if m == nil {
		t.Fatalf("the new team's webhook URL is not shown:\n%s", p.body)
	}
	tm, err := h.teams.TeamBySecret(context.Background(), m[1])
	if err != nil || tm.Name != "SOC" || tm.DefaultScenario != "emergency" {
		t.Fatalf("the shown secret finds %+v, %v; want team SOC with emergency", tm, err)
	}
	if again := admin.get("/console"); strings.Contains(again.body, m[1]) {
		t.Error("the webhook secret is shown again on the next visit")
	}
	if p := admin.post("/console/teams", url.Values{"name": {"SOC"}}); p.status != http.StatusConflict {
		t.Errorf("a second team named SOC: %d, want 409", p.status)
	}
}

func TestConsoleTeamSettingsAndDelete(t *testing.T) {
	h := sqliteHarness(t)
	consoleTeams(t, h)
	ctx := context.Background()
	ops := "/teams/" + h.team.ID
	if p := h.login("mgr@example.com").post(ops+"/settings", url.Values{"name": {"Renamed"}}); p.status != http.StatusForbidden {
		t.Errorf("a manager renaming the team: %d, want 403", p.status)
	}
	tadm := h.login("tadm@example.com")
	if p := tadm.post(ops+"/settings", url.Values{"name": {"Operations"}, "scenario": {"multi_ack"}}); p.status != http.StatusSeeOther {
		t.Fatalf("rename: %d %s", p.status, p.body)
	}
	tm, _ := h.teams.Team(ctx, h.team.ID)
	if tm.Name != "Operations" || tm.DefaultScenario != "multi_ack" {
		t.Fatalf("after saving: %+v", tm)
	}
	if p := tadm.post(ops+"/settings", url.Values{"scenario": {"everyone"}}); p.status != http.StatusBadRequest {
		t.Errorf("an unknown scenario: %d, want 400", p.status)
	}
	admin := h.login("admin@example.com")
	if p := admin.post(ops+"/delete", nil); p.status != http.StatusBadRequest {
		t.Errorf("delete without confirming: %d, want 400", p.status)
	}
	if _, err := h.teams.Team(ctx, h.team.ID); err != nil {
		t.Fatal("the team was deleted without confirmation")
	}
	if p := admin.post(ops+"/delete", url.Values{"confirm": {"yes"}}); p.status != http.StatusSeeOther || p.location != "/console" {
		t.Fatalf("delete: %d %q", p.status, p.location)
	}
	if _, err := h.teams.Team(ctx, h.team.ID); err == nil {
		t.Fatal("the team still exists")
	}
}

func TestConsoleAlertSettingsAndRulesSaved(t *testing.T) {
	eachDialect(t, func(t *testing.T, h *harness) {
		consoleTeams(t, h)
		ctx := context.Background()
		esc := "/teams/" + h.team.ID + "/escalation"
		mgr := h.login("mgr@example.com")
		p := mgr.post(esc, url.Values{"target": {"5"}, "repeat_every": {"2"}, "repeat_limit": {"3"}, "ack_timeout": {"30"}})
		if p.status != http.StatusSeeOther {
			t.Fatalf("save alert settings: %d %s", p.status, p.body)
		}
		want := team.AlertSettings{TargetResponseSeconds: 300, RepeatEverySeconds: 120, RepeatLimit: 3, AckTimeoutSeconds: 1800}
		if got, _ := h.teams.AlertSettings(ctx, h.team.ID); got != want {
			t.Fatalf("alert settings %+v, want %+v", got, want)
		}
		page := mgr.get(esc)
		for _, s := range []string{`name="target" min="0" max="10080" step="any" inputmode="decimal" value="5"`, `value="30"`, "escalates"} {
			if !strings.Contains(page.body, s) {
				t.Errorf("escalation page lacks %q", s)
			}
		}
		// Wrong input is refused with a message, and nothing changes.
		if p := mgr.post(esc, url.Values{"target": {"0.5"}}); p.status != http.StatusBadRequest || !strings.Contains(p.body, "1 to 10080 minutes") {
			t.Errorf("half a minute: %d %s", p.status, p.body)
		}
		if p := mgr.post(esc, url.Values{"repeat_limit": {"3"}}); p.status != http.StatusBadRequest || !strings.Contains(p.body, "Repeat every") {
			t.Errorf("repeats without an interval: %d", p.status)
		}
		if got, _ := h.teams.AlertSettings(ctx, h.team.ID); got != want {
			t.Fatalf("a refused form changed the settings to %+v", got)
		}

		rules := "/teams/" + h.team.ID + "/notification-rules"
		p = mgr.post(rules, url.Values{"channel": {"sms", "push", ""}, "delay": {"2", "0", ""}})
		if p.status != http.StatusSeeOther {
			t.Fatalf("save rules: %d %s", p.status, p.body)
		}
		got, _ := h.teams.TeamRules(ctx, h.team.ID)
		if len(got) != 2 || got[0] != (team.TeamRule{Channel: "push"}) || got[1] != (team.TeamRule{Channel: "sms", DelaySeconds: 120}) {
			t.Fatalf("rules %+v, want push at once and sms after 2 minutes", got)
		}
		if p := mgr.post(rules, url.Values{"channel": {"pager"}, "delay": {"1"}}); p.status != http.StatusBadRequest {
			t.Errorf("an unknown channel: %d, want 400", p.status)
		}
		if p := h.login("resp@example.com").post(rules, url.Values{"channel": {"push"}, "delay": {"0"}}); p.status != http.StatusForbidden {
			t.Errorf("responder saving rules: %d, want 403", p.status)
		}
		if got, _ := h.teams.TeamRules(ctx, h.team.ID); len(got) != 2 {
			t.Fatalf("a refused form changed the rules to %+v", got)
		}
	})
}

func TestConsoleCategoriesCreatedAndDeleted(t *testing.T) {
	eachDialect(t, func(t *testing.T, h *harness) {
		net := consoleTeams(t, h)
		ctx := context.Background()
		cats := "/teams/" + h.team.ID + "/categories"
		mgr := h.login("mgr@example.com")
		p := mgr.post(cats, url.Values{"name": {"Database"}, "keywords": {"postgres\ndb01, service billing-db"}, "match": {"all"}, "color": {"#17b26a"}})
		if p.status != http.StatusSeeOther {
			t.Fatalf("create category: %d %s", p.status, p.body)
		}
		cs, err := h.teams.Categories(ctx, h.db, h.team.ID)
		if err != nil || len(cs) != 1 {
			t.Fatalf("categories %+v %v", cs, err)
		}
		c := cs[0]
		if c.Name != "Database" || !c.MatchAll || c.Color != "#17b26a" || strings.Join(c.Keywords, "|") != "postgres|db01|service billing-db" {
			t.Fatalf("category %+v", c)
		}
		page := mgr.get(cats)
		if !strings.Contains(page.body, "Database") || !strings.Contains(page.body, "<code>service billing-db</code>") {
			t.Error("the categories page does not list the new category and its keywords")
		}
		if p := mgr.post(cats, url.Values{"name": {"Empty"}, "keywords": {" , "}}); p.status != http.StatusBadRequest {
			t.Errorf("a category without keywords: %d, want 400", p.status)
		}
		// A category of another team cannot be deleted through this one.
		other, err := h.teams.CreateCategory(ctx, net.ID, team.NewCategory{Name: "Net stuff", Keywords: []string{"bgp"}})
		if err != nil {
			t.Fatal(err)
		}
		if p := mgr.post(cats+"/"+other.ID+"/delete", nil); p.status != http.StatusNotFound {
			t.Errorf("deleting another team's category: %d, want 404", p.status)
		}
		if p := mgr.post(cats+"/"+c.ID+"/delete", nil); p.status != http.StatusSeeOther {
			t.Fatalf("delete: %d", p.status)
		}
		if cs, _ := h.teams.Categories(ctx, h.db, h.team.ID); len(cs) != 0 {
			t.Fatalf("after delete: %+v", cs)
		}
		if cs, _ := h.teams.Categories(ctx, h.db, net.ID); len(cs) != 1 {
			t.Fatal("the other team's category is gone")
		}
	})
}

// A manager mutes a category for maintenance from the categories page and
// unmutes it; a responder cannot.
func TestConsoleCategoryMute(t *testing.T) {
	h := sqliteHarness(t)
	ctx := context.Background()
	h.member(h.team.ID, "man@example.com", team.RoleManager)
	h.member(h.team.ID, "res@example.com", team.RoleResponder)
	c, err := h.teams.CreateCategory(ctx, h.team.ID, team.NewCategory{Name: "Backups", Keywords: []string{"backup"}})
	if err != nil {
		t.Fatal(err)
	}
	path := "/teams/" + h.team.ID + "/categories/" + c.ID
	if p := h.login("res@example.com").post(path+"/mute", url.Values{"minutes": {"60"}}); p.status != http.StatusForbidden {
		t.Fatalf("a responder muted a category: %d", p.status)
	}
	man := h.login("man@example.com")
	if p := man.post(path+"/mute", url.Values{"minutes": {"240"}}); p.status != http.StatusSeeOther {
		t.Fatalf("mute: %d %s", p.status, p.body)
	}
	cats, _ := h.teams.Categories(ctx, h.db, h.team.ID)
	if !cats[0].MutedAt(h.clock.Now().Add(239*time.Minute)) || cats[0].MutedAt(h.clock.Now().Add(241*time.Minute)) {
		t.Fatalf("muted until %v, want 4 hours from now", cats[0].MutedUntil)
	}
	if p := man.get("/teams/" + h.team.ID + "/categories"); !strings.Contains(p.body, "muted</span>") || !strings.Contains(p.body, path+"/unmute") {
		t.Error("the page does not show the category muted with an unmute button")
	}
	if p := man.post(path+"/frobnicate", nil); p.status != http.StatusNotFound {
		t.Errorf("an unknown action answered %d", p.status)
	}
	if p := man.post(path+"/unmute", nil); p.status != http.StatusSeeOther {
		t.Fatalf("unmute: %d", p.status)
	}
	if cats, _ := h.teams.Categories(ctx, h.db, h.team.ID); cats[0].MutedAt(h.clock.Now()) {
		t.Error("the category is still muted after unmute")
	}
}
