package microsoft

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"sync"
	"text/template"
	"time"

	"github.com/lastmile/lastmile/internal/clock"
	"github.com/lastmile/lastmile/internal/connector"
	"github.com/lastmile/lastmile/internal/connector/sentinel"
	"github.com/lastmile/lastmile/internal/ingest"
	"github.com/lastmile/lastmile/internal/notify"
)

// Options are the server's, shared by every Microsoft connector.
type Options struct {
	HTTP  *http.Client // nil: the clients' default
	Clock clock.Clock
	Log   *slog.Logger
	// Sleep replaces real waits between retries (tests).
	Sleep func(ctx context.Context, d time.Duration) error
}

// Kind is the Microsoft connector kind.
func Kind(opt Options) connector.Kind {
	return connector.Kind{
		Name:    "microsoft",
		Sources: []string{sentinel.ModeSentinel, sentinel.ModeGraphIncidents, sentinel.ModeGraphAlerts, sentinel.ModeGraphLegacy},
		Secrets: secretFields,
		Build: func(mode string, raw json.RawMessage) (connector.Source, error) {
			return build(mode, raw, opt)
		},
	}
}

// Source reads one Microsoft tenant and writes back to it.
type Source struct {
	mode        string
	s           Settings
	c           *sentinel.Client
	title, text *template.Template
	clock       clock.Clock

	// wsMu guards s.WorkspaceID, looked up once when not configured: a
	// source serves polls and connection tests at the same time.
	wsMu sync.Mutex
}

func build(mode string, raw json.RawMessage, opt Options) (*Source, error) {
	var s Settings
	if err := notify.DecodeSettings(raw, &s); err != nil {
		return nil, err
	}
	s.defaults()
	if err := s.validate(mode); err != nil {
		return nil, err
	}
	cfg := s.config()
	cfg.HTTP, cfg.Clock, cfg.Log, cfg.Sleep = opt.HTTP, opt.Clock, opt.Log, opt.Sleep
	if mode == sentinel.ModeSentinel {
		if err := cfg.ValidateSentinel(); err != nil {
			return nil, err
		}
	}
	c, err := sentinel.New(cfg)
	if err != nil {
		return nil, err
	}
	src := &Source{mode: mode, s: s, c: c, clock: opt.Clock}
	if src.clock == nil {
		src.clock = clock.Real{}
	}
	if src.title, err = template.New("title").Parse(orDefault(s.TitleTemplate, defaultTitle)); err != nil {
		return nil, err
	}
	if src.text, err = template.New("text").Parse(orDefault(s.TextTemplate, defaultText)); err != nil {
		return nil, err
	}
	return src, nil
}

func orDefault(v, d string) string {
	if strings.TrimSpace(v) == "" {
		return d
	}
	return v
}

// Changes reads what changed since, in the source's mode.
func (src *Source) Changes(ctx context.Context, since time.Time) ([]connector.Item, error) {
	var out []connector.Item
	switch src.mode {
	case sentinel.ModeSentinel:
		incs, err := src.c.ListIncidents(ctx, sentinel.IncidentQuery{ModifiedSince: since})
		if err != nil {
			return nil, err
		}
		for _, inc := range incs {
			out = append(out, src.fromIncident(inc))
		}
	case sentinel.ModeGraphIncidents:
		incs, err := src.c.ListGraphIncidents(ctx, since, nil)
		if err != nil {
			return nil, err
		}
		for _, g := range incs {
			out = append(out, src.fromGraphIncident(g))
		}
	case sentinel.ModeGraphAlerts:
		alerts, err := src.c.ListAlertsV2(ctx, since, nil)
		if err != nil {
			return nil, err
		}
		for _, a := range alerts {
			out = append(out, src.fromAlertV2(a))
		}
	case sentinel.ModeGraphLegacy:
		alerts, err := src.c.ListLegacyAlerts(ctx, since)
		if err != nil {
			return nil, err
		}
		for _, a := range alerts {
			out = append(out, src.fromLegacy(a))
		}
	}
	slices.SortStableFunc(out, func(a, b connector.Item) int { return a.Modified.Compare(b.Modified) })
	return out, nil
}

// open applies the connector's filters for opening alerts.
func (src *Source) open(status, severity string, products []string) bool {
	if !slices.Contains(src.s.Statuses, status) {
		return false
	}
	if len(src.s.Severities) > 0 && !slices.Contains(src.s.Severities, severity) {
		return false
	}
	if len(src.s.Products) > 0 && !slices.ContainsFunc(products, func(p string) bool { return slices.Contains(src.s.Products, p) }) {
		return false
	}
	return true
}

