package azureemu

import (
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"
)

// sentinelSchema lists the incident properties usable in $filter/$orderby.
var sentinelSchema = filterSchema{
	entity:      "Microsoft.SecurityInsights/incidents",
	foldNames:   true,
	quotedTimes: true,
	fields: map[string]fieldKind{
		"properties/title":                   kindString,
		"properties/description":             kindString,
		"properties/severity":                kindEnum,
		"properties/status":                  kindEnum,
		"properties/classification":          kindEnum,
		"properties/classificationReason":    kindEnum,
		"properties/incidentNumber":          kindNumber,
		"properties/createdTimeUtc":          kindTime,
		"properties/lastModifiedTimeUtc":     kindTime,
		"properties/firstActivityTimeUtc":    kindTime,
		"properties/lastActivityTimeUtc":     kindTime,
		"properties/owner/assignedTo":        kindString,
		"properties/owner/email":             kindString,
		"properties/owner/userPrincipalName": kindString,
		"properties/owner/objectId":          kindString,
		"properties/providerName":            kindString,
		"properties/providerIncidentId":      kindString,
	},
}

func incidentGetter(inc *Incident) getter {
	return func(f string) any {
		switch f {
		case "properties/title":
			return nilIfEmpty(inc.Title)
		case "properties/description":
			return nilIfEmpty(inc.Description)
		case "properties/severity":
			return inc.Severity
		case "properties/status":
			return inc.Status
		case "properties/classification":
			return nilIfEmpty(inc.Classification)
		case "properties/classificationReason":
			return nilIfEmpty(inc.ClassificationReason)
		case "properties/incidentNumber":
			return float64(inc.Number)
		case "properties/createdTimeUtc":
			return nilIfZero(inc.Created)
		case "properties/lastModifiedTimeUtc":
			return nilIfZero(inc.LastModified)
		case "properties/firstActivityTimeUtc":
			return nilIfZero(inc.FirstActivityTime)
		case "properties/lastActivityTimeUtc":
			return nilIfZero(inc.LastActivityTime)
		case "properties/owner/assignedTo":
			return nilIfEmpty(inc.Owner.AssignedTo)
		case "properties/owner/email":
			return nilIfEmpty(inc.Owner.Email)
		case "properties/owner/userPrincipalName":
			return nilIfEmpty(inc.Owner.UserPrincipalName)
		case "properties/owner/objectId":
			return nilIfEmpty(inc.Owner.ObjectID)
		case "properties/providerName":
			return nilIfEmpty(inc.ProviderName)
		case "properties/providerIncidentId":
			return nilIfEmpty(inc.ProviderIncidentID)
		}
		return nil
	}
}

func nilIfEmpty(s string) any {
	if s == "" {
		return nil
	}
	return s
}

func nilIfZero(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return t
}

// defaultIncidentPage is the page size without $top; small so that clients
// exercise nextLink.
const defaultIncidentPage = 50

func (e *Emulator) serveIncidents(c *call, p principal, ap armPath, rest []string) {
	collection := ap.workspaceID() + "/providers/Microsoft.SecurityInsights/incidents"
	switch {
	case len(rest) == 0:
		if c.r.Method != http.MethodGet {
			c.methodNotAllowed()
			return
		}
		e.listIncidents(c, p, ap, collection)
	case len(rest) == 1:
		scope := collection + "/" + rest[0]
		switch c.r.Method {
		case http.MethodGet:
			e.getIncident(c, p, ap, rest[0], scope)
		case http.MethodPut:
			e.putIncident(c, p, ap, rest[0], scope)
		case http.MethodDelete:
			e.deleteIncident(c, p, ap, rest[0], scope)
		default:
			c.methodNotAllowed()
		}
	case len(rest) == 2 && slices.Contains([]string{"alerts", "entities", "bookmarks"}, strings.ToLower(rest[1])):
		if c.r.Method != http.MethodPost {
			c.methodNotAllowed()
			return
		}
		e.incidentRelations(c, p, ap, rest[0], strings.ToLower(rest[1]), collection+"/"+rest[0])
	case len(rest) == 2 && strings.EqualFold(rest[1], "comments"):
		if c.r.Method != http.MethodGet {
			c.methodNotAllowed()
			return
		}
		e.listComments(c, p, ap, rest[0], collection+"/"+rest[0]+"/comments")
	case len(rest) == 3 && strings.EqualFold(rest[1], "comments"):
		scope := collection + "/" + rest[0] + "/comments/" + rest[2]
		switch c.r.Method {
		case http.MethodGet:
			e.getComment(c, p, ap, rest[0], rest[2], scope)
		case http.MethodPut:
			e.putComment(c, p, ap, rest[0], rest[2], scope)
		case http.MethodDelete:
			e.deleteComment(c, p, ap, rest[0], rest[2], scope)
		default:
			c.methodNotAllowed()
		}
	default:
		c.cloudError(http.StatusNotFound, "InvalidResourceType", "The resource type could not be found for the request path '"+c.r.URL.Path+"'.")
	}
}

