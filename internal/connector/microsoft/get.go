package microsoft

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"strings"

	"github.com/lastmile/lastmile/internal/connector"
	"github.com/lastmile/lastmile/internal/connector/sentinel"
)

// A Microsoft source takes pushes (see connector.Getter): a Sentinel
// automation rule runs a Logic App that posts the incident trigger's body
// (§5.5 of the provisioning reference: eventUniqueId, objectSchemaType,
// objectEventType, workspaceInfo, workspaceId, object = the ARM incident),
// or a caller posts {"incidentId": "…"}. Only the id is taken from it.

// pushedIDRE is what an incident or alert id may look like: Sentinel names
// are GUIDs (or any id given at creation), Graph ids digits, letters and
// dashes. Anything else is refused before a request is built with it.
var pushedIDRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$`)

// pushPaths are the paths PushedID reads; values in arrays (the trigger's
// Alerts, relatedEntities) are not.
func pushPaths() []string {
	return []string{
		"objectSchemaType", "object.name", "object.id", "object.properties.providerIncidentId",
		"workspaceInfo.SubscriptionId", "workspaceInfo.ResourceGroupName", "workspaceInfo.WorkspaceName",
		"incidentId", "incidentName", "alertId", "name", "id",
	}
}

// CanGet says which modes read single items: all but legacy Graph alerts.
func (src *Source) CanGet() error {
	switch src.mode {
	case sentinel.ModeSentinel, sentinel.ModeGraphIncidents, sentinel.ModeGraphAlerts:
		return nil
	}
	return fmt.Errorf("the %s source cannot read single alerts; pushes need the sentinel, graph_incidents or graph_alerts source", src.mode)
}

// Get reads one incident (or Graph alert) as Changes would return it.
func (src *Source) Get(ctx context.Context, id string) (connector.Item, error) {
	switch src.mode {
	case sentinel.ModeSentinel:
		inc, err := src.c.GetIncident(ctx, id)
		if err != nil {
			return connector.Item{}, err
		}
		return src.fromIncident(inc), nil
	case sentinel.ModeGraphIncidents:
		g, err := src.c.GetGraphIncidentWithAlerts(ctx, id)
		if err != nil {
			return connector.Item{}, err
		}
		return src.fromGraphIncident(g), nil
	case sentinel.ModeGraphAlerts:
		a, err := src.c.GetAlertV2(ctx, id)
		if err != nil {
			return connector.Item{}, err
		}
		return src.fromAlertV2(a), nil
	}
	return connector.Item{}, src.CanGet()
}

// PushedID finds the id of the item a pushed body names, for the source's
// mode:
//
//   - sentinel: the trigger's object.name (or the last segment of
//     object.id), or incidentId / incidentName / name / id (a name or an
//     ARM id). An ARM id or workspaceInfo naming another workspace than
//     the connector's is refused.
//   - graph_incidents: incidentId or id, or the trigger's
//     object.properties.providerIncidentId, which for a workspace in the
//     Defender portal is the Defender (Graph) incident id.
//   - graph_alerts: alertId or id.
func (src *Source) PushedID(body []byte) (string, error) {
	if err := src.CanGet(); err != nil {
		return "", err
	}
	f := connector.PushFields(body, pushPaths()...)
	if len(f) == 0 {
		return "", errors.New(`send the Sentinel incident trigger's body, or a JSON object such as {"incidentId": "…"}`)
	}
	if t := f["objectSchemaType"]; t != "" && !strings.EqualFold(t, "Incident") {
		return "", fmt.Errorf("the body is a %s trigger's; the playbook must use the Microsoft Sentinel incident trigger", t)
	}
	if err := src.sameWorkspace(f); err != nil {
		return "", err
	}
	var candidates []string
	switch src.mode {
	case sentinel.ModeSentinel:
		candidates = []string{f["object.name"], lastSegment(f["object.id"]), lastSegment(f["incidentId"]), f["incidentName"], f["name"], lastSegment(f["id"])}
	case sentinel.ModeGraphIncidents:
		candidates = []string{graphID(f["incidentId"]), graphID(f["id"]), f["object.properties.providerIncidentId"]}
	case sentinel.ModeGraphAlerts:
		candidates = []string{graphID(f["alertId"]), graphID(f["id"])}
	}
	for _, c := range candidates {
		c = strings.TrimSpace(c)
		if c == "" {
			continue
		}
		if !pushedIDRE.MatchString(c) {
			return "", fmt.Errorf("%q is not an incident or alert id", clip(c, 80))
		}
		return c, nil
	}
	switch src.mode {
	case sentinel.ModeGraphIncidents:
		return "", errors.New(`no Graph incident id: send {"incidentId": "…"}, or the Sentinel incident trigger's body of a workspace in the Defender portal (its providerIncidentId)`)
	case sentinel.ModeGraphAlerts:
		return "", errors.New(`no Graph alert id: send {"alertId": "…"}; for Sentinel's incident trigger use a sentinel or graph_incidents connector`)
	}
	return "", errors.New(`no incident id: send the Sentinel incident trigger's body (object.id), or {"incidentId": "…"}`)
}