// Severities map onto lastmile's; Sentinel's High is lastmile's high (an
// administrator who wants critical pages maps it with a category).
func severity(s string) string {
	switch strings.ToLower(s) {
	case "high":
		return "high"
	case "medium":
		return "medium"
	case "low":
		return "low"
	case "informational":
		return "info"
	}
	return "medium"
}

func sentinelStatus(s string) string {
	switch s {
	case "Active":
		return "active"
	case "Closed":
		return "closed"
	}
	return "new"
}

// sentinelSeverity writes a Graph severity the way the filters do.
func sentinelSeverity(s string) string {
	if s == "" {
		return ""
	}
	return strings.ToUpper(s[:1]) + s[1:]
}

func (src *Source) fromIncident(inc sentinel.Incident) connector.Item {
	p := inc.Properties
	owner := ""
	if p.Owner != nil {
		owner = firstOf(p.Owner.Email, p.Owner.UserPrincipalName, p.Owner.AssignedTo)
	}
	v := view{Title: p.Title, Description: p.Description, Severity: p.Severity, Status: p.Status, Number: fmt.Sprint(p.IncidentNumber),
		Owner: owner, URL: p.IncidentURL, Products: p.AdditionalData.AlertProductNames, Tactics: p.AdditionalData.Tactics, Provider: p.ProviderName}
	it := connector.Item{ExternalID: inc.Name, Severity: severity(p.Severity), Status: sentinelStatus(p.Status), Owner: owner,
		Modified: p.LastModifiedTimeUTC, Open: src.open(p.Status, p.Severity, p.AdditionalData.AlertProductNames)}
	it.Params = params(
		"Incident number", v.Number, "Severity", p.Severity, "Status", p.Status, "Owner", owner,
		"Products", strings.Join(p.AdditionalData.AlertProductNames, ", "), "Tactics", strings.Join(p.AdditionalData.Tactics, ", "),
		"Techniques", strings.Join(p.AdditionalData.Techniques, ", "), "Alerts", nonZero(p.AdditionalData.AlertsCount),
		"Provider", p.ProviderName, "Created", timeText(p.CreatedTimeUTC), "First activity", timeText(p.FirstActivityTimeUTC),
		"Incident link", p.IncidentURL)
	src.render(&it, v)
	it.Raw, _ = json.Marshal(inc)
	return it
}

// Graph incidents are "active" until someone resolves them; one with an
// owner counts as taken.
func graphIncidentStatus(g sentinel.GraphIncident) (status, filterStatus string) {
	switch g.Status {
	case "resolved":
		return "closed", "Closed"
	case "redirected":
		return "redirected", "Closed"
	case "inProgress":
		return "active", "Active"
	}
	if g.AssignedTo != "" {
		return "active", "Active"
	}
	return "new", "New"
}

func (src *Source) fromGraphIncident(g sentinel.GraphIncident) connector.Item {
	status, fs := graphIncidentStatus(g)
	var products []string
	for _, a := range g.Alerts {
		if p := firstOf(a.ProductName, a.ServiceSource); p != "" && !slices.Contains(products, p) {
			products = append(products, p)
		}
	}
	sev := sentinelSeverity(g.Severity)
	v := view{Title: g.DisplayName, Description: firstOf(g.Description, g.Summary), Severity: sev, Status: g.Status, Number: g.ID,
		Owner: g.AssignedTo, URL: g.IncidentWebURL, Products: products}
	it := connector.Item{ExternalID: g.ID, Severity: severity(g.Severity), Status: status, RedirectTo: g.RedirectIncidentID, Owner: g.AssignedTo,
		Modified: g.LastUpdateDateTime, Open: src.open(fs, sev, products)}
	it.Params = params("Incident", g.ID, "Severity", sev, "Status", g.Status, "Owner", g.AssignedTo,
		"Products", strings.Join(products, ", "), "Alerts", nonZero(len(g.Alerts)), "Created", timeText(g.CreatedDateTime), "Incident link", g.IncidentWebURL)
	for i, a := range g.Alerts {
		it.Params = append(it.Params, ingest.Param{Name: fmt.Sprintf("Alert %d", i+1),
			Value: fmt.Sprintf("%s (%s, %s)%s", a.Title, firstOf(a.ProductName, a.ServiceSource), a.Severity, mitre(a.MitreTechniques))})
	}
	src.render(&it, v)
	it.Raw, _ = json.Marshal(g)
	return it
}

