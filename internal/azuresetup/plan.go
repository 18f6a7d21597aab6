package azuresetup

import (
	"context"
	"crypto/sha1" //nolint:gosec // certificate thumbprints are SHA-1 by definition
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"
)

// Action says what a step does.
type Action string

// Actions.
const (
	Create Action = "create" // the object or grant is made
	Exists Action = "exists" // it is there already: reused and reported
	Change Action = "change" // it is there and is changed
	Remove Action = "remove" // it is deleted
	Keep   Action = "keep"   // removal: it stays (not asked to delete it)
)

// Step is one object or role of the plan, and why it is needed.
type Step struct {
	Action Action `json:"action"`
	Kind   string `json:"kind"`   // app, secret, certificate, servicePrincipal, consent, role, table, dataCollectionRule
	Object string `json:"object"` // e.g. "Microsoft Sentinel Responder on workspace soc-ws"
	Why    string `json:"why"`
	Note   string `json:"note,omitempty"`

	perm     graphPermission // consent
	role     azureRole       // role
	scope    string          // role: where
	targetID string          // remove: the object's id
	skipped  bool            // apply: left undone on purpose (consent)
}

// Step kinds.
const (
	kindApp         = "app"
	kindSecret      = "secret"
	kindCertificate = "certificate"
	kindSP          = "servicePrincipal"
	kindConsent     = "consent"
	kindRole        = "role"
	kindTable       = "table"
	kindDCR         = "dataCollectionRule"
)

// secretName is the display name of the client secrets this tool makes.
const secretName = "lastmile-setup"

// found is what exists already, read before planning (read-only calls).
type found struct {
	app         *application
	sp          *servicePrincipal
	graphSP     servicePrincipal
	grants      []appRoleAssignment // the SP's, to Microsoft Graph
	assignments []roleAssignment    // the SP's, in the subscription
	table       *table
	dcr         *dataCollectionRule
}

// discover reads the current state. Nothing is changed.
func (r *runner) discover(ctx context.Context) (*found, error) {
	f := &found{}
	apps, err := r.graph.appsByName(ctx, r.cfg.AppName)
	if err != nil {
		return nil, r.words(err)
	}
	for i := range apps {
		if apps[i].hasTag() {
			f.app = &apps[i]
			break
		}
	}
	if f.app == nil && len(apps) > 0 {
		f.app = &apps[0]
	}
	if f.app != nil {
		// The list may not carry every property; read the object.
		a, err := r.graph.getApp(ctx, f.app.ID)
		if err != nil {
			return nil, r.words(err)
		}
		f.app = &a
		sp, ok, err := r.graph.spByAppID(ctx, a.AppID)
		if err != nil {
			return nil, r.words(err)
		}
		if ok {
			f.sp = &sp
		}
	}
	if len(graphPermissions(r.cfg.Mode)) > 0 || f.sp != nil {
		if f.graphSP, err = r.graph.graphSP(ctx); err != nil {
			return nil, r.words(err)
		}
	}
	if f.sp != nil {
		grants, err := r.graph.grantsOf(ctx, f.sp.ID)
		if err != nil {
			return nil, r.words(err)
		}
		for _, g := range grants {
			if strings.EqualFold(g.ResourceID, f.graphSP.ID) {
				f.grants = append(f.grants, g)
			}
		}
		if r.sub.ID != "" {
			if f.assignments, err = r.arm.assignmentsOf(ctx, "/subscriptions/"+r.sub.ID, f.sp.ID); err != nil {
				return nil, r.words(err)
			}
		}
	}
	if r.cfg.LifecycleLog && r.ws != nil {
		t, ok, err := r.arm.getTable(ctx, r.ws.ID)
		if err != nil {
			return nil, r.words(err)
		}
		if ok {
			f.table = &t
		}
		d, ok, err := r.arm.getDCR(ctx, dcrID(r.sub.ID, r.ws.resourceGroup()))
		if err != nil {
			return nil, r.words(err)
		}
		if ok {
			f.dcr = &d
		}
	}
	return f, nil
}

