package azuresetup

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// graphClient makes the directory calls: applications, service
// principals, app role assignments.
type graphClient struct {
	api   *apiClient
	base  string // https://graph.microsoft.com
	scope string
}

type application struct {
	ID                     string                   `json:"id"`
	AppID                  string                   `json:"appId"`
	DisplayName            string                   `json:"displayName"`
	Tags                   []string                 `json:"tags"`
	Notes                  *string                  `json:"notes"`
	RequiredResourceAccess []requiredResourceAccess `json:"requiredResourceAccess"`
	PasswordCredentials    []passwordCredential     `json:"passwordCredentials"`
	KeyCredentials         []keyCredential          `json:"keyCredentials"`
}

type requiredResourceAccess struct {
	ResourceAppID  string           `json:"resourceAppId"`
	ResourceAccess []resourceAccess `json:"resourceAccess"`
}

type resourceAccess struct {
	ID   string `json:"id"`
	Type string `json:"type"`
}

type passwordCredential struct {
	KeyID       string    `json:"keyId"`
	DisplayName *string   `json:"displayName"`
	Hint        *string   `json:"hint"`
	SecretText  *string   `json:"secretText"`
	Start       time.Time `json:"startDateTime"`
	End         time.Time `json:"endDateTime"`
}

type keyCredential struct {
	KeyID               string    `json:"keyId"`
	CustomKeyIdentifier *string   `json:"customKeyIdentifier"`
	DisplayName         *string   `json:"displayName"`
	Type                string    `json:"type"`
	Usage               string    `json:"usage"`
	Key                 *string   `json:"key,omitempty"`
	Start               time.Time `json:"startDateTime"`
	End                 time.Time `json:"endDateTime"`
}

type servicePrincipal struct {
	ID          string    `json:"id"`
	AppID       string    `json:"appId"`
	DisplayName string    `json:"displayName"`
	AppRoles    []appRole `json:"appRoles"`
}

type appRole struct {
	ID                 string   `json:"id"`
	Value              string   `json:"value"`
	AllowedMemberTypes []string `json:"allowedMemberTypes"`
}

type appRoleAssignment struct {
	ID          string `json:"id"`
	AppRoleID   string `json:"appRoleId"`
	PrincipalID string `json:"principalId"`
	ResourceID  string `json:"resourceId"`
}

type organization struct {
	ID              string `json:"id"`
	DisplayName     string `json:"displayName"`
	VerifiedDomains []struct {
		Name      string `json:"name"`
		IsDefault bool   `json:"isDefault"`
	} `json:"verifiedDomains"`
}

func (g *graphClient) url(path string, q url.Values) string {
	return g.base + "/v1.0" + path + query("", q)
}

func (g *graphClient) req(method, what, u string, body any) request {
	return request{service: serviceGraph, what: what, method: method, url: u, scope: g.scope, body: body}
}

// list follows @odata.nextLink.
func graphList[T any](ctx context.Context, g *graphClient, what, u string) ([]T, error) {
	var out []T
	for u != "" {
		var page struct {
			Value    []T    `json:"value"`
			NextLink string `json:"@odata.nextLink"`
		}
		if _, err := g.api.do(ctx, g.req(http.MethodGet, what, u, nil), &page); err != nil {
			return nil, err
		}
		out = append(out, page.Value...)
		u = page.NextLink
	}
	return out, nil
}

// odataString quotes a string literal for $filter.
func odataString(s string) string { return "'" + strings.ReplaceAll(s, "'", "''") + "'" }

func (g *graphClient) organization(ctx context.Context) (organization, error) {
	orgs, err := graphList[organization](ctx, g, "read the organization", g.url("/organization", nil))
	if err != nil || len(orgs) == 0 {
		return organization{}, err
	}
	return orgs[0], nil
}

func (g *graphClient) appsByName(ctx context.Context, name string) ([]application, error) {
	return graphList[application](ctx, g, "list app registrations named "+name,
		g.url("/applications", url.Values{"$filter": {"displayName eq " + odataString(name)}}))
}

func (g *graphClient) getApp(ctx context.Context, id string) (application, error) {
	var a application
	_, err := g.api.do(ctx, g.req(http.MethodGet, "read the app registration", g.url("/applications/"+url.PathEscape(id), nil), nil), &a)
	return a, err
}

func (g *graphClient) createApp(ctx context.Context, body map[string]any) (application, error) {
	var a application
	_, err := g.api.do(ctx, g.req(http.MethodPost, "create the app registration", g.url("/applications", nil), body), &a)
	return a, err
}

func (g *graphClient) patchApp(ctx context.Context, id string, body map[string]any) error {
	_, err := g.api.do(ctx, g.req(http.MethodPatch, "update the app registration", g.url("/applications/"+url.PathEscape(id), nil), body), nil)
	return err
}

