package azureemu

import (
	"crypto/sha1" //nolint:gosec // certificate thumbprints are SHA-1 by definition
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"maps"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/google/uuid"
)

// provState is what provisioning (lastmile azure setup) adds to the
// emulator: directory objects created through Graph, ARM role assignments,
// subscriptions and resource groups, Logs Ingestion resources and the
// device code flow. Maps are made on first use, so the zero value (as
// newState leaves it) is ready.
type provState struct {
	lag         time.Duration
	dirs        map[string]*directory      // by lower-case tenant id
	subs        map[string]*Subscription   // by lower-case subscription id
	rgs         map[string]*ResourceGroup  // by lower-case "sub/rg"
	assignments map[string]*roleAssignment // by lower-case name
	dirRoles    map[string][]string        // lower-case user object id → directory role names
	dces        map[string]*dceRec         // by lower-case resource id
	dcrs        map[string]*provDCR        // by lower-case resource id
	tables      map[string]*tableMeta      // by lower-case table resource id
	asyncTables bool
	asyncOps    map[string]time.Time     // operation id → start
	device      map[string]*deviceCode   // by device_code
	refresh     map[string]*refreshGrant // by refresh token
	autoApprove string                   // login approving new device codes
}

// Subscription is an Azure subscription the ARM list calls show.
// Subscriptions of added workspaces and resource groups exist without
// being added; AddSubscription names them or ties them to a tenant.
type Subscription struct {
	ID string
	// TenantID, when set, hides the subscription from tokens of other
	// tenants, as ARM does.
	TenantID string
	// DisplayName defaults to "Subscription {first 8 of ID}".
	DisplayName string
}

// ResourceGroup is a resource group (e.g. one for a playbook, or for the
// data collection rule) that exists besides the workspaces' own.
type ResourceGroup struct {
	SubscriptionID string
	Name           string
	// Location defaults to westeurope.
	Location string
}

