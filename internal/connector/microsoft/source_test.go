package microsoft_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/lastmile/lastmile/internal/azureemu"
)

// sentinelIncidents adds the incidents the Changes tests read, out of
// modification order, and returns them by title.
func sentinelIncidents(t *testing.T, e *env) map[string]azureemu.Incident {
	t.Helper()
	now := e.clock.Now()
	add := []azureemu.Incident{
		{Title: "Phishing mail opened", Description: "A user opened a phishing mail", Severity: "Informational", Status: "Active",
			Owner:        azureemu.Owner{Email: "bob@contoso.com", UserPrincipalName: "bob@contoso.com", AssignedTo: "Bob", OwnerType: "User"},
			Alerts:       []azureemu.Alert{{DisplayName: "Phish", ProductName: "Microsoft Defender for Office 365", Tactics: []string{"InitialAccess"}}},
			Created:      now.Add(-5 * time.Hour),
			LastModified: now.Add(-1 * time.Hour)},
		{Title: "Brute force", Description: "Many failed sign-ins", Severity: "High", Status: "New",
			Alerts: []azureemu.Alert{{DisplayName: "Failed sign-ins", ProductName: "Microsoft Defender for Endpoint", Tactics: []string{"CredentialAccess"}},
				{DisplayName: "Sign-in after failures", ProductName: "Azure Sentinel", Tactics: []string{"InitialAccess"}}},
			Created:      now.Add(-4 * time.Hour),
			LastModified: now.Add(-3 * time.Hour)},
		{Title: "Malware", Severity: "Medium", Status: "Closed", Classification: "TruePositive", ClassificationReason: "SuspiciousActivity",
			Owner:        azureemu.Owner{UserPrincipalName: "carol@contoso.com"},
			Alerts:       []azureemu.Alert{{DisplayName: "Malware found", ProductName: "Microsoft Defender for Endpoint"}},
			Created:      now.Add(-6 * time.Hour),
			LastModified: now.Add(-2 * time.Hour)},
		{Title: "Noisy scan", Severity: "Low", Status: "New", Owner: azureemu.Owner{AssignedTo: "Dave"},
			Created:      now.Add(-40 * time.Minute),
			LastModified: now.Add(-30 * time.Minute)},
		{Title: "Last week", Severity: "High", Status: "New", Created: now.Add(-7 * 24 * time.Hour), LastModified: now.Add(-7 * 24 * time.Hour)},
	}
	out := map[string]azureemu.Incident{}
	for _, inc := range add {
		got, err := e.emu.AddIncident(wsName, inc)
		if err != nil {
			t.Fatalf("add %s: %v", inc.Title, err)
		}
		out[got.Title] = got
	}
	return out
}

