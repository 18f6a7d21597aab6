package azureemu

import (
	"crypto/rand"
	"encoding/json"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"
)

// Delegated scopes and application roles that let a caller read or write
// applications and service principals, and grant app roles. Directory.*
// scopes imply the application ones, as in Graph.
var (
	scopesDirRead  = []string{"Application.Read.All", "Application.ReadWrite.All", "Directory.Read.All", "Directory.ReadWrite.All", "Directory.AccessAsUser.All"}
	scopesDirWrite = []string{"Application.ReadWrite.All", "Directory.AccessAsUser.All"}
	scopesGrant    = []string{"AppRoleAssignment.ReadWrite.All", "Directory.AccessAsUser.All"}
	rolesDirRead   = []string{"Application.Read.All", "Application.ReadWrite.All", "Directory.Read.All", "Directory.ReadWrite.All"}
	rolesDirWrite  = []string{"Application.ReadWrite.All"}
	rolesGrant     = []string{"AppRoleAssignment.ReadWrite.All"}
)

// Directory roles allowed to manage any application, and those allowed to
// grant Microsoft Graph app roles (reference §2.9: only Privileged Role
// Administrator and Global Administrator).
var (
	widsAppAdmin   = []string{directoryRoles["global administrator"], directoryRoles["application administrator"], directoryRoles["cloud application administrator"]}
	widsGraphGrant = []string{directoryRoles["global administrator"], directoryRoles["privileged role administrator"]}
)

// microsoftTenant owns the first-party service principals.
const microsoftTenant = "f8cdef31-a31e-4b4a-93e4-5f571e91255a"

// serveDirectory answers the directory calls provisioning makes
// (applications, service principals, app role grants, /me,
// /organization); false when segs is not one of them.
func (e *Emulator) serveDirectory(c *call, p principal, version string, segs []string) bool {
	if len(segs) == 0 {
		return false
	}
	head := strings.ToLower(segs[0])
	switch {
	case head == "me":
		e.graphMe(c, p, version, segs)
	case head == "organization":
		e.graphOrganization(c, p, version, segs)
	case head == "applications" || strings.HasPrefix(head, "applications("):
		e.graphApplications(c, p, version, segs)
	case head == "serviceprincipals" || strings.HasPrefix(head, "serviceprincipals("):
		e.graphServicePrincipals(c, p, version, segs)
	default:
		return false
	}
	return true
}

// denied is Graph's answer when the token's permissions or the user's
// directory roles do not allow a directory call.
func (c *call) denied() {
	c.graphError(http.StatusForbidden, "Authorization_RequestDenied", "Insufficient privileges to complete the operation.")
}

// dirPermitted checks the token: a delegated token needs one of scopes in
// scp, an app-only token one of roles; 403 otherwise.
func (c *call) dirPermitted(p principal, scopes, roles []string) bool {
	held := p.claims.Roles
	want := roles
	if p.delegated() {
		held, want = strings.Fields(p.claims.Scp), scopes
	}
	for _, h := range held {
		if slices.ContainsFunc(want, func(w string) bool { return strings.EqualFold(w, h) }) {
			return true
		}
	}
	c.denied()
	return false
}

// hasWid reports whether a delegated token carries one of the directory
// roles.
func hasWid(p principal, wids []string) bool {
	for _, w := range p.claims.Wids {
		if slices.Contains(wids, w) {
			return true
		}
	}
	return false
}

// mayManage reports whether the caller may change an application (or its
// service principal): an app-only caller with the permission, an owner,
// or an application administrator.
func mayManage(p principal, a *dirApp) bool {
	if !p.delegated() {
		return true
	}
	return slices.ContainsFunc(a.owners, func(o string) bool { return strings.EqualFold(o, p.claims.OID) }) || hasWid(p, widsAppAdmin)
}

// dirTenant is the caller's directory. Caller holds e.mu.
func (c *call) dirTenant(p principal) (*tenant, *directory) {
	t := c.e.st.tenants[strings.ToLower(p.claims.Tid)]
	if t == nil {
		c.graphError(http.StatusUnauthorized, "InvalidAuthenticationToken", "Access token validation failure: unknown tenant.")
		return nil, nil
	}
	return t, c.e.dir(t)
}

func (c *call) notFound(id string) {
	c.graphError(http.StatusNotFound, "Request_ResourceNotFound",
		"Resource '"+id+"' does not exist or one of its queried reference-property objects are not present.")
}

func (c *call) badRequest(msg string) {
	c.graphError(http.StatusBadRequest, "Request_BadRequest", msg)
}

// graphErrorDetails is graphError with details, as Graph sends for some
// directory errors.
func (c *call) graphErrorDetails(status int, code, msg string, details []map[string]any) {
	inner := map[string]any{"date": c.e.now().Format("2006-01-02T15:04:05"), "request-id": c.reqID}
	c.jsonType(status, map[string]any{"error": map[string]any{"code": code, "message": msg, "details": details, "innerError": inner}}, graphContentType)
}

