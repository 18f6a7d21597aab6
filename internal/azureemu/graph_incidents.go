package azureemu

import (
	"encoding/json"
	"net/http"
	"slices"
	"strings"
)

var graphIncidentSchema = filterSchema{
	entity: "microsoft.graph.security.incident",
	fields: map[string]fieldKind{
		"assignedTo": kindString, "classification": kindEnum, "createdDateTime": kindTime,
		"determination": kindEnum, "lastUpdateDateTime": kindTime, "severity": kindEnum, "status": kindEnum,
	},
}

func graphIncidentGetter(inc *GraphIncident) getter {
	return func(f string) any {
		switch f {
		case "id":
			return inc.ID
		case "assignedTo":
			return nilIfEmpty(inc.AssignedTo)
		case "classification":
			return inc.Classification
		case "createdDateTime":
			return inc.Created
		case "determination":
			return inc.Determination
		case "lastUpdateDateTime":
			return inc.LastUpdate
		case "severity":
			return inc.Severity
		case "status":
			return inc.Status
		}
		return nil
	}
}

func (e *Emulator) graphIncidents(c *call, p principal, version string, rest []string) {
	switch {
	case len(rest) == 0 && c.r.Method == http.MethodGet:
		e.listGraphIncidents(c, p, version)
	case len(rest) == 1 && c.r.Method == http.MethodGet:
		e.getGraphIncident(c, p, rest[0])
	case len(rest) == 1 && c.r.Method == http.MethodPatch:
		e.patchGraphIncident(c, p, rest[0])
	case len(rest) == 2 && strings.EqualFold(rest[1], "comments") && c.r.Method == http.MethodPost:
		e.commentGraphIncident(c, p, version, rest[0])
	case len(rest) == 2 && strings.EqualFold(rest[1], "alerts") && c.r.Method == http.MethodGet:
		e.listIncidentAlerts(c, p, version, rest[0])
	case len(rest) <= 2:
		c.graphMethodNotAllowed()
	default:
		c.graphError(http.StatusBadRequest, "BadRequest", "Resource not found for the segment '"+strings.Join(rest, "/")+"'.")
	}
}

// expandAlerts reads $expand, which may only name alerts.
func (c *call) expandAlerts() (bool, bool) {
	x, ok := queryGet(c.r.URL.Query(), "$expand")
	if !ok || strings.TrimSpace(x) == "" {
		return false, true
	}
	if !strings.EqualFold(strings.TrimSpace(x), "alerts") {
		c.graphError(http.StatusBadRequest, "BadRequest", "Could not find a property named '"+x+"' on type 'microsoft.graph.security.incident'.")
		return false, false
	}
	return true, true
}

func (e *Emulator) incidentOut(inc *GraphIncident, expand, unknown bool) map[string]any {
	out := graphIncidentJSON(inc, unknown)
	if expand {
		alerts := []map[string]any{}
		for _, a := range e.st.incidentAlerts(inc.ID) {
			alerts = append(alerts, graphAlertJSON(&a, unknown))
		}
		out["alerts"] = alerts
	}
	return out
}

func (e *Emulator) listGraphIncidents(c *call, p principal, version string) {
	if !c.graphRoles(p, rolesIncidentRead) {
		return
	}
	expand, ok := c.expandAlerts()
	if !ok {
		return
	}
	unknown := c.includeUnknown()
	e.mu.Lock()
	defer e.mu.Unlock()
	var items []*GraphIncident
	for _, inc := range e.st.graphIncidents {
		if strings.EqualFold(inc.TenantID, p.claims.Tid) {
			items = append(items, inc)
		}
	}
	page, next, count, ok := c.graphPage(len(items), func(i int) getter { return graphIncidentGetter(items[i]) },
		listSpec{schema: graphIncidentSchema, order: []orderKey{{field: "createdDateTime", desc: true}}})
	if !ok {
		return
	}
	value := []map[string]any{}
	for _, i := range page {
		value = append(value, e.incidentOut(items[i], expand, unknown))
	}
	c.graphCollection(version, "security/incidents", value, next, count)
}