// AddSubscription registers (or renames) a subscription.
func (e *Emulator) AddSubscription(s Subscription) error {
	if _, err := uuid.Parse(s.ID); err != nil {
		return fmt.Errorf("azureemu: subscription id %q is not a GUID: %w", s.ID, err)
	}
	if s.DisplayName == "" {
		s.DisplayName = "Subscription " + s.ID[:8]
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	ps := &e.st.prov
	if ps.subs == nil {
		ps.subs = map[string]*Subscription{}
	}
	cp := s
	ps.subs[strings.ToLower(s.ID)] = &cp
	return nil
}

// AddResourceGroup registers a resource group (its subscription is
// implied).
func (e *Emulator) AddResourceGroup(g ResourceGroup) error {
	if g.SubscriptionID == "" || g.Name == "" {
		return errors.New("azureemu: resource group needs SubscriptionID and Name")
	}
	if g.Location == "" {
		g.Location = "westeurope"
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	ps := &e.st.prov
	if ps.rgs == nil {
		ps.rgs = map[string]*ResourceGroup{}
	}
	cp := g
	ps.rgs[strings.ToLower(g.SubscriptionID+"/"+g.Name)] = &cp
	return nil
}

// SetReplicationLag models Entra's eventual consistency: for d after an
// application or service principal is created, writes that depend on it
// fail as on a replica that has not seen it yet (POST /servicePrincipals
// for the new app: 400 NoBackingApplicationObject; an app role grant to
// the new service principal: 404 Request_ResourceNotFound; an ARM role
// assignment to it without principalType: 400 PrincipalNotFound). Time is
// the emulator's clock. Zero turns it off.
func (e *Emulator) SetReplicationLag(d time.Duration) {
	e.mu.Lock()
	e.st.prov.lag = d
	e.mu.Unlock()
}

// young reports whether an object created at created is still invisible
// to dependent writes. Caller holds e.mu.
func (e *Emulator) young(created time.Time) bool {
	lag := e.st.prov.lag
	return lag > 0 && e.now().Before(created.Add(lag))
}

// Directory roles a user may hold (Entra built-in role template ids);
// they travel in the wids claim of the user's tokens.
var directoryRoles = map[string]string{
	"global administrator":            "62e90394-69f5-4237-9190-012177145e10",
	"privileged role administrator":   "e8611ab8-c189-46e8-94e1-60213ab1f814",
	"application administrator":       "9b895d92-2cd3-44c7-9d02-a6ac2d5ea5c3",
	"cloud application administrator": "158c047a-c907-4556-b7ef-446551a6b5f7",
}

// widDefaultUser is in the wids of every member user's tokens.
const widDefaultUser = "b79fbf4d-3ef9-4689-8143-76b194e85509"

// SetDirectoryRoles replaces the Entra directory roles of a user (added
// with AddUser, found by UPN, email or object id): any of "Global
// Administrator", "Privileged Role Administrator", "Application
// Administrator", "Cloud Application Administrator". Tokens carry them in
// wids from their next issue, as in Entra.
func (e *Emulator) SetDirectoryRoles(tenantID, login string, roles ...string) error {
	for _, r := range roles {
		if _, ok := directoryRoles[strings.ToLower(r)]; !ok {
			return fmt.Errorf("azureemu: unknown directory role %q", r)
		}
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	u := e.st.signin.user(strings.ToLower(e.tenantIDOf(tenantID)), login)
	if u == nil {
		return fmt.Errorf("azureemu: no user %s in tenant %s", login, tenantID)
	}
	ps := &e.st.prov
	if ps.dirRoles == nil {
		ps.dirRoles = map[string][]string{}
	}
	ps.dirRoles[strings.ToLower(u.ObjectID)] = slices.Clone(roles)
	return nil
}

// wids lists the role template ids for a user's token. Caller holds e.mu.
func (s *state) wids(oid string) []string {
	out := []string{widDefaultUser}
	for _, r := range s.prov.dirRoles[strings.ToLower(oid)] {
		out = append(out, directoryRoles[strings.ToLower(r)])
	}
	return out
}

// tenantIDOf maps a tenant id or domain to the tenant id (unchanged when
// unknown). Caller holds e.mu.
func (e *Emulator) tenantIDOf(ref string) string {
	if t := e.st.tenants[strings.ToLower(ref)]; t != nil {
		return t.id
	}
	return ref
}

// roleAssignment is an ARM role assignment.
type roleAssignment struct {
	name, scope, roleID, principalID, principalType string
	created                                         time.Time
	createdBy                                       string
}

// RoleAssignment is an ARM role assignment, as listed by RoleAssignments.
type RoleAssignment struct {
	Name  string // the GUID in .../roleAssignments/{name}
	Scope string
	// RoleDefinitionID is the role's GUID; RoleName its name.
	RoleDefinitionID string
	RoleName         string
	PrincipalID      string
	PrincipalType    string
	Created          time.Time
	// CreatedBy is the object id of the caller that made it (empty for
	// GrantUserARMRole).
	CreatedBy string
}

// GrantUserARMRole assigns an Azure role to a user (by UPN, email or object
// id) at a scope (subscription, resource group or resource id; "/" for the
// whole tenant), e.g. Owner on the subscription for the admin who runs
// setup. It is listed like any other role assignment.
func (e *Emulator) GrantUserARMRole(tenantID, login, scope, role string) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	u := e.st.signin.user(strings.ToLower(e.tenantIDOf(tenantID)), login)
	if u == nil {
		return fmt.Errorf("azureemu: no user %s in tenant %s", login, tenantID)
	}
	spec, ok := e.st.roleByName(role)
	if !ok {
		return fmt.Errorf("azureemu: unknown role %q", role)
	}
	if scope != "/" {
		scope = strings.TrimRight(scope, "/")
	}
	e.st.prov.addAssignment(&roleAssignment{
		name: uuid.NewString(), scope: scope, roleID: spec.id, principalID: u.ObjectID,
		principalType: "User", created: e.now(),
	})
	return nil
}

func (ps *provState) addAssignment(a *roleAssignment) {
	if ps.assignments == nil {
		ps.assignments = map[string]*roleAssignment{}
	}
	ps.assignments[strings.ToLower(a.name)] = a
}

// RoleAssignments lists every role assignment made over ARM or with
// GrantUserARMRole, oldest first. (Roles given with App.ARMRoles are not
// role assignment resources and are not listed.)
func (e *Emulator) RoleAssignments() []RoleAssignment {
	e.mu.Lock()
	defer e.mu.Unlock()
	var out []RoleAssignment
	for _, a := range e.st.prov.sortedAssignments() {
		spec, _ := e.st.roleByID(a.roleID)
		out = append(out, RoleAssignment{
			Name: a.name, Scope: a.scope, RoleDefinitionID: a.roleID, RoleName: spec.name,
			PrincipalID: a.principalID, PrincipalType: a.principalType, Created: a.created, CreatedBy: a.createdBy,
		})
	}
	return out
}

func (ps *provState) sortedAssignments() []*roleAssignment {
	out := slices.Collect(maps.Values(ps.assignments))
	slices.SortFunc(out, func(a, b *roleAssignment) int {
		if c := a.created.Compare(b.created); c != 0 {
			return c
		}
		return strings.Compare(a.name, b.name)
	})
	return out
}

// WriteRequests returns the Graph and ARM requests that could change
// something (POST, PUT, PATCH, DELETE), whatever their answer, oldest
// first: a dry run should leave it empty, and a second setup run should
// add no successful ones.
func (e *Emulator) WriteRequests() []Request {
	var out []Request
	for _, r := range e.Requests() {
		if r.API != APIGraph && r.API != APIARM {
			continue
		}
		switch r.Method {
		case http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete:
			out = append(out, r)
		}
	}
	return out
}

// delegated reports whether a token acts for a signed-in user (it has
// scp) rather than for an application.
func (p principal) delegated() bool { return p.claims.Scp != "" }

// can reports whether the caller may perform an ARM action on a resource:
// an application through its App.ARMRoles and role assignments to its
// service principal, a user through role assignments to the user. A
// delegated token never uses its client app's own roles. Caller holds
// e.mu.
func (s *state) can(p principal, action, resource string) bool {
	if p.delegated() {
		if s.signin.user(strings.ToLower(p.claims.Tid), p.claims.OID) == nil {
			return false
		}
		return s.assignmentsAllow(p.claims.OID, resource, func(r roleSpec) bool { return r.def.permits(action) })
	}
	if p.app == nil {
		return false
	}
	if s.allowed(p.app, action, resource) {
		return true
	}
	// App.ARMRoles may also name the built-in roles only provisioning
	// defines (User Access Administrator, Monitoring Metrics Publisher…).
	for scope, names := range p.app.ARMRoles {
		if !scopeCovers(scope, resource) {
			continue
		}
		for _, n := range names {
			if r, ok := provisionRoles[strings.ToLower(n)]; ok && r.def.permits(action) {
				return true
			}
		}
	}
	return s.assignmentsAllow(p.app.ObjectID, resource, func(r roleSpec) bool { return r.def.permits(action) })
}

// canIngest reports whether the caller may send data through a DCR: the
// legacy App.IngestionRoles list, or Monitoring Metrics Publisher (the
// Telemetry/Write data action) assigned over ARM at or above a DCR
// created over ARM. Caller holds e.mu.
func (s *state) canIngest(p principal, immutableID string) bool {
	if !p.delegated() && p.app != nil &&
		slices.ContainsFunc(p.app.IngestionRoles, func(id string) bool { return strings.EqualFold(id, immutableID) }) {
		return true
	}
	d := s.prov.dcrByImmutable(immutableID)
	if d == nil {
		return false
	}
	oid := p.claims.OID
	switch {
	case p.delegated():
		if s.signin.user(strings.ToLower(p.claims.Tid), oid) == nil {
			return false
		}
	case p.app == nil:
		return false
	default:
		oid = p.app.ObjectID
	}
	return s.assignmentsAllow(oid, d.id, func(r roleSpec) bool { return r.permitsData(dataActionTelemetryWrite) })
}

// assignmentsAllow reports whether a role assigned to principalID at or
// above resource satisfies ok. Caller holds e.mu.
func (s *state) assignmentsAllow(principalID, resource string, ok func(roleSpec) bool) bool {
	for _, a := range s.prov.assignments {
		if !strings.EqualFold(a.principalID, principalID) || !scopeCovers(a.scope, resource) {
			continue
		}
		if r, found := s.roleByID(a.roleID); found && ok(r) {
			return true
		}
	}
	return false
}

// seesScope reports whether the caller holds any role at, above or below
// scope: what makes a subscription or resource group show up in ARM's
// lists. Caller holds e.mu.
func (s *state) seesScope(p principal, scope string) bool {
	related := func(roleScope string) bool { return scopeCovers(roleScope, scope) || scopeCovers(scope, roleScope) }
	oid := p.claims.OID
	if !p.delegated() {
		if p.app == nil {
			return false
		}
		oid = p.app.ObjectID
		for sc, names := range p.app.ARMRoles {
			if len(names) > 0 && related(sc) {
				return true
			}
		}
	}
	for _, a := range s.prov.assignments {
		if strings.EqualFold(a.principalID, oid) && related(a.scope) {
			return true
		}
	}
	return false
}

// principalKind finds a directory object by id in a tenant: "User" or
// "ServicePrincipal", when it was created (zero if unknown), and whether
// it exists. Caller holds e.mu.
func (e *Emulator) principalKind(tenantID, id string) (string, time.Time, bool) {
	if u := e.st.signin.user(strings.ToLower(tenantID), id); u != nil && strings.EqualFold(u.ObjectID, id) {
		return "User", time.Time{}, true
	}
	if t := e.st.tenants[strings.ToLower(tenantID)]; t != nil {
		if sp := e.dir(t).sps[strings.ToLower(id)]; sp != nil {
			return "ServicePrincipal", sp.created, true
		}
		for _, a := range t.apps {
			if strings.EqualFold(a.ObjectID, id) {
				return "ServicePrincipal", time.Time{}, true
			}
		}
	}
	return "", time.Time{}, false
}

// directory holds the Graph objects of one tenant.
type directory struct {
	apps    map[string]*dirApp   // by lower-case object id
	sps     map[string]*dirSP    // by lower-case object id
	granted map[string]time.Time // grant id → when it was made
	graphSP string               // object id of Microsoft Graph's service principal
}

// dirApp is an application object.
type dirApp struct {
	id, appID, displayName, audience string
	rra                              []RequiredResourceAccess
	passwords                        []*password
	keys                             []*keyCred
	public                           bool
	extra                            map[string]json.RawMessage
	owners                           []string
	created                          time.Time
}

type password struct {
	keyID, displayName, hint, secret string
	start, end                       time.Time
}

type keyCred struct {
	keyID, displayName, typ, usage string
	cert                           *x509.Certificate
	start, end                     time.Time
}

// dirSP is a service principal.
type dirSP struct {
	id, appID, displayName string
	appRoles               []graphAppRole
	scopes                 []graphScopeDef
	firstParty             bool
	extra                  map[string]json.RawMessage
	created                time.Time
}

type graphAppRole struct{ id, value, displayName string }

type graphScopeDef struct{ id, value string }

// RequiredResourceAccess is an application's declared API permissions.
type RequiredResourceAccess struct {
	ResourceAppID  string           `json:"resourceAppId"`
	ResourceAccess []ResourceAccess `json:"resourceAccess"`
}

// ResourceAccess is one declared permission: Type "Role" (application)
// or "Scope" (delegated).
type ResourceAccess struct {
	ID   string `json:"id"`
	Type string `json:"type"`
}

// Well-known first-party application ids.
const (
	graphAppID        = "00000003-0000-0000-c000-000000000000"
	securityInsightID = "98785600-1bb7-4fb9-b9fa-19afe2c8a360"
	azureCLIClientID  = "04b07795-8ddb-461a-bbee-02f9e1bf7b46"
	graphCLIClientID  = "14d82eec-204b-4c2f-b7e8-296a70dab67e"
)

// graphAppRoles are Microsoft Graph's application permissions the emulator
// knows, with their real ids (reference §2.7).
var graphAppRoles = []graphAppRole{
	{"45cc0394-e837-488b-a098-1918f48d186c", "SecurityIncident.Read.All", "Read all security incidents"},
	{"34bf0e97-1971-4929-b999-9e2442d941d7", "SecurityIncident.ReadWrite.All", "Read and write to all security incidents"},
	{"472e4a4d-bb4a-4026-98d1-0b0d74cb74a5", "SecurityAlert.Read.All", "Read all security alerts"},
	{"ed4fca05-be46-441f-9803-1873825f8fdb", "SecurityAlert.ReadWrite.All", "Read and write to all security alerts"},
	{"bf394140-e372-4bf9-a898-299cfc7564e5", "SecurityEvents.Read.All", "Read your organization's security events"},
	{"d903a879-88e0-4c09-b0c9-82f6a1333f84", "SecurityEvents.ReadWrite.All", "Read and update your organization's security events"},
	{"1bfefb4e-e0b5-418b-a88f-73c46d2cc8e9", "Application.ReadWrite.All", "Read and write all applications"},
	{"06b708a9-e830-4db3-a914-8e69da51d44f", "AppRoleAssignment.ReadWrite.All", "Manage app permission grants and app role assignments"},
}

// graphScopes are Microsoft Graph's delegated permissions the emulator
// knows (reference §2.7, plus User.Read).
var graphScopes = []graphScopeDef{
	{"b9abcc4f-94fc-4457-9141-d20ce80ec952", "SecurityIncident.Read.All"},
	{"128ca929-1a19-45e6-a3b8-435ec44a36ba", "SecurityIncident.ReadWrite.All"},
	{"bc257fb8-46b4-4b15-8713-01e91bfbe4ea", "SecurityAlert.Read.All"},
	{"471f2a7f-2a42-4d45-a2bf-594d0838070d", "SecurityAlert.ReadWrite.All"},
	{"64733abd-851e-478a-bffb-e47a14b18235", "SecurityEvents.Read.All"},
	{"6aedf524-7e1c-45a7-bd76-ded8cab8d0fc", "SecurityEvents.ReadWrite.All"},
	{"bdfbf15f-ee85-4955-8675-146e8e5296b5", "Application.ReadWrite.All"},
	{"84bccea3-f856-4a8a-967b-dbe0a3d53a64", "AppRoleAssignment.ReadWrite.All"},
	{"e1fe6dd8-ba31-4d61-89e7-88639da4683d", "User.Read"},
}

// dir returns a tenant's directory, seeding the first-party service
// principals (Microsoft Graph, Azure Security Insights) on first use.
// Caller holds e.mu.
func (e *Emulator) dir(t *tenant) *directory {
	ps := &e.st.prov
	if ps.dirs == nil {
		ps.dirs = map[string]*directory{}
	}
	key := strings.ToLower(t.id)
	if d := ps.dirs[key]; d != nil {
		return d
	}
	d := &directory{apps: map[string]*dirApp{}, sps: map[string]*dirSP{}, granted: map[string]time.Time{}}
	graph := &dirSP{id: uuid.NewString(), appID: graphAppID, displayName: "Microsoft Graph",
		appRoles: graphAppRoles, scopes: graphScopes, firstParty: true}
	asi := &dirSP{id: uuid.NewString(), appID: securityInsightID, displayName: "Azure Security Insights", firstParty: true}
	d.sps[graph.id] = graph
	d.sps[asi.id] = asi
	d.graphSP = graph.id
	ps.dirs[key] = d
	return d
}

func (d *directory) spByAppID(appID string) *dirSP {
	for _, sp := range d.sps {
		if strings.EqualFold(sp.appID, appID) {
			return sp
		}
	}
	return nil
}

func (d *directory) appByAppID(appID string) *dirApp {
	for _, a := range d.apps {
		if strings.EqualFold(a.appID, appID) {
			return a
		}
	}
	return nil
}

// syncApp makes the token endpoint's view of a provisioned app (the
// appRec the connector authenticates as) match its Graph objects: it
// exists while the application has a service principal, with the newest
// password as its secret and the uploaded certificates. Graph roles and
// ARM roles granted so far are kept. Caller holds e.mu.
func (e *Emulator) syncApp(t *tenant, d *directory, a *dirApp) {
	key := strings.ToLower(a.appID)
	sp := d.spByAppID(a.appID)
	if sp == nil {
		if rec := t.apps[key]; rec != nil && d.sps[strings.ToLower(rec.ObjectID)] == nil {
			delete(t.apps, key)
		}
		return
	}
	rec := t.apps[key]
	if rec == nil || !strings.EqualFold(rec.ObjectID, sp.id) {
		rec = &appRec{App: App{ClientID: a.appID, ObjectID: sp.id, ARMRoles: map[string][]string{}}, tenantID: t.id}
		t.apps[key] = rec
	}
	rec.DisplayName = a.displayName
	rec.Secret, rec.SecretExpires = "", time.Time{}
	// The token endpoint keeps one secret per app: the newest one works,
	// as that is what setup just created and hands to the connector.
	var newest *password
	for _, p := range a.passwords {
		if newest == nil || !p.start.Before(newest.start) {
			newest = p
		}
	}
	if newest != nil {
		rec.Secret, rec.SecretExpires = newest.secret, newest.end
	}
	rec.certs, rec.CertificatePEM = nil, nil
	for _, k := range a.keys {
		rec.certs = append(rec.certs, k.cert)
		rec.CertificatePEM = append(rec.CertificatePEM, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: k.cert.Raw})...)
	}
}

