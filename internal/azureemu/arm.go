package azureemu

import (
	"fmt"
	"net/http"
	"slices"
	"strings"
)

// sentinelAPIVersions are the Microsoft.SecurityInsights api-versions the
// emulator accepts; others get 400 InvalidApiVersionParameter.
var sentinelAPIVersions = []string{"2025-12-01", "2025-09-01", "2025-07-01-preview", "2025-06-01", "2024-09-01", "2021-10-01"}

// workspaceAPIVersions are the Microsoft.OperationalInsights/workspaces
// api-versions the emulator accepts.
var workspaceAPIVersions = []string{"2025-07-01", "2025-02-01", "2023-09-01", "2022-10-01", "2021-12-01-preview", "2021-06-01", "2020-10-01", "2020-08-01", "2020-03-01-preview", "2015-11-01-preview"}

// armPath is a parsed ARM request path under a workspace.
type armPath struct {
	sub, rg, ws string
	rest        []string // segments after .../workspaces/{ws}
}

func (p armPath) workspaceID() string {
	return "/subscriptions/" + p.sub + "/resourceGroups/" + p.rg + "/providers/Microsoft.OperationalInsights/workspaces/" + p.ws
}

func parseARMPath(path string) (armPath, bool) {
	s := strings.Split(strings.Trim(path, "/"), "/")
	if len(s) < 8 || !strings.EqualFold(s[0], "subscriptions") || !strings.EqualFold(s[2], "resourceGroups") ||
		!strings.EqualFold(s[4], "providers") || !strings.EqualFold(s[5], "Microsoft.OperationalInsights") ||
		!strings.EqualFold(s[6], "workspaces") {
		return armPath{}, false
	}
	for _, seg := range s {
		if seg == "" {
			return armPath{}, false
		}
	}
	return armPath{sub: s[1], rg: s[3], ws: s[7], rest: s[8:]}, true
}

func (e *Emulator) serveARM(c *call) {
	p, f := c.authenticate(svcARM)
	if f != authOK {
		c.armAuthError(f, p.claims.Aud)
		return
	}
	if e.serveProvisionARM(c, p) {
		return
	}
	ap, ok := parseARMPath(c.r.URL.Path)
	if !ok {
		c.cloudError(http.StatusNotFound, "InvalidResourceType", "The resource type could not be found for the request path '"+c.r.URL.Path+"'.")
		return
	}
	// .../workspaces/{ws}[/sharedKeys] belong to Microsoft.OperationalInsights,
	// .../providers/Microsoft.SecurityInsights/... to Sentinel.
	sentinel := len(ap.rest) >= 2 && strings.EqualFold(ap.rest[0], "providers") && strings.EqualFold(ap.rest[1], "Microsoft.SecurityInsights")
	versions := workspaceAPIVersions
	if sentinel {
		versions = sentinelAPIVersions
	}
	v := c.r.URL.Query().Get("api-version")
	if v == "" {
		c.cloudError(http.StatusBadRequest, "MissingApiVersionParameter", "The api-version query parameter (?api-version=) is required for all requests.")
		return
	}
	if !slices.Contains(versions, v) {
		c.cloudError(http.StatusBadRequest, "InvalidApiVersionParameter", fmt.Sprintf(
			"The api-version '%s' is invalid. The supported versions are '%s'.", v, strings.Join(versions, ",")))
		return
	}
	switch {
	case len(ap.rest) == 0:
		e.workspaceGet(c, p, ap)
	case len(ap.rest) == 1 && strings.EqualFold(ap.rest[0], "sharedKeys"):
		e.workspaceSharedKeys(c, p, ap)
	case sentinel && len(ap.rest) >= 3 && strings.EqualFold(ap.rest[2], "incidents"):
		e.serveIncidents(c, p, ap, ap.rest[3:])
	default:
		c.cloudError(http.StatusNotFound, "InvalidResourceType", "The resource type '"+strings.Join(ap.rest, "/")+"' could not be found in the emulator.")
	}
}

// armAuthError answers a refused token the way ARM does.
func (c *call) armAuthError(f authFailure, aud string) {
	switch f {
	case authMissing:
		c.wwwAuthenticate("", "The authentication failed because of missing 'Authorization' header.")
		c.cloudError(http.StatusUnauthorized, "AuthenticationFailed", "Authentication failed. The 'Authorization' header is missing.")
	case authExpired:
		c.wwwAuthenticate("", "The access token has expired.")
		c.cloudError(http.StatusUnauthorized, "InvalidAuthenticationToken", "Access token has expired.")
	case authAudience:
		c.wwwAuthenticate("", "The access token has been obtained for wrong audience or resource.")
		c.cloudError(http.StatusUnauthorized, "InvalidAuthenticationTokenAudience", "The access token has been obtained for wrong audience or resource '"+aud+
			"'. It should exactly match with one of the allowed audiences 'https://management.core.windows.net/','https://management.core.windows.net','https://management.azure.com/','https://management.azure.com'.")
	default:
		c.wwwAuthenticate("", "The access token is invalid.")
		c.cloudError(http.StatusUnauthorized, "InvalidAuthenticationToken", "The access token is invalid.")
	}
}