// entityKey splits "applications(appId='x')" or "applications" + "{id}"
// into the key: alternate key name ("" for the object id) and value,
// plus the path after the entity.
func entityKey(segs []string) (keyName, key string, rest []string, ok bool) {
	head := segs[0]
	if i := strings.Index(head, "("); i >= 0 && strings.HasSuffix(head, ")") {
		inner := head[i+1 : len(head)-1]
		if name, val, found := strings.Cut(inner, "="); found {
			keyName, inner = strings.TrimSpace(name), strings.TrimSpace(val)
		}
		if len(inner) >= 2 && inner[0] == '\'' && inner[len(inner)-1] == '\'' {
			inner = inner[1 : len(inner)-1]
		}
		return keyName, inner, segs[1:], inner != ""
	}
	if len(segs) < 2 {
		return "", "", nil, false
	}
	return "", segs[1], segs[2:], true
}

func (d *directory) findApp(keyName, key string) *dirApp {
	if strings.EqualFold(keyName, "appId") {
		return d.appByAppID(key)
	}
	if keyName != "" {
		return nil
	}
	return d.apps[strings.ToLower(key)]
}

func (d *directory) findSP(keyName, key string) *dirSP {
	if strings.EqualFold(keyName, "appId") {
		return d.spByAppID(key)
	}
	if keyName != "" {
		return nil
	}
	return d.sps[strings.ToLower(key)]
}

