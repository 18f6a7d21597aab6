package browser_test

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"

	"github.com/lastmile/lastmile/internal/alert"
	"github.com/lastmile/lastmile/internal/duty"
	"github.com/lastmile/lastmile/internal/store"
	"github.com/lastmile/lastmile/internal/team"
)

// screen is one page to photograph.
type screen struct {
	name, path string
	// optional pages are other areas' work; a page that is not there yet
	// (404) is left out rather than failing the suite.
	optional bool
}

// TestScreenshots saves the main pages at phone (360×780) and desktop
// (1280×800) width as <page>-phone.png and <page>-desktop.png, in
// LASTMILE_SCREENSHOTS_DIR (docs/screenshots) or a temporary directory.
func TestScreenshots(t *testing.T) {
	s := startSite(t)
	dir := os.Getenv("LASTMILE_SCREENSHOTS_DIR")
	if dir == "" {
		dir = t.TempDir()
	} else if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	// LASTMILE_SCREENSHOTS_FULL=1 takes whole pages instead of the first
	// screen, for reviewing a design.
	full := os.Getenv("LASTMILE_SCREENSHOTS_FULL") == "1"
	alertID := seedDemo(t, s)
	screens := []screen{
		{name: "login", path: "/login"},
		{name: "inbox", path: "/inbox"},
		{name: "alert", path: "/alerts/" + alertID},
		{name: "duty", path: "/duty"},
		{name: "profile", path: "/profile"},
		{name: "console", path: "/console", optional: true},
		{name: "team", path: "/teams/" + s.team.ID, optional: true},
		{name: "escalation", path: "/teams/" + s.team.ID + "/escalation", optional: true},
		// Next week: the rotation and the planned shift, not only today's
		// punch-ins (which stand in for the plan while they last).
		{name: "planner", path: "/teams/" + s.team.ID + "/planner?week=" + nextMonday(), optional: true},
		{name: "integrations", path: "/teams/" + s.team.ID + "/integrations", optional: true},
		{name: "connectors", path: "/teams/" + s.team.ID + "/connectors", optional: true},
		{name: "reports", path: "/reports", optional: true},
		{name: "admin-channels", path: "/admin/channels", optional: true},
	}
	b := s.open(t)
	for _, size := range []struct {
		name          string
		width, height int64
		opts          []chromedp.EmulateViewportOption
	}{
		{"phone", 360, 780, []chromedp.EmulateViewportOption{chromedp.EmulateMobile, chromedp.EmulateTouch}},
		{"desktop", 1280, 800, nil},
	} {
		b.do("set the viewport", chromedp.EmulateViewport(size.width, size.height, size.opts...))
		for _, sc := range screens {
			if sc.name == "login" {
				b.do("sign out", chromedp.Navigate(s.url+"/offline"))
				clearCookies(t, b)
			} else if sc.name == screens[1].name {
				b.login("admin@example.com")
			}
			resp, err := chromedp.Run(b.ctx, chromedp.NavigateResponse(s.url+sc.path))
			if err != nil {
				t.Fatalf("open %s: %v", sc.path, err)
			}
			if resp.Status == http.StatusNotFound && sc.optional {
				t.Logf("no %s page yet (%s answers 404): no screenshot", sc.name, sc.path)
				continue
			}
			if resp.Status != http.StatusOK {
				t.Errorf("%s answered %d", sc.path, resp.Status)
				continue
			}
			b.waitJS("the page to settle", `document.readyState === "complete" && document.fonts.status === "loaded"`)
			if wide := eval[[]string](b, overflowing); len(wide) > 0 {
				t.Logf("%s at %s width: wider than the screen: %v", sc.path, size.name, wide)
			}
			shot := chromedp.CaptureScreenshot()
			if full {
				shot = chromedp.FullScreenshot(100)
			}
			png, err := chromedp.Run(b.ctx, shot)
			if err != nil {
				t.Fatalf("screenshot %s: %v", sc.path, err)
			}
			if err := os.WriteFile(filepath.Join(dir, sc.name+"-"+size.name+".png"), png, 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
	t.Logf("screenshots in %s", dir)
}

// overflowing says how much wider than the screen the page is, and names
// elements that stick out on the right (fixed bars only follow the page, so
// they are left out): at 360 px such a page scrolls sideways. Empty when
// the page fits.
const overflowing = `(() => {
	const w = document.documentElement.clientWidth, sw = document.documentElement.scrollWidth;
	if (sw <= w + 1) { return []; }
	const out = ["page " + sw + "px wide"];
	for (const el of document.querySelectorAll("main *")) {
		const r = el.getBoundingClientRect();
		if (r.width === 0 || r.right <= w + 1 || el.closest(".table-wrap")) { continue; }
		out.push(el.tagName.toLowerCase() + (el.id ? "#" + el.id : "") + (el.classList.length ? "." + [...el.classList].join(".") : "") + " to " + Math.round(r.right) + "px");
		if (out.length === 5) { break; }
	}
	return out;
})()`

func clearCookies(t *testing.T, b *tab) {
	t.Helper()
	if _, err := chromedp.Call(b.ctx, network.ClearBrowserCookies, cdp.Empty{}); err != nil {
		t.Fatal(err)
	}
}

// seedDemo fills the site with what a small operations team has on a
// normal day, and returns the id of an alert worth showing.
func seedDemo(t *testing.T, s *site) string {
	t.Helper()
	ctx := context.Background()
	admin := s.user("admin@example.com", true)
	admin, err := s.a.Teams.UpdateUser(ctx, admin.ID, team.UserPatch{Name: ptr("Dana Fischer"), TimeZone: ptr("Europe/Berlin")})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.a.Teams.AddMember(ctx, s.team.ID, admin.ID, team.RoleManager); err != nil {
		t.Fatal(err)
	}
	ann := s.member("ann@example.com", team.RoleResponder)
	bob := s.member("bob@example.com", team.RoleResponder)
	for _, u := range []team.User{admin, ann} {
		if _, err := s.a.Duty.PunchIn(ctx, s.team.ID, u.ID, false); err != nil {
			t.Fatal(err)
		}
	}
	now := time.Now().UTC().Truncate(time.Hour)
	if _, err := s.a.Duty.CreateRotation(ctx, s.team.ID, duty.NewRotation{Name: "Weekly primary", Tier: 1, TimeZone: "Europe/Berlin",
		Start: now.Add(-24 * time.Hour), Length: 1, Unit: duty.Weeks, Participants: []string{ann.ID, bob.ID, admin.ID}}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.a.Duty.AddShifts(ctx, s.team.ID, []duty.PlannedShift{{UserID: admin.ID, Tier: 2, Start: now.Add(24 * time.Hour), End: now.Add(36 * time.Hour)}}, false); err != nil {
		t.Fatal(err)
	}
	if _, err := s.a.Teams.AddContactMethod(ctx, admin.ID, "push", s.push.Subscribe("admin"), "Chrome on Android"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.a.Teams.AddContactMethod(ctx, admin.ID, "email", "dana@example.com", "Work mail"); err != nil {
		t.Fatal(err)
	}

	closed := s.raise("Nightly backup finished late", "low")
	acked := s.raise("TLS certificate of shop.example.com expires in 7 days", "medium")
	s.raise("Disk 91% full on db-1", "high")
	main := s.raise("Suspicious sign-in from an unfamiliar country", "high", "X-S4-SourceSystem", "Microsoft Sentinel",
		"X-S4-Location", "52.5200,13.4050", "X-S4-Service", "Identity", "User", "ann.lee@contoso.com", "IP address", "203.0.113.7",
		"Country", "Brazil", "Rule", "Sign-in from an unfamiliar location")
	actor := alert.UserActor(ann)
	all := func(string) bool { return true }
	for _, step := range []struct{ id, action string }{{closed, "acknowledge"}, {closed, "close"}, {acked, "acknowledge"}} {
		if _, err := s.a.Alerts.Transition(ctx, step.id, step.action, actor, "", all); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := s.a.Alerts.Annotate(ctx, main, alert.UserActor(admin), "Looking into it: the user is travelling, checking with them.", all); err != nil {
		t.Fatal(err)
	}
	s.until("the notifications", func() bool { return len(s.push.Delivered("admin")) > 0 })
	seedHistory(t, s, []team.User{ann, bob, admin})
	seedConnector(t, s, admin)
	return main
}

// seedHistory writes twelve weeks of closed alerts, acknowledged after a
// few minutes by one member or another, so that the reports have something
// to show. They go in by SQL because the application takes no alerts dated
// in the past.
func seedHistory(t *testing.T, s *site, members []team.User) {
	t.Helper()
	ctx := context.Background()
	now := time.Now().UTC()
	sevs := []string{"high", "medium", "medium", "low", "low", "info"}
	for week := 1; week <= 12; week++ {
		for i := range 3 + (week*7)%9 {
			id := store.NewID()
			created := now.Add(-time.Duration(week)*7*24*time.Hour + time.Duration(i*13)*time.Hour)
			acked := created.Add(time.Duration(1+(i*week)%11)*time.Minute + time.Duration(i*7)*time.Second)
			who := members[(i+week)%len(members)]
			if _, err := s.a.DB.Exec(ctx, `INSERT INTO alerts (id, team_id, status, title, severity, scenario, event_id, created_at, updated_at, acknowledged_at, acknowledged_by, closed_at, closed_by)
				VALUES (?, ?, 'closed', ?, ?, 'single_ack', '', ?, ?, ?, ?, ?, ?)`, id, s.team.ID, fmt.Sprintf("History alert %d.%d", week, i), sevs[(i+week)%len(sevs)],
				store.Micros(created), store.Micros(acked), store.Micros(acked), who.Name, store.Micros(acked.Add(time.Hour)), who.Name); err != nil {
				t.Fatal(err)
			}
			if _, err := s.a.DB.Exec(ctx, `INSERT INTO timeline (alert_id, at, kind, actor_type, actor_id, actor_name, text, event_id) VALUES (?, ?, 'acknowledged', 'user', ?, ?, '', '')`,
				id, store.Micros(acked), who.ID, who.Name); err != nil {
				t.Fatal(err)
			}
		}
	}
}

// seedConnector adds a Sentinel connector whose Azure cannot be reached,
// so that its page shows health in plain words.
func seedConnector(t *testing.T, s *site, admin team.User) {
	t.Helper()
	_, key, err := s.a.Teams.CreateAPIKey(context.Background(), admin.ID, "screenshots")
	if err != nil {
		t.Fatal(err)
	}
	body := `{"name": "Sentinel SOC workspace", "source": "sentinel", "pollSeconds": 60, "settings": {"tenantId": "11111111-2222-3333-4444-555555555555",
		"clientId": "aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee", "clientSecret": "not-a-real-secret", "subscriptionId": "99999999-8888-7777-6666-555555555555",
		"resourceGroup": "soc-rg", "workspaceName": "soc-workspace", "endpoints": {"authorityHost": "https://127.0.0.1:9/", "resourceManager": "https://127.0.0.1:9",
		"graph": "https://127.0.0.1:9", "logAnalytics": "https://127.0.0.1:9"}}}`
	req, _ := http.NewRequest(http.MethodPost, s.url+"/api/v1/teams/"+s.team.ID+"/connectors", strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+key)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("create connector: %d", resp.StatusCode)
	}
}

func ptr[T any](v T) *T { return &v }

// nextMonday is the date of next week's Monday, as the planner's week
// parameter takes it.
func nextMonday() string {
	d := time.Now().UTC()
	for {
		d = d.AddDate(0, 0, 1)
		if d.Weekday() == time.Monday {
			return d.Format("2006-01-02")
		}
	}
}