// Application is an app registration created through Graph, as listed by
// Applications.
type Application struct {
	ObjectID, AppID, DisplayName, SignInAudience string
	// PublicClient is isFallbackPublicClient: the app may use the device
	// code flow.
	PublicClient           bool
	RequiredResourceAccess []RequiredResourceAccess
	Passwords              []PasswordCredential
	Certificates           []KeyCredential
	// Owners are the object ids of the users who created it.
	Owners  []string
	Created time.Time
}

// PasswordCredential is a client secret's metadata (the secret text is
// shown once, by addPassword).
type PasswordCredential struct {
	KeyID, DisplayName, Hint string
	Start, End               time.Time
}

// KeyCredential is an uploaded certificate.
type KeyCredential struct {
	KeyID, DisplayName, Type, Usage string
	// Thumbprint is the SHA-1 thumbprint in upper-case hex.
	Thumbprint string
	Start, End time.Time
}

// ServicePrincipal is a service principal in a tenant, as listed by
// ServicePrincipals.
type ServicePrincipal struct {
	ObjectID, AppID, DisplayName string
	// FirstParty marks the seeded Microsoft ones (Graph, Azure Security
	// Insights).
	FirstParty bool
	Created    time.Time
}

// AppRoleGrant is an application permission granted with admin consent
// (an app role assignment to Microsoft Graph).
type AppRoleGrant struct {
	ID          string
	PrincipalID string // the client's service principal
	ResourceID  string // Microsoft Graph's service principal
	AppRoleID   string
	Permission  string // e.g. SecurityIncident.Read.All
	Created     time.Time
}

