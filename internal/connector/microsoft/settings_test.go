package microsoft_test

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"

	"github.com/lastmile/lastmile/internal/connector"
	"github.com/lastmile/lastmile/internal/connector/microsoft"
	"github.com/lastmile/lastmile/internal/connector/sentinel"
)

func TestKindDescribesModesAndSecrets(t *testing.T) {
	k := microsoft.Kind(microsoft.Options{})
	if k.Name != "microsoft" {
		t.Errorf("name = %q", k.Name)
	}
	for _, m := range []string{sentinel.ModeSentinel, sentinel.ModeGraphIncidents, sentinel.ModeGraphAlerts, sentinel.ModeGraphLegacy} {
		if !slices.Contains(k.Sources, m) {
			t.Errorf("sources %v lack %s", k.Sources, m)
		}
	}
	for _, s := range []string{"clientSecret", "certificate", "log.sharedKey"} {
		if !slices.Contains(k.Secrets, s) {
			t.Errorf("secrets %v lack %s", k.Secrets, s)
		}
	}
}

// settingsJSON is a valid Sentinel connector's settings (public cloud, no
// emulator needed: Build makes no call) with extra merged in; a nil value
// removes a field.
func settingsJSON(extra map[string]any) json.RawMessage {
	s := map[string]any{
		"tenantId": tenant, "clientId": client, "clientSecret": secret,
		"subscriptionId": sub, "resourceGroup": rg, "workspaceName": wsName,
	}
	for k, v := range extra {
		if v == nil {
			delete(s, k)
		} else {
			s[k] = v
		}
	}
	b, _ := json.Marshal(s)
	return b
}

func TestBuildStrictSettings(t *testing.T) {
	tests := []struct {
		name  string
		mode  string
		extra map[string]any
		raw   string // instead of settingsJSON(extra)
		want  []string
		not   []string // words the error must not have
	}{
		{name: "unknown field", mode: "sentinel", extra: map[string]any{"tennant": "x"}, want: []string{`unknown field "tennant"`}},
		{name: "field in the wrong case", mode: "sentinel", extra: map[string]any{"tenantID": tenant}, want: []string{`"tenantID"`, `did you mean "tenantId"`}},
		{name: "unknown nested field", mode: "sentinel", extra: map[string]any{"log": map[string]any{"mode": "ingestion", "endpoint": "https://dce.example", "dcrImmutableId": "dcr-1", "shardKey": "x"}},
			want: []string{`"shardKey"`}},
		{name: "unknown endpoint", mode: "sentinel", extra: map[string]any{"endpoints": map[string]any{"arm": "https://arm.example"}}, want: []string{`"arm"`}},
		{name: "not an object", mode: "sentinel", raw: `["tenantId"]`, want: []string{"settings"}},
		{name: "no subscription", mode: "sentinel", extra: map[string]any{"subscriptionId": nil}, want: []string{"subscriptionId"}, not: []string{"resourceGroup", "workspaceName"}},
		{name: "no resource group", mode: "sentinel", extra: map[string]any{"resourceGroup": nil}, want: []string{"resourceGroup"}, not: []string{"subscriptionId", "workspaceName"}},
		{name: "no workspace", mode: "sentinel", extra: map[string]any{"workspaceName": nil}, want: []string{"workspaceName"}, not: []string{"subscriptionId", "resourceGroup"}},
		{name: "blank workspace", mode: "sentinel", extra: map[string]any{"workspaceName": " "}, want: []string{"workspaceName"}},
		{name: "no workspace at all", mode: "sentinel", extra: map[string]any{"subscriptionId": nil, "resourceGroup": nil, "workspaceName": nil},
			want: []string{"subscriptionId", "resourceGroup", "workspaceName"}},
		{name: "bad severity", mode: "sentinel", extra: map[string]any{"severities": []string{"High", "Critical"}}, want: []string{"severities", `"Critical"`}, not: []string{`"High" is not`}},
		{name: "severity in the wrong case", mode: "sentinel", extra: map[string]any{"severities": []string{"high"}}, want: []string{"severities", `"high"`}},
		{name: "closed is no status to open", mode: "sentinel", extra: map[string]any{"statuses": []string{"Closed"}}, want: []string{"statuses", `"Closed"`}},
		{name: "bad classification", mode: "sentinel", extra: map[string]any{"closeClassification": "Malicious"}, want: []string{"closeClassification", `"Malicious"`}},
		{name: "bad reason", mode: "sentinel", extra: map[string]any{"closeClassificationReason": "Because"}, want: []string{"closeClassificationReason", `"Because"`}},
		{name: "bad title template", mode: "sentinel", extra: map[string]any{"titleTemplate": "{{.Number}: {{.Title}}"}, want: []string{"titleTemplate"}, not: []string{"textTemplate"}},
		{name: "bad text template", mode: "sentinel", extra: map[string]any{"textTemplate": "{{range .Products}}"}, want: []string{"textTemplate"}, not: []string{"titleTemplate"}},
		{name: "log mode unknown", mode: "sentinel", extra: map[string]any{"log": map[string]any{"mode": "syslog"}}, want: []string{"log.mode", "ingestion", "datacollector"}},
		{name: "ingestion without rule", mode: "sentinel", extra: map[string]any{"log": map[string]any{"mode": "ingestion", "endpoint": "https://dce.example"}}, want: []string{"dcrImmutableId"}},
		{name: "ingestion without endpoint", mode: "sentinel", extra: map[string]any{"log": map[string]any{"mode": "ingestion", "dcrImmutableId": "dcr-1"}}, want: []string{"endpoint"}},
		{name: "datacollector without key", mode: "sentinel", extra: map[string]any{"workspaceId": wsID, "log": map[string]any{"mode": "datacollector"}}, want: []string{"sharedKey"}},
		{name: "datacollector without workspace id", mode: "sentinel", extra: map[string]any{"log": map[string]any{"mode": "datacollector", "sharedKey": "a2V5"}}, want: []string{"workspaceId"}},
		{name: "graph augment without workspace id", mode: "graph_incidents", extra: map[string]any{"augment": true}, want: []string{"augment", "workspaceId"}},
		{name: "tenant not a tenant", mode: "graph_incidents", extra: map[string]any{"tenantId": "not a tenant"}, want: []string{"tenant id"}},
		{name: "client id not a GUID", mode: "sentinel", extra: map[string]any{"clientId": "my app"}, want: []string{"client id"}},
		{name: "no credential", mode: "graph_alerts", extra: map[string]any{"clientSecret": nil}, want: []string{"client secret"}},
		{name: "plain http endpoint", mode: "sentinel", extra: map[string]any{"endpoints": map[string]any{"graph": "http://graph.example"}}, want: []string{"graph endpoint", "https"}},
		{name: "several at once", mode: "sentinel", extra: map[string]any{"severities": []string{"Severe"}, "closeClassification": "Bad"},
			want: []string{"severities", "closeClassification"}},
	}
	k := microsoft.Kind(microsoft.Options{})
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			raw := json.RawMessage(tt.raw)
			if tt.raw == "" {
				raw = settingsJSON(tt.extra)
			}
			_, err := k.Build(tt.mode, raw)
			if err == nil {
				t.Fatalf("built with %s", raw)
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not name %q", err, w)
				}
			}
			for _, w := range tt.not {
				if strings.Contains(err.Error(), w) {
					t.Errorf("error %q names %q", err, w)
				}
			}
		})
	}
}

