package azureemu

import (
	"net/http"
	"strings"
	"time"
)

var graphAlertSchema = filterSchema{
	entity: "microsoft.graph.security.alert",
	fields: map[string]fieldKind{
		"assignedTo": kindString, "classification": kindEnum, "determination": kindEnum,
		"createdDateTime": kindTime, "lastUpdateDateTime": kindTime, "severity": kindEnum,
		"serviceSource": kindEnum, "status": kindEnum,
	},
}

func graphAlertGetter(a *GraphAlert) getter {
	return func(f string) any {
		switch f {
		case "id":
			return a.ID
		case "assignedTo":
			return nilIfEmpty(a.AssignedTo)
		case "classification":
			return a.Classification
		case "determination":
			return a.Determination
		case "createdDateTime":
			return a.Created
		case "lastUpdateDateTime":
			return a.LastUpdate
		case "severity":
			return a.Severity
		case "serviceSource":
			return a.ServiceSource
		case "status":
			return a.Status
		}
		return nil
	}
}

func (e *Emulator) graphAlerts(c *call, p principal, version string, rest []string) {
	switch {
	case len(rest) == 0 && c.r.Method == http.MethodGet:
		e.listGraphAlerts(c, p, version)
	case len(rest) == 1 && c.r.Method == http.MethodGet:
		e.getGraphAlert(c, p, rest[0])
	case len(rest) == 1 && c.r.Method == http.MethodPatch:
		e.patchGraphAlert(c, p, rest[0])
	case len(rest) == 2 && strings.EqualFold(rest[1], "comments") && c.r.Method == http.MethodPost:
		e.commentGraphAlert(c, p, version, rest[0])
	case len(rest) <= 2:
		c.graphMethodNotAllowed()
	default:
		c.graphError(http.StatusBadRequest, "BadRequest", "Resource not found for the segment '"+strings.Join(rest, "/")+"'.")
	}
}

func (e *Emulator) listGraphAlerts(c *call, p principal, version string) {
	if !c.graphRoles(p, rolesAlertRead) {
		return
	}
	unknown := c.includeUnknown()
	e.mu.Lock()
	defer e.mu.Unlock()
	var items []*GraphAlert
	for _, a := range e.st.graphAlerts {
		if strings.EqualFold(a.TenantID, p.claims.Tid) {
			items = append(items, a)
		}
	}
	page, next, count, ok := c.graphPage(len(items), func(i int) getter { return graphAlertGetter(items[i]) },
		listSpec{schema: graphAlertSchema, order: []orderKey{{field: "createdDateTime", desc: true}}})
	if !ok {
		return
	}
	value := []map[string]any{}
	for _, i := range page {
		value = append(value, graphAlertJSON(items[i], unknown))
	}
	c.graphCollection(version, "security/alerts_v2", value, next, count)
}

func (c *call) graphAlertFor(p principal, id string) *GraphAlert {
	a := c.e.st.graphAlerts[id]
	if a == nil || !strings.EqualFold(a.TenantID, p.claims.Tid) {
		c.graphError(http.StatusNotFound, "NotFound", "Alert '"+id+"' was not found.")
		return nil
	}
	return a
}

func (e *Emulator) getGraphAlert(c *call, p principal, id string) {
	if !c.graphRoles(p, rolesAlertRead) {
		return
	}
	unknown := c.includeUnknown()
	e.mu.Lock()
	defer e.mu.Unlock()
	if a := c.graphAlertFor(p, id); a != nil {
		c.jsonType(http.StatusOK, graphAlertJSON(a, unknown), graphContentType)
	}
}

// patchGraphAlert updates status, classification, determination and
// assignedTo and answers 200 with the whole alert.
func (e *Emulator) patchGraphAlert(c *call, p principal, id string) {
	if !c.graphRoles(p, rolesAlertWrite) {
		return
	}
	m, ok := c.readGraphObject()
	if !ok || !c.onlyProps(m, "microsoft.graph.security.alert", "status", "classification", "determination", "assignedTo") {
		return
	}
	unknown := c.includeUnknown()
	e.mu.Lock()
	defer e.mu.Unlock()
	a := c.graphAlertFor(p, id)
	if a == nil {
		return
	}
	upd := cloneGraphAlert(*a)
	if !c.enumProp(m, "status", graphAlertStatusesEdit, func(v string) { upd.Status = v }) ||
		!c.enumProp(m, "classification", graphClassifications, func(v string) { upd.Classification = v }) ||
		!c.enumProp(m, "determination", graphDeterminations, func(v string) { upd.Determination = v }) ||
		!c.stringProp(m, "assignedTo", func(v string) { upd.AssignedTo = v }) {
		return
	}
	now := e.now()
	switch {
	case upd.Status == "resolved" && a.Status != "resolved":
		upd.Resolved = now
	case upd.Status != "resolved":
		upd.Resolved = time.Time{}
	}
	upd.LastUpdate = now
	*a = upd
	if inc := e.st.graphIncidents[a.IncidentID]; inc != nil {
		inc.LastUpdate = now
	}
	c.jsonType(http.StatusOK, graphAlertJSON(a, unknown), graphContentType)
}

func (e *Emulator) commentGraphAlert(c *call, p principal, version, id string) {
	if !c.graphRoles(p, rolesAlertWrite) {
		return
	}
	text, ok := c.commentText()
	if !ok {
		return
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	a := c.graphAlertFor(p, id)
	if a == nil {
		return
	}
	now := e.now()
	a.Comments = append(a.Comments, GraphComment{Comment: text, CreatedBy: authorName(p), Created: now})
	a.LastUpdate = now
	c.jsonType(http.StatusOK, map[string]any{
		"@odata.context": c.baseURL() + "/" + version + "/$metadata#security/alerts_v2('" + id + "')/comments",
		"value":          commentsJSON(a.Comments),
	}, graphContentType)
}