// Applications lists the app registrations created through Graph in a
// tenant, oldest first.
func (e *Emulator) Applications(tenantID string) []Application {
	e.mu.Lock()
	defer e.mu.Unlock()
	t := e.st.tenants[strings.ToLower(tenantID)]
	if t == nil {
		return nil
	}
	var out []Application
	for _, a := range sortedApps(e.dir(t)) {
		app := Application{ObjectID: a.id, AppID: a.appID, DisplayName: a.displayName, SignInAudience: a.audience,
			PublicClient: a.public, Owners: slices.Clone(a.owners), Created: a.created}
		for _, r := range a.rra {
			app.RequiredResourceAccess = append(app.RequiredResourceAccess,
				RequiredResourceAccess{ResourceAppID: r.ResourceAppID, ResourceAccess: slices.Clone(r.ResourceAccess)})
		}
		for _, p := range a.passwords {
			app.Passwords = append(app.Passwords, PasswordCredential{KeyID: p.keyID, DisplayName: p.displayName, Hint: p.hint, Start: p.start, End: p.end})
		}
		for _, k := range a.keys {
			app.Certificates = append(app.Certificates, KeyCredential{KeyID: k.keyID, DisplayName: k.displayName,
				Type: k.typ, Usage: k.usage, Thumbprint: thumbprint(k.cert), Start: k.start, End: k.end})
		}
		out = append(out, app)
	}
	return out
}