// plan works out each step from what exists.
func (r *runner) plan(f *found) []Step {
	var steps []Step
	add := func(s Step) { steps = append(steps, s) }

	appObj := fmt.Sprintf("app registration %q", r.cfg.AppName)
	appWhy := "the identity the connector signs in as; tagged " + setupTag + " so --remove finds it"
	if perms := graphPermissions(r.cfg.Mode); len(perms) > 0 {
		appWhy += "; it declares the Microsoft Graph permissions " + permNames(perms)
	}
	switch {
	case f.app == nil:
		add(Step{Action: Create, Kind: kindApp, Object: appObj, Why: appWhy})
	case !f.app.hasTag():
		add(Step{Action: Change, Kind: kindApp, Object: appObj, Why: appWhy,
			Note: "an app registration of that name exists but was not made by this tool: it is reused and tagged"})
	case !sameAccess(f.app.RequiredResourceAccess, r.wantAccess(f.graphSP)):
		add(Step{Action: Change, Kind: kindApp, Object: appObj, Why: appWhy, Note: "its declared permissions are set for mode " + r.cfg.Mode})
	default:
		add(Step{Action: Exists, Kind: kindApp, Object: appObj, Why: appWhy, Note: "client id " + f.app.AppID})
	}

	if r.cfg.Certificate != nil {
		cert, _ := parseCertificate(r.cfg.Certificate)
		obj := "certificate " + cert.Subject.String() + " (thumbprint " + thumbprintHex(cert.Raw) + ")"
		why := "the credential the connector signs in with (its public key; the private key stays with you), valid until " + cert.NotAfter.UTC().Format("2006-01-02")
		if f.app != nil && hasCertificate(*f.app, cert.Raw) {
			add(Step{Action: Exists, Kind: kindCertificate, Object: obj, Why: why})
		} else {
			add(Step{Action: Create, Kind: kindCertificate, Object: obj, Why: why})
		}
	} else {
		end := r.secretEnd()
		why := fmt.Sprintf("the credential the connector signs in with, valid %d months (until %s)", r.cfg.SecretMonths, end.Format("2006-01-02"))
		valid := r.validSecret(f.app)
		switch {
		case valid != nil && !r.cfg.NewSecret:
			add(Step{Action: Exists, Kind: kindSecret, Object: "client secret " + secretName + hintWords(valid),
				Why:  fmt.Sprintf("the credential the connector signs in with, valid until %s", valid.End.UTC().Format("2006-01-02")),
				Note: "existing secret kept; its value cannot be shown again — use --new-secret"})
		default:
			add(Step{Action: Create, Kind: kindSecret, Object: "client secret " + secretName, Why: why})
		}
	}

	spObj := "service principal of " + appObj
	spWhy := "the app's identity in this tenant: what permissions and roles are given to"
	if f.sp != nil {
		add(Step{Action: Exists, Kind: kindSP, Object: spObj, Why: spWhy, Note: "object id " + f.sp.ID})
	} else {
		add(Step{Action: Create, Kind: kindSP, Object: spObj, Why: spWhy})
	}

	for _, p := range graphPermissions(r.cfg.Mode) {
		p.id = r.roleID(f.graphSP, p)
		s := Step{Kind: kindConsent, Object: "Microsoft Graph application permission " + p.value + " (admin consent)", Why: p.why, perm: p, Action: Create}
		if slices.ContainsFunc(f.grants, func(g appRoleAssignment) bool { return strings.EqualFold(g.AppRoleID, p.id) }) {
			s.Action = Exists
		}
		add(s)
	}
	for _, g := range f.grants {
		name := roleValue(f.graphSP, g.AppRoleID)
		if !slices.Contains(securityPermissionValues(), name) || slices.ContainsFunc(graphPermissions(r.cfg.Mode), func(p graphPermission) bool { return p.value == name }) {
			continue
		}
		add(Step{Action: Remove, Kind: kindConsent, Object: "Microsoft Graph application permission " + name,
			Why: "mode " + r.cfg.Mode + " does not need it (least privilege)", targetID: g.ID, perm: graphPermission{value: name, id: g.AppRoleID}})
	}

	if r.ws != nil {
		wanted := r.wantedWorkspaceRoles()
		for _, w := range wanted {
			add(r.roleStep(f, w.role, r.ws.ID, "workspace "+r.ws.Name, w.why))
		}
		for _, a := range f.assignments {
			if !strings.EqualFold(strings.TrimRight(a.Properties.Scope, "/"), strings.TrimRight(r.ws.ID, "/")) {
				continue
			}
			id := roleGUID(a.Properties.RoleDefinitionID)
			i := slices.IndexFunc(managedWorkspaceRoles(), func(m azureRole) bool { return m.id == id })
			if i < 0 || slices.ContainsFunc(wanted, func(w wantedRole) bool { return w.role.id == id }) {
				continue
			}
			role := managedWorkspaceRoles()[i]
			add(Step{Action: Remove, Kind: kindRole, Object: role.name + " on workspace " + r.ws.Name,
				Why: "the options no longer ask for it (least privilege)", role: role, scope: r.ws.ID, targetID: a.ID})
		}
	}

	if r.cfg.LifecycleLog && r.ws != nil {
		tObj := "table " + logTable + " in workspace " + r.ws.Name
		tWhy := "the custom table the connector's lifecycle records land in"
		switch {
		case f.table == nil:
			add(Step{Action: Create, Kind: kindTable, Object: tObj, Why: tWhy})
		case len(missingColumns(*f.table)) > 0:
			add(Step{Action: Change, Kind: kindTable, Object: tObj, Why: tWhy, Note: "columns are added: " + columnNames(missingColumns(*f.table))})
		default:
			add(Step{Action: Exists, Kind: kindTable, Object: tObj, Why: tWhy})
		}
		dObj := "data collection rule " + dcrName + " (kind Direct) in resource group " + r.ws.resourceGroup()
		dWhy := "its own Logs Ingestion endpoint and the stream " + logStream + " into table " + logTable
		switch {
		case f.dcr == nil:
			add(Step{Action: Create, Kind: kindDCR, Object: dObj, Why: dWhy})
		case !f.dcr.ours() || f.dcr.Properties.Endpoints.LogsIngestion == "":
			add(Step{Action: Change, Kind: kindDCR, Object: dObj, Why: dWhy, Note: "a rule of that name exists without this tool's tag or endpoint: it is replaced"})
		default:
			add(Step{Action: Exists, Kind: kindDCR, Object: dObj, Why: dWhy})
		}
		add(r.roleStep(f, roleMetricsPublisher(), dcrID(r.sub.ID, r.ws.resourceGroup()), "data collection rule "+dcrName,
			"send lifecycle records through the rule (Logs Ingestion)"))
	}
	return steps
}

