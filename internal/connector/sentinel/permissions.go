package sentinel

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
)

// Modes: where the connector reads security events from.
const (
	ModeSentinel       = "sentinel"
	ModeGraphIncidents = "graph_incidents"
	ModeGraphAlerts    = "graph_alerts"
	ModeGraphLegacy    = "graph_legacy"
)

// Check is the outcome of one permission check, in plain words.
type Check struct {
	Name   string
	OK     bool
	Detail string // what was found, naming the missing role or permission
	// Unverified: the check could not be made without changing anything;
	// OK is then true and the first write-back will tell.
	Unverified bool
}

// AuthorizationAPIVersion is the version of ARM's permissions listing,
// which tells what the app may do on the workspace without doing it.
const AuthorizationAPIVersion = "2022-04-01"

// CheckPermissions proves, with the cheapest read-only calls, that the
// app can do what mode and the options need. Nothing is changed: writes
// are checked from the app's granted permissions where Azure lists them,
// and otherwise reported as unverified.
func (c *Client) CheckPermissions(ctx context.Context, mode string, wantWriteBack, wantLabels, wantAugment bool) []Check {
	switch mode {
	case ModeSentinel:
		return c.checkSentinel(ctx, wantWriteBack, wantLabels, wantAugment)
	case ModeGraphIncidents, ModeGraphAlerts, ModeGraphLegacy:
		return c.checkGraph(ctx, mode, wantWriteBack, wantLabels, wantAugment)
	}
	return []Check{{Name: "Mode", Detail: fmt.Sprintf("unknown mode %q (sentinel, graph_incidents, graph_alerts or graph_legacy)", mode)}}
}

func pass(name, detail string) Check { return Check{Name: name, OK: true, Detail: detail} }
func fail(name string, err error) Check {
	return Check{Name: name, Detail: err.Error()}
}

func (c *Client) checkSentinel(ctx context.Context, write, labels, augment bool) []Check {
	if err := c.cfg.ValidateSentinel(); err != nil {
		return []Check{fail("Settings", err)}
	}
	if _, err := c.token(ctx, ScopeResourceManager, ""); err != nil {
		return []Check{fail("Sign-in for Azure Resource Manager", err)}
	}
	checks := []Check{pass("Sign-in for Azure Resource Manager", "the app signed in to tenant "+c.cfg.TenantID)}

	ws, wsErr := c.Workspace(ctx)
	if wsErr != nil {
		checks = append(checks, fail("Workspace", wsErr))
	} else {
		checks = append(checks, pass("Workspace", fmt.Sprintf("workspace %s found (workspace id %s)", ws.Name, ws.CustomerID)))
	}

	probe := c.sentinelRequest(http.MethodGet, withAPIVersion(c.incidentsPath(), SentinelAPIVersion, url.Values{"$top": {"1"}}), "list incidents", false)
	if _, err := c.do(ctx, probe); err != nil {
		checks = append(checks, fail("Read incidents", err))
	} else {
		checks = append(checks, pass("Read incidents", "the app can read incidents ('"+RoleSentinelReader+"' or more)"))
	}

	if write || labels {
		actions, perr := c.workspaceActions(ctx)
		subject := "workspace " + c.cfg.WorkspaceName
		judge := func(name, action, role, use string) Check {
			switch {
			case perr != nil:
				return Check{Name: name, OK: true, Unverified: true, Detail: fmt.Sprintf(
					"not tested (it would change an incident): to %s the app needs the '%s' role on %s; the first write-back will tell", use, role, subject)}
			case actions.allows(action):
				return pass(name, fmt.Sprintf("the app may %s (it has %s)", use, action))
			}
			return Check{Name: name, Detail: fmt.Sprintf("the app lacks the '%s' role on %s: it may not %s (%s)", role, subject, use, action)}
		}
		if write {
			checks = append(checks,
				judge("Update incidents", "Microsoft.SecurityInsights/incidents/write", RoleSentinelResponder, "change incident status and owner"),
				judge("Comment on incidents", "Microsoft.SecurityInsights/incidents/comments/write", RoleSentinelResponder, "add comments"))
		}
		if labels {
			checks = append(checks, judge("Label incidents", "Microsoft.SecurityInsights/incidents/write", RoleSentinelContributor, "add labels"))
		}
	}
	if augment {
		id := strings.TrimSpace(c.cfg.WorkspaceID)
		if id == "" && wsErr == nil {
			id = ws.CustomerID
		}
		checks = append(checks, c.checkQuery(ctx, id))
	}
	return checks
}

func (c *Client) checkQuery(ctx context.Context, workspaceID string) Check {
	const name = "Run Log Analytics queries"
	if workspaceID == "" {
		return Check{Name: name, Detail: "the workspace id is not set and could not be read from the workspace"}
	}
	if _, err := c.token(ctx, ScopeLogAnalytics, ""); err != nil {
		return fail(name, err)
	}
	if _, err := c.Query(ctx, workspaceID, "print x=1", "PT5M"); err != nil {
		return fail(name, err)
	}
	return pass(name, "the app can query workspace "+c.workspaceWords(workspaceID)+" ('"+RoleLogAnalyticsReader+"' or more)")
}

// graphNeeds names, per mode, what listing needs, what writing needs and
// where to probe.
var graphNeeds = map[string]struct{ read, write, path, what string }{
	ModeGraphIncidents: {PermIncidentRead, PermIncidentReadWrite, "/security/incidents", "incidents"},
	ModeGraphAlerts:    {PermAlertRead, PermAlertReadWrite, "/security/alerts_v2", "alerts"},
	ModeGraphLegacy:    {PermLegacyAlertRead, PermLegacyAlertReadWrite, "/security/alerts", "legacy alerts"},
}

