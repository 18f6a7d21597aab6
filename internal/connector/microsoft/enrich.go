package microsoft

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/base64"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"sort"
	"strings"
	"time"

	"github.com/lastmile/lastmile/internal/connector"
	"github.com/lastmile/lastmile/internal/connector/sentinel"
	"github.com/lastmile/lastmile/internal/ingest"
)

// maxQueryRows bounds the rows of a rule query kept with the alert.
const maxQueryRows = 100

// Enrich adds a Sentinel incident's linked alerts and entities and, when
// asked, runs each alert's analytics rule query and attaches the result.
func (src *Source) Enrich(ctx context.Context, it *connector.Item) error {
	if src.mode != sentinel.ModeSentinel {
		return nil // Graph incidents come with their alerts
	}
	alerts, err := src.c.IncidentAlerts(ctx, it.ExternalID)
	if err != nil {
		return fmt.Errorf("linked alerts: %w", err)
	}
	var errs []error
	for i, a := range alerts {
		p := a.Properties
		it.Params = append(it.Params, ingest.Param{Name: fmt.Sprintf("Alert %d", i+1),
			Value: fmt.Sprintf("%s (%s, %s)", firstOf(p.AlertDisplayName, p.FriendlyName), firstOf(p.ProductName, p.VendorName), p.Severity)})
		if p.CompromisedEntity != "" {
			it.Params = append(it.Params, ingest.Param{Name: fmt.Sprintf("Alert %d entity", i+1), Value: p.CompromisedEntity})
		}
		if src.s.Augment {
			if err := src.augment(ctx, it, i+1, a); err != nil {
				errs = append(errs, err)
			}
		}
	}
	if ents, err := src.c.IncidentEntities(ctx, it.ExternalID); err == nil {
		if s := entitySummary(ents); s != "" {
			it.Params = append(it.Params, ingest.Param{Name: "Entities", Value: s})
		}
	} else {
		errs = append(errs, fmt.Errorf("entities: %w", err))
	}
	return errors.Join(errs...)
}

// entitySummary names the entities by kind: "Account: ana; Host: web01".
func entitySummary(e sentinel.IncidentEntities) string {
	byKind := map[string][]string{}
	for _, ent := range e.Entities {
		var p map[string]any
		_ = json.Unmarshal(ent.Properties, &p)
		name, _ := p["friendlyName"].(string)
		if name == "" {
			name = ent.Name
		}
		if len(byKind[ent.Kind]) < 5 {
			byKind[ent.Kind] = append(byKind[ent.Kind], name)
		}
	}
	kinds := make([]string, 0, len(byKind))
	for k := range byKind {
		kinds = append(kinds, k)
	}
	sort.Strings(kinds)
	var parts []string
	for _, k := range kinds {
		parts = append(parts, k+": "+strings.Join(byKind[k], ", "))
	}
	return strings.Join(parts, "; ")
}

// ruleQuery finds a scheduled rule's query and window in an alert's
// extended properties (the SecurityAlert table's ExtendedProperties, which
// the incident's alert list carries in additionalData).
func ruleQuery(a sentinel.SecurityAlert) (query, rule string, start, end time.Time, ok bool) {
	props := map[string]any{}
	for k, v := range a.Properties.AdditionalData {
		props[k] = v
	}
	if ext, isStr := props["ExtendedProperties"].(string); isStr {
		var m map[string]any
		if json.Unmarshal([]byte(ext), &m) == nil {
			for k, v := range m {
				props[k] = v
			}
		}
	}
	str := func(k string) string { s, _ := props[k].(string); return strings.TrimSpace(s) }
	query = firstOf(str("Query"), str("OriginalQuery"))
	rule = firstOf(str("Analytic Rule Name"), a.Properties.AlertDisplayName)
	parse := func(k string) time.Time {
		t, _ := time.Parse(time.RFC3339Nano, str(k))
		return t
	}
	start, end = parse("Query Start Time UTC"), parse("Query End Time UTC")
	return query, rule, start, end, query != ""
}