// ServicePrincipals lists a tenant's service principals, the seeded
// first-party ones included, oldest first.
func (e *Emulator) ServicePrincipals(tenantID string) []ServicePrincipal {
	e.mu.Lock()
	defer e.mu.Unlock()
	t := e.st.tenants[strings.ToLower(tenantID)]
	if t == nil {
		return nil
	}
	var out []ServicePrincipal
	for _, sp := range sortedSPs(e.dir(t)) {
		out = append(out, ServicePrincipal{ObjectID: sp.id, AppID: sp.appID, DisplayName: sp.displayName, FirstParty: sp.firstParty, Created: sp.created})
	}
	return out
}

// AppRoleGrants lists the Microsoft Graph application permissions granted
// to the service principals created through Graph in a tenant. They are
// the apps' Graph roles: SetGraphRoles changes them too.
func (e *Emulator) AppRoleGrants(tenantID string) []AppRoleGrant {
	e.mu.Lock()
	defer e.mu.Unlock()
	t := e.st.tenants[strings.ToLower(tenantID)]
	if t == nil {
		return nil
	}
	return e.grants(t, e.dir(t))
}

// grants derives the app role assignments to Microsoft Graph from the
// provisioned apps' GraphRoles (the one source of truth, so SetGraphRoles
// and Graph agree). Caller holds e.mu.
func (e *Emulator) grants(t *tenant, d *directory) []AppRoleGrant {
	var out []AppRoleGrant
	for _, sp := range sortedSPs(d) {
		if sp.firstParty {
			continue
		}
		rec := t.apps[strings.ToLower(sp.appID)]
		if rec == nil || !strings.EqualFold(rec.ObjectID, sp.id) {
			continue
		}
		for _, name := range rec.GraphRoles {
			i := slices.IndexFunc(graphAppRoles, func(r graphAppRole) bool { return strings.EqualFold(r.value, name) })
			if i < 0 {
				continue
			}
			role := graphAppRoles[i]
			id := grantID(sp.id, d.graphSP, role.id)
			created, ok := d.granted[id]
			if !ok {
				created = sp.created
			}
			out = append(out, AppRoleGrant{ID: id, PrincipalID: sp.id, ResourceID: d.graphSP, AppRoleID: role.id, Permission: role.value, Created: created})
		}
	}
	return out
}