func (c *Client) checkGraph(ctx context.Context, mode string, write, labels, augment bool) []Check {
	if err := c.cfg.Validate(); err != nil {
		return []Check{fail("Settings", err)}
	}
	need := graphNeeds[mode]
	tok, err := c.token(ctx, ScopeGraph, "")
	if err != nil {
		return []Check{fail("Sign-in for Microsoft Graph", err)}
	}
	checks := []Check{pass("Sign-in for Microsoft Graph", "the app signed in to tenant "+c.cfg.TenantID)}
	roles, known := tokenRoles(tok)
	has := func(perm string) bool {
		return slices.ContainsFunc(roles, func(r string) bool { return strings.EqualFold(r, perm) })
	}
	readName := "Graph permission to read " + need.what
	switch {
	case !known:
		checks = append(checks, Check{Name: readName, OK: true, Unverified: true, Detail: "the token does not list the app's permissions; the read test below tells"})
	case has(need.read) || has(need.write):
		checks = append(checks, pass(readName, "granted: "+strings.Join(roles, ", ")))
	default:
		checks = append(checks, Check{Name: readName, Detail: fmt.Sprintf(
			"missing application permission %s: add it to the app registration and grant admin consent", need.read)})
	}

	probe := c.graphRequest(http.MethodGet, c.graphURL(need.path, url.Values{"$top": {"1"}}), "list "+need.what, need.read)
	if _, err := c.do(ctx, probe); err != nil {
		checks = append(checks, fail("Read "+need.what, err))
	} else {
		checks = append(checks, pass("Read "+need.what, "Graph answered the list of "+need.what))
	}

	writeCheck := func(name, use string) Check {
		switch {
		case !known:
			return Check{Name: name, OK: true, Unverified: true, Detail: fmt.Sprintf(
				"not tested (it would change an %s): %s needs application permission %s; the first write-back will tell", strings.TrimSuffix(need.what, "s"), use, need.write)}
		case has(need.write):
			return pass(name, "granted: "+need.write)
		}
		return Check{Name: name, Detail: fmt.Sprintf("missing application permission %s: the app may not %s", need.write, use)}
	}
	if write {
		checks = append(checks, writeCheck("Update "+need.what, "change status, assignment and classification, or comment"))
	}
	if labels {
		if mode == ModeGraphAlerts {
			checks = append(checks, Check{Name: "Tag alerts", Detail: "Graph alerts (alerts_v2) cannot carry tags: use Graph incidents or Sentinel for labels"})
		} else {
			checks = append(checks, writeCheck("Tag "+need.what, "add tags"))
		}
	}
	if augment {
		id := strings.TrimSpace(c.cfg.WorkspaceID)
		if id == "" && c.cfg.ValidateSentinel() == nil {
			if ws, err := c.Workspace(ctx); err == nil {
				id = ws.CustomerID
			} else {
				checks = append(checks, fail("Workspace", err))
			}
		}
		checks = append(checks, c.checkQuery(ctx, id))
	}
	return checks
}

// tokenRoles reads the application permissions (the roles claim) from an
// access token without verifying it: only to explain, never to decide
// access. known is false for tokens that are not readable JWTs.
func tokenRoles(tok string) (roles []string, known bool) {
	parts := strings.Split(tok, ".")
	if len(parts) != 3 {
		return nil, false
	}
	b, err := base64.RawURLEncoding.DecodeString(strings.TrimRight(parts[1], "="))
	if err != nil {
		return nil, false
	}
	var claims struct {
		Roles *[]string `json:"roles"`
	}
	if json.Unmarshal(b, &claims) != nil {
		return nil, false
	}
	if claims.Roles == nil {
		// An app-only token without the claim has no permissions at all.
		return nil, true
	}
	return *claims.Roles, true
}

// actionSet is what ARM's permissions listing grants: one entry per role
// assignment, each actions minus notActions.
type actionSet []struct {
	Actions    []string `json:"actions"`
	NotActions []string `json:"notActions"`
}

func (c *Client) workspaceActions(ctx context.Context) (actionSet, error) {
	req := request{
		service: ServiceARM, what: "list the app's permissions on workspace " + c.cfg.WorkspaceName, method: http.MethodGet,
		url:   withAPIVersion(c.workspacePath()+"/providers/Microsoft.Authorization/permissions", AuthorizationAPIVersion, nil),
		scope: ScopeResourceManager, idempotent: true,
	}
	resp, err := c.do(ctx, req)
	if err != nil {
		return nil, err
	}
	var body struct {
		Value actionSet `json:"value"`
	}
	if err := json.Unmarshal(resp.body, &body); err != nil {
		return nil, fmt.Errorf("ARM's permission list is not readable: %w", err)
	}
	return body.Value, nil
}

func (s actionSet) allows(action string) bool {
	for _, e := range s {
		if slices.ContainsFunc(e.Actions, func(p string) bool { return actionMatch(p, action) }) &&
			!slices.ContainsFunc(e.NotActions, func(p string) bool { return actionMatch(p, action) }) {
			return true
		}
	}
	return false
}

// actionMatch matches an ARM action against a pattern with '*' wildcards,
// ignoring case as ARM does.
func actionMatch(pattern, action string) bool {
	parts := strings.Split(pattern, "*")
	for i, p := range parts {
		parts[i] = regexp.QuoteMeta(p)
	}
	re, err := regexp.Compile("(?i)^" + strings.Join(parts, ".*") + "$")
	return err == nil && re.MatchString(action)
}
