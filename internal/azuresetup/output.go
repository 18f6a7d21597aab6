package azuresetup

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"strings"
)

// Result is what the run did and what the connector needs.
type Result struct {
	DryRun  bool   `json:"dryRun,omitempty"`
	Removed bool   `json:"removed,omitempty"`
	Changed bool   `json:"changed"`
	Mode    string `json:"mode,omitempty"`
	Account string `json:"account"`

	TenantID         string `json:"tenantId"`
	TenantName       string `json:"tenantName,omitempty"`
	SubscriptionID   string `json:"subscriptionId,omitempty"`
	SubscriptionName string `json:"subscriptionName,omitempty"`
	ClientID         string `json:"clientId,omitempty"`
	// ClientSecret is set only by the run that made it.
	ClientSecret       string `json:"clientSecret,omitempty"`
	ServicePrincipalID string `json:"servicePrincipalId,omitempty"`
	ResourceGroup      string `json:"resourceGroup,omitempty"`
	WorkspaceName      string `json:"workspaceName,omitempty"`
	WorkspaceID        string `json:"workspaceId,omitempty"`

	Plan       []Step           `json:"plan"`
	Warnings   []string         `json:"warnings,omitempty"`
	ConsentURL string           `json:"consentUrl,omitempty"`
	Settings   map[string]any   `json:"settings,omitempty"`
	Connector  *ConnectorResult `json:"connector,omitempty"`

	clientSecret string
}

// result starts the Result with the context.
func (r *runner) result(steps []Step) *Result {
	res := &Result{DryRun: r.cfg.DryRun, Mode: r.cfg.Mode, Account: r.who.account(), TenantID: r.tenantID, TenantName: r.tenantName,
		SubscriptionID: r.sub.ID, SubscriptionName: r.sub.DisplayName, Plan: steps}
	if r.ws != nil {
		res.ResourceGroup, res.WorkspaceName, res.WorkspaceID = r.ws.resourceGroup(), r.ws.Name, r.ws.Properties.CustomerID
	}
	if res.Plan == nil {
		res.Plan = []Step{}
	}
	return res
}

// settings are the connector's settings, exactly as POST
// /api/v1/teams/{team}/connectors takes them.
func (r *runner) settings(ap *applied) map[string]any {
	s := map[string]any{"tenantId": r.tenantID, "clientId": ap.app.AppID}
	switch {
	case ap.secret != "":
		s["clientSecret"] = ap.secret
	case r.cfg.Certificate != nil && hasPrivateKey(r.cfg.Certificate):
		s["certificate"] = string(r.cfg.Certificate)
	}
	if r.ws != nil {
		s["subscriptionId"] = r.sub.ID
		s["resourceGroup"] = r.ws.resourceGroup()
		s["workspaceName"] = r.ws.Name
		s["workspaceId"] = r.ws.Properties.CustomerID
	}
	// Without Contributor, Sentinel refuses label changes; alerts_v2 take
	// no tags.
	if (r.cfg.Mode == ModeSentinel && !r.cfg.Labels) || r.cfg.Mode == ModeGraphAlerts {
		s["label"] = "-"
	}
	if r.cfg.Augment {
		s["augment"] = true
	}
	if r.cfg.LifecycleLog && ap.dcr != nil {
		s["log"] = map[string]any{"mode": "ingestion", "endpoint": ap.dcr.Properties.Endpoints.LogsIngestion,
			"dcrImmutableId": ap.dcr.Properties.ImmutableID, "stream": logStream}
	}
	if r.cfg.Cloud != "" && r.cfg.Cloud != "AzurePublic" {
		s["cloud"] = r.cfg.Cloud
	}
	if r.ep.custom {
		s["endpoints"] = map[string]any{"authorityHost": r.ep.authority, "resourceManager": r.ep.arm, "graph": r.ep.graph, "logAnalytics": r.ep.logAnalytics}
	}
	return s
}

// connectorName names the connector the settings are for.
func connectorName(mode string) string {
	switch mode {
	case ModeGraphIncidents:
		return "Microsoft Defender XDR incidents"
	case ModeGraphAlerts:
		return "Microsoft Graph security alerts"
	case ModeGraphLegacy:
		return "Microsoft Graph legacy security alerts"
	}
	return "Microsoft Sentinel"
}