type wantedRole struct {
	role azureRole
	why  string
}

// wantedWorkspaceRoles: Responder (or Contributor for labels) in sentinel
// mode, Log Analytics Reader for augmentation.
func (r *runner) wantedWorkspaceRoles() []wantedRole {
	var out []wantedRole
	if r.cfg.Mode == ModeSentinel {
		if r.cfg.Labels {
			out = append(out, wantedRole{roleSentinelContributor(),
				"read incidents; change status, owner, comments and labels — labels (the SIGNL4 label) need Contributor, asked for with --labels"})
		} else {
			out = append(out, wantedRole{roleSentinelResponder(),
				"read incidents; change incident status, owner and comments (labels would need Contributor: --labels)"})
		}
	}
	if r.cfg.Augment {
		out = append(out, wantedRole{roleLogAnalyticsReader(), "run the analytics rules' queries to augment alerts with their results (--augment)"})
	}
	return out
}

func (r *runner) roleStep(f *found, role azureRole, scope, where, why string) Step {
	s := Step{Action: Create, Kind: kindRole, Object: role.name + " on " + where, Why: why, role: role, scope: scope}
	for _, a := range f.assignments {
		if strings.EqualFold(strings.TrimRight(a.Properties.Scope, "/"), strings.TrimRight(scope, "/")) && roleGUID(a.Properties.RoleDefinitionID) == role.id {
			s.Action = Exists
		}
	}
	return s
}

// wantAccess is the requiredResourceAccess for the mode.
func (r *runner) wantAccess(graphSP servicePrincipal) []requiredResourceAccess {
	perms := graphPermissions(r.cfg.Mode)
	if len(perms) == 0 {
		return []requiredResourceAccess{}
	}
	rra := requiredResourceAccess{ResourceAppID: graphAppID}
	for _, p := range perms {
		rra.ResourceAccess = append(rra.ResourceAccess, resourceAccess{ID: r.roleID(graphSP, p), Type: "Role"})
	}
	return []requiredResourceAccess{rra}
}

// roleID resolves a permission's app role id on Graph's service principal
// by its value (the table's id is the fallback).
func (r *runner) roleID(graphSP servicePrincipal, p graphPermission) string {
	for _, ar := range graphSP.AppRoles {
		if ar.Value == p.value && (len(ar.AllowedMemberTypes) == 0 || slices.Contains(ar.AllowedMemberTypes, "Application")) {
			return ar.ID
		}
	}
	return p.id
}