// augment runs one alert's rule query over the alert's window and
// attaches the rows as CSV, with their count as a parameter.
func (src *Source) augment(ctx context.Context, it *connector.Item, n int, a sentinel.SecurityAlert) error {
	query, rule, start, end, ok := ruleQuery(a)
	if !ok {
		return nil
	}
	ws, err := src.workspaceID(ctx)
	if err != nil {
		return err
	}
	span := ""
	if !start.IsZero() && !end.IsZero() {
		span = start.UTC().Format(time.RFC3339) + "/" + end.UTC().Format(time.RFC3339)
	}
	t, err := src.c.Query(ctx, ws, query, span)
	if err != nil {
		return fmt.Errorf("query of %q: %w", rule, err)
	}
	rows := len(t.Rows)
	summary := fmt.Sprintf("%d rows", rows)
	if rows > maxQueryRows {
		summary += fmt.Sprintf(" (first %d attached)", maxQueryRows)
	} else if rows > 0 {
		summary += " (attached)"
	}
	if t.Partial != nil {
		summary += "; partial: " + t.Partial.Error()
	}
	it.Params = append(it.Params, ingest.Param{Name: fmt.Sprintf("Alert %d query results", n), Value: summary},
		ingest.Param{Name: fmt.Sprintf("Alert %d query", n), Value: query})
	if link := src.queryLink(query, start, end); link != "" {
		it.Params = append(it.Params, ingest.Param{Name: fmt.Sprintf("Alert %d query link", n), Value: link})
	}
	if rows == 0 {
		return nil
	}
	var b bytes.Buffer
	w := csv.NewWriter(&b)
	head := make([]string, len(t.Columns))
	for i, c := range t.Columns {
		head[i] = c.Name
	}
	w.Write(head)
	for _, r := range t.Rows[:min(rows, maxQueryRows)] {
		rec := make([]string, len(r))
		for i, v := range r {
			if v != nil {
				rec[i] = fmt.Sprint(v)
			}
		}
		w.Write(rec)
	}
	w.Flush()
	it.Attachments = append(it.Attachments, ingest.Attachment{Name: fmt.Sprintf("alert-%d-query-results.csv", n), ContentType: "text/csv", Data: b.Bytes()})
	return nil
}

// workspaceID is the workspace's id for queries: configured, or read from
// ARM once.
func (src *Source) workspaceID(ctx context.Context) (string, error) {
	src.wsMu.Lock()
	defer src.wsMu.Unlock()
	if src.s.WorkspaceID != "" {
		return src.s.WorkspaceID, nil
	}
	w, err := src.c.Workspace(ctx)
	if err != nil {
		return "", err
	}
	src.s.WorkspaceID = w.CustomerID
	return w.CustomerID, nil
}

// Log writes a lifecycle record to the configured Log Analytics table, so
// the SOC can query lastmile's part (SIGNL4_CL by default).
func (src *Source) Log(ctx context.Context, externalID string, c connector.Change) error {
	l := src.s.Log
	if l == nil {
		return nil
	}
	rec := map[string]any{"TimeGenerated": c.At.UTC().Format(time.RFC3339Nano), "EventType": c.Kind, "AlertId": c.AlertID, "AlertTitle": c.Title,
		"User": c.By, "UserEmail": c.Email, "IncidentId": externalID, "Text": c.Text, "Source": "lastmile"}
	switch l.Mode {
	case "ingestion":
		return src.c.Upload(ctx, l.Endpoint, l.DCRImmutableID, l.Stream, []map[string]any{rec})
	case "datacollector":
		ws, err := src.workspaceID(ctx)
		if err != nil {
			return err
		}
		return src.c.PostDataCollector(ctx, l.URL, ws, l.SharedKey, l.Table, []map[string]any{rec}, "TimeGenerated")
	}
	return nil
}

// queryLink opens the query, over the alert's window, in the workspace's
// Logs blade of the Azure portal: the portal takes the query gzipped and
// base64-encoded in the link, as its own "share link to query" makes.
func (src *Source) queryLink(query string, start, end time.Time) string {
	st := src.s
	if st.SubscriptionID == "" || st.ResourceGroup == "" || st.WorkspaceName == "" {
		return ""
	}
	var z bytes.Buffer
	w := gzip.NewWriter(&z)
	w.Write([]byte(query))
	w.Close()
	resource := "/subscriptions/" + st.SubscriptionID + "/resourceGroups/" + st.ResourceGroup +
		"/providers/Microsoft.OperationalInsights/workspaces/" + st.WorkspaceName
	link := "https://portal.azure.com/#@" + st.TenantID + "/blade/Microsoft_OperationsManagementSuite_Workspace/Logs.ReactView/resourceId/" +
		url.PathEscape(resource) + "/source/LogsBlade.AnalyticsShareLinkToQuery/q/" + url.PathEscape(base64.StdEncoding.EncodeToString(z.Bytes()))
	if !start.IsZero() && !end.IsZero() {
		link += "/timespan/" + url.PathEscape(start.UTC().Format(time.RFC3339)+"/"+end.UTC().Format(time.RFC3339))
	}
	return link
}