// cloudError writes the ARM/OneAPI error body.
func (c *call) cloudError(status int, code, msg string) {
	if c.api == APIIngestion {
		c.w.Header().Set("x-ms-error-code", code)
	}
	c.json(status, map[string]any{"error": map[string]any{"code": code, "message": msg}})
}

// armForbidden is ARM's AuthorizationFailed answer.
func (c *call) armForbidden(p principal, action, scope string) {
	c.cloudError(http.StatusForbidden, "AuthorizationFailed", fmt.Sprintf(
		"The client '%s' with object id '%s' does not have authorization to perform action '%s' over scope '%s' or the scope is invalid. If access was recently granted, please refresh your credentials.",
		p.claims.AppID, p.claims.OID, action, scope))
}

// armWorkspace finds the workspace of an ARM path, answering 404 the way
// ARM does for each missing level. Caller holds e.mu.
func (c *call) armWorkspace(ap armPath) *Workspace {
	var subSeen, rgSeen bool
	for _, w := range c.e.st.workspaces {
		if !strings.EqualFold(w.SubscriptionID, ap.sub) {
			continue
		}
		subSeen = true
		if !strings.EqualFold(w.ResourceGroup, ap.rg) {
			continue
		}
		rgSeen = true
		if strings.EqualFold(w.Name, ap.ws) {
			return w
		}
	}
	switch {
	case !subSeen:
		c.cloudError(http.StatusNotFound, "SubscriptionNotFound", "The subscription '"+ap.sub+"' could not be found.")
	case !rgSeen:
		c.cloudError(http.StatusNotFound, "ResourceGroupNotFound", "Resource group '"+ap.rg+"' could not be found.")
	default:
		c.cloudError(http.StatusNotFound, "ResourceNotFound", "The Resource 'Microsoft.OperationalInsights/workspaces/"+ap.ws+
			"' under resource group '"+ap.rg+"' was not found. For more details please go to https://aka.ms/ARMResourceNotFoundFix")
	}
	return nil
}

// tenantMatches answers 401 when the token's tenant is not the workspace's.
func (c *call) tenantMatches(p principal, w *Workspace) bool {
	if w.TenantID == "" || strings.EqualFold(w.TenantID, p.claims.Tid) {
		return true
	}
	c.cloudError(http.StatusUnauthorized, "InvalidAuthenticationTokenTenant", fmt.Sprintf(
		"The access token is from the wrong issuer '%s'. It must match the tenant 'https://sts.windows.net/%s/' associated with this subscription. Please use the authority (URL) 'https://login.windows.net/%s' to get the token.",
		p.claims.Iss, w.TenantID, w.TenantID))
	return false
}

// armAllowed checks an action, answering 403 when refused. Caller holds
// e.mu.
func (c *call) armAllowed(p principal, action, scope string) bool {
	if c.e.st.can(p, action, scope) {
		return true
	}
	c.armForbidden(p, action, scope)
	return false
}

func (c *call) methodNotAllowed() {
	c.cloudError(http.StatusMethodNotAllowed, "UnsupportedApiVersion", fmt.Sprintf(
		"The HTTP resource that matches the request URI '%s' with API version '%s' does not support HTTP method '%s'.",
		c.baseURL()+c.r.URL.RequestURI(), c.r.URL.Query().Get("api-version"), c.r.Method))
}

func (e *Emulator) workspaceGet(c *call, p principal, ap armPath) {
	if c.r.Method != http.MethodGet {
		c.methodNotAllowed()
		return
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	if !c.armAllowed(p, actionWorkspaceRead, ap.workspaceID()) {
		return
	}
	w := c.armWorkspace(ap)
	if w == nil || !c.tenantMatches(p, w) {
		return
	}
	c.json(http.StatusOK, map[string]any{
		"id": w.ResourceID(), "name": w.Name, "type": "Microsoft.OperationalInsights/workspaces",
		"location": w.Location, "tags": map[string]string{},
		"etag": `"` + w.WorkspaceID[:8] + `-0000-0d00-0000-000000000000"`,
		"properties": map[string]any{
			"customerId":                      w.WorkspaceID,
			"provisioningState":               "Succeeded",
			"sku":                             map[string]any{"name": "PerGB2018"},
			"retentionInDays":                 90,
			"publicNetworkAccessForIngestion": "Enabled",
			"publicNetworkAccessForQuery":     "Enabled",
			"features":                        map[string]any{"enableLogAccessUsingOnlyResourcePermissions": true},
			"workspaceCapping":                map[string]any{"dailyQuotaGb": -1},
		},
	})
}

// workspaceSharedKeys is POST .../workspaces/{ws}/sharedKeys, which hands
// out the HTTP Data Collector key.
func (e *Emulator) workspaceSharedKeys(c *call, p principal, ap armPath) {
	if c.r.Method != http.MethodPost {
		c.methodNotAllowed()
		return
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	if !c.armAllowed(p, "Microsoft.OperationalInsights/workspaces/sharedKeys/action", ap.workspaceID()+"/sharedKeys") {
		return
	}
	w := c.armWorkspace(ap)
	if w == nil || !c.tenantMatches(p, w) {
		return
	}
	c.json(http.StatusOK, map[string]any{"primarySharedKey": w.SharedKey, "secondarySharedKey": w.SharedKey})
}