// output writes the result: one JSON document, or the values in words.
// The client secret appears only here, in this run's output.
func (r *runner) output(res *Result) error {
	if r.cfg.JSON {
		res.ClientSecret = res.clientSecret
		enc := json.NewEncoder(r.d.Stdout)
		enc.SetIndent("", "  ")
		enc.SetEscapeHTML(false)
		if err := enc.Encode(res); err != nil {
			return fmt.Errorf("write the result: %w", err)
		}
		return nil
	}
	w := r.d.Stdout
	for _, warn := range res.Warnings {
		fmt.Fprintf(r.d.Stderr, "warning: %s\n", warn)
	}
	if res.DryRun || res.Removed {
		return nil
	}
	fmt.Fprintln(w, "\nThe connector's Azure identity:")
	row := func(k, v string) { fmt.Fprintf(w, "  %-16s %s\n", k+":", v) }
	row("Tenant ID", res.TenantID)
	if res.SubscriptionID != "" {
		row("Subscription ID", res.SubscriptionID)
	}
	row("Client ID", res.ClientID)
	switch {
	case res.clientSecret != "":
		row("Client secret", res.clientSecret+"   (shown only now: it cannot be read again)")
	case r.cfg.Certificate != nil:
		row("Certificate", "the certificate you gave (its public key is registered)")
	default:
		row("Client secret", "the one made earlier (kept; its value cannot be shown again — use --new-secret for a new one)")
	}
	if res.WorkspaceName != "" {
		row("Resource group", res.ResourceGroup)
		row("Workspace", res.WorkspaceName+" (workspace id "+res.WorkspaceID+")")
	}
	if res.ConsentURL != "" {
		fmt.Fprintf(w, "\nAdmin consent is still needed: send this link to a Global Administrator:\n  %s\n", res.ConsentURL)
	}
	if res.Connector != nil {
		writeConnector(w, res.Connector)
		return nil
	}
	// The secret was printed once, above; the body names it rather than
	// repeat it.
	settings := maps.Clone(res.Settings)
	if _, ok := settings["clientSecret"]; ok {
		settings["clientSecret"] = "<the client secret above>"
	}
	body := map[string]any{"name": connectorName(r.cfg.Mode), "source": r.cfg.Mode, "settings": settings}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	if err := enc.Encode(body); err != nil {
		return fmt.Errorf("write the settings: %w", err)
	}
	b := bytes.TrimSuffix(buf.Bytes(), []byte("\n"))
	fmt.Fprintf(w, "\nCreate the connector with this body (POST /api/v1/teams/TEAM/connectors), or pass --lastmile-url, --lastmile-api-key and --team next time:\n%s\n", b)
	if _, ok := res.Settings["clientSecret"]; ok {
		fmt.Fprintln(w, `Put the client secret shown above in "clientSecret" before posting it.`)
	} else if r.cfg.Certificate == nil {
		fmt.Fprintln(w, `Add "clientSecret" (the value from the run that made it) before posting it.`)
	}
	if _, ok := res.Settings["certificate"]; !ok && r.cfg.Certificate != nil {
		fmt.Fprintln(w, `Add "certificate" (a PEM with the certificate and its private key) before posting it.`)
	}
	return nil
}

func writeConnector(w io.Writer, c *ConnectorResult) {
	fmt.Fprintf(w, "\nConnector %s created on the lastmile server. Its connection test:\n", c.ID)
	for _, ch := range c.Test.Checks {
		mark := "ok  "
		if !ch.OK {
			mark = "FAIL"
		}
		line := "  " + mark + " " + ch.Name
		if ch.Detail != "" {
			line += ": " + ch.Detail
		}
		fmt.Fprintln(w, strings.TrimRight(line, " "))
	}
	if c.Test.OK {
		fmt.Fprintln(w, "The connector is ready.")
	} else {
		fmt.Fprintln(w, "The connection test found problems (above).")
	}
}
