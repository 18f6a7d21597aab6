package azuresetup

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"
)

// applied is what the run made or found, as it goes.
type applied struct {
	app       application
	sp        servicePrincipal
	graphSP   servicePrincipal
	secret    string // the new secret's text: shown once, at the end
	secretEnd time.Time
	dcr       *dataCollectionRule
	// consentDenied: the admin may not grant Graph app roles; the consent
	// link goes to a Global Administrator instead.
	consentDenied bool
	tableCreated  bool
	warnings      []string
}

// setup plans, confirms, applies and verifies.
func (r *runner) setup(ctx context.Context) (*Result, error) {
	f, err := r.discover(ctx)
	if err != nil {
		return nil, err
	}
	steps := r.plan(f)
	res := r.result(steps)
	r.printPlan(fmt.Sprintf("Plan (mode %s):", r.cfg.Mode), steps)
	if err := r.checkRights(ctx, steps); err != nil {
		return res, err
	}
	kept := stepOf(steps, kindSecret)
	if r.cfg.LastmileURL != "" && kept != nil && kept.Action == Exists {
		return res, usagef("--lastmile-url needs the client secret, and the existing one cannot be shown again: add --new-secret (or use --certificate)")
	}
	if r.cfg.DryRun {
		r.say("\nDry run: nothing was changed.")
		return res, r.output(res)
	}
	ap := &applied{graphSP: f.graphSP}
	if f.app != nil {
		ap.app = *f.app
	}
	if f.sp != nil {
		ap.sp = *f.sp
	}
	ap.dcr = f.dcr
	n := changes(steps)
	if n == 0 {
		r.say("\nNothing to change: everything is in place.")
	} else {
		if err := r.confirmPlan(fmt.Sprintf("Apply these %d changes?", n)); err != nil {
			return res, err
		}
		r.say("\nApplying:")
		for i := range steps {
			if err := r.apply(ctx, &steps[i], ap); err != nil {
				res.Warnings = ap.warnings
				return res, err
			}
		}
		res.Changed = true
		r.say("\nDone: %d changes applied.", n)
	}
	res.ClientID = ap.app.AppID
	res.ServicePrincipalID = ap.sp.ID
	res.clientSecret = ap.secret
	if ap.consentDenied {
		res.ConsentURL = r.consentURL(ap.app.AppID)
	}
	if err := r.verify(ctx, ap, steps); err != nil {
		res.Warnings = ap.warnings
		return res, err
	}
	res.Warnings = ap.warnings
	res.Settings = r.settings(ap)
	if r.cfg.LastmileURL != "" {
		c, err := r.createConnector(ctx, res.Settings)
		res.Connector = c
		if err != nil {
			return res, err
		}
	}
	return res, r.output(res)
}

func stepOf(steps []Step, kind string) *Step {
	for i := range steps {
		if steps[i].Kind == kind {
			return &steps[i]
		}
	}
	return nil
}

// apply carries out one step.
func (r *runner) apply(ctx context.Context, s *Step, ap *applied) error {
	if s.Action == Exists {
		return nil
	}
	r.d.Log.Info("applying", "action", s.Action, "object", s.Object)
	var err error
	switch s.Kind {
	case kindApp:
		err = r.applyApp(ctx, s, ap)
	case kindSecret:
		err = r.applySecret(ctx, ap)
	case kindCertificate:
		err = r.applyCertificate(ctx, ap)
	case kindSP:
		err = r.applySP(ctx, ap)
	case kindConsent:
		err = r.applyConsent(ctx, s, ap)
	case kindRole:
		err = r.applyRole(ctx, s, ap)
	case kindTable:
		err = r.arm.putTable(ctx, r.ws.ID, r.d.Sleep)
		ap.tableCreated = ap.tableCreated || (err == nil && s.Action == Create)
	case kindDCR:
		err = r.applyDCR(ctx, s, ap)
	default:
		err = fmt.Errorf("unknown step %q", s.Kind)
	}
	if err != nil {
		return fmt.Errorf("%s %s: %w", s.Action, s.Object, r.applyWords(s, err))
	}
	if !s.skipped {
		r.say("  %-7s %s", s.Action, s.Object)
	}
	return nil
}

