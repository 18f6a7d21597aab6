package azureemu

import (
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"time"
)

var legacySchema = filterSchema{
	entity: "microsoft.graph.alert",
	fields: map[string]fieldKind{
		"assignedTo": kindString, "category": kindString, "title": kindString,
		"createdDateTime": kindTime, "eventDateTime": kindTime, "lastModifiedDateTime": kindTime,
		"severity": kindEnum, "status": kindEnum, "feedback": kindEnum,
		"vendorInformation/provider": kindString, "vendorInformation/vendor": kindString,
	},
}

// legacyMaxSkip is the documented cap: $skip=500 works, 501 is refused.
const legacyMaxSkip = 500

func legacyGetter(a *LegacyAlert) getter {
	return func(f string) any {
		switch f {
		case "id":
			return a.ID
		case "assignedTo":
			return nilIfEmpty(a.AssignedTo)
		case "category":
			return nilIfEmpty(a.Category)
		case "title":
			return a.Title
		case "createdDateTime":
			return a.Created
		case "eventDateTime":
			return a.EventTime
		case "lastModifiedDateTime":
			return a.LastModified
		case "severity":
			return a.Severity
		case "status":
			return a.Status
		case "feedback":
			return nilIfEmpty(a.Feedback)
		case "vendorInformation/provider":
			return a.Provider
		case "vendorInformation/vendor":
			return a.Vendor
		}
		return nil
	}
}

func (e *Emulator) legacyAlerts(c *call, p principal, version string, rest []string) {
	switch {
	case len(rest) == 0 && c.r.Method == http.MethodGet:
		e.listLegacy(c, p, version)
	case len(rest) == 1 && c.r.Method == http.MethodGet:
		e.getLegacy(c, p, rest[0])
	case len(rest) == 1 && c.r.Method == http.MethodPatch:
		e.patchLegacy(c, p, rest[0])
	case len(rest) <= 1:
		c.graphMethodNotAllowed()
	default:
		c.graphError(http.StatusBadRequest, "BadRequest", "Resource not found for the segment '"+strings.Join(rest, "/")+"'.")
	}
}

func (e *Emulator) listLegacy(c *call, p principal, version string) {
	if !c.graphRoles(p, rolesEventsRead) {
		return
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	var items []*LegacyAlert
	for _, a := range e.st.legacyAlerts {
		if strings.EqualFold(a.TenantID, p.claims.Tid) {
			items = append(items, a)
		}
	}
	page, next, count, ok := c.graphPage(len(items), func(i int) getter { return legacyGetter(items[i]) },
		listSpec{schema: legacySchema, order: []orderKey{{field: "createdDateTime", desc: true}}, maxSkip: legacyMaxSkip})
	if !ok {
		return
	}
	value := []map[string]any{}
	for _, i := range page {
		value = append(value, legacyAlertJSON(items[i]))
	}
	c.graphCollection(version, "security/alerts", value, next, count)
}

func (c *call) legacyFor(p principal, id string) *LegacyAlert {
	a := c.e.st.legacyAlerts[id]
	if a == nil || !strings.EqualFold(a.TenantID, p.claims.Tid) {
		c.graphError(http.StatusNotFound, "NotFound", "Alert '"+id+"' was not found.")
		return nil
	}
	return a
}

func (e *Emulator) getLegacy(c *call, p principal, id string) {
	if !c.graphRoles(p, rolesEventsRead) {
		return
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	if a := c.legacyFor(p, id); a != nil {
		c.jsonType(http.StatusOK, legacyAlertJSON(a), graphContentType)
	}
}

// patchLegacy updates a legacy alert. The body must carry
// vendorInformation.provider and .vendor, which route the update to the
// provider that owns the alert (a different provider does not find it).
// Answers 204, or 200 with the alert under Prefer: return=representation.
func (e *Emulator) patchLegacy(c *call, p principal, id string) {
	if !c.graphRoles(p, rolesEventsWrite) {
		return
	}
	m, ok := c.readGraphObject()
	if !ok || !c.onlyProps(m, "microsoft.graph.alert", "vendorInformation", "assignedTo", "closedDateTime", "comments", "feedback", "status", "tags") {
		return
	}
	var vi struct {
		Provider string `json:"provider"`
		Vendor   string `json:"vendor"`
	}
	if raw, has := m["vendorInformation"]; has {
		_ = json.Unmarshal(raw, &vi)
	}
	if vi.Provider == "" || vi.Vendor == "" {
		c.graphError(http.StatusBadRequest, "BadRequest", "vendorInformation with provider and vendor is required to update an alert.")
		return
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	a := c.legacyFor(p, id)
	if a == nil {
		return
	}
	if !strings.EqualFold(vi.Provider, a.Provider) || !strings.EqualFold(vi.Vendor, a.Vendor) {
		c.graphError(http.StatusNotFound, "NotFound", "Alert '"+id+"' was not found at provider '"+vi.Provider+"' of vendor '"+vi.Vendor+"'.")
		return
	}
	upd := cloneLegacy(*a)
	if !c.enumProp(m, "status", legacyStatuses, func(v string) { upd.Status = v }) ||
		!c.enumProp(m, "feedback", legacyFeedback, func(v string) { upd.Feedback = v }) ||
		!c.stringProp(m, "assignedTo", func(v string) { upd.AssignedTo = v }) {
		return
	}
	for _, f := range []struct {
		name string
		dst  *[]string
		only []string
	}{{"comments", &upd.Comments, legacyAllowedComments}, {"tags", &upd.Tags, nil}} {
		raw, has := m[f.name]
		if !has {
			continue
		}
		var v []string
		if err := json.Unmarshal(raw, &v); err != nil {
			c.graphError(http.StatusBadRequest, "BadRequest", "Cannot convert the literal '"+string(raw)+"' to the expected type 'Collection(Edm.String)' for property '"+f.name+"'.")
			return
		}
		for _, s := range v {
			if f.only != nil && !slices.Contains(f.only, s) {
				c.graphError(http.StatusBadRequest, "BadRequest", "Invalid comment '"+s+"'. Alert comments can only be 'Closed in IPC' or 'Closed in MCAS'.")
				return
			}
		}
		*f.dst = slices.Clone(v)
	}
	if raw, has := m["closedDateTime"]; has {
		var s *string
		if err := json.Unmarshal(raw, &s); err != nil {
			c.graphError(http.StatusBadRequest, "BadRequest", "Cannot convert the literal '"+string(raw)+"' to the expected type 'Edm.DateTimeOffset'.")
			return
		}
		upd.Closed = time.Time{}
		if s != nil {
			t, err := time.Parse(time.RFC3339Nano, *s)
			if err != nil {
				c.graphError(http.StatusBadRequest, "BadRequest", "Cannot convert the literal '"+*s+"' to the expected type 'Edm.DateTimeOffset'.")
				return
			}
			upd.Closed = t.UTC()
		}
	}
	upd.LastModified = e.now()
	*a = upd
	for _, v := range c.r.Header.Values("Prefer") {
		if strings.Contains(strings.ToLower(v), "return=representation") {
			c.w.Header().Set("Preference-Applied", "return=representation")
			c.jsonType(http.StatusOK, legacyAlertJSON(a), graphContentType)
			return
		}
	}
	c.empty(http.StatusNoContent)
}