// incidentFor finds the incident of a workspace, answering 404 if absent.
// Caller holds e.mu.
func (c *call) incidentFor(ws *Workspace, name string) *incidentRec {
	rec := c.e.st.incidents[strings.ToLower(name)]
	if rec == nil || rec.ws != ws {
		c.cloudError(http.StatusNotFound, "NotFound", "Incident '"+name+"' was not found.")
		return nil
	}
	return rec
}

// sentinelWorkspace runs the checks common to every Sentinel call: role,
// workspace existence, token tenant. Caller holds e.mu.
func (c *call) sentinelWorkspace(p principal, ap armPath, action, scope string) *Workspace {
	if !c.armAllowed(p, action, scope) {
		return nil
	}
	ws := c.armWorkspace(ap)
	if ws == nil || !c.tenantMatches(p, ws) {
		return nil
	}
	return ws
}

func (e *Emulator) listIncidents(c *call, p principal, ap armPath, scope string) {
	q := c.r.URL.Query()
	var filter filterExpr
	if f, ok := queryGet(q, "$filter"); ok && strings.TrimSpace(f) != "" {
		var err error
		if filter, err = parseFilter(f, sentinelSchema); err != nil {
			c.cloudError(http.StatusBadRequest, "BadRequest", "Invalid $filter '"+f+"': "+err.Error()+".")
			return
		}
	}
	order := []orderKey{{field: "properties/createdTimeUtc", desc: true}}
	if o, ok := queryGet(q, "$orderby"); ok && strings.TrimSpace(o) != "" {
		var err error
		if order, err = parseOrderBy(o, sentinelSchema); err != nil {
			c.cloudError(http.StatusBadRequest, "BadRequest", "Invalid $orderby '"+o+"': "+err.Error()+".")
			return
		}
	}
	top := defaultIncidentPage
	if t, ok := queryGet(q, "$top"); ok {
		n, err := strconv.Atoi(t)
		if err != nil || n < 1 || n > 1000 {
			c.cloudError(http.StatusBadRequest, "BadRequest", "The value '"+t+"' of $top is invalid; it must be an integer between 1 and 1000.")
			return
		}
		top = n
	}
	offset := 0
	if s, ok := queryGet(q, "$skipToken"); ok {
		n, err := decodeSkip(s)
		if err != nil {
			c.cloudError(http.StatusBadRequest, "BadRequest", "The $skipToken is invalid.")
			return
		}
		offset = n
	}

	e.mu.Lock()
	defer e.mu.Unlock()
	ws := c.sentinelWorkspace(p, ap, actionIncidentRead, scope)
	if ws == nil {
		return
	}
	var recs []*incidentRec
	for _, r := range e.st.incidents {
		if r.ws == ws && (filter == nil || filter.eval(incidentGetter(&r.inc))) {
			recs = append(recs, r)
		}
	}
	slices.SortFunc(recs, func(a, b *incidentRec) int {
		if less, decided := lessBy(order, incidentGetter(&a.inc), incidentGetter(&b.inc), sentinelSchema.fields); decided {
			if less {
				return -1
			}
			return 1
		}
		return strings.Compare(a.inc.Name, b.inc.Name)
	})
	value := []map[string]any{}
	for i := offset; i < len(recs) && i < offset+top; i++ {
		value = append(value, incidentJSON(recs[i]))
	}
	out := map[string]any{"value": value}
	if offset+top < len(recs) {
		out["nextLink"] = c.nextLink("$skipToken", offset+top)
	}
	c.json(http.StatusOK, out)
}

func (e *Emulator) getIncident(c *call, p principal, ap armPath, name, scope string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	ws := c.sentinelWorkspace(p, ap, actionIncidentRead, scope)
	if ws == nil {
		return
	}
	if rec := c.incidentFor(ws, name); rec != nil {
		c.json(http.StatusOK, incidentJSON(rec))
	}
}

func (e *Emulator) deleteIncident(c *call, p principal, ap armPath, name, scope string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	ws := c.sentinelWorkspace(p, ap, actionIncidentDelete, scope)
	if ws == nil {
		return
	}
	rec := e.st.incidents[strings.ToLower(name)]
	if rec == nil || rec.ws != ws {
		c.empty(http.StatusNoContent)
		return
	}
	delete(e.st.incidents, strings.ToLower(name))
	c.empty(http.StatusOK)
}
