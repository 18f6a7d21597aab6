package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/lastmile/lastmile/internal/app"
	"github.com/lastmile/lastmile/internal/azureemu"
	"github.com/lastmile/lastmile/internal/clock"
	"github.com/lastmile/lastmile/internal/notify"
	"github.com/lastmile/lastmile/internal/store"
	"github.com/lastmile/lastmile/internal/store/storetest"
	"github.com/lastmile/lastmile/internal/team"
)

// rgScope is the resource group both test workspaces live in: the app's
// roles are granted there, so they cover every workspace of the tests.
const rgScope = "/subscriptions/" + subID + "/resourceGroups/" + rg

// sentinelEnv is a running lastmile and an Azure emulator that share one
// clock, with a team (an administrator, Ann and Bob) that connectors are
// added to over the REST API.
type sentinelEnv struct {
	tb     testing.TB
	emu    *azureemu.Emulator
	ws     azureemu.Workspace
	a      *app.App
	fake   *clock.Fake // nil when the wall clock runs the app
	key    string      // the administrator's API key
	teamID string
	keys   map[string]string // member name → API key
}

type sentinelOptions struct {
	// fake runs the app and the emulator on one fake clock.
	fake bool
	// channels replace the providers' channels (recorders).
	channels []notify.Channel
	// onDuty puts Ann on duty with a push device.
	onDuty bool
}

func startSentinel(tb testing.TB, d store.Dialect, opt sentinelOptions) *sentinelEnv {
	tb.Helper()
	ctx := context.Background()
	e := &sentinelEnv{tb: tb, keys: map[string]string{}}
	var clk clock.Clock = clock.Real{}
	if opt.fake {
		// Near the wall clock: the SDK judges token lifetimes by it.
		e.fake = clock.NewFake(time.Now().UTC().Truncate(time.Second))
		clk = e.fake
	}
	e.emu = azureemu.New(azureemu.Options{Clock: clk})
	if err := e.emu.Start(); err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(e.emu.Close)
	if err := e.emu.AddTenant(tenantID); err != nil {
		tb.Fatal(err)
	}
	var err error
	if e.ws, err = e.emu.AddWorkspace(azureemu.Workspace{SubscriptionID: subID, ResourceGroup: rg, Name: wsName}); err != nil {
		tb.Fatal(err)
	}
	if _, err := e.emu.AddApp(tenantID, azureemu.App{ClientID: clientID, Secret: "app-secret",
		ARMRoles: map[string][]string{rgScope: {"Microsoft Sentinel Contributor"}}}); err != nil {
		tb.Fatal(err)
	}
	ca := filepath.Join(tb.TempDir(), "emulator-ca.pem")
	if err := os.WriteFile(ca, e.emu.CACertPEM(), 0o600); err != nil {
		tb.Fatal(err)
	}
	cfg := config(storetest.URL(tb, d))
	cfg.ConnectorCAFile = ca
	cfg.ChannelLimits = "push=" // one device gets every alert: measure the connector, not the limits
	e.a, err = app.New(ctx, cfg, slog.New(slog.DiscardHandler), clk, opt.channels...)
	if err != nil {
		tb.Fatal(err)
	}
	if err := e.a.Start(); err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { e.a.Stop(context.Background()) })

	tm, _, err := e.a.Teams.CreateTeam(ctx, "SOC", "")
	if err != nil {
		tb.Fatal(err)
	}
	e.teamID = tm.ID
	admin, _ := e.a.Teams.CreateUser(ctx, team.NewUser{Email: "admin@example.com", IsAdmin: true})
	_, e.key, _ = e.a.Teams.CreateAPIKey(ctx, admin.ID, "")
	for _, name := range []string{"Ann", "Bob"} {
		u, err := e.a.Teams.CreateUser(ctx, team.NewUser{Email: strings.ToLower(name) + "@contoso.com", Name: name})
		if err != nil {
			tb.Fatal(err)
		}
		e.a.Teams.AddMember(ctx, tm.ID, u.ID, team.RoleResponder)
		_, e.keys[name], _ = e.a.Teams.CreateAPIKey(ctx, u.ID, "")
		if name == "Ann" && opt.onDuty {
			if _, err := e.a.Teams.AddContactMethod(ctx, u.ID, "push", "device-1", ""); err != nil {
				tb.Fatal(err)
			}
			if _, err := e.a.Duty.PunchIn(ctx, tm.ID, u.ID, false); err != nil {
				tb.Fatal(err)
			}
		}
	}
	return e
}

// now is the clock the app and the emulator share.
func (e *sentinelEnv) now() time.Time {
	if e.fake != nil {
		return e.fake.Now()
	}
	return clock.Real{}.Now()
}

// advance moves the shared fake clock on.
func (e *sentinelEnv) advance(d time.Duration) {
	e.tb.Helper()
	if e.fake == nil {
		e.tb.Fatal("advance needs the fake clock")
	}
	e.fake.Advance(d)
}