func (r *runner) notes() string {
	return fmt.Sprintf("Created by lastmile azure setup for the Microsoft Sentinel / Graph security connector (mode %s). "+
		"Remove it and everything it was given with: lastmile azure setup --remove --app-name %q", r.cfg.Mode, r.cfg.AppName)
}

func (r *runner) applyApp(ctx context.Context, s *Step, ap *applied) error {
	tags := append([]string{}, ap.app.Tags...)
	if !ap.app.hasTag() {
		tags = append(tags, setupTag)
	}
	props := map[string]any{"tags": tags, "notes": r.notes(), "requiredResourceAccess": r.wantAccess(ap.graphSP)}
	if s.Action == Change {
		return r.graph.patchApp(ctx, ap.app.ID, props)
	}
	props["displayName"] = r.cfg.AppName
	props["signInAudience"] = "AzureADMyOrg"
	a, err := r.graph.createApp(ctx, props)
	if err != nil {
		return err
	}
	ap.app = a
	return r.visible(ctx, "the new app registration", func(ctx context.Context) error {
		_, err := r.graph.getApp(ctx, a.ID)
		return err
	})
}

func (r *runner) applySecret(ctx context.Context, ap *applied) error {
	end := r.secretEnd()
	return r.await(ctx, "the app registration to replicate", notYet, func(ctx context.Context) error {
		p, err := r.graph.addPassword(ctx, ap.app.ID, secretName, end)
		if err != nil {
			return err
		}
		if p.SecretText == nil || *p.SecretText == "" {
			return errors.New("Microsoft Graph answered without the secret's text")
		}
		ap.secret, ap.secretEnd = *p.SecretText, p.End
		return nil
	})
}

func (r *runner) applyCertificate(ctx context.Context, ap *applied) error {
	cert, err := parseCertificate(r.cfg.Certificate)
	if err != nil {
		return err
	}
	// PATCH replaces the collection: keep the existing keys by id.
	var keys []map[string]any
	for _, k := range ap.app.KeyCredentials {
		keys = append(keys, map[string]any{"keyId": k.KeyID, "type": k.Type, "usage": k.Usage})
	}
	keys = append(keys, map[string]any{
		"type": "AsymmetricX509Cert", "usage": "Verify", "key": base64.StdEncoding.EncodeToString(cert.Raw),
		"displayName": "CN=" + cert.Subject.CommonName,
	})
	return r.await(ctx, "the app registration to replicate", notYet, func(ctx context.Context) error {
		return r.graph.patchApp(ctx, ap.app.ID, map[string]any{"keyCredentials": keys})
	})
}

func (r *runner) applySP(ctx context.Context, ap *applied) error {
	err := r.await(ctx, "the app registration to replicate", notYet, func(ctx context.Context) error {
		sp, err := r.graph.createSP(ctx, ap.app.AppID)
		if isStatus(err, http.StatusConflict, "") {
			// Made meanwhile (or by an earlier, interrupted run).
			existing, ok, ferr := r.graph.spByAppID(ctx, ap.app.AppID)
			if ferr != nil || !ok {
				return err
			}
			sp, err = existing, nil
		}
		if err != nil {
			return err
		}
		ap.sp = sp
		return nil
	})
	if err != nil {
		return err
	}
	return r.visible(ctx, "the new service principal", func(ctx context.Context) error {
		_, err := r.graph.getSP(ctx, ap.sp.ID)
		return err
	})
}

