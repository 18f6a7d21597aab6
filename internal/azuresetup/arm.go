package azuresetup

import (
	"context"
	"net/http"
	"net/url"
	"strings"
)

// ARM api-versions.
const (
	subscriptionsAPIVersion = "2022-12-01"
	workspacesAPIVersion    = "2022-10-01"
	authorizationAPIVersion = "2022-04-01"
	insightsAPIVersion      = "2023-03-11"
)

// armClient makes the Azure Resource Manager calls.
type armClient struct {
	api   *apiClient
	base  string // https://management.azure.com
	scope string
}

type subscription struct {
	ID             string `json:"subscriptionId"`
	DisplayName    string `json:"displayName"`
	TenantID       string `json:"tenantId"`
	State          string `json:"state"`
	ResourceIDPath string `json:"id"`
}

type workspace struct {
	ID         string `json:"id"`
	Name       string `json:"name"`
	Location   string `json:"location"`
	Properties struct {
		CustomerID string `json:"customerId"`
	} `json:"properties"`
}

// resourceGroup is the workspace's resource group, from its id (whose
// case ARM lists may change).
func (w workspace) resourceGroup() string { return idSegment(w.ID, "resourceGroups") }

// idSegment returns the segment after name in a resource id, ignoring
// case.
func idSegment(id, name string) string {
	segs := strings.Split(strings.Trim(id, "/"), "/")
	for i := 0; i+1 < len(segs); i++ {
		if strings.EqualFold(segs[i], name) {
			return segs[i+1]
		}
	}
	return ""
}

type roleAssignment struct {
	ID         string `json:"id"`
	Name       string `json:"name"`
	Properties struct {
		RoleDefinitionID string `json:"roleDefinitionId"`
		PrincipalID      string `json:"principalId"`
		PrincipalType    string `json:"principalType"`
		Scope            string `json:"scope"`
	} `json:"properties"`
}

type roleDefinition struct {
	ID         string `json:"id"`
	Properties struct {
		RoleName    string `json:"roleName"`
		Permissions []struct {
			Actions    []string `json:"actions"`
			NotActions []string `json:"notActions"`
		} `json:"permissions"`
	} `json:"properties"`
}

func (a *armClient) req(method, what, path, apiVersion string, q url.Values, body any) request {
	return request{service: serviceARM, what: what, method: method, url: a.base + path + query(apiVersion, q), scope: a.scope, body: body}
}

func armList[T any](ctx context.Context, a *armClient, what, path, apiVersion string, q url.Values) ([]T, error) {
	r := a.req(http.MethodGet, what, path, apiVersion, q, nil)
	var out []T
	for r.url != "" {
		var page struct {
			Value    []T    `json:"value"`
			NextLink string `json:"nextLink"`
		}
		if _, err := a.api.do(ctx, r, &page); err != nil {
			return nil, err
		}
		out = append(out, page.Value...)
		r.url = page.NextLink
	}
	return out, nil
}

func (a *armClient) subscriptions(ctx context.Context) ([]subscription, error) {
	return armList[subscription](ctx, a, "list your subscriptions", "/subscriptions", subscriptionsAPIVersion, nil)
}

func (a *armClient) workspaces(ctx context.Context, sub string) ([]workspace, error) {
	return armList[workspace](ctx, a, "list the Log Analytics workspaces",
		"/subscriptions/"+sub+"/providers/Microsoft.OperationalInsights/workspaces", workspacesAPIVersion, nil)
}

func (a *armClient) getWorkspace(ctx context.Context, id string) (workspace, error) {
	var w workspace
	_, err := a.api.do(ctx, a.req(http.MethodGet, "read workspace "+idSegment(id, "workspaces"), id, workspacesAPIVersion, nil, nil), &w)
	return w, err
}

// assignmentsOf lists the role assignments of a principal at, above and
// below scope.
func (a *armClient) assignmentsOf(ctx context.Context, scope, principalID string) ([]roleAssignment, error) {
	return armList[roleAssignment](ctx, a, "list the role assignments of the service principal",
		scope+"/providers/Microsoft.Authorization/roleAssignments", authorizationAPIVersion,
		url.Values{"$filter": {"principalId eq " + odataString(principalID)}})
}

// assignedTo lists the role assignments that apply to a user or app
// (directly or through groups) at, above and below scope.
func (a *armClient) assignedTo(ctx context.Context, scope, principalID string) ([]roleAssignment, error) {
	return armList[roleAssignment](ctx, a, "list your role assignments",
		scope+"/providers/Microsoft.Authorization/roleAssignments", authorizationAPIVersion,
		url.Values{"$filter": {"assignedTo(" + odataString(principalID) + ")"}})
}

func (a *armClient) roleDefinition(ctx context.Context, id string) (roleDefinition, error) {
	var d roleDefinition
	_, err := a.api.do(ctx, a.req(http.MethodGet, "read a role definition", id, authorizationAPIVersion, nil, nil), &d)
	return d, err
}

func (a *armClient) putAssignment(ctx context.Context, scope, name, roleDefID, principalID, what string) error {
	body := map[string]any{"properties": map[string]any{
		"roleDefinitionId": roleDefID, "principalId": principalID,
		// Skips the directory lookup that fails while a new service
		// principal replicates (PrincipalNotFound).
		"principalType": "ServicePrincipal",
	}}
	_, err := a.api.do(ctx, a.req(http.MethodPut, what, scope+"/providers/Microsoft.Authorization/roleAssignments/"+name,
		authorizationAPIVersion, nil, body), nil)
	return err
}

func (a *armClient) deleteAssignment(ctx context.Context, id, what string) error {
	_, err := a.api.do(ctx, a.req(http.MethodDelete, what, id, authorizationAPIVersion, nil, nil), nil)
	return err
}

// scopeCovers tells whether a role at scope applies to resource: the same
// id or an ancestor, compared as ARM does (case-insensitive).
func scopeCovers(scope, resource string) bool {
	s := strings.ToLower(strings.TrimRight(scope, "/"))
	r := strings.ToLower(strings.TrimRight(resource, "/"))
	return s == "" || s == r || strings.HasPrefix(r, s+"/")
}

// permits tells whether a role definition allows an action.
func (d roleDefinition) permits(action string) bool {
	for _, p := range d.Properties.Permissions {
		allowed := false
		for _, a := range p.Actions {
			allowed = allowed || actionMatch(a, action)
		}
		for _, n := range p.NotActions {
			if actionMatch(n, action) {
				allowed = false
			}
		}
		if allowed {
			return true
		}
	}
	return false
}

// actionMatch matches an action against a pattern with '*' wildcards,
// ignoring case.
func actionMatch(pattern, action string) bool {
	p, a := strings.ToLower(pattern), strings.ToLower(action)
	parts := strings.Split(p, "*")
	if len(parts) == 1 {
		return p == a
	}
	if !strings.HasPrefix(a, parts[0]) {
		return false
	}
	a = a[len(parts[0]):]
	for i, part := range parts[1:] {
		last := i == len(parts)-2
		if last {
			return strings.HasSuffix(a, part)
		}
		j := strings.Index(a, part)
		if j < 0 {
			return false
		}
		a = a[j+len(part):]
	}
	return true
}