func TestSentinelChangesMapsIncidents(t *testing.T) {
	e := newEnv(t, armApp("Microsoft Sentinel Reader"))
	incs := sentinelIncidents(t, e)
	src := e.source(t, "sentinel", map[string]any{
		"titleTemplate": "{{.Number}}: {{.Title}}",
		"textTemplate":  "{{.Severity}} from {{.Provider}}: {{.Description}}",
	})
	items, err := src.Changes(context.Background(), e.clock.Now().Add(-24*time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	var order []string
	for _, it := range items {
		order = append(order, it.ExternalID)
	}
	want := []string{incs["Brute force"].Name, incs["Malware"].Name, incs["Phishing mail opened"].Name, incs["Noisy scan"].Name}
	if fmt.Sprint(order) != fmt.Sprint(want) {
		t.Fatalf("items %v, want %v (oldest change first, nothing older than since)", order, want)
	}
	for i := 1; i < len(items); i++ {
		if items[i].Modified.Before(items[i-1].Modified) {
			t.Errorf("item %d modified %v before item %d's %v", i, items[i].Modified, i-1, items[i-1].Modified)
		}
	}

	tests := []struct {
		title, severity, status, owner string
		open                           bool
		products, tactics              string
		text                           string
	}{
		{"Brute force", "high", "new", "", true, "Microsoft Defender for Endpoint, Azure Sentinel", "CredentialAccess, InitialAccess", "High from Azure Sentinel: Many failed sign-ins"},
		{"Phishing mail opened", "info", "active", "bob@contoso.com", false, "Microsoft Defender for Office 365", "InitialAccess", "Informational from Azure Sentinel: A user opened a phishing mail"},
		{"Malware", "medium", "closed", "carol@contoso.com", false, "Microsoft Defender for Endpoint", "", "Medium from Azure Sentinel:"},
		{"Noisy scan", "low", "new", "Dave", true, "", "", "Low from Azure Sentinel:"},
	}
	got := byID(items)
	for _, tt := range tests {
		t.Run(tt.title, func(t *testing.T) {
			inc := incs[tt.title]
			it, ok := got[inc.Name]
			if !ok {
				t.Fatalf("no item for %s", inc.Name)
			}
			if it.Severity != tt.severity || it.Status != tt.status || it.Owner != tt.owner || it.Open != tt.open {
				t.Errorf("severity %q status %q owner %q open %v; want %q %q %q %v", it.Severity, it.Status, it.Owner, it.Open,
					tt.severity, tt.status, tt.owner, tt.open)
			}
			if want := fmt.Sprintf("%d: %s", inc.Number, inc.Title); it.Title != want {
				t.Errorf("title %q, want %q", it.Title, want)
			}
			if it.Text != tt.text {
				t.Errorf("text %q, want %q", it.Text, tt.text)
			}
			if !it.Modified.Equal(inc.LastModified) {
				t.Errorf("modified %v, want %v", it.Modified, inc.LastModified)
			}
			wantParams := map[string]string{
				"Incident number": fmt.Sprint(inc.Number), "Severity": inc.Severity, "Status": inc.Status,
				"Owner": tt.owner, "Products": tt.products, "Tactics": tt.tactics, "Incident link": inc.URL,
			}
			for name, v := range wantParams {
				p, ok := param(it.Params, name)
				if v == "" {
					if ok {
						t.Errorf("param %s = %q, want none (empty params are left out)", name, p)
					}
					continue
				}
				if p != v {
					t.Errorf("param %s = %q, want %q", name, p, v)
				}
			}
			if !strings.Contains(string(it.Raw), inc.Name) {
				t.Errorf("raw %s lacks the incident", it.Raw)
			}
		})
	}
}

func TestSentinelChangesFilters(t *testing.T) {
	e := newEnv(t, armApp("Microsoft Sentinel Reader"))
	incs := sentinelIncidents(t, e)
	tests := []struct {
		name    string
		filters map[string]any
		open    []string // titles that open alerts
	}{
		{"default: new only", nil, []string{"Brute force", "Noisy scan"}},
		{"new and active", map[string]any{"statuses": []string{"New", "Active"}}, []string{"Brute force", "Noisy scan", "Phishing mail opened"}},
		{"active only", map[string]any{"statuses": []string{"Active"}}, []string{"Phishing mail opened"}},
		{"severities", map[string]any{"severities": []string{"High", "Medium"}}, []string{"Brute force"}},
		{"low and informational", map[string]any{"severities": []string{"Low", "Informational"}, "statuses": []string{"New", "Active"}},
			[]string{"Noisy scan", "Phishing mail opened"}},
		{"products", map[string]any{"products": []string{"Microsoft Defender for Endpoint"}}, []string{"Brute force"}},
		{"products, any status", map[string]any{"products": []string{"Microsoft Defender for Office 365", "Microsoft Defender for Endpoint"}, "statuses": []string{"New", "Active"}},
			[]string{"Brute force", "Phishing mail opened"}},
		{"nothing matches", map[string]any{"products": []string{"Microsoft Defender for Cloud"}}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			src := e.source(t, "sentinel", tt.filters)
			items, err := src.Changes(context.Background(), e.clock.Now().Add(-24*time.Hour))
			if err != nil {
				t.Fatal(err)
			}
			if len(items) != 4 {
				t.Fatalf("%d items, want all 4 recent ones whether they open alerts or not", len(items))
			}
			got := byID(items)
			for title, inc := range incs {
				if title == "Last week" {
					continue
				}
				want := false
				for _, o := range tt.open {
					want = want || o == title
				}
				if got[inc.Name].Open != want {
					t.Errorf("%s: open %v, want %v", title, got[inc.Name].Open, want)
				}
			}
		})
	}
}

func TestSentinelChangesTemplatesFallBack(t *testing.T) {
	e := newEnv(t, armApp("Microsoft Sentinel Reader"))
	inc, err := e.emu.AddIncident(wsName, azureemu.Incident{Title: "Brute force", Description: "Many failed sign-ins", Severity: "High"})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name        string
		settings    map[string]any
		title, text string
	}{
		{"defaults", nil, "Brute force", "Many failed sign-ins"},
		{"other fields", map[string]any{"titleTemplate": "[{{.Severity}}] {{.Title}} ({{.Status}})", "textTemplate": "{{.URL}}"},
			"[High] Brute force (New)", inc.URL},
		// A field the view does not have fails at run time: the plain
		// title and description stand in.
		{"unknown field", map[string]any{"titleTemplate": "{{.Nope}}", "textTemplate": "{{.Nope}}"}, "Brute force", "Many failed sign-ins"},
		{"blank title", map[string]any{"titleTemplate": "{{if false}}x{{end}}  "}, "Brute force", "Many failed sign-ins"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			items, err := e.source(t, "sentinel", tt.settings).Changes(context.Background(), time.Time{})
			if err != nil {
				t.Fatal(err)
			}
			if len(items) != 1 || items[0].Title != tt.title || items[0].Text != tt.text {
				t.Errorf("items %+v, want title %q text %q", items, tt.title, tt.text)
			}
		})
	}
}