func TestBuildAcceptsGoodSettings(t *testing.T) {
	tests := []struct {
		name  string
		mode  string
		extra map[string]any
	}{
		{"sentinel minimal", "sentinel", nil},
		{"sentinel everything", "sentinel", map[string]any{
			"workspaceId": wsID, "severities": []string{"High", "Medium", "Low", "Informational"}, "statuses": []string{"New", "Active"},
			"products": []string{"Microsoft Defender for Endpoint"}, "label": "lastmile", "closeClassification": "TruePositive",
			"closeClassificationReason": "SuspiciousActivity", "closeComment": "closed", "augment": true,
			"titleTemplate": "{{.Number}}: {{.Title}}", "textTemplate": "{{.Description}} {{range .Products}}{{.}} {{end}}",
			"log": map[string]any{"mode": "ingestion", "endpoint": "https://dce.example", "dcrImmutableId": "dcr-1", "stream": "Custom-Lastmile_CL"},
			"endpoints": map[string]any{"authorityHost": "https://login.microsoftonline.us/", "resourceManager": "https://management.usgovcloudapi.net",
				"graph": "https://graph.microsoft.us", "logAnalytics": "https://api.loganalytics.us"},
		}},
		{"graph incidents without workspace", "graph_incidents", map[string]any{"subscriptionId": nil, "resourceGroup": nil, "workspaceName": nil}},
		{"graph alerts", "graph_alerts", map[string]any{"augment": true, "workspaceId": wsID}},
		{"legacy with datacollector log", "graph_legacy", map[string]any{"workspaceId": wsID, "log": map[string]any{"mode": "datacollector", "sharedKey": "a2V5"}}},
		{"no label", "sentinel", map[string]any{"label": "-"}},
	}
	k := microsoft.Kind(microsoft.Options{})
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			src, err := k.Build(tt.mode, settingsJSON(tt.extra))
			if err != nil {
				t.Fatal(err)
			}
			if _, ok := src.(connector.Logger); !ok {
				t.Error("the source writes no lifecycle log")
			}
		})
	}
}
