package azureemu

import (
	"crypto/rand"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"fmt"
	"maps"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/google/uuid"
)

// App is an Entra application registration with its service principal,
// credentials and the permissions granted to it.
type App struct {
	ClientID string
	// ObjectID is the service principal's object id (shown in ARM
	// authorization errors, used as comment author). Generated if empty.
	ObjectID string
	// DisplayName appears as comment author; defaults to ClientID.
	DisplayName string

	Secret string
	// SecretExpires, when set, makes the secret refused from then on with
	// AADSTS7000222.
	SecretExpires time.Time
	// CertificatePEM holds one or more PEM CERTIFICATE blocks whose keys
	// may sign client assertions (certificate credentials).
	CertificatePEM []byte

	// GraphRoles are Microsoft Graph application permissions with admin
	// consent, e.g. "SecurityIncident.ReadWrite.All". They are copied into
	// Graph tokens when issued, as Entra does.
	GraphRoles []string
	// ARMRoles maps an ARM scope (subscription, resource group or resource
	// id) to role names assigned there, e.g. "Microsoft Sentinel Responder".
	// Evaluated on every request.
	ARMRoles map[string][]string
	// IngestionRoles lists DCR immutable ids on which the app holds
	// Monitoring Metrics Publisher.
	IngestionRoles []string
}

// Workspace is a Log Analytics workspace (with Microsoft Sentinel on it).
type Workspace struct {
	SubscriptionID string
	ResourceGroup  string
	Name           string
	// WorkspaceID is the workspace's customerId GUID; generated if empty.
	WorkspaceID string
	// SharedKey is the base64 primary key for the HTTP Data Collector API;
	// generated if empty.
	SharedKey string
	// TenantID, when set, must match the tenant of tokens used against the
	// workspace.
	TenantID string
	// Location defaults to westeurope.
	Location string
}

// ResourceID is the workspace's ARM id.
func (w Workspace) ResourceID() string {
	return "/subscriptions/" + w.SubscriptionID + "/resourceGroups/" + w.ResourceGroup +
		"/providers/Microsoft.OperationalInsights/workspaces/" + w.Name
}

// DCR is a data collection rule used by the Logs Ingestion API.
type DCR struct {
	ImmutableID string
	// Workspace is the destination workspace's name or WorkspaceID; may be
	// empty when exactly one workspace exists.
	Workspace string
	// Streams maps a stream name (e.g. "Custom-LastmileAudit") to the
	// table it lands in (e.g. "LastmileAudit_CL").
	Streams map[string]string
}

type tenant struct {
	id      string
	domains []string
	apps    map[string]*appRec // by lower-case client id
}

type appRec struct {
	App
	tenantID string
	certs    []*x509.Certificate
}

type dcrRec struct {
	DCR
	ws *Workspace
}