func sortedApps(d *directory) []*dirApp {
	out := slices.Collect(maps.Values(d.apps))
	slices.SortFunc(out, func(a, b *dirApp) int {
		if c := a.created.Compare(b.created); c != 0 {
			return c
		}
		return strings.Compare(a.id, b.id)
	})
	return out
}

func sortedSPs(d *directory) []*dirSP {
	out := slices.Collect(maps.Values(d.sps))
	slices.SortFunc(out, func(a, b *dirSP) int {
		if c := a.created.Compare(b.created); c != 0 {
			return c
		}
		return strings.Compare(a.id, b.id)
	})
	return out
}

// grantID is the id of an app role assignment: Graph's are 43 base64url
// characters; deriving it keeps it stable for the same grant.
func grantID(principalID, resourceID, appRoleID string) string {
	sum := sha256.Sum256([]byte(strings.ToLower(principalID + "/" + resourceID + "/" + appRoleID)))
	return base64.RawURLEncoding.EncodeToString(sum[:])
}

// thumbprint is a certificate's SHA-1 thumbprint in upper-case hex, as the
// portal shows it.
func thumbprint(c *x509.Certificate) string {
	sum := sha1.Sum(c.Raw) //nolint:gosec // thumbprints are SHA-1 by definition
	return strings.ToUpper(hex.EncodeToString(sum[:]))
}