func alertStatus(s string) (status, filterStatus string) {
	switch s {
	case "inProgress":
		return "active", "Active"
	case "resolved":
		return "closed", "Closed"
	}
	return "new", "New"
}

func (src *Source) fromAlertV2(a sentinel.AlertV2) connector.Item {
	status, fs := alertStatus(a.Status)
	product := firstOf(a.ProductName, a.ServiceSource)
	sev := sentinelSeverity(a.Severity)
	v := view{Title: a.Title, Description: a.Description, Severity: sev, Status: a.Status, Number: a.ID, Owner: a.AssignedTo,
		URL: a.AlertWebURL, Products: []string{product}}
	it := connector.Item{ExternalID: a.ID, Severity: severity(a.Severity), Status: status, Owner: a.AssignedTo, Modified: a.LastUpdateDateTime,
		Open: src.open(fs, sev, []string{product}), Group: a.IncidentID}
	it.Params = params("Alert", a.ID, "Incident", a.IncidentID, "Severity", sev, "Status", a.Status, "Owner", a.AssignedTo,
		"Product", product, "Detection source", a.DetectionSource, "Category", a.Category, "MITRE techniques", strings.Join(a.MitreTechniques, ", "),
		"Recommended actions", a.RecommendedActions, "Alert link", a.AlertWebURL, "Incident link", a.IncidentWebURL)
	src.render(&it, v)
	it.Raw = a.Raw
	return it
}

// Legacy alerts need their vendor information on every update, so it
// travels in the external id: provider|vendor|id.
func legacyID(a sentinel.LegacyAlert) string {
	return a.VendorInformation.Provider + "|" + a.VendorInformation.Vendor + "|" + a.ID
}

func (src *Source) fromLegacy(a sentinel.LegacyAlert) connector.Item {
	status := "new"
	switch a.Status {
	case "inProgress":
		status = "active"
	case "resolved":
		status = "closed"
	}
	fs := map[string]string{"new": "New", "active": "Active", "closed": "Closed"}[status]
	sev := sentinelSeverity(a.Severity)
	v := view{Title: a.Title, Description: a.Description, Severity: sev, Status: a.Status, Number: a.ID, Owner: a.AssignedTo,
		Products: []string{a.VendorInformation.Provider}}
	it := connector.Item{ExternalID: legacyID(a), Severity: severity(a.Severity), Status: status, Owner: a.AssignedTo,
		Modified: a.LastModifiedDateTime, Open: src.open(fs, sev, []string{a.VendorInformation.Provider})}
	it.Params = params("Alert", a.ID, "Severity", sev, "Status", a.Status, "Owner", a.AssignedTo, "Provider", a.VendorInformation.Provider,
		"Category", a.Category, "Recommended actions", strings.Join(a.RecommendedActions, "; "), "Source", strings.Join(a.SourceMaterials, " "))
	src.render(&it, v)
	it.Raw = a.Raw
	return it
}

// render fills the item's title and text from the templates; a template
// that fails falls back to the plain title and description.
func (src *Source) render(it *connector.Item, v view) {
	var b bytes.Buffer
	if err := src.title.Execute(&b, v); err == nil && strings.TrimSpace(b.String()) != "" {
		it.Title = strings.TrimSpace(b.String())
	} else {
		it.Title = firstOf(v.Title, "Incident "+v.Number)
	}
	b.Reset()
	if err := src.text.Execute(&b, v); err == nil {
		it.Text = strings.TrimSpace(b.String())
	} else {
		it.Text = v.Description
	}
}

// params builds parameters from name/value pairs, leaving out empty ones.
func params(kv ...string) []ingest.Param {
	var out []ingest.Param
	for i := 0; i+1 < len(kv); i += 2 {
		if strings.TrimSpace(kv[i+1]) != "" {
			out = append(out, ingest.Param{Name: kv[i], Value: kv[i+1]})
		}
	}
	return out
}

func firstOf(vs ...string) string {
	for _, v := range vs {
		if strings.TrimSpace(v) != "" {
			return v
		}
	}
	return ""
}

func nonZero(n int) string {
	if n == 0 {
		return ""
	}
	return fmt.Sprint(n)
}

func timeText(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(time.RFC3339)
}

func mitre(ts []string) string {
	if len(ts) == 0 {
		return ""
	}
	return " " + strings.Join(ts, ", ")
}