// graphIncidentFor finds an incident of the caller's tenant, answering 404.
// Caller holds e.mu.
func (c *call) graphIncidentFor(p principal, id string) *GraphIncident {
	inc := c.e.st.graphIncidents[id]
	if inc == nil || !strings.EqualFold(inc.TenantID, p.claims.Tid) {
		c.graphError(http.StatusNotFound, "NotFound", "Incident '"+id+"' was not found.")
		return nil
	}
	return inc
}

func (e *Emulator) getGraphIncident(c *call, p principal, id string) {
	if !c.graphRoles(p, rolesIncidentRead) {
		return
	}
	expand, ok := c.expandAlerts()
	if !ok {
		return
	}
	unknown := c.includeUnknown()
	e.mu.Lock()
	defer e.mu.Unlock()
	if inc := c.graphIncidentFor(p, id); inc != nil {
		c.jsonType(http.StatusOK, e.incidentOut(inc, expand, unknown), graphContentType)
	}
}

// patchGraphIncident updates status, assignedTo, classification,
// determination and customTags. Resolving an incident resolves its alerts,
// as Defender does.
func (e *Emulator) patchGraphIncident(c *call, p principal, id string) {
	if !c.graphRoles(p, rolesIncidentWrite) {
		return
	}
	m, ok := c.readGraphObject()
	if !ok || !c.onlyProps(m, "microsoft.graph.security.incident", "status", "assignedTo", "classification", "determination", "customTags") {
		return
	}
	unknown := c.includeUnknown()
	e.mu.Lock()
	defer e.mu.Unlock()
	inc := c.graphIncidentFor(p, id)
	if inc == nil {
		return
	}
	upd := cloneGraphIncident(*inc)
	if !c.enumProp(m, "status", incidentStatusesPATCH, func(v string) { upd.Status = v }) ||
		!c.enumProp(m, "classification", graphClassifications, func(v string) { upd.Classification = v }) ||
		!c.enumProp(m, "determination", graphDeterminations, func(v string) { upd.Determination = v }) ||
		!c.stringProp(m, "assignedTo", func(v string) { upd.AssignedTo = v }) {
		return
	}
	if raw, has := m["customTags"]; has {
		var tags []string
		if err := json.Unmarshal(raw, &tags); err != nil {
			c.graphError(http.StatusBadRequest, "BadRequest", "Cannot convert the literal '"+string(raw)+"' to the expected type 'Collection(Edm.String)' for property 'customTags'.")
			return
		}
		upd.CustomTags = slices.Clone(tags)
	}
	now := e.now()
	upd.LastUpdate = now
	if upd.Status == "resolved" && inc.Status != "resolved" {
		for _, a := range e.st.graphAlerts {
			if a.IncidentID == inc.ID && a.Status != "resolved" {
				a.Status, a.Resolved, a.LastUpdate = "resolved", now, now
			}
		}
	}
	*inc = upd
	c.jsonType(http.StatusOK, e.incidentOut(inc, false, unknown), graphContentType)
}

func (e *Emulator) commentGraphIncident(c *call, p principal, version, id string) {
	if !c.graphRoles(p, rolesIncidentWrite) {
		return
	}
	text, ok := c.commentText()
	if !ok {
		return
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	inc := c.graphIncidentFor(p, id)
	if inc == nil {
		return
	}
	now := e.now()
	inc.Comments = append(inc.Comments, GraphComment{Comment: text, CreatedBy: authorName(p), Created: now})
	inc.LastUpdate = now
	c.jsonType(http.StatusOK, map[string]any{
		"@odata.context": c.baseURL() + "/" + version + "/$metadata#security/incidents('" + id + "')/comments",
		"value":          commentsJSON(inc.Comments),
	}, graphContentType)
}

func (e *Emulator) listIncidentAlerts(c *call, p principal, version, id string) {
	if !c.graphRoles(p, rolesIncidentRead) {
		return
	}
	unknown := c.includeUnknown()
	e.mu.Lock()
	defer e.mu.Unlock()
	inc := c.graphIncidentFor(p, id)
	if inc == nil {
		return
	}
	value := []map[string]any{}
	for _, a := range e.st.incidentAlerts(inc.ID) {
		value = append(value, graphAlertJSON(&a, unknown))
	}
	c.graphCollection(version, "security/incidents('"+id+"')/alerts", value, "", len(value))
}