// sameWorkspace refuses a body whose ARM id or workspaceInfo names another
// workspace than the connector reads: that playbook points at the wrong
// connector.
func (src *Source) sameWorkspace(f map[string]string) error {
	sub, rg, ws := f["workspaceInfo.SubscriptionId"], f["workspaceInfo.ResourceGroupName"], f["workspaceInfo.WorkspaceName"]
	for _, k := range []string{"object.id", "incidentId", "id"} {
		if s, r, w, ok := armWorkspace(f[k]); ok {
			sub, rg, ws = firstOf(sub, s), firstOf(rg, r), firstOf(ws, w)
		}
	}
	mismatch := func(got, want string) bool {
		return got != "" && want != "" && !strings.EqualFold(strings.TrimSpace(got), strings.TrimSpace(want))
	}
	if mismatch(ws, src.s.WorkspaceName) || mismatch(rg, src.s.ResourceGroup) || mismatch(sub, src.s.SubscriptionID) {
		return fmt.Errorf("the incident is in workspace %s (resource group %s, subscription %s); this connector reads workspace %s (resource group %s, subscription %s): point the playbook at that workspace's connector",
			orDash(ws), orDash(rg), orDash(sub), orDash(src.s.WorkspaceName), orDash(src.s.ResourceGroup), orDash(src.s.SubscriptionID))
	}
	return nil
}

// armWorkspace reads the subscription, resource group and workspace of an
// ARM id under a Log Analytics workspace.
func armWorkspace(id string) (sub, rg, ws string, ok bool) {
	parts := strings.Split(strings.Trim(id, "/"), "/")
	if len(parts) < 8 {
		return "", "", "", false
	}
	for i := 0; i+1 < len(parts); i += 2 {
		switch strings.ToLower(parts[i]) {
		case "subscriptions":
			sub = parts[i+1]
		case "resourcegroups":
			rg = parts[i+1]
		case "workspaces":
			ws = parts[i+1]
		}
	}
	return sub, rg, ws, ws != ""
}

// lastSegment is an ARM id's last segment (the resource name), or the
// value itself when it is not a path.
func lastSegment(v string) string {
	v = strings.TrimRight(strings.TrimSpace(v), "/")
	if i := strings.LastIndexByte(v, '/'); i >= 0 {
		return v[i+1:]
	}
	return v
}

// graphID is v unless it is an ARM path, which is no Graph id.
func graphID(v string) string {
	if strings.Contains(v, "/") {
		return ""
	}
	return v
}

func orDash(s string) string {
	if strings.TrimSpace(s) == "" {
		return "-"
	}
	return s
}

func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}
