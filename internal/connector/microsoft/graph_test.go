package microsoft_test

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/lastmile/lastmile/internal/azureemu"
	"github.com/lastmile/lastmile/internal/connector"
)

func TestGraphIncidentsChanges(t *testing.T) {
	e := newEnv(t, graphApp("SecurityIncident.Read.All"))
	now := e.clock.Now()
	add := func(inc azureemu.GraphIncident) azureemu.GraphIncident {
		t.Helper()
		got, err := e.emu.AddGraphIncident(tenant, inc)
		if err != nil {
			t.Fatal(err)
		}
		return got
	}
	// Added newest first: the source orders by last update.
	assigned := add(azureemu.GraphIncident{DisplayName: "Lateral movement", Severity: "medium", AssignedTo: "bob@contoso.com",
		Created: now.Add(-3 * time.Hour), LastUpdate: now.Add(-1 * time.Hour)})
	fresh := add(azureemu.GraphIncident{DisplayName: "Ransomware", Description: "Files encrypted on host1", Severity: "high",
		Created: now.Add(-3 * time.Hour), LastUpdate: now.Add(-2 * time.Hour),
		Alerts: []azureemu.GraphAlert{
			{Title: "Encrypted files", Severity: "high", ProductName: "Microsoft Defender for Endpoint", MitreTechniques: []string{"T1486"}},
			{Title: "Suspicious rule", Severity: "medium", ServiceSource: "microsoftSentinel", DetectionSource: "scheduledAlerts"},
		}})
	resolved := add(azureemu.GraphIncident{DisplayName: "Old phish", Severity: "informational", Status: "resolved", Classification: "falsePositive",
		Created: now.Add(-5 * time.Hour), LastUpdate: now.Add(-4 * time.Hour)})
	working := add(azureemu.GraphIncident{DisplayName: "Being handled", Severity: "low", Status: "inProgress",
		Created: now.Add(-5 * time.Hour), LastUpdate: now.Add(-3 * time.Hour)})
	from := add(azureemu.GraphIncident{DisplayName: "Part one", Severity: "low", Created: now.Add(-5 * time.Hour), LastUpdate: now.Add(-5 * time.Hour),
		Alerts: []azureemu.GraphAlert{{Title: "Part one alert", ProductName: "Microsoft Defender for Identity"}}})
	into := add(azureemu.GraphIncident{DisplayName: "Whole story", Severity: "high", Created: now.Add(-5 * time.Hour), LastUpdate: now.Add(-5 * time.Hour)})
	e.clock.Advance(time.Minute)
	if err := e.emu.MergeGraphIncidents(from.ID, into.ID); err != nil {
		t.Fatal(err)
	}

	src := e.source(t, "graph_incidents", map[string]any{"titleTemplate": "{{.Number}}: {{.Title}}"})
	items, err := src.Changes(context.Background(), now.Add(-24*time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	var order []string
	for _, it := range items {
		order = append(order, it.ExternalID)
	}
	// The merged pair changed last, in either order.
	head := []string{resolved.ID, working.ID, fresh.ID, assigned.ID}
	if len(order) != 6 || !slices.Equal(order[:4], head) || !slices.Contains(order[4:], from.ID) || !slices.Contains(order[4:], into.ID) {
		t.Fatalf("order %v, want %v then the merged pair", order, head)
	}
	got := byID(items)
	tests := []struct {
		id, severity, status, owner, redirect string
		open                                  bool
	}{
		{fresh.ID, "high", "new", "", "", true},
		{assigned.ID, "medium", "active", "bob@contoso.com", "", false},
		{working.ID, "low", "active", "", "", false},
		{resolved.ID, "info", "closed", "", "", false},
		{from.ID, "low", "redirected", "", into.ID, false},
		{into.ID, "high", "new", "", "", true},
	}
	for _, tt := range tests {
		it := got[tt.id]
		if it.Severity != tt.severity || it.Status != tt.status || it.Owner != tt.owner || it.RedirectTo != tt.redirect || it.Open != tt.open {
			t.Errorf("%s: severity %q status %q owner %q redirect %q open %v; want %q %q %q %q %v", it.Title, it.Severity, it.Status,
				it.Owner, it.RedirectTo, it.Open, tt.severity, tt.status, tt.owner, tt.redirect, tt.open)
		}
	}
	it := got[fresh.ID]
	if it.Title != fresh.ID+": Ransomware" || it.Text != "Files encrypted on host1" {
		t.Errorf("title %q text %q", it.Title, it.Text)
	}
	want := map[string]string{"Incident": fresh.ID, "Severity": "High", "Status": "active", "Alerts": "2"}
	for name, v := range want {
		if p, _ := param(it.Params, name); p != v {
			t.Errorf("param %s = %q, want %q", name, p, v)
		}
	}
	// Graph does not promise the alerts' order.
	a1, _ := param(it.Params, "Alert 1")
	a2, _ := param(it.Params, "Alert 2")
	alerts := []string{a1, a2}
	slices.Sort(alerts)
	if w := []string{"Encrypted files (Microsoft Defender for Endpoint, high) T1486", "Suspicious rule (microsoftSentinel, medium)"}; !slices.Equal(alerts, w) {
		t.Errorf("alert params %q, want %q", alerts, w)
	}
	products, _ := param(it.Params, "Products")
	if ps := strings.Split(products, ", "); len(ps) != 2 || !slices.Contains(ps, "Microsoft Defender for Endpoint") || !slices.Contains(ps, "microsoftSentinel") {
		t.Errorf("products %q", products)
	}
	if p, _ := param(it.Params, "Incident link"); !strings.HasPrefix(p, "https://") {
		t.Errorf("incident link %q", p)
	}
	if !it.Modified.Equal(fresh.LastUpdate) {
		t.Errorf("modified %v, want %v", it.Modified, fresh.LastUpdate)
	}
	// The merged incident's alerts moved with it.
	if p, _ := param(got[into.ID].Params, "Alert 1"); !strings.HasPrefix(p, "Part one alert") {
		t.Errorf("merged incident's alert param %q", p)
	}
}

func TestGraphIncidentsFilters(t *testing.T) {
	e := newEnv(t, graphApp("SecurityIncident.Read.All"))
	mk := func(name, sev, status, assigned, product string) string {
		t.Helper()
		inc, err := e.emu.AddGraphIncident(tenant, azureemu.GraphIncident{DisplayName: name, Severity: sev, Status: status, AssignedTo: assigned,
			Alerts: []azureemu.GraphAlert{{Title: name, ProductName: product}}})
		if err != nil {
			t.Fatal(err)
		}
		return inc.ID
	}
	ids := map[string]string{
		"high new":     mk("high new", "high", "", "", "Microsoft Defender for Endpoint"),
		"low new":      mk("low new", "low", "", "", "Microsoft Defender for Office 365"),
		"high taken":   mk("high taken", "high", "", "ann@contoso.com", "Microsoft Defender for Endpoint"),
		"high working": mk("high working", "high", "inProgress", "", "Microsoft Defender for Endpoint"),
	}
	tests := []struct {
		name    string
		filters map[string]any
		open    []string
	}{
		{"default", nil, []string{"high new", "low new"}},
		{"severity", map[string]any{"severities": []string{"High"}}, []string{"high new"}},
		{"active too", map[string]any{"statuses": []string{"New", "Active"}, "severities": []string{"High"}}, []string{"high new", "high taken", "high working"}},
		{"product", map[string]any{"products": []string{"Microsoft Defender for Office 365"}}, []string{"low new"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			items, err := e.source(t, "graph_incidents", tt.filters).Changes(context.Background(), time.Time{})
			if err != nil {
				t.Fatal(err)
			}
			got := byID(items)
			for name, id := range ids {
				if want := slices.Contains(tt.open, name); got[id].Open != want {
					t.Errorf("%s: open %v, want %v", name, got[id].Open, want)
				}
			}
		})
	}
}

func graphComments(cs []azureemu.GraphComment) []string {
	var out []string
	for _, c := range cs {
		out = append(out, c.Comment)
	}
	return out
}

func TestGraphIncidentsApply(t *testing.T) {
	e := newEnv(t, graphApp("SecurityIncident.ReadWrite.All"))
	inc, err := e.emu.AddGraphIncident(tenant, azureemu.GraphIncident{DisplayName: "Ransomware", Severity: "high",
		Alerts: []azureemu.GraphAlert{{Title: "Encrypted files"}}})
	if err != nil {
		t.Fatal(err)
	}
	src := e.source(t, "graph_incidents", map[string]any{"closeClassification": "TruePositive"})
	ctx := context.Background()
	steps := []struct {
		change  connector.Change
		check   func(azureemu.GraphIncident) bool
		comment string
	}{
		{connector.Change{Kind: "created"}, func(g azureemu.GraphIncident) bool {
			return slices.Equal(g.CustomTags, []string{"SIGNL4"}) && g.Status == "active" && g.AssignedTo == ""
		}, ""},
		{ann("acknowledged", "", e), func(g azureemu.GraphIncident) bool {
			return g.Status == "active" && g.AssignedTo == "ann@contoso.com"
		}, "Acknowledged in lastmile by Ann."},
		{ann("annotated", "Host isolated", e), func(g azureemu.GraphIncident) bool { return g.Status == "active" }, "Ann in lastmile: Host isolated"},
		{ann("closed", "", e), func(g azureemu.GraphIncident) bool {
			return g.Status == "resolved" && g.Classification == "truePositive" && g.Determination == "other"
		}, "Closed in lastmile by Ann."},
		{ann("reopened", "", e), func(g azureemu.GraphIncident) bool { return g.Status == "active" }, "Reopened in lastmile by Ann."},
		{ann("unacknowledged", "", e), func(g azureemu.GraphIncident) bool { return g.Status == "active" }, "Acknowledgement undone in lastmile by Ann."},
		{connector.Change{Kind: "notified"}, func(g azureemu.GraphIncident) bool { return g.Status == "active" }, ""},
	}
	for _, st := range steps {
		before, _ := e.emu.GraphIncident(inc.ID)
		if err := src.Apply(ctx, inc.ID, st.change); err != nil {
			t.Fatalf("%s: %v", st.change.Kind, err)
		}
		got, _ := e.emu.GraphIncident(inc.ID)
		if !st.check(got) {
			t.Errorf("after %s: status %s assigned %q tags %v classification %s/%s", st.change.Kind, got.Status, got.AssignedTo, got.CustomTags,
				got.Classification, got.Determination)
		}
		b, a := graphComments(before.Comments), graphComments(got.Comments)
		switch {
		case st.comment == "" && len(a) != len(b):
			t.Errorf("%s added comments %q", st.change.Kind, a[len(b):])
		case st.comment != "" && (len(a) != len(b)+1 || a[len(a)-1] != st.comment):
			t.Errorf("%s: comments %q, want %q added", st.change.Kind, a, st.comment)
		}
	}
}

func TestGraphIncidentsApplyCloseClassifications(t *testing.T) {
	tests := []struct{ setting, classification, determination string }{
		{"Undetermined", "unknown", "unknown"},
		{"TruePositive", "truePositive", "other"},
		{"FalsePositive", "falsePositive", "other"},
		{"BenignPositive", "informationalExpectedActivity", "other"},
	}
	e := newEnv(t, graphApp("SecurityIncident.ReadWrite.All"))
	for _, tt := range tests {
		t.Run(tt.setting, func(t *testing.T) {
			inc, err := e.emu.AddGraphIncident(tenant, azureemu.GraphIncident{DisplayName: tt.setting})
			if err != nil {
				t.Fatal(err)
			}
			if err := e.source(t, "graph_incidents", map[string]any{"closeClassification": tt.setting}).Apply(context.Background(), inc.ID, ann("closed", "", e)); err != nil {
				t.Fatal(err)
			}
			got, _ := e.emu.GraphIncident(inc.ID)
			if got.Status != "resolved" || got.Classification != tt.classification || got.Determination != tt.determination {
				t.Errorf("%s/%s/%s", got.Status, got.Classification, got.Determination)
			}
		})
	}
}

// Graph replaces customTags on PATCH: tagging must keep the tags the SOC
// put there.
func TestGraphIncidentsApplyKeepsCustomTags(t *testing.T) {
	e := newEnv(t, graphApp("SecurityIncident.ReadWrite.All"))
	inc, err := e.emu.AddGraphIncident(tenant, azureemu.GraphIncident{DisplayName: "Ransomware", CustomTags: []string{"vip", "finance"}})
	if err != nil {
		t.Fatal(err)
	}
	if err := e.source(t, "graph_incidents", nil).Apply(context.Background(), inc.ID, connector.Change{Kind: "created"}); err != nil {
		t.Fatal(err)
	}
	got, _ := e.emu.GraphIncident(inc.ID)
	if !slices.Contains(got.CustomTags, "SIGNL4") {
		t.Fatalf("tags %v lack SIGNL4", got.CustomTags)
	}
	if !slices.Contains(got.CustomTags, "vip") || !slices.Contains(got.CustomTags, "finance") {
		t.Fatalf("the SOC's tags were replaced: %v", got.CustomTags)
	}
}

func TestGraphIncidentsApplyNeedsReadWrite(t *testing.T) {
	e := newEnv(t, graphApp("SecurityIncident.Read.All"))
	inc, err := e.emu.AddGraphIncident(tenant, azureemu.GraphIncident{DisplayName: "x"})
	if err != nil {
		t.Fatal(err)
	}
	err = e.source(t, "graph_incidents", nil).Apply(context.Background(), inc.ID, ann("acknowledged", "", e))
	if err == nil || !strings.Contains(err.Error(), "SecurityIncident.ReadWrite.All") {
		t.Errorf("err = %v", err)
	}
}

func TestGraphIncidentsNoLabel(t *testing.T) {
	e := newEnv(t, graphApp("SecurityIncident.ReadWrite.All"))
	inc, err := e.emu.AddGraphIncident(tenant, azureemu.GraphIncident{DisplayName: "x"})
	if err != nil {
		t.Fatal(err)
	}
	if err := e.source(t, "graph_incidents", map[string]any{"label": "-"}).Apply(context.Background(), inc.ID, connector.Change{Kind: "created"}); err != nil {
		t.Fatal(err)
	}
	if n := e.requests(http.MethodPatch, ""); n != 0 {
		t.Errorf("%d PATCHes with labels off", n)
	}
}

func TestAlertsV2ChangesAndApply(t *testing.T) {
	e := newEnv(t, graphApp("SecurityAlert.ReadWrite.All"))
	now := e.clock.Now()
	add := func(a azureemu.GraphAlert) azureemu.GraphAlert {
		t.Helper()
		got, err := e.emu.AddGraphAlert(tenant, a)
		if err != nil {
			t.Fatal(err)
		}
		return got
	}
	inc, err := e.emu.AddGraphIncident(tenant, azureemu.GraphIncident{DisplayName: "Holder", Created: now.Add(-3 * time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	fresh := add(azureemu.GraphAlert{Title: "Credential theft", Description: "LSASS read", Severity: "high", IncidentID: inc.ID,
		ProductName: "Microsoft Defender for Endpoint", DetectionSource: "antivirus", Category: "CredentialAccess", MitreTechniques: []string{"T1003", "T1003.001"},
		RecommendedActions: "Isolate the device", Created: now.Add(-2 * time.Hour), LastUpdate: now.Add(-1 * time.Hour)})
	working := add(azureemu.GraphAlert{Title: "Odd logon", Severity: "low", Status: "inProgress", AssignedTo: "bob@contoso.com",
		ServiceSource: "microsoftSentinel", Created: now.Add(-3 * time.Hour), LastUpdate: now.Add(-2 * time.Hour)})
	done := add(azureemu.GraphAlert{Title: "Test alert", Severity: "informational", Status: "resolved", Created: now.Add(-4 * time.Hour), LastUpdate: now.Add(-3 * time.Hour)})

	src := e.source(t, "graph_alerts", map[string]any{"closeClassification": "FalsePositive"})
	ctx := context.Background()
	items, err := src.Changes(ctx, now.Add(-24*time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	var order []string
	for _, it := range items {
		order = append(order, it.ExternalID)
	}
	if want := []string{done.ID, working.ID, fresh.ID}; !slices.Equal(order, want) {
		t.Fatalf("order %v, want %v", order, want)
	}
	got := byID(items)
	for _, tt := range []struct {
		id, severity, status, owner string
		open                        bool
	}{
		{fresh.ID, "high", "new", "", true},
		{working.ID, "low", "active", "bob@contoso.com", false},
		{done.ID, "info", "closed", "", false},
	} {
		it := got[tt.id]
		if it.Severity != tt.severity || it.Status != tt.status || it.Owner != tt.owner || it.Open != tt.open {
			t.Errorf("%s: %q %q %q %v; want %q %q %q %v", it.Title, it.Severity, it.Status, it.Owner, it.Open, tt.severity, tt.status, tt.owner, tt.open)
		}
	}
	it := got[fresh.ID]
	want := map[string]string{"Alert": fresh.ID, "Incident": inc.ID, "Severity": "High", "Product": "Microsoft Defender for Endpoint",
		"Detection source": "antivirus", "Category": "CredentialAccess", "MITRE techniques": "T1003, T1003.001", "Recommended actions": "Isolate the device"}
	for name, v := range want {
		if p, _ := param(it.Params, name); p != v {
			t.Errorf("param %s = %q, want %q", name, p, v)
		}
	}
	if it.Title != "Credential theft" || it.Text != "LSASS read" || len(it.Raw) == 0 {
		t.Errorf("title %q text %q raw %d bytes", it.Title, it.Text, len(it.Raw))
	}
	if p, _ := param(got[working.ID].Params, "Product"); p != "microsoftSentinel" {
		t.Errorf("product of a Sentinel alert %q (Prefer: include-unknown-enum-members)", p)
	}

	steps := []struct {
		change  connector.Change
		status  string
		check   func(azureemu.GraphAlert) bool
		comment string
	}{
		{connector.Change{Kind: "created"}, "new", func(azureemu.GraphAlert) bool { return true }, ""},
		{ann("acknowledged", "", e), "inProgress", func(a azureemu.GraphAlert) bool { return a.AssignedTo == "ann@contoso.com" }, "Acknowledged in lastmile by Ann."},
		{ann("annotated", "Isolating", e), "inProgress", func(azureemu.GraphAlert) bool { return true }, "Ann in lastmile: Isolating"},
		{ann("unacknowledged", "", e), "new", func(azureemu.GraphAlert) bool { return true }, "Acknowledgement undone in lastmile by Ann."},
		{ann("closed", "", e), "resolved", func(a azureemu.GraphAlert) bool {
			return a.Classification == "falsePositive" && a.Determination == "other"
		}, "Closed in lastmile by Ann."},
		{ann("reopened", "", e), "new", func(azureemu.GraphAlert) bool { return true }, "Reopened in lastmile by Ann."},
	}
	for _, st := range steps {
		before, _ := e.emu.GraphAlert(fresh.ID)
		patches := e.requests(http.MethodPatch, "")
		if err := src.Apply(ctx, fresh.ID, st.change); err != nil {
			t.Fatalf("%s: %v", st.change.Kind, err)
		}
		a, _ := e.emu.GraphAlert(fresh.ID)
		if a.Status != st.status || !st.check(a) {
			t.Errorf("after %s: status %s assigned %q classification %s/%s", st.change.Kind, a.Status, a.AssignedTo, a.Classification, a.Determination)
		}
		b, c := graphComments(before.Comments), graphComments(a.Comments)
		switch {
		case st.comment == "" && len(c) != len(b):
			t.Errorf("%s added comments %q", st.change.Kind, c[len(b):])
		case st.comment != "" && (len(c) != len(b)+1 || c[len(c)-1] != st.comment):
			t.Errorf("%s: comments %q, want %q added", st.change.Kind, c, st.comment)
		}
		if st.change.Kind == "created" && e.requests(http.MethodPatch, "") != patches {
			t.Error("alerts_v2 have no tags, yet created PATCHed")
		}
	}
}

func TestLegacyAlertsChangesAndApply(t *testing.T) {
	e := newEnv(t, graphApp("SecurityEvents.ReadWrite.All"))
	now := e.clock.Now()
	add := func(a azureemu.LegacyAlert) azureemu.LegacyAlert {
		t.Helper()
		got, err := e.emu.AddLegacyAlert(tenant, a)
		if err != nil {
			t.Fatal(err)
		}
		return got
	}
	travel := add(azureemu.LegacyAlert{Title: "Impossible travel", Description: "Sign-ins from two continents", Severity: "high", Provider: "IPC",
		Category: "ImpossibleTravel", RecommendedActions: []string{"Reset password", "Review sign-ins"}, SourceMaterials: []string{"https://portal.example/1"},
		Created: now.Add(-2 * time.Hour), EventTime: now.Add(-2 * time.Hour), LastModified: now.Add(-1 * time.Hour)})
	cloudApp := add(azureemu.LegacyAlert{Title: "Mass download", Severity: "medium", Status: "inProgress", AssignedTo: "bob@contoso.com",
		Provider: "MCAS", Vendor: "Microsoft", Created: now.Add(-3 * time.Hour), EventTime: now.Add(-3 * time.Hour), LastModified: now.Add(-2 * time.Hour)})
	closed := add(azureemu.LegacyAlert{Title: "Old", Severity: "low", Status: "resolved", Provider: "ASC",
		Created: now.Add(-4 * time.Hour), EventTime: now.Add(-4 * time.Hour), LastModified: now.Add(-3 * time.Hour)})

	src := e.source(t, "graph_legacy", map[string]any{"closeClassification": "BenignPositive", "products": []string{"IPC"}})
	ctx := context.Background()
	items, err := src.Changes(ctx, now.Add(-24*time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	ext := func(a azureemu.LegacyAlert) string { return a.Provider + "|" + orMicrosoft(a.Vendor) + "|" + a.ID }
	var order []string
	for _, it := range items {
		order = append(order, it.ExternalID)
	}
	if want := []string{ext(closed), ext(cloudApp), ext(travel)}; !slices.Equal(order, want) {
		t.Fatalf("external ids %v, want %v (provider|vendor|id, oldest change first)", order, want)
	}
	got := byID(items)
	for _, tt := range []struct {
		id, severity, status, owner string
		open                        bool
	}{
		{ext(travel), "high", "new", "", true},
		{ext(cloudApp), "medium", "active", "bob@contoso.com", false},
		{ext(closed), "low", "closed", "", false},
	} {
		it := got[tt.id]
		if it.Severity != tt.severity || it.Status != tt.status || it.Owner != tt.owner || it.Open != tt.open {
			t.Errorf("%s: %q %q %q %v; want %q %q %q %v", it.Title, it.Severity, it.Status, it.Owner, it.Open, tt.severity, tt.status, tt.owner, tt.open)
		}
	}
	it := got[ext(travel)]
	want := map[string]string{"Alert": travel.ID, "Severity": "High", "Provider": "IPC", "Category": "ImpossibleTravel",
		"Recommended actions": "Reset password; Review sign-ins", "Source": "https://portal.example/1"}
	for name, v := range want {
		if p, _ := param(it.Params, name); p != v {
			t.Errorf("param %s = %q, want %q", name, p, v)
		}
	}

	// Every PATCH carries vendorInformation: the emulator refuses one
	// without (400) or for another provider (404).
	id := ext(travel)
	if err := src.Apply(ctx, id, ann("acknowledged", "", e)); err != nil {
		t.Fatal(err)
	}
	if a, _ := e.emu.LegacyAlert(travel.ID); a.Status != "inProgress" || a.AssignedTo != "ann@contoso.com" {
		t.Errorf("after ack: %s %q", a.Status, a.AssignedTo)
	}
	if err := src.Apply(ctx, id, ann("unacknowledged", "", e)); err != nil {
		t.Fatal(err)
	}
	if a, _ := e.emu.LegacyAlert(travel.ID); a.Status != "newAlert" {
		t.Errorf("after unack: %s", a.Status)
	}
	closeAt := e.clock.Now()
	if err := src.Apply(ctx, id, ann("closed", "", e)); err != nil {
		t.Fatal(err)
	}
	a, _ := e.emu.LegacyAlert(travel.ID)
	if a.Status != "resolved" || a.Feedback != "benignPositive" || !a.Closed.Equal(closeAt) {
		t.Errorf("after close: %s %s closed %v (want %v)", a.Status, a.Feedback, a.Closed, closeAt)
	}
	patches := e.requests(http.MethodPatch, "")
	if err := src.Apply(ctx, id, ann("annotated", "free text", e)); err != nil {
		t.Fatal(err)
	}
	if e.requests(http.MethodPatch, "") != patches {
		t.Error("an annotation PATCHed a legacy alert (they take no free-text comments)")
	}
	if err := src.Apply(ctx, id, ann("reopened", "", e)); err != nil {
		t.Fatal(err)
	}
	if a, _ := e.emu.LegacyAlert(travel.ID); a.Status != "newAlert" {
		t.Errorf("after reopen: %s", a.Status)
	}

	if err := src.Apply(ctx, "MCAS|Microsoft|"+travel.ID, ann("acknowledged", "", e)); err == nil || !strings.Contains(err.Error(), "404") {
		t.Errorf("another provider's vendorInformation: %v, want Graph's 404", err)
	}
	if err := src.Apply(ctx, travel.ID, ann("acknowledged", "", e)); err == nil || !strings.Contains(err.Error(), "vendor") {
		t.Errorf("an id without vendor information: %v", err)
	}
}

func orMicrosoft(v string) string {
	if v == "" {
		return "Microsoft"
	}
	return v
}

func TestLegacyCloseFeedback(t *testing.T) {
	e := newEnv(t, graphApp("SecurityEvents.ReadWrite.All"))
	for _, tt := range []struct{ setting, feedback string }{
		{"Undetermined", "unknown"}, {"TruePositive", "truePositive"}, {"FalsePositive", "falsePositive"}, {"BenignPositive", "benignPositive"},
	} {
		a, err := e.emu.AddLegacyAlert(tenant, azureemu.LegacyAlert{Title: tt.setting, Provider: "ASC"})
		if err != nil {
			t.Fatal(err)
		}
		src := e.source(t, "graph_legacy", map[string]any{"closeClassification": tt.setting})
		if err := src.Apply(context.Background(), fmt.Sprintf("ASC|Microsoft|%s", a.ID), ann("closed", "", e)); err != nil {
			t.Fatal(err)
		}
		if got, _ := e.emu.LegacyAlert(a.ID); got.Status != "resolved" || got.Feedback != tt.feedback {
			t.Errorf("%s: %s %s, want resolved %s", tt.setting, got.Status, got.Feedback, tt.feedback)
		}
	}
}