// api calls the REST API with key and checks the status.
func (e *sentinelEnv) api(key, method, path string, body any, want int) map[string]any {
	e.tb.Helper()
	var r io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		r = bytes.NewReader(b)
	}
	req, _ := http.NewRequest(method, e.a.BaseURL()+path, r)
	req.Header.Set("Authorization", "Bearer "+key)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		e.tb.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != want {
		e.tb.Fatalf("%s %s: %d %s, want %d", method, path, resp.StatusCode, raw, want)
	}
	var out map[string]any
	json.Unmarshal(raw, &out)
	return out
}

// settings are a sentinel connector's settings for workspace ws.
func (e *sentinelEnv) settings(ws azureemu.Workspace, client, secret string) map[string]any {
	return map[string]any{"tenantId": tenantID, "subscriptionId": subID, "clientId": client, "clientSecret": secret,
		"resourceGroup": rg, "workspaceName": ws.Name, "workspaceId": ws.WorkspaceID,
		"endpoints": map[string]string{"authorityHost": e.emu.URL() + "/", "resourceManager": e.emu.URL(), "graph": e.emu.URL(), "logAnalytics": e.emu.URL()}}
}

// addConnector adds a sentinel connector to team and returns its id. A new
// connector is due at once.
func (e *sentinelEnv) addConnector(teamID, name string, pollSeconds int, settings map[string]any) string {
	e.tb.Helper()
	c := e.api(e.key, "POST", "/api/v1/teams/"+teamID+"/connectors",
		map[string]any{"name": name, "source": "sentinel", "pollSeconds": pollSeconds, "settings": settings}, 201)
	id, _ := c["id"].(string)
	return id
}

// health reads a connector's health through the API.
func (e *sentinelEnv) health(teamID, cid string) map[string]any {
	e.tb.Helper()
	h, _ := e.api(e.key, "GET", "/api/v1/teams/"+teamID+"/connectors/"+cid, nil, 200)["health"].(map[string]any)
	return h
}

func healthTime(h map[string]any, field string) time.Time {
	s, _ := h[field].(string)
	t, _ := time.Parse(time.RFC3339Nano, s)
	return t
}

func healthText(h map[string]any, field string) string {
	s, _ := h[field].(string)
	return s
}

// polledSince tells whether a poll of the connector ended at or after t.
func (e *sentinelEnv) polledSince(teamID, cid string, t time.Time) bool {
	return !healthTime(e.health(teamID, cid), "lastPollAt").Before(t)
}

// pollNow asks for a poll and waits until one has run: the fake clock
// moves a second first, so the poll is told apart from earlier ones.
func (e *sentinelEnv) pollNow(teamID, cid string) map[string]any {
	e.tb.Helper()
	if e.fake != nil {
		e.advance(time.Second)
	}
	asked := e.now()
	e.api(e.key, "POST", "/api/v1/teams/"+teamID+"/connectors/"+cid+"/poll", nil, 202)
	sentinelWait(e.tb, 30*time.Second, "a poll", func() bool { return e.polledSince(teamID, cid, asked) })
	return e.health(teamID, cid)
}

// drained waits until every write-back of the connector is sent.
func (e *sentinelEnv) drained(teamID, cid string) {
	e.tb.Helper()
	sentinelWait(e.tb, 30*time.Second, "the write-backs", func() bool {
		return e.health(teamID, cid)["pendingWrites"] == float64(0)
	})
}