func roleValue(graphSP servicePrincipal, id string) string {
	for _, ar := range graphSP.AppRoles {
		if strings.EqualFold(ar.ID, id) {
			return ar.Value
		}
	}
	for _, p := range append(graphPermissions(ModeGraphAlerts), graphPermissions(ModeGraphLegacy)...) {
		if strings.EqualFold(p.id, id) {
			return p.value
		}
	}
	return id
}

// sameAccess compares declared permissions as sets.
func sameAccess(have, want []requiredResourceAccess) bool {
	key := func(rras []requiredResourceAccess) []string {
		var out []string
		for _, r := range rras {
			for _, a := range r.ResourceAccess {
				out = append(out, strings.ToLower(r.ResourceAppID+"/"+a.ID+"/"+a.Type))
			}
		}
		slices.Sort(out)
		return slices.Compact(out)
	}
	return slices.Equal(key(have), key(want))
}

func permNames(perms []graphPermission) string {
	var names []string
	for _, p := range perms {
		names = append(names, p.value)
	}
	return strings.Join(names, ", ")
}

func columnNames(cols []column) string {
	var names []string
	for _, c := range cols {
		names = append(names, c.Name)
	}
	return strings.Join(names, ", ")
}

func (r *runner) secretEnd() time.Time {
	return r.d.Clock.Now().UTC().AddDate(0, r.cfg.SecretMonths, 0).Truncate(time.Second)
}

// validSecret is the newest secret this tool made that is still valid.
func (r *runner) validSecret(a *application) *passwordCredential {
	if a == nil {
		return nil
	}
	now := r.d.Clock.Now()
	var best *passwordCredential
	for i, p := range a.PasswordCredentials {
		if p.DisplayName == nil || *p.DisplayName != secretName || !p.End.After(now) {
			continue
		}
		if best == nil || p.End.After(best.End) {
			best = &a.PasswordCredentials[i]
		}
	}
	return best
}

func hintWords(p *passwordCredential) string {
	if p.Hint == nil || *p.Hint == "" {
		return ""
	}
	return " (starts with " + *p.Hint + ")"
}

func thumbprintHex(der []byte) string {
	sum := sha1.Sum(der) //nolint:gosec // thumbprints are SHA-1 by definition
	return strings.ToUpper(hex.EncodeToString(sum[:]))
}

// hasCertificate tells whether the app has this certificate: Graph shows
// its thumbprint in customKeyIdentifier (base64 of the SHA-1, or hex).
func hasCertificate(a application, der []byte) bool {
	sum := sha1.Sum(der) //nolint:gosec // thumbprints are SHA-1 by definition
	hexTP, b64 := strings.ToUpper(hex.EncodeToString(sum[:])), base64.StdEncoding.EncodeToString(sum[:])
	for _, k := range a.KeyCredentials {
		if k.CustomKeyIdentifier != nil && (strings.EqualFold(*k.CustomKeyIdentifier, hexTP) || *k.CustomKeyIdentifier == b64) {
			return true
		}
	}
	return false
}

// changes counts the steps that would change something.
func changes(steps []Step) int {
	n := 0
	for _, s := range steps {
		if s.Action != Exists && s.Action != Keep {
			n++
		}
	}
	return n
}

// printPlan shows each step and why.
func (r *runner) printPlan(title string, steps []Step) {
	r.say("\n%s", title)
	for _, s := range steps {
		r.say("  %-7s %s: %s", s.Action, s.Object, s.Why)
		if s.Note != "" {
			r.say("          (%s)", s.Note)
		}
	}
}

// words turns errors of discovery into plain words where the cause is
// common.
func (r *runner) words(err error) error {
	e, ok := asAPIError(err)
	if !ok {
		return err
	}
	switch {
	case e.Service == serviceGraph && e.Status == http.StatusForbidden:
		return fmt.Errorf("%s may not read or create app registrations in tenant %s: an Application Administrator (or Global Administrator) should run this command: %w",
			r.who.account(), r.tenantID, err)
	case e.Service == serviceARM && e.is(http.StatusForbidden, "AuthorizationFailed"):
		return fmt.Errorf("%s lacks a role needed for this: %w", r.who.account(), err)
	}
	return err
}
