package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	"time"

	"github.com/lastmile/lastmile/internal/azureemu"
)

// The demo tenant the emulator is seeded with.
const (
	demoTenant       = "11111111-2222-3333-4444-555555555555"
	demoClient       = "aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee"
	demoSecret       = "emulator-secret"
	demoSubscription = "99999999-8888-7777-6666-555555555555"
	demoGroup        = "soc-rg"
	demoWorkspace    = "soc-workspace"
)

func runAzure(ctx context.Context, env Env, args []string) error {
	name, args, err := sub(env, args, "emulator, setup")
	if err != nil {
		return err
	}
	if name == "setup" {
		return runAzureSetup(ctx, env, args)
	}
	if name != "emulator" {
		return usagef("unknown subcommand %q: use emulator or setup", name)
	}
	fs := newFlagSet(env, "azure emulator")
	listen := fs.String("listen", "127.0.0.1:8443", "address to serve the emulated Azure APIs on (HTTPS)")
	caOut := fs.String("ca-out", "azure-emulator-ca.pem", "file to write the emulator's CA certificate to (give it to lastmile serve --connector-ca-file)")
	every := fs.Duration("incident-every", 0, "open a new demo incident this often (0: only the first)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	emu := azureemu.New(azureemu.Options{Addr: *listen, Log: slog.New(slog.NewTextHandler(env.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))})
	if err := emu.Start(); err != nil {
		return fmt.Errorf("start the emulator: %w", err)
	}
	defer emu.Close()
	if err := os.WriteFile(*caOut, emu.CACertPEM(), 0o644); err != nil {
		return fmt.Errorf("write %s: %w", *caOut, err)
	}
	settings, err := seedDemo(emu)
	if err != nil {
		return err
	}
	if err := seedSetupAdmin(emu); err != nil {
		return err
	}
	out, _ := json.MarshalIndent(map[string]any{"name": "Sentinel (emulator)", "source": "sentinel", "settings": settings}, "", "  ")
	fmt.Fprintf(env.Stdout, "Azure emulator serving at %s\nCA certificate written to %s: start lastmile with --connector-ca-file %s\n\n"+
		"Create a connector with (POST /api/v1/teams/TEAM/connectors):\n%s\n\n"+
		"Or try the setup command, signed in as %s (Global Administrator, Owner; no clicking needed):\n"+
		"  lastmile azure setup --tenant %s --workspace %s --authority-host %s/ --graph-url %s --arm-url %s --log-analytics-url %s --ca-file %s\n",
		emu.URL(), *caOut, *caOut, out, demoAdmin, demoTenant, demoWorkspace, emu.URL(), emu.URL(), emu.URL(), emu.URL(), *caOut)
	n := 1
	var tick <-chan time.Time
	if *every > 0 {
		t := time.NewTicker(*every)
		defer t.Stop()
		tick = t.C
	}
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-tick:
			n++
			if _, err := emu.AddIncident(demoWorkspace, demoIncident(n)); err != nil {
				return err
			}
		}
	}
}

// seedDemo sets up a tenant, an app with least-privilege roles, a
// workspace and a first incident, and returns connector settings for them.
// demoAdmin is the emulated tenant's administrator, whom the device code
// sign-in of lastmile azure setup approves without a click.
const demoAdmin = "admin@contoso.example"

// seedSetupAdmin gives the emulated tenant an administrator with the rights
// lastmile azure setup needs: Global Administrator (admin consent) and
// Owner of the subscription (role assignments).
func seedSetupAdmin(emu *azureemu.Emulator) error {
	if _, err := emu.AddUser(demoTenant, azureemu.User{Email: demoAdmin, Name: "Admin"}); err != nil {
		return err
	}
	if err := emu.SetDirectoryRoles(demoTenant, demoAdmin, "Global Administrator"); err != nil {
		return err
	}
	if err := emu.GrantUserARMRole(demoTenant, demoAdmin, "/subscriptions/"+demoSubscription, "Owner"); err != nil {
		return err
	}
	emu.SetAutoApprove(demoAdmin)
	return nil
}

func seedDemo(emu *azureemu.Emulator) (map[string]any, error) {
	if err := emu.AddTenant(demoTenant, "contoso.example"); err != nil {
		return nil, err
	}
	ws, err := emu.AddWorkspace(azureemu.Workspace{SubscriptionID: demoSubscription, ResourceGroup: demoGroup, Name: demoWorkspace})
	if err != nil {
		return nil, err
	}
	scope := "/subscriptions/" + demoSubscription + "/resourceGroups/" + demoGroup + "/providers/Microsoft.OperationalInsights/workspaces/" + demoWorkspace
	if _, err := emu.AddApp(demoTenant, azureemu.App{ClientID: demoClient, Secret: demoSecret, DisplayName: "lastmile",
		GraphRoles: []string{"SecurityIncident.ReadWrite.All", "SecurityAlert.ReadWrite.All"},
		ARMRoles:   map[string][]string{scope: {"Microsoft Sentinel Contributor", "Log Analytics Reader"}}}); err != nil {
		return nil, err
	}
	if _, err := emu.AddIncident(demoWorkspace, demoIncident(1)); err != nil {
		return nil, err
	}
	return map[string]any{"tenantId": demoTenant, "subscriptionId": demoSubscription, "clientId": demoClient, "clientSecret": demoSecret,
		"resourceGroup": demoGroup, "workspaceName": demoWorkspace, "workspaceId": ws.WorkspaceID,
		"endpoints": map[string]string{"authorityHost": emu.URL() + "/", "resourceManager": emu.URL(), "graph": emu.URL(), "logAnalytics": emu.URL()}}, nil
}

// demoIncidents are what a SOC's Sentinel typically raises, with the
// alerts and entities that come with them.
var demoIncidents = []struct {
	title, description, severity, product, tactic, entity string
}{
	{"Impossible travel activity", "Sign-ins for ann@contoso.example from Lisbon and Sydney within five minutes.", "High",
		"Microsoft Entra ID Protection", "InitialAccess", "ann@contoso.example"},
	{"Multiple failed sign-ins followed by a success", "47 failed sign-ins for svc-backup, then one success from 203.0.113.7.", "Medium",
		"Microsoft Sentinel", "CredentialAccess", "svc-backup"},
	{"Suspicious PowerShell command line", "Encoded PowerShell downloading a script on WS-0142.", "High",
		"Microsoft Defender for Endpoint", "Execution", "WS-0142"},
	{"Mass download by a single user", "bob@contoso.example downloaded 1,200 files from SharePoint in ten minutes.", "Medium",
		"Microsoft Defender for Cloud Apps", "Exfiltration", "bob@contoso.example"},
	{"Ransomware behaviour detected", "Files on FS-01 renamed with a new extension at high rate.", "High",
		"Microsoft Defender for Endpoint", "Impact", "FS-01"},
}

func demoIncident(n int) azureemu.Incident {
	d := demoIncidents[(n-1)%len(demoIncidents)]
	return azureemu.Incident{Title: fmt.Sprintf("%s (demo %d)", d.title, n), Description: d.description, Severity: d.severity, Status: "New",
		Tactics: []string{d.tactic},
		Alerts:  []azureemu.Alert{{DisplayName: d.title, Severity: d.severity, ProductName: d.product, CompromisedEntity: d.entity, Tactics: []string{d.tactic}}}}
}