// workspaceNameRE is the Sentinel spec's pattern for workspace names.
var workspaceNameRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9-]+[A-Za-z0-9]$`)

// tenantIDRE is azidentity's pattern for tenant ids.
var tenantIDRE = regexp.MustCompile(`^[0-9a-zA-Z-.]+$`)

// AddTenant registers a directory by id (a GUID) and optional domain names
// (e.g. contoso.onmicrosoft.com) that may stand for it in token URLs.
func (e *Emulator) AddTenant(tenantID string, domains ...string) error {
	if !tenantIDRE.MatchString(tenantID) {
		return fmt.Errorf("azureemu: invalid tenant id %q", tenantID)
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	e.st.addTenant(tenantID, domains)
	return nil
}

func (s *state) addTenant(id string, domains []string) *tenant {
	t := s.tenants[strings.ToLower(id)]
	if t == nil {
		t = &tenant{id: id, apps: map[string]*appRec{}}
		s.tenants[strings.ToLower(id)] = t
	}
	for _, d := range domains {
		if d != "" {
			t.domains = append(t.domains, d)
			s.tenants[strings.ToLower(d)] = t
		}
	}
	return t
}

// AddApp registers (or replaces) an application in a tenant, creating the
// tenant if needed. It returns the app with generated fields filled in.
func (e *Emulator) AddApp(tenantID string, app App) (App, error) {
	if app.ClientID == "" {
		return App{}, errors.New("azureemu: app needs a ClientID")
	}
	if !tenantIDRE.MatchString(tenantID) {
		return App{}, fmt.Errorf("azureemu: invalid tenant id %q", tenantID)
	}
	var certs []*x509.Certificate
	rest := app.CertificatePEM
	for len(rest) > 0 {
		var b *pem.Block
		b, rest = pem.Decode(rest)
		if b == nil {
			break
		}
		if b.Type != "CERTIFICATE" {
			continue
		}
		c, err := x509.ParseCertificate(b.Bytes)
		if err != nil {
			return App{}, fmt.Errorf("azureemu: app %s certificate: %w", app.ClientID, err)
		}
		certs = append(certs, c)
	}
	if len(app.CertificatePEM) > 0 && len(certs) == 0 {
		return App{}, fmt.Errorf("azureemu: app %s: no CERTIFICATE block in CertificatePEM", app.ClientID)
	}
	if app.ObjectID == "" {
		app.ObjectID = uuid.NewString()
	}
	if app.DisplayName == "" {
		app.DisplayName = app.ClientID
	}
	app.GraphRoles = slices.Clone(app.GraphRoles)
	app.IngestionRoles = slices.Clone(app.IngestionRoles)
	roles := make(map[string][]string, len(app.ARMRoles))
	for scope, names := range app.ARMRoles {
		roles[scope] = slices.Clone(names)
	}
	app.ARMRoles = roles
	app.CertificatePEM = slices.Clone(app.CertificatePEM)

	e.mu.Lock()
	defer e.mu.Unlock()
	t := e.st.tenants[strings.ToLower(tenantID)]
	if t == nil {
		t = e.st.addTenant(tenantID, nil)
	}
	t.apps[strings.ToLower(app.ClientID)] = &appRec{App: app, tenantID: t.id, certs: certs}
	return cloneApp(app), nil
}

// GrantARMRole assigns a role to an app at a scope after the fact, e.g. to
// show that a retried operation succeeds once access is granted.
func (e *Emulator) GrantARMRole(tenantID, clientID, scope, role string) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	a := e.st.app(tenantID, clientID)
	if a == nil {
		return fmt.Errorf("azureemu: no app %s in tenant %s", clientID, tenantID)
	}
	a.ARMRoles[scope] = append(a.ARMRoles[scope], role)
	return nil
}

// RevokeARMRole removes a role assignment, as an administrator tidying up
// permissions would: calls needing it are refused from then on (ARM checks
// on every request).
func (e *Emulator) RevokeARMRole(tenantID, clientID, scope, role string) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	a := e.st.app(tenantID, clientID)
	if a == nil {
		return fmt.Errorf("azureemu: no app %s in tenant %s", clientID, tenantID)
	}
	a.ARMRoles[scope] = slices.DeleteFunc(a.ARMRoles[scope], func(r string) bool { return strings.EqualFold(r, role) })
	return nil
}

// SetGraphRoles replaces an app's consented Graph application permissions.
// Like Entra, tokens already issued keep the roles they were issued with.
func (e *Emulator) SetGraphRoles(tenantID, clientID string, roles []string) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	a := e.st.app(tenantID, clientID)
	if a == nil {
		return fmt.Errorf("azureemu: no app %s in tenant %s", clientID, tenantID)
	}
	a.GraphRoles = slices.Clone(roles)
	return nil
}

func cloneApp(a App) App {
	a.GraphRoles = slices.Clone(a.GraphRoles)
	a.IngestionRoles = slices.Clone(a.IngestionRoles)
	a.CertificatePEM = slices.Clone(a.CertificatePEM)
	roles := make(map[string][]string, len(a.ARMRoles))
	for k, v := range a.ARMRoles {
		roles[k] = slices.Clone(v)
	}
	a.ARMRoles = roles
	return a
}

func (s *state) app(tenantID, clientID string) *appRec {
	t := s.tenants[strings.ToLower(tenantID)]
	if t == nil {
		return nil
	}
	return t.apps[strings.ToLower(clientID)]
}

// AddWorkspace registers a Log Analytics workspace with Sentinel enabled. It
// returns the workspace with generated fields filled in.
func (e *Emulator) AddWorkspace(w Workspace) (Workspace, error) {
	if w.SubscriptionID == "" || w.ResourceGroup == "" {
		return Workspace{}, errors.New("azureemu: workspace needs SubscriptionID and ResourceGroup")
	}
	if len(w.Name) > 90 || !workspaceNameRE.MatchString(w.Name) {
		return Workspace{}, fmt.Errorf("azureemu: invalid workspace name %q", w.Name)
	}
	if w.WorkspaceID == "" {
		w.WorkspaceID = uuid.NewString()
	}
	if w.SharedKey == "" {
		k := make([]byte, 64)
		_, _ = rand.Read(k)
		w.SharedKey = base64.StdEncoding.EncodeToString(k)
	} else if _, err := base64.StdEncoding.DecodeString(w.SharedKey); err != nil {
		return Workspace{}, fmt.Errorf("azureemu: workspace %s SharedKey is not base64: %w", w.Name, err)
	}
	if w.Location == "" {
		w.Location = "westeurope"
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	for _, o := range e.st.workspaces {
		if strings.EqualFold(o.ResourceID(), w.ResourceID()) || strings.EqualFold(o.WorkspaceID, w.WorkspaceID) {
			return Workspace{}, fmt.Errorf("azureemu: workspace %s already exists", w.Name)
		}
	}
	ws := w
	e.st.workspaces = append(e.st.workspaces, &ws)
	return w, nil
}

// workspaceRef finds a workspace by name or WorkspaceID; an empty ref
// means the only workspace.
func (s *state) workspaceRef(ref string) (*Workspace, error) {
	if ref == "" {
		if len(s.workspaces) == 1 {
			return s.workspaces[0], nil
		}
		return nil, fmt.Errorf("azureemu: %d workspaces exist; name one", len(s.workspaces))
	}
	var found *Workspace
	for _, w := range s.workspaces {
		if strings.EqualFold(w.WorkspaceID, ref) {
			return w, nil
		}
		if strings.EqualFold(w.Name, ref) {
			if found != nil {
				return nil, fmt.Errorf("azureemu: workspace name %q is ambiguous; use its WorkspaceID", ref)
			}
			found = w
		}
	}
	if found == nil {
		return nil, fmt.Errorf("azureemu: no workspace %q", ref)
	}
	return found, nil
}

func (s *state) workspaceByID(id string) *Workspace {
	for _, w := range s.workspaces {
		if strings.EqualFold(w.WorkspaceID, id) {
			return w
		}
	}
	return nil
}

// AddDCR registers a data collection rule for the Logs Ingestion API.
func (e *Emulator) AddDCR(d DCR) error {
	if d.ImmutableID == "" || len(d.Streams) == 0 {
		return errors.New("azureemu: DCR needs an ImmutableID and at least one stream")
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	ws, err := e.st.workspaceRef(d.Workspace)
	if err != nil {
		return err
	}
	d.Streams = maps.Clone(d.Streams)
	e.st.dcrs[strings.ToLower(d.ImmutableID)] = &dcrRec{DCR: d, ws: ws}
	for _, table := range d.Streams {
		e.st.data(ws).table(table)
	}
	return nil
}