func (r *runner) applyConsent(ctx context.Context, s *Step, ap *applied) error {
	if s.Action == Remove {
		return r.graph.revoke(ctx, ap.graphSP.ID, s.targetID, s.perm.value)
	}
	if ap.consentDenied {
		s.Note, s.skipped = "left to a Global Administrator: see the consent link", true
		r.say("  skipped %s: admin consent needs a Global Administrator (link below)", s.Object)
		return nil
	}
	err := r.await(ctx, "the service principal to replicate", notYet, func(ctx context.Context) error {
		err := r.graph.grant(ctx, ap.graphSP.ID, ap.sp.ID, s.perm.id, s.perm.value)
		if e, ok := asAPIError(err); ok && e.Status == http.StatusBadRequest && strings.Contains(e.Message, "already exists") {
			return nil
		}
		return err
	})
	if isStatus(err, http.StatusForbidden, "") {
		ap.consentDenied = true
		s.Note, s.skipped = "left to a Global Administrator: see the consent link", true
		ap.warnings = append(ap.warnings, fmt.Sprintf(
			"%s may not grant admin consent for Microsoft Graph application permissions (that takes a Global Administrator or Privileged Role Administrator). "+
				"Send this link to one; the connector works once they accept: %s", r.who.account(), r.consentURL(ap.app.AppID)))
		r.say("  skipped %s: admin consent needs a Global Administrator (link below)", s.Object)
		return nil
	}
	return err
}

func (r *runner) applyRole(ctx context.Context, s *Step, ap *applied) error {
	if s.Action == Remove {
		return r.arm.deleteAssignment(ctx, s.targetID, "remove "+s.Object)
	}
	name := assignmentName(s.scope, ap.sp.ID, s.role.id)
	return r.await(ctx, "the service principal to replicate", notYet, func(ctx context.Context) error {
		err := r.arm.putAssignment(ctx, s.scope, name, roleDefinitionID(r.sub.ID, s.role), ap.sp.ID, "assign "+s.Object)
		if isStatus(err, http.StatusConflict, "RoleAssignmentExists") {
			return nil
		}
		return err
	})
}

func (r *runner) applyDCR(ctx context.Context, s *Step, ap *applied) error {
	// Remember who made the table, so --remove drops only its own.
	tableCreated := ap.tableCreated || (ap.dcr != nil && strings.EqualFold(ap.dcr.Tags[tagTableCreated], "true"))
	id := dcrID(r.sub.ID, r.ws.resourceGroup())
	if s.Action == Change && ap.dcr != nil && ap.dcr.Properties.Endpoints.LogsIngestion == "" {
		// Endpoints cannot be added to an existing rule: replace it.
		if err := r.arm.deleteDCR(ctx, id); err != nil {
			return err
		}
	}
	d, err := r.arm.putDCR(ctx, id, r.ws.Location, r.ws.ID, ap.app.AppID, tableCreated)
	if err != nil {
		return err
	}
	ap.dcr = &d
	return nil
}

// applyWords says in plain words what to do about the usual refusals.
func (r *runner) applyWords(s *Step, err error) error {
	e, ok := asAPIError(err)
	if !ok {
		return err
	}
	switch {
	case s.Kind == kindRole && e.Status == http.StatusForbidden:
		return fmt.Errorf("%w: %w", r.noRightsError(s.scopeWords()), err)
	case (s.Kind == kindTable || s.Kind == kindDCR) && e.Status == http.StatusForbidden:
		return fmt.Errorf("%s may not create it: it takes Log Analytics Contributor on the workspace and Monitoring Contributor (or Contributor) on resource group %s: %w",
			r.who.account(), r.ws.resourceGroup(), err)
	case e.Service == serviceGraph && e.Status == http.StatusForbidden:
		return fmt.Errorf("%s may not manage app registrations in this tenant: an Application Administrator or Global Administrator should run this command: %w",
			r.who.account(), err)
	}
	return err
}

func (s *Step) scopeWords() string {
	if i := strings.Index(s.Object, " on "); i >= 0 {
		return s.Object[i+len(" on "):]
	}
	return s.scope
}

// consentURL is the one link a Global Administrator opens to grant the
// app's declared permissions.
func (r *runner) consentURL(appID string) string {
	return r.ep.authority + r.tenantID + "/adminconsent?client_id=" + appID
}
