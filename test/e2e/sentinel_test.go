package e2e

import (
	"context"
	"encoding/json"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/lastmile/lastmile/internal/app"
	"github.com/lastmile/lastmile/internal/azureemu"
	"github.com/lastmile/lastmile/internal/clock"
	"github.com/lastmile/lastmile/internal/store/storetest"
	"github.com/lastmile/lastmile/internal/team"
)

const (
	tenantID = "72f988bf-86f1-41af-91ab-2d7cd011db47"
	clientID = "5b1f7c3e-2d4a-4e8b-9f6c-1a2b3c4d5e6f"
	subID    = "d0cfe6b2-9ac0-4464-9919-dccaee2e48c0"
	rg       = "soc-rg"
	wsName   = "soc-ws"
)

// The flagship, end to end: a Sentinel incident in the emulator becomes an
// alert; the alert's incident gets the SIGNL4 label; a member's
// acknowledgement makes the incident Active with them as owner, with a
// comment; their annotation becomes a comment; closing the incident in
// Sentinel closes the alert.
func TestSentinelIncidentRoundTrip(t *testing.T) {
	for _, d := range storetest.Dialects(t) {
		t.Run(string(d), func(t *testing.T) {
			ctx := context.Background()
			emu := azureemu.New(azureemu.Options{})
			if err := emu.Start(); err != nil {
				t.Fatal(err)
			}
			defer emu.Close()
			emu.AddTenant(tenantID)
			ws, err := emu.AddWorkspace(azureemu.Workspace{SubscriptionID: subID, ResourceGroup: rg, Name: wsName})
			if err != nil {
				t.Fatal(err)
			}
			scope := "/subscriptions/" + subID + "/resourceGroups/" + rg + "/providers/Microsoft.OperationalInsights/workspaces/" + wsName
			if _, err := emu.AddApp(tenantID, azureemu.App{ClientID: clientID, Secret: "app-secret",
				ARMRoles: map[string][]string{scope: {"Microsoft Sentinel Contributor", "Log Analytics Reader"}}}); err != nil {
				t.Fatal(err)
			}
			ca := filepath.Join(t.TempDir(), "emulator-ca.pem")
			os.WriteFile(ca, emu.CACertPEM(), 0o600)

			cfg := config(storetest.URL(t, d))
			cfg.ConnectorCAFile = ca
			a, err := app.New(ctx, cfg, slog.New(slog.DiscardHandler), clock.Real{})
			if err != nil {
				t.Fatal(err)
			}
			if err := a.Start(); err != nil {
				t.Fatal(err)
			}
			defer a.Stop(ctx)
			s := &server{t: t, a: a}
			tm, _, _ := a.Teams.CreateTeam(ctx, "SOC", "")
			s.teamID = tm.ID
			admin, _ := a.Teams.CreateUser(ctx, team.NewUser{Email: "admin@example.com", IsAdmin: true})
			_, s.key, _ = a.Teams.CreateAPIKey(ctx, admin.ID, "")
			ann, _ := a.Teams.CreateUser(ctx, team.NewUser{Email: "ann@contoso.com", Name: "Ann"})
			a.Teams.AddMember(ctx, tm.ID, ann.ID, team.RoleResponder)
			_, annKey, _ := a.Teams.CreateAPIKey(ctx, ann.ID, "")

			settings := map[string]any{"tenantId": tenantID, "subscriptionId": subID, "clientId": clientID, "clientSecret": "app-secret",
				"resourceGroup": rg, "workspaceName": wsName, "workspaceId": ws.WorkspaceID,
				"closeClassification": "FalsePositive", "closeClassificationReason": "IncorrectAlertLogic",
				"endpoints": map[string]string{"authorityHost": emu.URL() + "/", "resourceManager": emu.URL(), "graph": emu.URL(), "logAnalytics": emu.URL()}}
			created := s.call("POST", "/api/v1/teams/"+tm.ID+"/connectors", map[string]any{"name": "Sentinel", "source": "sentinel", "settings": settings}, 201)
			cid, _ := created["id"].(string)
			test := s.call("POST", "/api/v1/teams/"+tm.ID+"/connectors/"+cid+"/test", nil, 200)
			if test["ok"] != true {
				t.Fatalf("test connection: %v", test)
			}

			inc, err := emu.AddIncident(wsName, azureemu.Incident{Title: "Impossible travel for ann", Description: "Sign-ins from Lisbon and Sydney within 5 minutes",
				Severity: "High", Status: "New", Tactics: []string{"InitialAccess"}})
			if err != nil {
				t.Fatal(err)
			}
			var alertID string
			s.until("the alert", func() bool {
				list := s.call("GET", "/api/v1/alerts?status=new", nil, 200)
				items, _ := list["items"].([]any)
				for _, it := range items {
					m := it.(map[string]any)
					if m["externalId"] == inc.Name {
						alertID, _ = m["id"].(string)
						if m["title"] != "Impossible travel for ann" || m["severity"] != "high" {
							t.Fatalf("alert %v", m)
						}
					}
				}
				if alertID == "" {
					s.call("POST", "/api/v1/teams/"+tm.ID+"/connectors/"+cid+"/poll", nil, 202)
				}
				return alertID != ""
			})
			s.until("the SIGNL4 label", func() bool {
				got, _ := emu.Incident(inc.Name)
				return slices.ContainsFunc(got.Labels, func(l azureemu.Label) bool { return l.Name == "SIGNL4" })
			})

			annCall := &server{t: t, a: a, key: annKey}
			annCall.call("POST", "/api/v1/alerts/"+alertID+"/acknowledge", nil, 200)
			annCall.call("POST", "/api/v1/alerts/"+alertID+"/annotate", map[string]string{"text": "Blocked the sign-ins; checking with Ann."}, 201)
			s.until("the write-back", func() bool {
				got, _ := emu.Incident(inc.Name)
				cs := emu.Comments(inc.Name)
				return got.Status == "Active" && got.Owner.Email == "ann@contoso.com" && len(cs) >= 2
			})
			var texts []string
			for _, c := range emu.Comments(inc.Name) {
				texts = append(texts, c.Message)
			}
			if all := strings.Join(texts, " | "); !strings.Contains(all, "Acknowledged in lastmile by Ann") || !strings.Contains(all, "Blocked the sign-ins") {
				t.Fatalf("comments: %s", all)
			}

			if _, err := emu.UpdateIncident(inc.Name, func(i *azureemu.Incident) {
				i.Status, i.Classification, i.ClassificationReason = "Closed", "TruePositive", "SuspiciousActivity"
			}); err != nil {
				t.Fatal(err)
			}
			s.until("the alert closed", func() bool {
				s.call("POST", "/api/v1/teams/"+tm.ID+"/connectors/"+cid+"/poll", nil, 202)
				return s.alert(alertID)["status"] == "closed"
			})
			got := s.call("GET", "/api/v1/teams/"+tm.ID+"/connectors/"+cid, nil, 200)
			h, _ := json.Marshal(got["health"])
			if !strings.Contains(string(h), `"created":1`) || strings.Contains(string(h), "lastError") {
				t.Fatalf("health %s", h)
			}
			// The incident closed in Sentinel stays as Sentinel closed it:
			// lastmile does not echo the close back with its own verdict.
			s.until("the outbox drained", func() bool {
				h, _ := s.call("GET", "/api/v1/teams/"+tm.ID+"/connectors/"+cid, nil, 200)["health"].(map[string]any)
				return h["pendingWrites"] == float64(0)
			})
			if got, _ := emu.Incident(inc.Name); got.Classification != "TruePositive" {
				t.Fatalf("the close was echoed back: classification %s", got.Classification)
			}
		})
	}
}