func TestSentinelChangesNeedsARole(t *testing.T) {
	e := newEnv(t, azureemu.App{})
	_, err := e.source(t, "sentinel", nil).Changes(context.Background(), time.Time{})
	if err == nil || !strings.Contains(err.Error(), "Microsoft Sentinel Reader") {
		t.Errorf("err = %v, want the missing role named", err)
	}
}

func TestSentinelChangesRetriesThrottling(t *testing.T) {
	e := newEnv(t, armApp("Microsoft Sentinel Reader"))
	if _, err := e.emu.AddIncident(wsName, azureemu.Incident{Title: "x", Severity: "Low"}); err != nil {
		t.Fatal(err)
	}
	e.emu.Fail(azureemu.FailRule{PathContains: "/incidents", Method: "GET", Status: 429, RetryAfter: "7"})
	items, err := e.source(t, "sentinel", nil).Changes(context.Background(), time.Time{})
	if err != nil || len(items) != 1 {
		t.Fatalf("items %v, err %v", items, err)
	}
	e.sleeps.mu.Lock()
	defer e.sleeps.mu.Unlock()
	if len(e.sleeps.waits) != 1 || e.sleeps.waits[0] != 7*time.Second {
		t.Errorf("waits %v, want the 7 s Retry-After through the injected sleeper", e.sleeps.waits)
	}
}

// Items the connector already follows are returned whatever the filters,
// so a change at the source (closed there) reaches lastmile.
func TestSentinelChangesFollowsLaterChanges(t *testing.T) {
	e := newEnv(t, armApp("Microsoft Sentinel Reader"))
	inc, err := e.emu.AddIncident(wsName, azureemu.Incident{Title: "x", Severity: "High"})
	if err != nil {
		t.Fatal(err)
	}
	src := e.source(t, "sentinel", nil)
	first, err := src.Changes(context.Background(), time.Time{})
	if err != nil || len(first) != 1 {
		t.Fatalf("%v %v", first, err)
	}
	e.clock.Advance(time.Minute)
	if _, err := e.emu.UpdateIncident(inc.Name, func(i *azureemu.Incident) {
		i.Status, i.Classification, i.ClassificationReason = "Closed", "FalsePositive", "IncorrectAlertLogic"
	}); err != nil {
		t.Fatal(err)
	}
	next, err := src.Changes(context.Background(), first[0].Modified.Add(time.Second))
	if err != nil {
		t.Fatal(err)
	}
	if len(next) != 1 || next[0].Status != "closed" || next[0].Open || !next[0].Modified.After(first[0].Modified) {
		t.Errorf("after closing at the source: %+v", next)
	}
}