func (g *graphClient) deleteApp(ctx context.Context, id string) error {
	_, err := g.api.do(ctx, g.req(http.MethodDelete, "delete the app registration", g.url("/applications/"+url.PathEscape(id), nil), nil), nil)
	return err
}

func (g *graphClient) addPassword(ctx context.Context, appObjectID, displayName string, end time.Time) (passwordCredential, error) {
	var p passwordCredential
	body := map[string]any{"passwordCredential": map[string]any{"displayName": displayName, "endDateTime": end.UTC().Format(time.RFC3339)}}
	_, err := g.api.do(ctx, g.req(http.MethodPost, "add a client secret", g.url("/applications/"+url.PathEscape(appObjectID)+"/addPassword", nil), body), &p)
	return p, err
}

// spByAppID finds an app's service principal; ok is false when there is
// none.
func (g *graphClient) spByAppID(ctx context.Context, appID string) (servicePrincipal, bool, error) {
	sps, err := graphList[servicePrincipal](ctx, g, "find the service principal of app "+appID,
		g.url("/servicePrincipals", url.Values{"$filter": {"appId eq " + odataString(appID)}}))
	if err != nil || len(sps) == 0 {
		return servicePrincipal{}, false, err
	}
	return sps[0], true, nil
}

func (g *graphClient) getSP(ctx context.Context, id string) (servicePrincipal, error) {
	var sp servicePrincipal
	_, err := g.api.do(ctx, g.req(http.MethodGet, "read the service principal", g.url("/servicePrincipals/"+url.PathEscape(id), nil), nil), &sp)
	return sp, err
}

func (g *graphClient) createSP(ctx context.Context, appID string) (servicePrincipal, error) {
	var sp servicePrincipal
	body := map[string]any{"appId": appID, "tags": []string{setupTag}}
	_, err := g.api.do(ctx, g.req(http.MethodPost, "create the service principal", g.url("/servicePrincipals", nil), body), &sp)
	return sp, err
}

// graphSP is Microsoft Graph's own service principal in the tenant, with
// its app roles (the application permissions).
func (g *graphClient) graphSP(ctx context.Context) (servicePrincipal, error) {
	var sp servicePrincipal
	u := g.url("/servicePrincipals(appId='"+graphAppID+"')", url.Values{"$select": {"id,appId,displayName,appRoles"}})
	_, err := g.api.do(ctx, g.req(http.MethodGet, "read Microsoft Graph's service principal", u, nil), &sp)
	return sp, err
}

// grantsOf lists the app role assignments a service principal holds.
func (g *graphClient) grantsOf(ctx context.Context, spID string) ([]appRoleAssignment, error) {
	return graphList[appRoleAssignment](ctx, g, "list the permissions granted to the service principal",
		g.url("/servicePrincipals/"+url.PathEscape(spID)+"/appRoleAssignments", nil))
}

func (g *graphClient) grant(ctx context.Context, resourceSP, principalID, appRoleID, permission string) error {
	body := map[string]any{"principalId": principalID, "resourceId": resourceSP, "appRoleId": appRoleID}
	_, err := g.api.do(ctx, g.req(http.MethodPost, "grant admin consent for "+permission,
		g.url("/servicePrincipals/"+url.PathEscape(resourceSP)+"/appRoleAssignedTo", nil), body), nil)
	return err
}

func (g *graphClient) revoke(ctx context.Context, resourceSP, assignmentID, permission string) error {
	_, err := g.api.do(ctx, g.req(http.MethodDelete, "revoke "+permission,
		g.url("/servicePrincipals/"+url.PathEscape(resourceSP)+"/appRoleAssignedTo/"+url.PathEscape(assignmentID), nil), nil), nil)
	return err
}

// isReplicationError tells the answers Entra and ARM give while a new
// object has not reached every replica yet (reference §2.10, §3.5).
func isReplicationError(err error) bool {
	e, ok := asAPIError(err)
	if !ok {
		return false
	}
	switch {
	case e.is(http.StatusBadRequest, "NoBackingApplicationObject"),
		strings.Contains(e.Message, "does not reference a valid application object"),
		e.Service == serviceGraph && e.is(http.StatusNotFound, "Request_ResourceNotFound"),
		e.Service == serviceGraph && e.Status == http.StatusBadRequest && strings.Contains(e.Message, "Not a valid reference update"),
		e.is(http.StatusBadRequest, "PrincipalNotFound"):
		return true
	}
	return false
}

// hasTag reports whether an app carries this tool's tag.
func (a application) hasTag() bool {
	for _, t := range a.Tags {
		if strings.EqualFold(t, setupTag) {
			return true
		}
	}
	return false
}