func (e *Emulator) graphMe(c *call, p principal, version string, segs []string) {
	if len(segs) != 1 || c.r.Method != http.MethodGet {
		c.graphMethodNotAllowed()
		return
	}
	if !p.delegated() {
		c.graphError(http.StatusBadRequest, "BadRequest", "/me request is only valid with delegated authentication flow.")
		return
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	u := e.st.signin.user(strings.ToLower(p.claims.Tid), p.claims.OID)
	if u == nil {
		c.notFound(p.claims.OID)
		return
	}
	var mail any
	if u.Email != "" {
		mail = u.Email
	}
	c.jsonType(http.StatusOK, map[string]any{
		"@odata.context": c.baseURL() + "/" + version + "/$metadata#users/$entity",
		"id":             u.ObjectID, "displayName": u.Name, "userPrincipalName": u.UPN, "mail": mail, "businessPhones": []string{},
	}, graphContentType)
}

func (e *Emulator) graphOrganization(c *call, p principal, version string, segs []string) {
	if len(segs) != 1 || c.r.Method != http.MethodGet {
		c.graphMethodNotAllowed()
		return
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	t, _ := c.dirTenant(p)
	if t == nil {
		return
	}
	domains := []any{}
	for i, d := range t.domains {
		domains = append(domains, map[string]any{"name": d, "isDefault": i == 0, "isInitial": i == 0, "type": "Managed", "capabilities": "Email, OfficeCommunicationsOnline"})
	}
	c.graphCollection(version, "organization", []map[string]any{{"id": t.id, "displayName": publisherDomain(t), "verifiedDomains": domains}}, "", 1)
}

func publisherDomain(t *tenant) string {
	if len(t.domains) > 0 {
		return t.domains[0]
	}
	return t.id
}

// dirTime is how Graph writes directory timestamps.
func dirTime(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05Z") }

func (e *Emulator) graphApplications(c *call, p principal, version string, segs []string) {
	if len(segs) == 1 && strings.EqualFold(segs[0], "applications") {
		switch c.r.Method {
		case http.MethodGet:
			e.listApplications(c, p, version)
		case http.MethodPost:
			e.createApplication(c, p, version)
		default:
			c.graphMethodNotAllowed()
		}
		return
	}
	keyName, key, rest, ok := entityKey(segs)
	if !ok {
		c.badRequest("Invalid key for the applications segment.")
		return
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	t, d := c.dirTenant(p)
	if t == nil {
		return
	}
	read := c.r.Method == http.MethodGet
	if (read && !c.dirPermitted(p, scopesDirRead, rolesDirRead)) || (!read && !c.selfCredentialCall(p, rest, d.findApp(keyName, key)) &&
		!c.dirPermitted(p, scopesDirWrite, rolesDirWrite)) {
		return
	}
	a := d.findApp(keyName, key)
	if a == nil {
		c.notFound(key)
		return
	}
	if !read && !mayManage(p, a) && !c.selfCredentialCall(p, rest, a) {
		c.denied()
		return
	}
	switch {
	case len(rest) == 0 && c.r.Method == http.MethodGet:
		c.jsonType(http.StatusOK, c.selected(e.appJSON(c, t, a, version, true)), graphContentType)
	case len(rest) == 0 && c.r.Method == http.MethodPatch:
		e.patchApplication(c, t, d, a)
	case len(rest) == 0 && c.r.Method == http.MethodDelete:
		e.deleteApplication(c, t, d, a)
	case len(rest) == 1 && c.r.Method == http.MethodPost && strings.EqualFold(rest[0], "addPassword"):
		e.addPassword(c, t, d, a)
	case len(rest) == 1 && c.r.Method == http.MethodPost && strings.EqualFold(rest[0], "removePassword"):
		e.removePassword(c, t, d, a)
	case len(rest) == 1 && c.r.Method == http.MethodPost && strings.EqualFold(rest[0], "addKey"):
		e.addKey(c, t, d, a)
	case len(rest) == 1 && c.r.Method == http.MethodPost && strings.EqualFold(rest[0], "removeKey"):
		e.removeKey(c, t, d, a)
	case len(rest) == 0:
		c.graphMethodNotAllowed()
	default:
		c.graphError(http.StatusBadRequest, "BadRequest", "Resource not found for the segment '"+rest[0]+"'.")
	}
}

// selfCredentialCall reports whether an app calls addKey/removeKey on
// itself, which Graph allows without Application.ReadWrite.All (the
// proof of possession authorizes it).
func (c *call) selfCredentialCall(p principal, rest []string, a *dirApp) bool {
	return a != nil && !p.delegated() && strings.EqualFold(p.claims.AppID, a.appID) && len(rest) == 1 &&
		(strings.EqualFold(rest[0], "addKey") || strings.EqualFold(rest[0], "removeKey"))
}

// applicationProps are the application properties a POST or PATCH may
// set; the emulator models some and keeps the others as sent.
var applicationProps = []string{"displayName", "description", "signInAudience", "requiredResourceAccess",
	"isFallbackPublicClient", "keyCredentials", "tags", "notes", "identifierUris", "web", "publicClient", "spa",
	"api", "appRoles", "info", "optionalClaims", "groupMembershipClaims", "serviceManagementReference",
	"tokenEncryptionKeyId", "parentalControlSettings", "addIns", "isDeviceOnlyAuthSupported", "samlMetadataUrl",
	"defaultRedirectUri", "oauth2RequirePostResponse"}

var readOnlyAppProps = []string{"id", "appId", "createdDateTime", "publisherDomain", "deletedDateTime"}

var signInAudiences = []string{"AzureADMyOrg", "AzureADMultipleOrgs", "AzureADandPersonalMicrosoftAccount", "PersonalMicrosoftAccount"}

// applyAppProps validates and applies POST/PATCH properties to a (a
// scratch copy the caller commits only on success). false after
// answering 400.
func (e *Emulator) applyAppProps(c *call, a *dirApp, m map[string]json.RawMessage, creating bool) bool {
	for k := range m {
		switch {
		case slices.Contains(readOnlyAppProps, k):
			c.badRequest("Property '" + k + "' is read-only and cannot be set.")
			return false
		case k == "passwordCredentials":
			c.badRequest("Property 'passwordCredentials' cannot be set on an application; add client secrets with addPassword.")
			return false
		case !slices.Contains(applicationProps, k):
			c.graphError(http.StatusBadRequest, "BadRequest", "The property '"+k+
				"' does not exist on type 'microsoft.graph.application'. Make sure to only use property names that are defined by the type or mark the type as open type.")
			return false
		}
	}
	if raw, ok := m["displayName"]; ok || creating {
		var name string
		if !ok || json.Unmarshal(raw, &name) != nil || strings.TrimSpace(name) == "" {
			c.badRequest("Invalid value specified for property 'displayName' of resource 'Application'.")
			return false
		}
		a.displayName = name
	}
	if raw, ok := m["signInAudience"]; ok {
		var v string
		aud, found := "", false
		if json.Unmarshal(raw, &v) == nil {
			aud, found = canonical(v, signInAudiences)
		}
		if !found {
			c.badRequest("Invalid value specified for property 'signInAudience' of resource 'Application'.")
			return false
		}
		a.audience = aud
	}
	if raw, ok := m["isFallbackPublicClient"]; ok {
		var v *bool
		if json.Unmarshal(raw, &v) != nil {
			c.badRequest("Invalid value specified for property 'isFallbackPublicClient' of resource 'Application'.")
			return false
		}
		a.public = v != nil && *v
	}
	if raw, ok := m["requiredResourceAccess"]; ok {
		var rra []RequiredResourceAccess
		if json.Unmarshal(raw, &rra) != nil {
			c.badRequest("Invalid value specified for property 'requiredResourceAccess' of resource 'Application'.")
			return false
		}
		if msg := checkResourceAccess(rra); msg != "" {
			c.badRequest(msg)
			return false
		}
		a.rra = rra
	}
	if raw, ok := m["keyCredentials"]; ok {
		keys, msg := e.parseKeyCredentials(a, raw)
		if msg != "" {
			c.badRequest(msg)
			return false
		}
		a.keys = keys
	}
	for k, raw := range m {
		switch k {
		case "displayName", "signInAudience", "isFallbackPublicClient", "requiredResourceAccess", "keyCredentials":
		default:
			if a.extra == nil {
				a.extra = map[string]json.RawMessage{}
			}
			a.extra[k] = raw
		}
	}
	return true
}

// checkResourceAccess validates declared permissions; for Microsoft Graph
// an application permission must be one of its app roles (the emulator
// knows those of reference §2.7), which catches the wrong GUIDs public
// scripts carry.
func checkResourceAccess(rra []RequiredResourceAccess) string {
	for _, r := range rra {
		if _, err := uuid.Parse(r.ResourceAppID); err != nil {
			return "Property requiredResourceAccess.resourceAppId '" + r.ResourceAppID + "' is not a valid GUID."
		}
		for _, ra := range r.ResourceAccess {
			if _, err := uuid.Parse(ra.ID); err != nil {
				return "Property requiredResourceAccess.resourceAccess.id '" + ra.ID + "' is not a valid GUID."
			}
			if ra.Type != "Role" && ra.Type != "Scope" {
				return "Property requiredResourceAccess.resourceAccess.type '" + ra.Type + "' is invalid: use 'Role' or 'Scope'."
			}
			if strings.EqualFold(r.ResourceAppID, graphAppID) && ra.Type == "Role" &&
				!slices.ContainsFunc(graphAppRoles, func(g graphAppRole) bool { return strings.EqualFold(g.id, ra.ID) }) {
				return "Property requiredResourceAccess.resourceAccess is invalid: application permission '" + ra.ID + "' does not exist on resource '" + graphAppID + "'."
			}
		}
	}
	return ""
}

func (e *Emulator) createApplication(c *call, p principal, version string) {
	m, ok := c.readGraphObject()
	if !ok {
		return
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	t, d := c.dirTenant(p)
	if t == nil || !c.dirPermitted(p, scopesDirWrite, rolesDirWrite) {
		return
	}
	now := e.now()
	a := &dirApp{id: uuid.NewString(), appID: uuid.NewString(), audience: "AzureADMyOrg", created: now}
	if !e.applyAppProps(c, a, m, true) {
		return
	}
	if p.delegated() {
		a.owners = []string{p.claims.OID}
	}
	d.apps[a.id] = a
	c.w.Header().Set("Location", c.baseURL()+"/v2/"+t.id+"/directoryObjects/"+a.id+"/Microsoft.DirectoryServices.Application")
	c.jsonType(http.StatusCreated, e.appJSON(c, t, a, version, true), graphContentType)
}

func (e *Emulator) listApplications(c *call, p principal, version string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	t, d := c.dirTenant(p)
	if t == nil || !c.dirPermitted(p, scopesDirRead, rolesDirRead) {
		return
	}
	conds, ok := c.dirFilter("Application", []string{"displayName", "appId", "id", "publisherDomain"})
	if !ok {
		return
	}
	var items []map[string]any
	for _, a := range sortedApps(d) {
		get := func(prop string) string {
			switch prop {
			case "displayName":
				return a.displayName
			case "appId":
				return a.appID
			case "id":
				return a.id
			}
			return publisherDomain(t)
		}
		if matchConds(conds, get) {
			items = append(items, e.appJSON(c, t, a, version, false))
		}
	}
	c.dirCollection(version, "applications", items)
}

func (e *Emulator) patchApplication(c *call, t *tenant, d *directory, a *dirApp) {
	m, ok := c.readGraphObject()
	if !ok {
		return
	}
	// Validate on a copy so that a refused PATCH changes nothing.
	cp := *a
	cp.extra = make(map[string]json.RawMessage, len(a.extra))
	for k, v := range a.extra {
		cp.extra[k] = v
	}
	if !e.applyAppProps(c, &cp, m, false) {
		return
	}
	*a = cp
	e.syncApp(t, d, a)
	c.empty(http.StatusNoContent)
}

// deleteApplication removes the application, its service principal and
// the grants to it; the connector's credentials stop working at once.
// (Azure keeps deleted apps restorable for 30 days; the emulator does
// not model that.)
func (e *Emulator) deleteApplication(c *call, t *tenant, d *directory, a *dirApp) {
	delete(d.apps, strings.ToLower(a.id))
	if sp := d.spByAppID(a.appID); sp != nil {
		e.removeSP(t, d, sp)
	}
	delete(t.apps, strings.ToLower(a.appID))
	c.empty(http.StatusNoContent)
}

// removeSP deletes a service principal with its grants. Caller holds e.mu.
func (e *Emulator) removeSP(t *tenant, d *directory, sp *dirSP) {
	for _, g := range e.grants(t, d) {
		if strings.EqualFold(g.PrincipalID, sp.id) {
			delete(d.granted, g.ID)
		}
	}
	delete(d.sps, strings.ToLower(sp.id))
	if rec := t.apps[strings.ToLower(sp.appID)]; rec != nil && strings.EqualFold(rec.ObjectID, sp.id) {
		delete(t.apps, strings.ToLower(sp.appID))
	}
}

func (e *Emulator) appJSON(c *call, t *tenant, a *dirApp, version string, entity bool) map[string]any {
	pw := []any{}
	for _, p := range a.passwords {
		pw = append(pw, passwordJSON(p, ""))
	}
	keys := []any{}
	for _, k := range a.keys {
		keys = append(keys, keyJSON(k))
	}
	rra := a.rra
	if rra == nil {
		rra = []RequiredResourceAccess{}
	}
	m := map[string]any{
		"id": a.id, "deletedDateTime": nil, "appId": a.appID, "applicationTemplateId": nil,
		"createdDateTime": dirTime(a.created), "displayName": a.displayName, "description": nil,
		"identifierUris": []string{}, "isFallbackPublicClient": a.public, "publisherDomain": publisherDomain(t),
		"signInAudience": a.audience, "tags": []string{}, "notes": nil,
		"keyCredentials": keys, "passwordCredentials": pw, "requiredResourceAccess": rra, "appRoles": []any{},
		"publicClient": map[string]any{"redirectUris": []string{}}, "spa": map[string]any{"redirectUris": []string{}},
		"web": map[string]any{"redirectUris": []string{}, "homePageUrl": nil, "logoutUrl": nil},
	}
	for k, v := range a.extra {
		m[k] = v
	}
	if entity {
		m["@odata.context"] = c.baseURL() + c0(version) + "applications/$entity"
	}
	return m
}

// c0 is the $metadata path of an entity's @odata.context, after the
// host.
func c0(version string) string { return "/" + version + "/$metadata#" }

func passwordJSON(p *password, secret string) map[string]any {
	m := map[string]any{
		"customKeyIdentifier": nil, "displayName": p.displayName, "endDateTime": dirTime(p.end),
		"hint": p.hint, "keyId": p.keyID, "secretText": nil, "startDateTime": dirTime(p.start),
	}
	if secret != "" {
		m["secretText"] = secret
	}
	return m
}

func keyJSON(k *keyCred) map[string]any {
	return map[string]any{
		"customKeyIdentifier": thumbprint(k.cert), "displayName": k.displayName, "endDateTime": dirTime(k.end),
		"key": nil, "keyId": k.keyID, "startDateTime": dirTime(k.start), "type": k.typ, "usage": k.usage,
	}
}

// secretAlphabet is what Entra client secrets are made of.
const secretAlphabet = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-.~"

// newSecret makes a 40-character secret shaped like Entra's (three
// characters, "8Q~", then 34 more).
func newSecret() string {
	b := make([]byte, 37)
	_, _ = rand.Read(b)
	out := make([]byte, 0, 40)
	for i, x := range b {
		if i == 3 {
			out = append(out, "8Q~"...)
		}
		out = append(out, secretAlphabet[int(x)%len(secretAlphabet)])
	}
	return string(out)
}

// addPassword adds a client secret and shows its text this once. The
// default lifetime is two years, as in Entra.
func (e *Emulator) addPassword(c *call, t *tenant, d *directory, a *dirApp) {
	var body struct {
		PasswordCredential *struct {
			DisplayName   *string `json:"displayName"`
			StartDateTime *string `json:"startDateTime"`
			EndDateTime   *string `json:"endDateTime"`
		} `json:"passwordCredential"`
	}
	if raw, err := c.readBody(1 << 16); err != nil || (len(strings.TrimSpace(string(raw))) > 0 && json.Unmarshal(raw, &body) != nil) {
		c.graphError(http.StatusBadRequest, "BadRequest", "Unable to read JSON request payload. Please ensure Content-Type header is set and payload is of valid JSON format.")
		return
	}
	now := e.now()
	p := &password{keyID: uuid.NewString(), start: now, end: now.AddDate(2, 0, 0)}
	if pc := body.PasswordCredential; pc != nil {
		if pc.DisplayName != nil {
			p.displayName = *pc.DisplayName
		}
		for _, f := range []struct {
			raw *string
			dst *time.Time
			nm  string
		}{{pc.StartDateTime, &p.start, "startDateTime"}, {pc.EndDateTime, &p.end, "endDateTime"}} {
			if f.raw == nil {
				continue
			}
			ts, err := time.Parse(time.RFC3339, *f.raw)
			if err != nil {
				c.badRequest("Invalid value specified for property '" + f.nm + "' of resource 'PasswordCredential'.")
				return
			}
			*f.dst = ts.UTC()
		}
	}
	if !p.end.After(p.start) {
		c.badRequest("Credential end date must be after its start date.")
		return
	}
	secret := newSecret()
	p.secret, p.hint = secret, secret[:3]
	a.passwords = append(a.passwords, p)
	e.syncApp(t, d, a)
	m := passwordJSON(p, secret)
	m["@odata.context"] = c.baseURL() + c0(versionOf(c)) + "microsoft.graph.passwordCredential"
	c.jsonType(http.StatusOK, m, graphContentType)
}

func versionOf(c *call) string {
	v, _, _ := strings.Cut(strings.Trim(c.r.URL.Path, "/"), "/")
	return v
}

func (e *Emulator) removePassword(c *call, t *tenant, d *directory, a *dirApp) {
	m, ok := c.readGraphObject()
	if !ok {
		return
	}
	var keyID string
	if raw, has := m["keyId"]; !has || json.Unmarshal(raw, &keyID) != nil || keyID == "" {
		c.badRequest("Invalid value specified for property 'keyId' of resource 'PasswordCredential'.")
		return
	}
	i := slices.IndexFunc(a.passwords, func(p *password) bool { return strings.EqualFold(p.keyID, keyID) })
	if i < 0 {
		c.badRequest("No password credential found with keyId '" + keyID + "'.")
		return
	}
	a.passwords = slices.Delete(a.passwords, i, i+1)
	e.syncApp(t, d, a)
	c.empty(http.StatusNoContent)
}

// dirCond is one clause of a directory $filter.
type dirCond struct{ prop, op, val string }

// dirFilter parses $filter as clauses "prop eq 'v'" or
// "startswith(prop,'v')" joined by "and", over props; 400 otherwise.
func (c *call) dirFilter(entity string, props []string) ([]dirCond, bool) {
	f, _ := queryGet(c.r.URL.Query(), "$filter")
	if strings.TrimSpace(f) == "" {
		return nil, true
	}
	var conds []dirCond
	for _, clause := range splitAnd(f) {
		var prop, op, val string
		lc := strings.ToLower(clause)
		if strings.HasPrefix(lc, "startswith(") && strings.HasSuffix(clause, ")") {
			inner := clause[len("startswith(") : len(clause)-1]
			pn, lit, found := strings.Cut(inner, ",")
			lit = strings.TrimSpace(lit)
			if !found || len(lit) < 2 || lit[0] != '\'' || lit[len(lit)-1] != '\'' {
				c.graphError(http.StatusBadRequest, "Request_UnsupportedQuery", "Invalid filter clause: "+clause+".")
				return nil, false
			}
			prop, op, val = strings.TrimSpace(pn), "startswith", strings.ReplaceAll(lit[1:len(lit)-1], "''", "'")
		} else {
			var ok bool
			prop, val, ok = parseEqFilter(clause)
			if !ok {
				c.graphError(http.StatusBadRequest, "Request_UnsupportedQuery", "Unsupported or invalid query filter clause: "+clause+".")
				return nil, false
			}
			op = "eq"
		}
		i := slices.IndexFunc(props, func(p string) bool { return strings.EqualFold(p, prop) })
		if i < 0 {
			c.graphError(http.StatusBadRequest, "Request_UnsupportedQuery",
				"Unsupported or invalid query filter clause specified for property '"+prop+"' of resource '"+entity+"'.")
			return nil, false
		}
		conds = append(conds, dirCond{prop: props[i], op: op, val: val})
	}
	return conds, true
}

// matchConds applies filter clauses; directory strings compare without
// regard to case, as in Entra.
func matchConds(conds []dirCond, get func(string) string) bool {
	for _, cd := range conds {
		v := get(cd.prop)
		switch cd.op {
		case "eq":
			if !strings.EqualFold(v, cd.val) {
				return false
			}
		case "startswith":
			if !strings.HasPrefix(strings.ToLower(v), strings.ToLower(cd.val)) {
				return false
			}
		}
	}
	return true
}

// selected applies $select to one object.
func (c *call) selected(m map[string]any) map[string]any {
	sel, _ := queryGet(c.r.URL.Query(), "$select")
	if strings.TrimSpace(sel) == "" {
		return m
	}
	want := strings.Split(sel, ",")
	out := map[string]any{}
	for k, v := range m {
		if k == "@odata.context" || slices.ContainsFunc(want, func(w string) bool { return strings.EqualFold(strings.TrimSpace(w), k) }) {
			out[k] = v
		}
	}
	return out
}

// dirCollection answers a directory list with $select, $top (1–999,
// default 100) and $skiptoken paging.
func (c *call) dirCollection(version, context string, items []map[string]any) {
	q := c.r.URL.Query()
	top := 100
	if s, ok := queryGet(q, "$top"); ok {
		v, err := strconv.Atoi(s)
		if err != nil || v < 1 || v > 999 {
			c.graphError(http.StatusBadRequest, "Request_BadRequest", "Invalid page size specified: '"+s+"'. Must be between 1 and 999 inclusive.")
			return
		}
		top = v
	}
	offset := 0
	if s, ok := queryGet(q, "$skiptoken"); ok {
		v, err := decodeSkip(s)
		if err != nil {
			c.graphError(http.StatusBadRequest, "Request_BadRequest", "Invalid $skiptoken.")
			return
		}
		offset = v
	}
	page := []map[string]any{}
	for i := offset; i < len(items) && i < offset+top; i++ {
		page = append(page, c.selected(items[i]))
	}
	next := ""
	if offset+top < len(items) {
		next = c.nextLink("$skiptoken", offset+top)
	}
	c.graphCollection(version, context, page, next, len(items))
}

func (e *Emulator) graphServicePrincipals(c *call, p principal, version string, segs []string) {
	if len(segs) == 1 && strings.EqualFold(segs[0], "servicePrincipals") {
		switch c.r.Method {
		case http.MethodGet:
			e.listServicePrincipals(c, p, version)
		case http.MethodPost:
			e.createServicePrincipal(c, p, version)
		default:
			c.graphMethodNotAllowed()
		}
		return
	}
	keyName, key, rest, ok := entityKey(segs)
	if !ok {
		c.badRequest("Invalid key for the servicePrincipals segment.")
		return
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	t, d := c.dirTenant(p)
	if t == nil {
		return
	}
	if len(rest) >= 1 && (strings.EqualFold(rest[0], "appRoleAssignedTo") || strings.EqualFold(rest[0], "appRoleAssignments")) {
		e.serveGrants(c, p, t, d, version, d.findSP(keyName, key), key, rest)
		return
	}
	if c.r.Method == http.MethodGet && !c.dirPermitted(p, scopesDirRead, rolesDirRead) {
		return
	}
	if c.r.Method != http.MethodGet && !c.dirPermitted(p, scopesDirWrite, rolesDirWrite) {
		return
	}
	sp := d.findSP(keyName, key)
	if sp == nil {
		c.notFound(key)
		return
	}
	switch {
	case len(rest) == 0 && c.r.Method == http.MethodGet:
		m := e.spJSON(t, sp)
		m["@odata.context"] = c.baseURL() + c0(version) + "servicePrincipals/$entity"
		c.jsonType(http.StatusOK, c.selected(m), graphContentType)
	case len(rest) == 0 && c.r.Method == http.MethodDelete:
		if sp.firstParty {
			c.denied()
			return
		}
		if a := d.appByAppID(sp.appID); a != nil && !mayManage(p, a) {
			c.denied()
			return
		}
		e.removeSP(t, d, sp)
		c.empty(http.StatusNoContent)
	case len(rest) == 0:
		c.graphMethodNotAllowed()
	default:
		c.graphError(http.StatusBadRequest, "BadRequest", "Resource not found for the segment '"+rest[0]+"'.")
	}
}

func (e *Emulator) spJSON(t *tenant, sp *dirSP) map[string]any {
	roles := []any{}
	for _, r := range sp.appRoles {
		roles = append(roles, map[string]any{"allowedMemberTypes": []string{"Application"}, "description": r.displayName,
			"displayName": r.displayName, "id": r.id, "isEnabled": true, "origin": "Application", "value": r.value})
	}
	scopes := []any{}
	for _, s := range sp.scopes {
		scopes = append(scopes, map[string]any{"adminConsentDescription": s.value, "adminConsentDisplayName": s.value,
			"id": s.id, "isEnabled": true, "type": "Admin", "userConsentDescription": nil, "userConsentDisplayName": nil, "value": s.value})
	}
	owner, audience := t.id, "AzureADMyOrg"
	if sp.firstParty {
		owner, audience = microsoftTenant, "AzureADMultipleOrgs"
	}
	m := map[string]any{
		"id": sp.id, "deletedDateTime": nil, "accountEnabled": true, "appId": sp.appID, "appDisplayName": sp.displayName,
		"appOwnerOrganizationId": owner, "appRoleAssignmentRequired": false, "displayName": sp.displayName,
		"servicePrincipalNames": []string{sp.appID}, "servicePrincipalType": "Application", "signInAudience": audience,
		"tags": []string{}, "appRoles": roles, "oauth2PermissionScopes": scopes, "keyCredentials": []any{}, "passwordCredentials": []any{},
	}
	for k, v := range sp.extra {
		m[k] = v
	}
	return m
}

var servicePrincipalProps = []string{"appId", "accountEnabled", "appRoleAssignmentRequired", "tags", "notes",
	"description", "loginUrl", "notificationEmailAddresses", "preferredSingleSignOnMode", "homepage"}

// createServicePrincipal makes the enterprise app for an application in
// the tenant. Until replication catches up (SetReplicationLag) the
// application is not found, as on a lagging replica.
func (e *Emulator) createServicePrincipal(c *call, p principal, version string) {
	m, ok := c.readGraphObject()
	if !ok {
		return
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	t, d := c.dirTenant(p)
	if t == nil || !c.dirPermitted(p, scopesDirWrite, rolesDirWrite) {
		return
	}
	for k := range m {
		if !slices.Contains(servicePrincipalProps, k) {
			c.graphError(http.StatusBadRequest, "BadRequest", "The property '"+k+
				"' does not exist on type 'microsoft.graph.servicePrincipal'. Make sure to only use property names that are defined by the type or mark the type as open type.")
			return
		}
	}
	var appID string
	if raw, has := m["appId"]; !has || json.Unmarshal(raw, &appID) != nil || appID == "" {
		c.badRequest("Invalid value specified for property 'appId' of resource 'ServicePrincipal'.")
		return
	}
	if sp := d.spByAppID(appID); sp != nil {
		c.graphError(http.StatusConflict, "Request_MultipleObjectsWithSameKeyValue",
			"The service principal cannot be created, updated, or restored because the service principal name "+appID+" is already in use.")
		return
	}
	a := d.appByAppID(appID)
	if a == nil || e.young(a.created) {
		msg := "The appId '" + appID + "' of the service principal does not reference a valid application object."
		c.graphErrorDetails(http.StatusBadRequest, "Request_BadRequest", msg,
			[]map[string]any{{"code": "NoBackingApplicationObject", "message": msg, "target": "appId"}})
		return
	}
	if !mayManage(p, a) {
		c.denied()
		return
	}
	sp := &dirSP{id: uuid.NewString(), appID: a.appID, displayName: a.displayName, created: e.now()}
	for k, raw := range m {
		if k != "appId" {
			if sp.extra == nil {
				sp.extra = map[string]json.RawMessage{}
			}
			sp.extra[k] = raw
		}
	}
	d.sps[sp.id] = sp
	e.syncApp(t, d, a)
	out := e.spJSON(t, sp)
	out["@odata.context"] = c.baseURL() + c0(version) + "servicePrincipals/$entity"
	c.jsonType(http.StatusCreated, out, graphContentType)
}

func (e *Emulator) listServicePrincipals(c *call, p principal, version string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	t, d := c.dirTenant(p)
	if t == nil || !c.dirPermitted(p, scopesDirRead, rolesDirRead) {
		return
	}
	conds, ok := c.dirFilter("ServicePrincipal", []string{"appId", "displayName", "id", "servicePrincipalType"})
	if !ok {
		return
	}
	var items []map[string]any
	for _, sp := range sortedSPs(d) {
		get := func(prop string) string {
			switch prop {
			case "appId":
				return sp.appID
			case "displayName":
				return sp.displayName
			case "id":
				return sp.id
			}
			return "Application"
		}
		if matchConds(conds, get) {
			items = append(items, e.spJSON(t, sp))
		}
	}
	c.dirCollection(version, "servicePrincipals", items)
}

// serveGrants is .../servicePrincipals/{id}/appRoleAssignedTo (grants
// where the SP is the resource) and .../appRoleAssignments (grants the SP
// holds): list, create, delete. Caller holds e.mu.
func (e *Emulator) serveGrants(c *call, p principal, t *tenant, d *directory, version string, sp *dirSP, key string, rest []string) {
	assignedTo := strings.EqualFold(rest[0], "appRoleAssignedTo")
	switch {
	case c.r.Method == http.MethodGet && len(rest) == 1:
		if !c.dirPermitted(p, scopesDirRead, rolesDirRead) {
			return
		}
		if sp == nil {
			c.notFound(key)
			return
		}
		var items []map[string]any
		for _, g := range e.grants(t, d) {
			if (assignedTo && strings.EqualFold(g.ResourceID, sp.id)) || (!assignedTo && strings.EqualFold(g.PrincipalID, sp.id)) {
				items = append(items, grantJSON(d, g))
			}
		}
		c.dirCollection(version, "servicePrincipals('"+sp.id+"')/"+rest[0], items)
	case c.r.Method == http.MethodPost && len(rest) == 1:
		e.createGrant(c, p, t, d, version, sp, key, assignedTo)
	case c.r.Method == http.MethodDelete && len(rest) == 2:
		if !c.dirPermitted(p, scopesGrant, rolesGrant) || !c.dirPermitted(p, scopesDirRead, rolesDirRead) {
			return
		}
		if sp == nil {
			c.notFound(key)
			return
		}
		for _, g := range e.grants(t, d) {
			if g.ID != rest[1] || !((assignedTo && strings.EqualFold(g.ResourceID, sp.id)) || (!assignedTo && strings.EqualFold(g.PrincipalID, sp.id))) {
				continue
			}
			if p.delegated() && !hasWid(p, widsGraphGrant) {
				c.denied()
				return
			}
			principalSP := d.sps[strings.ToLower(g.PrincipalID)]
			if rec := t.apps[strings.ToLower(principalSP.appID)]; rec != nil {
				rec.GraphRoles = slices.DeleteFunc(rec.GraphRoles, func(r string) bool { return strings.EqualFold(r, g.Permission) })
			}
			delete(d.granted, g.ID)
			c.empty(http.StatusNoContent)
			return
		}
		c.notFound(rest[1])
	default:
		c.graphMethodNotAllowed()
	}
}

func grantJSON(d *directory, g AppRoleGrant) map[string]any {
	name := func(id string) any {
		if sp := d.sps[strings.ToLower(id)]; sp != nil {
			return sp.displayName
		}
		return nil
	}
	return map[string]any{
		"id": g.ID, "deletedDateTime": nil, "appRoleId": g.AppRoleID, "createdDateTime": dirTime(g.Created),
		"principalDisplayName": name(g.PrincipalID), "principalId": g.PrincipalID, "principalType": "ServicePrincipal",
		"resourceDisplayName": name(g.ResourceID), "resourceId": g.ResourceID,
	}
}

// createGrant grants an application permission (admin consent). Graph's
// checks: AppRoleAssignment.ReadWrite.All with Application.Read.All,
// Privileged Role Administrator or Global Administrator for Microsoft
// Graph's roles, the role existing on the resource, the principal
// replicated, no duplicate. The role lands in the app's client-credential
// tokens from the next one issued. Caller holds e.mu.
func (e *Emulator) createGrant(c *call, p principal, t *tenant, d *directory, version string, urlSP *dirSP, key string, assignedTo bool) {
	if !c.dirPermitted(p, scopesGrant, rolesGrant) || !c.dirPermitted(p, scopesDirRead, rolesDirRead) {
		return
	}
	m, ok := c.readGraphObject()
	if !ok {
		return
	}
	ids := map[string]string{}
	for _, k := range []string{"principalId", "resourceId", "appRoleId"} {
		var v string
		raw, has := m[k]
		if !has || json.Unmarshal(raw, &v) != nil {
			c.badRequest("Invalid value specified for property '" + k + "' of resource 'AppRoleAssignment'.")
			return
		}
		if _, err := uuid.Parse(v); err != nil {
			c.badRequest("Invalid value specified for property '" + k + "' of resource 'AppRoleAssignment'.")
			return
		}
		ids[k] = strings.ToLower(v)
	}
	if urlSP == nil {
		c.notFound(key)
		return
	}
	inURL := ids["resourceId"]
	if !assignedTo {
		inURL = ids["principalId"]
	}
	if !strings.EqualFold(inURL, urlSP.id) {
		c.badRequest("Not a valid reference update.")
		return
	}
	resource := d.sps[ids["resourceId"]]
	if resource == nil {
		c.notFound(ids["resourceId"])
		return
	}
	if p.delegated() && !hasWid(p, widsGraphGrant) && (resource.firstParty || !hasWid(p, widsAppAdmin)) {
		c.denied()
		return
	}
	i := slices.IndexFunc(resource.appRoles, func(r graphAppRole) bool { return strings.EqualFold(r.id, ids["appRoleId"]) })
	if i < 0 {
		c.badRequest("Permission being assigned was not found on application '" + resource.appID + "'.")
		return
	}
	role := resource.appRoles[i]
	principalSP := d.sps[ids["principalId"]]
	if principalSP == nil || e.young(principalSP.created) {
		c.notFound(ids["principalId"])
		return
	}
	rec := t.apps[strings.ToLower(principalSP.appID)]
	if principalSP.firstParty || rec == nil || !strings.EqualFold(rec.ObjectID, principalSP.id) {
		c.badRequest("Not a valid reference update.")
		return
	}
	if slices.ContainsFunc(rec.GraphRoles, func(r string) bool { return strings.EqualFold(r, role.value) }) {
		c.badRequest("Permission being assigned already exists on the object")
		return
	}
	rec.GraphRoles = append(rec.GraphRoles, role.value)
	g := AppRoleGrant{ID: grantID(principalSP.id, resource.id, role.id), PrincipalID: principalSP.id, ResourceID: resource.id,
		AppRoleID: role.id, Permission: role.value, Created: e.now()}
	d.granted[g.ID] = g.Created
	out := grantJSON(d, g)
	out["@odata.context"] = c.baseURL() + c0(version) + "servicePrincipals('" + urlSP.id + "')/" + map[bool]string{true: "appRoleAssignedTo", false: "appRoleAssignments"}[assignedTo] + "/$entity"
	c.jsonType(http.StatusCreated, out, graphContentType)
}