// sentinelWait polls cond until it holds or within has passed.
func sentinelWait(tb testing.TB, within time.Duration, what string, cond func() bool) {
	tb.Helper()
	deadline := time.Now().Add(within)
	for !cond() {
		if time.Now().After(deadline) {
			tb.Fatalf("waited %s in vain for %s", within, what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

type sentinelAlert struct{ id, status, severity string }

// alertsByIncident returns the team's alerts by external id.
func (e *sentinelEnv) alertsByIncident(teamID string) map[string][]sentinelAlert {
	e.tb.Helper()
	rows, err := e.a.DB.Query(context.Background(), `SELECT COALESCE(external_id, ''), id, status, severity FROM alerts WHERE team_id = ? ORDER BY id`, teamID)
	if err != nil {
		e.tb.Fatal(err)
	}
	defer rows.Close()
	out := map[string][]sentinelAlert{}
	for rows.Next() {
		var ext string
		var a sentinelAlert
		if err := rows.Scan(&ext, &a.id, &a.status, &a.severity); err != nil {
			e.tb.Fatal(err)
		}
		out[ext] = append(out[ext], a)
	}
	return out
}

// countBy runs a two-column (key, count) query.
func (e *sentinelEnv) countBy(q string, args ...any) map[string]int {
	e.tb.Helper()
	rows, err := e.a.DB.Query(context.Background(), q, args...)
	if err != nil {
		e.tb.Fatal(err)
	}
	defer rows.Close()
	out := map[string]int{}
	for rows.Next() {
		var k string
		var n int
		if err := rows.Scan(&k, &n); err != nil {
			e.tb.Fatal(err)
		}
		out[k] = n
	}
	return out
}

// eventsByIncident counts the connector's events per external id.
func (e *sentinelEnv) eventsByIncident(teamID string) map[string]int {
	return e.countBy(`SELECT external_id, COUNT(*) FROM events WHERE team_id = ? AND source = 'connector' GROUP BY external_id`, teamID)
}

// timelineKinds counts an alert's timeline entries per kind.
func (e *sentinelEnv) timelineKinds(alertID string) map[string]int {
	return e.countBy(`SELECT kind, COUNT(*) FROM timeline WHERE alert_id = ? GROUP BY kind`, alertID)
}

// listCalls counts the incident list calls made on a workspace.
func (e *sentinelEnv) listCalls(ws string) int {
	n := 0
	for _, r := range e.emu.Requests() {
		if r.Method == "GET" && strings.HasSuffix(r.Path, "/workspaces/"+ws+"/providers/Microsoft.SecurityInsights/incidents") {
			n++
		}
	}
	return n
}

func (e *sentinelEnv) addIncident(inc azureemu.Incident) azureemu.Incident {
	e.tb.Helper()
	got, err := e.emu.AddIncident(wsName, inc)
	if err != nil {
		e.tb.Fatal(err)
	}
	return got
}

func (e *sentinelEnv) updateIncident(name string, fn func(*azureemu.Incident)) {
	e.tb.Helper()
	if _, err := e.emu.UpdateIncident(name, fn); err != nil {
		e.tb.Fatal(err)
	}
}

func hasLabel(inc azureemu.Incident, name string) bool {
	return slices.ContainsFunc(inc.Labels, func(l azureemu.Label) bool { return l.Name == name })
}

// commentTexts are an incident's comments, oldest first.
func (e *sentinelEnv) commentTexts(name string) []string {
	var out []string
	for _, c := range e.emu.Comments(name) {
		out = append(out, c.Message)
	}
	return out
}

// The first poll reads 24 hours back: incidents last changed before then
// are left alone (no alert, no label); those within the window open one
// alert each. The list call asks for exactly that window.
func TestSentinelFirstPollLooksBack24Hours(t *testing.T) {
	for _, d := range storetest.Dialects(t) {
		t.Run(string(d), func(t *testing.T) {
			e := startSentinel(t, d, sentinelOptions{fake: true})
			now := e.now()
			backdated := func(title string, age time.Duration) azureemu.Incident {
				at := now.Add(-age)
				return e.addIncident(azureemu.Incident{Title: title, Severity: "High", Created: at, LastModified: at})
			}
			old := backdated("Brute force last week", 7*24*time.Hour)
			justOut := backdated("Brute force a day and a minute ago", 24*time.Hour+time.Minute)
			justIn := backdated("Brute force 23 hours ago", 23*time.Hour)
			recent := backdated("Brute force five minutes ago", 5*time.Minute)

			cid := e.addConnector(e.teamID, "Sentinel", 30, e.settings(e.ws, clientID, "app-secret"))
			sentinelWait(t, 30*time.Second, "the first poll", func() bool { return e.polledSince(e.teamID, cid, now) })
			h := e.health(e.teamID, cid)
			if msg := healthText(h, "lastError"); msg != "" {
				t.Fatalf("first poll failed: %s", msg)
			}

			got := e.alertsByIncident(e.teamID)
			for _, inc := range []azureemu.Incident{old, justOut} {
				if n := len(got[inc.Name]); n != 0 {
					t.Errorf("%q (older than 24 h) got %d alerts", inc.Title, n)
				}
			}
			for _, inc := range []azureemu.Incident{justIn, recent} {
				if n := len(got[inc.Name]); n != 1 {
					t.Errorf("%q got %d alerts, want 1", inc.Title, n)
				}
			}
			if len(got) != 2 || h["created"] != float64(2) {
				t.Errorf("alerts %v, health created %v; want the 2 recent incidents", got, h["created"])
			}

			// The window asked for is the 24 hours before the first poll.
			var filter string
			for _, r := range e.emu.Requests() {
				if r.Method == "GET" && strings.HasSuffix(r.Path, "/incidents") {
					q, _ := url.ParseQuery(r.Query)
					filter = q.Get("$filter")
					break
				}
			}
			if want := "lastModifiedTimeUtc ge " + now.Add(-24*time.Hour).Format(time.RFC3339); !strings.Contains(filter, want) {
				t.Errorf("first list call's $filter %q, want it to contain %q", filter, want)
			}

			e.drained(e.teamID, cid)
			for _, c := range []struct {
				inc  azureemu.Incident
				want bool
			}{{old, false}, {justOut, false}, {justIn, true}, {recent, true}} {
				cur, _ := e.emu.Incident(c.inc.Name)
				if hasLabel(cur, "SIGNL4") != c.want {
					t.Errorf("%q: SIGNL4 label %v, want %v", c.inc.Title, !c.want, c.want)
				}
			}
		})
	}
}

// A connector disabled for two hours neither polls nor misses anything:
// enabled again, it opens exactly one alert per incident created
// meanwhile (with the incident as it is now), carries over what changed
// in Sentinel meanwhile (closed there: closed here; taken there:
// acknowledged here), opens none for an incident closed before it came
// back, and repeats nothing on later polls.
func TestSentinelCatchesUpAfterBeingDisabled(t *testing.T) {
	for _, d := range storetest.Dialects(t) {
		t.Run(string(d), func(t *testing.T) {
			ctx := context.Background()
			e := startSentinel(t, d, sentinelOptions{fake: true})
			t0 := e.now()
			// A canary connector on another workspace and team keeps
			// polling: once it has polled after a step of the clock, the
			// runner has had its chance to poll the disabled one too.
			canaryWS, err := e.emu.AddWorkspace(azureemu.Workspace{SubscriptionID: subID, ResourceGroup: rg, Name: "canary-ws"})
			if err != nil {
				t.Fatal(err)
			}
			canaryTeam, _, _ := e.a.Teams.CreateTeam(ctx, "Canary", "")
			canary := e.addConnector(canaryTeam.ID, "Canary", 30, e.settings(canaryWS, clientID, "app-secret"))

			closedLater := e.addIncident(azureemu.Incident{Title: "Malware on web01", Severity: "High", Created: t0.Add(-10 * time.Minute)})
			takenLater := e.addIncident(azureemu.Incident{Title: "Phishing mail to finance", Severity: "Medium", Created: t0.Add(-10 * time.Minute)})
			cid := e.addConnector(e.teamID, "Sentinel", 30, e.settings(e.ws, clientID, "app-secret"))
			sentinelWait(t, 30*time.Second, "the first poll", func() bool { return e.polledSince(e.teamID, cid, t0) })
			e.drained(e.teamID, cid)
			before := e.alertsByIncident(e.teamID)
			if len(before[closedLater.Name]) != 1 || len(before[takenLater.Name]) != 1 {
				t.Fatalf("before the outage: alerts %v", before)
			}

			e.api(e.key, "PATCH", "/api/v1/teams/"+e.teamID+"/connectors/"+cid, map[string]any{"enabled": false}, 200)
			listed, lastPoll := e.listCalls(wsName), healthTime(e.health(e.teamID, cid), "lastPollAt")

			// Two hours in Sentinel, in steps.
			step := func(d time.Duration) {
				e.advance(d)
				at := e.now()
				sentinelWait(t, 30*time.Second, "the canary's poll", func() bool { return e.polledSince(canaryTeam.ID, canary, at) })
			}
			step(20 * time.Minute)
			created := e.addIncident(azureemu.Incident{Title: "Impossible travel for ann", Severity: "High"})
			raised := e.addIncident(azureemu.Incident{Title: "Unusual sign-in volume", Severity: "Low"})
			step(20 * time.Minute)
			e.updateIncident(closedLater.Name, func(i *azureemu.Incident) {
				i.Status, i.Classification, i.ClassificationReason = "Closed", "TruePositive", "SuspiciousActivity"
			})
			e.updateIncident(takenLater.Name, func(i *azureemu.Incident) {
				i.Status = "Active"
				i.Owner = azureemu.Owner{Email: "carol@contoso.com", UserPrincipalName: "carol@contoso.com", AssignedTo: "Carol", OwnerType: "User"}
			})
			step(20 * time.Minute)
			e.updateIncident(raised.Name, func(i *azureemu.Incident) { i.Severity = "High" })
			gone := e.addIncident(azureemu.Incident{Title: "Port scan from a known scanner", Severity: "Informational"})
			step(10 * time.Minute)
			e.updateIncident(gone.Name, func(i *azureemu.Incident) {
				i.Status, i.Classification, i.ClassificationReason = "Closed", "BenignPositive", "SuspiciousButExpected"
			})
			// An administrator asking for a poll does not poll a disabled
			// connector either.
			e.api(e.key, "POST", "/api/v1/teams/"+e.teamID+"/connectors/"+cid+"/poll", nil, 202)
			step(50 * time.Minute)
			step(time.Minute) // a full runner pass after the last step
			if n := e.listCalls(wsName); n != listed {
				t.Fatalf("the disabled connector listed incidents %d times", n-listed)
			}
			if got := healthTime(e.health(e.teamID, cid), "lastPollAt"); !got.Equal(lastPoll) {
				t.Fatalf("the disabled connector polled at %v", got)
			}

			enabledAt := e.now()
			e.api(e.key, "PATCH", "/api/v1/teams/"+e.teamID+"/connectors/"+cid, map[string]any{"enabled": true}, 200)
			sentinelWait(t, 30*time.Second, "the poll after enabling", func() bool { return e.polledSince(e.teamID, cid, enabledAt) })
			h := e.health(e.teamID, cid)
			if msg := healthText(h, "lastError"); msg != "" {
				t.Fatalf("catch-up poll failed: %s", msg)
			}
			e.drained(e.teamID, cid)

			check := func(when string) {
				t.Helper()
				alerts := e.alertsByIncident(e.teamID)
				events := e.eventsByIncident(e.teamID)
				for _, c := range []struct {
					inc                azureemu.Incident
					status, severity   string
					timeline           map[string]int
					alerts, eventCount int
				}{
					{closedLater, "closed", "high", map[string]int{"created": 1, "closed": 1}, 1, 1},
					{takenLater, "acknowledged", "medium", map[string]int{"created": 1, "acknowledged": 1}, 1, 1},
					{created, "new", "high", map[string]int{"created": 1}, 1, 1},
					{raised, "new", "high", map[string]int{"created": 1}, 1, 1},
					{gone, "", "", nil, 0, 0},
				} {
					as := alerts[c.inc.Name]
					if len(as) != c.alerts || events[c.inc.Name] != c.eventCount {
						t.Errorf("%s: %q has %d alerts and %d events, want %d and %d", when, c.inc.Title, len(as), events[c.inc.Name], c.alerts, c.eventCount)
						continue
					}
					if c.alerts == 0 {
						continue
					}
					if as[0].status != c.status || as[0].severity != c.severity {
						t.Errorf("%s: %q is %s/%s, want %s/%s", when, c.inc.Title, as[0].status, as[0].severity, c.status, c.severity)
					}
					tl := e.timelineKinds(as[0].id)
					for kind, n := range c.timeline {
						if tl[kind] != n {
							t.Errorf("%s: %q timeline %v, want %d %q", when, c.inc.Title, tl, n, kind)
						}
					}
					for _, kind := range []string{"created", "acknowledged", "closed", "reopened", "unacknowledged"} {
						if _, want := c.timeline[kind]; !want && tl[kind] != 0 {
							t.Errorf("%s: %q timeline has %d %q entries: %v", when, c.inc.Title, tl[kind], kind, tl)
						}
					}
				}
				if len(alerts) != 4 {
					t.Errorf("%s: %d incidents with alerts, want 4: %v", when, len(alerts), alerts)
				}
			}
			check("after catching up")
			if h["created"] != float64(4) {
				t.Errorf("health created %v, want 4", h["created"])
			}
			tl := e.timelineKinds(e.alertsByIncident(e.teamID)[closedLater.Name][0].id)
			if tl["closed"] == 1 {
				out := e.api(e.key, "GET", "/api/v1/alerts/"+e.alertsByIncident(e.teamID)[closedLater.Name][0].id+"/timeline", nil, 200)
				if b, _ := json.Marshal(out); !strings.Contains(string(b), "closed in Sentinel") {
					t.Errorf("the close does not say where it came from: %s", b)
				}
			}
			// Labels went on the new incidents only; the verdict Sentinel
			// gave stays as it gave it.
			for _, c := range []struct {
				inc  azureemu.Incident
				want bool
			}{{created, true}, {raised, true}, {gone, false}} {
				cur, _ := e.emu.Incident(c.inc.Name)
				if hasLabel(cur, "SIGNL4") != c.want {
					t.Errorf("%q: SIGNL4 label %v, want %v", c.inc.Title, !c.want, c.want)
				}
			}
			if cur, _ := e.emu.Incident(closedLater.Name); cur.Classification != "TruePositive" || cur.Status != "Closed" {
				t.Errorf("the incident closed in Sentinel became %s/%s", cur.Status, cur.Classification)
			}
			if cur, _ := e.emu.Incident(takenLater.Name); cur.Owner.Email != "carol@contoso.com" {
				t.Errorf("the incident Carol took is owned by %+v", cur.Owner)
			}

			// Later polls, including ones that read our own write-backs
			// back, repeat nothing.
			e.advance(30 * time.Second)
			e.pollNow(e.teamID, cid)
			e.drained(e.teamID, cid)
			e.pollNow(e.teamID, cid)
			check("after two more polls")
		})
	}
}

// act does a member's action (acknowledge, undo-acknowledge, …) on an alert through the API.
func (e *sentinelEnv) act(member, action, alertID string) {
	e.tb.Helper()
	e.api(e.keys[member], "POST", "/api/v1/alerts/"+alertID+"/"+action, nil, 200)
}

// writeErrors is the connector's count of failed write-back attempts.
func (e *sentinelEnv) writeErrors(cid string) float64 {
	n, _ := e.health(e.teamID, cid)["writeErrors"].(float64)
	return n
}

// Throttling and outages: a 429 storm on the incident list (Retry-After
// honoured, several times) delays the alerts but loses none, and the
// health says why meanwhile; a 503 storm on the write-backs delays the
// responders' acknowledgements, which then all reach Sentinel, in the
// order they were made and once each, through the outbox's retries. The
// health shows the failures during each storm and clears after.
func TestSentinelStorms(t *testing.T) {
	for _, d := range storetest.Dialects(t) {
		t.Run(string(d), func(t *testing.T) {
			ctx := context.Background()
			e := startSentinel(t, d, sentinelOptions{fake: true})
			t0 := e.now()
			var incs []azureemu.Incident
			for _, title := range []string{"Ransomware note on fs01", "Mass download by bob", "Suspicious PowerShell on ws7"} {
				incs = append(incs, e.addIncident(azureemu.Incident{Title: title, Severity: "High", Created: t0.Add(-time.Minute)}))
			}

			// 429 storm: the first poll's four tries are all throttled; the
			// second poll gets through on its fourth.
			const throttled = 7
			e.emu.Fail(azureemu.FailRule{Method: "GET", PathContains: "/providers/Microsoft.SecurityInsights/incidents", Status: 429, RetryAfter: "1", Times: throttled})
			cid := e.addConnector(e.teamID, "Sentinel", 30, e.settings(e.ws, clientID, "app-secret"))
			sentinelWait(t, 30*time.Second, "the throttled poll", func() bool { return e.polledSince(e.teamID, cid, t0) })
			h := e.health(e.teamID, cid)
			if msg := healthText(h, "lastError"); !strings.Contains(msg, "throttling") || !strings.Contains(msg, "429") {
				t.Fatalf("health during the 429 storm: lastError %q", msg)
			}
			if n := len(e.alertsByIncident(e.teamID)); n != 0 || h["watermark"] != nil {
				t.Fatalf("a failed poll opened %d alerts / moved the watermark to %v", n, h["watermark"])
			}
			e.advance(30 * time.Second)
			second := e.now()
			sentinelWait(t, 30*time.Second, "the poll after the 429 storm", func() bool { return e.polledSince(e.teamID, cid, second) })
			if msg := healthText(e.health(e.teamID, cid), "lastError"); msg != "" {
				t.Fatalf("health after the 429 storm: lastError %q", msg)
			}
			var lists, refused int
			for _, r := range e.emu.Requests() {
				if r.Method == "GET" && strings.HasSuffix(r.Path, "/incidents") {
					lists++
					if r.Status == 429 {
						refused++
					}
				}
			}
			if lists != throttled+1 || refused != throttled {
				t.Errorf("%d list calls, %d throttled; want %d and %d (four tries a poll)", lists, refused, throttled+1, throttled)
			}
			alerts := map[string]string{} // incident → alert
			for ext, as := range e.alertsByIncident(e.teamID) {
				if len(as) != 1 {
					t.Fatalf("incident %s has %d alerts", ext, len(as))
				}
				alerts[ext] = as[0].id
			}
			if len(alerts) != len(incs) {
				t.Fatalf("%d alerts after the 429 storm, want %d", len(alerts), len(incs))
			}
			e.drained(e.teamID, cid)

			// 503 storm: incident updates and comments fail for a while.
			// The first write-backs fail all four tries of the client: the
			// first of the three on incs[0] (which holds back the other
			// two), then incs[1]'s; the outbox retries them 10 s later (app
			// time) and sends the held-back ones after, in order.
			e.emu.Fail(azureemu.FailRule{Method: "PUT", PathContains: "/providers/Microsoft.SecurityInsights/incidents/", Status: 503, RetryAfter: "0", Times: 8})
			errsBefore := e.writeErrors(cid)
			e.advance(time.Second)
			e.act("Ann", "acknowledge", alerts[incs[0].Name])
			e.advance(time.Second)
			e.act("Ann", "undo-acknowledge", alerts[incs[0].Name])
			e.advance(time.Second)
			e.act("Bob", "acknowledge", alerts[incs[0].Name])
			e.act("Ann", "acknowledge", alerts[incs[1].Name])
			e.act("Bob", "acknowledge", alerts[incs[2].Name])
			sentinelWait(t, 30*time.Second, "the write-backs to fail", func() bool { return e.writeErrors(cid) >= errsBefore+2 })
			h = e.health(e.teamID, cid)
			if msg := healthText(h, "lastWriteError"); !strings.Contains(msg, "503") || h["pendingWrites"] == float64(0) {
				t.Fatalf("health during the 503 storm: lastWriteError %q, pendingWrites %v", msg, h["pendingWrites"])
			}
			if cur, _ := e.emu.Incident(incs[0].Name); cur.Status != "New" || len(e.commentTexts(incs[0].Name)) != 0 {
				t.Fatalf("a later write-back overtook the failed first one: %s, comments %q", cur.Status, e.commentTexts(incs[0].Name))
			}
			e.advance(10 * time.Second)
			e.drained(e.teamID, cid)
			// Polls read the write-backs back; nothing changes for that.
			e.advance(30 * time.Second)
			e.pollNow(e.teamID, cid)
			e.drained(e.teamID, cid)

			for _, c := range []struct {
				inc      azureemu.Incident
				owner    string
				comments []string
			}{
				{incs[0], "bob@contoso.com", []string{"Acknowledged in lastmile by Ann.", "Acknowledgement undone in lastmile by Ann.", "Acknowledged in lastmile by Bob."}},
				{incs[1], "ann@contoso.com", []string{"Acknowledged in lastmile by Ann."}},
				{incs[2], "bob@contoso.com", []string{"Acknowledged in lastmile by Bob."}},
			} {
				cur, _ := e.emu.Incident(c.inc.Name)
				if cur.Status != "Active" || cur.Owner.Email != c.owner {
					t.Errorf("%q in Sentinel: %s owned by %q, want Active owned by %q", c.inc.Title, cur.Status, cur.Owner.Email, c.owner)
				}
				if got := e.commentTexts(c.inc.Name); !slices.Equal(got, c.comments) {
					t.Errorf("%q comments:\n got %q\nwant %q", c.inc.Title, got, c.comments)
				}
				as := e.alertsByIncident(e.teamID)[c.inc.Name]
				if len(as) != 1 || as[0].status != "acknowledged" {
					t.Errorf("%q: alerts %v, want one acknowledged", c.inc.Title, as)
				}
			}
			var unsent int
			if err := e.a.DB.QueryRow(ctx, `SELECT COUNT(*) FROM connector_writebacks WHERE connector_id = ? AND status <> 'sent'`, cid).Scan(&unsent); err != nil || unsent != 0 {
				t.Errorf("%d write-backs not sent (%v)", unsent, err)
			}
			h = e.health(e.teamID, cid)
			if msg := healthText(h, "lastError"); msg != "" {
				t.Errorf("health after the storms: lastError %q", msg)
			}
			if msg := healthText(h, "lastWriteError"); msg != "" {
				t.Errorf("health after the storms: lastWriteError %q stays although every write-back went through since", msg)
			}
		})
	}
}

// An acknowledgement undone while the undo's write-back waits (Sentinel
// answering 503): a poll that reads the acknowledgement's own write-back
// back meanwhile must not take it for a change made in Sentinel and
// acknowledge the alert again. Afterwards lastmile and Sentinel agree:
// the alert is new, the incident New.
func TestSentinelUndoneAcknowledgementIsNotEchoed(t *testing.T) {
	for _, d := range storetest.Dialects(t) {
		t.Run(string(d), func(t *testing.T) {
			e := startSentinel(t, d, sentinelOptions{fake: true})
			inc := e.addIncident(azureemu.Incident{Title: "Token theft on ann's laptop", Severity: "High"})
			cid := e.addConnector(e.teamID, "Sentinel", 30, e.settings(e.ws, clientID, "app-secret"))
			sentinelWait(t, 30*time.Second, "the alert", func() bool { return len(e.alertsByIncident(e.teamID)[inc.Name]) == 1 })
			e.drained(e.teamID, cid)
			alertID := e.alertsByIncident(e.teamID)[inc.Name][0].id

			e.advance(time.Second)
			e.act("Ann", "acknowledge", alertID)
			e.drained(e.teamID, cid)
			e.emu.Fail(azureemu.FailRule{Method: "PUT", PathContains: "/providers/Microsoft.SecurityInsights/incidents/", Status: 503, RetryAfter: "0", Times: 4})
			errsBefore := e.writeErrors(cid)
			e.advance(time.Second)
			e.act("Ann", "undo-acknowledge", alertID)
			sentinelWait(t, 30*time.Second, "the undo's write-back to fail", func() bool { return e.writeErrors(cid) > errsBefore })
			e.pollNow(e.teamID, cid) // reads Active, owner Ann: lastmile's own write-back
			e.advance(10 * time.Second)
			e.drained(e.teamID, cid)
			e.advance(30 * time.Second)
			e.pollNow(e.teamID, cid)
			e.drained(e.teamID, cid)

			cur, _ := e.emu.Incident(inc.Name)
			if cur.Status != "New" {
				t.Errorf("incident %s, want New", cur.Status)
			}
			if got, want := e.commentTexts(inc.Name), []string{"Acknowledged in lastmile by Ann.", "Acknowledgement undone in lastmile by Ann."}; !slices.Equal(got, want) {
				t.Errorf("comments %q, want %q", got, want)
			}
			if st := e.alertsByIncident(e.teamID)[inc.Name][0].status; st != "new" {
				tl, _ := json.Marshal(e.api(e.key, "GET", "/api/v1/alerts/"+alertID+"/timeline", nil, 200)["items"])
				t.Errorf("alert %s, want new; timeline %s", st, tl)
			}
		})
	}
}

// A lifecycle-log outage (the Logs Ingestion API answering 503) retries the
// log record, not the incident's update and comment already made.
func TestSentinelLogOutageRepeatsNoWriteBack(t *testing.T) {
	const logApp, dcr = "6b1f7c3e-2d4a-4e8b-9f6c-1a2b3c4d5e6f", "dcr-5f0c2a7e"
	for _, d := range storetest.Dialects(t) {
		t.Run(string(d), func(t *testing.T) {
			e := startSentinel(t, d, sentinelOptions{fake: true})
			if err := e.emu.AddDCR(azureemu.DCR{ImmutableID: dcr, Workspace: wsName, Streams: map[string]string{"Custom-SIGNL4_CL": "SIGNL4_CL"}}); err != nil {
				t.Fatal(err)
			}
			if _, err := e.emu.AddApp(tenantID, azureemu.App{ClientID: logApp, Secret: "log-secret", IngestionRoles: []string{dcr},
				ARMRoles: map[string][]string{rgScope: {"Microsoft Sentinel Contributor"}}}); err != nil {
				t.Fatal(err)
			}
			inc := e.addIncident(azureemu.Incident{Title: "Credential dumping on dc01", Severity: "High"})
			settings := e.settings(e.ws, logApp, "log-secret")
			settings["log"] = map[string]any{"mode": "ingestion", "endpoint": e.emu.URL(), "dcrImmutableId": dcr}
			cid := e.addConnector(e.teamID, "Sentinel", 30, settings)
			sentinelWait(t, 30*time.Second, "the alert", func() bool { return len(e.alertsByIncident(e.teamID)[inc.Name]) == 1 })
			e.drained(e.teamID, cid)

			e.emu.Fail(azureemu.FailRule{Method: "POST", PathContains: "/dataCollectionRules/", Status: 503, RetryAfter: "0", Times: 4})
			e.advance(time.Second)
			e.act("Ann", "acknowledge", e.alertsByIncident(e.teamID)[inc.Name][0].id)
			sentinelWait(t, 30*time.Second, "the log record to fail", func() bool { return e.writeErrors(cid) > 0 })
			e.advance(10 * time.Second)
			e.drained(e.teamID, cid)

			if got, want := e.commentTexts(inc.Name), []string{"Acknowledged in lastmile by Ann."}; !slices.Equal(got, want) {
				t.Errorf("comments %q, want %q", got, want)
			}
			rows, err := e.emu.Rows(wsName, "SIGNL4_CL")
			if err != nil {
				t.Fatal(err)
			}
			var acks int
			for _, r := range rows {
				if r["EventType"] == "acknowledged" {
					acks++
				}
			}
			if acks != 1 {
				t.Errorf("%d acknowledged records in SIGNL4_CL, want 1", acks)
			}
		})
	}
}

// The health says in plain words why a connector cannot read, and clears
// once the administrator has fixed it: a wrong client secret, an app
// without a Sentinel role on the workspace.
func TestSentinelHealthNamesTheProblem(t *testing.T) {
	const bareApp = "7c2e8d4f-3e5b-4f9c-8a7d-2b3c4d5e6f70"
	cases := []struct {
		name   string
		client string
		secret string
		want   []string
		fix    func(e *sentinelEnv, teamID, cid string)
	}{
		{"wrong secret", clientID, "the-secret-id-not-its-value", []string{"client secret is wrong", "AADSTS7000215"},
			func(e *sentinelEnv, teamID, cid string) {
				e.api(e.key, "PATCH", "/api/v1/teams/"+teamID+"/connectors/"+cid, map[string]any{"settings": e.settings(e.ws, clientID, "app-secret")}, 200)
			}},
		{"no Sentinel role", bareApp, "bare-secret", []string{"Microsoft Sentinel Reader", wsName},
			func(e *sentinelEnv, teamID, cid string) {
				if err := e.emu.GrantARMRole(tenantID, bareApp, e.ws.ResourceID(), "Microsoft Sentinel Responder"); err != nil {
					e.tb.Fatal(err)
				}
				e.api(e.key, "POST", "/api/v1/teams/"+teamID+"/connectors/"+cid+"/poll", nil, 202)
			}},
	}
	for _, d := range storetest.Dialects(t) {
		t.Run(string(d), func(t *testing.T) {
			e := startSentinel(t, d, sentinelOptions{fake: true})
			if _, err := e.emu.AddApp(tenantID, azureemu.App{ClientID: bareApp, Secret: "bare-secret"}); err != nil {
				t.Fatal(err)
			}
			inc := e.addIncident(azureemu.Incident{Title: "Brute force on vpn01", Severity: "High"})
			for _, c := range cases {
				t.Run(c.name, func(t *testing.T) {
					e.tb = t
					tm, _, err := e.a.Teams.CreateTeam(context.Background(), "SOC "+c.name, "")
					if err != nil {
						t.Fatal(err)
					}
					started := e.now()
					cid := e.addConnector(tm.ID, "Sentinel", 30, e.settings(e.ws, c.client, c.secret))
					sentinelWait(t, 30*time.Second, "the first poll", func() bool { return e.polledSince(tm.ID, cid, started) })
					h := e.health(tm.ID, cid)
					msg := healthText(h, "lastError")
					for _, w := range c.want {
						if !strings.Contains(msg, w) {
							t.Errorf("lastError %q lacks %q", msg, w)
						}
					}
					if h["lastErrorAt"] == nil || h["lastSuccessAt"] != nil || len(e.alertsByIncident(tm.ID)) != 0 {
						t.Errorf("health %v, alerts %v", h, e.alertsByIncident(tm.ID))
					}
					c.fix(e, tm.ID, cid)
					sentinelWait(t, 30*time.Second, "the error to clear", func() bool {
						return healthText(e.health(tm.ID, cid), "lastError") == "" && len(e.alertsByIncident(tm.ID)[inc.Name]) == 1
					})
				})
			}
		})
	}
}
