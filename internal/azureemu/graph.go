package azureemu

import (
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
)

const graphContentType = "application/json;odata.metadata=minimal;odata.streaming=true;IEEE754Compatible=false;charset=utf-8"

// Graph application roles, read then write.
var (
	rolesIncidentRead  = []string{"SecurityIncident.Read.All", "SecurityIncident.ReadWrite.All"}
	rolesIncidentWrite = []string{"SecurityIncident.ReadWrite.All"}
	rolesAlertRead     = []string{"SecurityAlert.Read.All", "SecurityAlert.ReadWrite.All"}
	rolesAlertWrite    = []string{"SecurityAlert.ReadWrite.All"}
	rolesEventsRead    = []string{"SecurityEvents.Read.All", "SecurityEvents.ReadWrite.All"}
	rolesEventsWrite   = []string{"SecurityEvents.ReadWrite.All"}
)

// defaultGraphPage is the page size without $top; small so that clients
// exercise @odata.nextLink.
const defaultGraphPage = 50

func (e *Emulator) serveGraph(c *call) {
	p, f := c.authenticate(svcGraph)
	if f != authOK {
		c.graphAuthError(f)
		return
	}
	all := strings.Split(strings.Trim(c.r.URL.Path, "/"), "/")
	version, segs := all[0], all[1:]
	if e.serveDirectory(c, p, version, segs) {
		return
	}
	if len(segs) < 2 || !strings.EqualFold(segs[0], "security") {
		c.graphError(http.StatusBadRequest, "BadRequest", "Resource not found for the segment '"+strings.Join(segs, "/")+"'.")
		return
	}
	switch strings.ToLower(segs[1]) {
	case "incidents":
		e.graphIncidents(c, p, version, segs[2:])
	case "alerts_v2":
		e.graphAlerts(c, p, version, segs[2:])
	case "alerts":
		e.legacyAlerts(c, p, version, segs[2:])
	default:
		c.graphError(http.StatusBadRequest, "BadRequest", "Resource not found for the segment '"+segs[1]+"'.")
	}
}

func (c *call) graphAuthError(f authFailure) {
	c.wwwAuthenticate("", "Access token validation failure")
	switch f {
	case authMissing:
		c.graphError(http.StatusUnauthorized, "InvalidAuthenticationToken", "Access token is empty.")
	case authExpired:
		c.graphError(http.StatusUnauthorized, "InvalidAuthenticationToken", "Access token has expired.")
	case authAudience:
		c.graphError(http.StatusUnauthorized, "InvalidAuthenticationToken", "Access token validation failure. Invalid audience.")
	default:
		c.graphError(http.StatusUnauthorized, "InvalidAuthenticationToken", "Access token validation failure.")
	}
}

// graphError writes Graph's error body.
func (c *call) graphError(status int, code, msg string) {
	inner := map[string]any{"date": c.e.now().Format("2006-01-02T15:04:05"), "request-id": c.reqID}
	if v := c.r.Header.Get("client-request-id"); v != "" {
		inner["client-request-id"] = v
	}
	c.jsonType(status, map[string]any{"error": map[string]any{"code": code, "message": msg, "innerError": inner}}, graphContentType)
}

// graphRoles checks the token's application roles for any of need.
func (c *call) graphRoles(p principal, need []string) bool {
	for _, r := range p.claims.Roles {
		if slices.Contains(need, r) {
			return true
		}
	}
	c.graphError(http.StatusForbidden, "Forbidden", fmt.Sprintf("Missing application roles. API required roles: %s. Application roles: %s.",
		strings.Join(need, ", "), strings.Join(p.claims.Roles, ", ")))
	return false
}

// includeUnknown reports whether the client opted in to evolvable enum
// members added after unknownFutureValue, and acknowledges it.
func (c *call) includeUnknown() bool {
	for _, v := range c.r.Header.Values("Prefer") {
		if strings.Contains(strings.ToLower(v), "include-unknown-enum-members") {
			c.w.Header().Add("Preference-Applied", "include-unknown-enum-members")
			return true
		}
	}
	return false
}

func (c *call) graphMethodNotAllowed() {
	c.graphError(http.StatusMethodNotAllowed, "MethodNotAllowed", "The HTTP method '"+c.r.Method+"' is not allowed for the requested resource.")
}

// listSpec describes an OData collection for graphPage.
type listSpec struct {
	schema  filterSchema
	order   []orderKey
	maxSkip int // 0: unlimited
}

// graphPage applies $filter, $orderby, $skip/$skiptoken and $top to n
// items, answering 400 itself when a parameter is refused. get(i) must
// also answer "id" for a stable order.
func (c *call) graphPage(n int, get func(int) getter, spec listSpec) (page []int, next string, count int, ok bool) {
	q := c.r.URL.Query()
	var filter filterExpr
	if f, has := queryGet(q, "$filter"); has && strings.TrimSpace(f) != "" {
		var err error
		if filter, err = parseFilter(f, spec.schema); err != nil {
			c.graphError(http.StatusBadRequest, "BadRequest", "Invalid filter clause: "+err.Error()+".")
			return nil, "", 0, false
		}
	}
	order := spec.order
	if o, has := queryGet(q, "$orderby"); has && strings.TrimSpace(o) != "" {
		var err error
		if order, err = parseOrderBy(o, spec.schema); err != nil {
			c.graphError(http.StatusBadRequest, "BadRequest", "Invalid $orderby: "+err.Error()+".")
			return nil, "", 0, false
		}
	}
	top := defaultGraphPage
	if t, has := queryGet(q, "$top"); has {
		v, err := strconv.Atoi(t)
		switch {
		case err != nil || v < 0:
			c.graphError(http.StatusBadRequest, "BadRequest", "Invalid value '"+t+"' for $top query option found.")
			return nil, "", 0, false
		case v > 1000:
			c.graphError(http.StatusBadRequest, "BadRequest", "The limit of '1000' for Top query has been exceeded. The value from the incoming request is '"+t+"'.")
			return nil, "", 0, false
		}
		top = v
	}
	offset := 0
	if s, has := queryGet(q, "$skip"); has {
		v, err := strconv.Atoi(s)
		if err != nil || v < 0 {
			c.graphError(http.StatusBadRequest, "BadRequest", "Invalid value '"+s+"' for $skip query option found.")
			return nil, "", 0, false
		}
		if spec.maxSkip > 0 && v > spec.maxSkip {
			c.graphError(http.StatusBadRequest, "BadRequest", fmt.Sprintf("Invalid $skip value '%d'. The maximum value of $skip is %d.", v, spec.maxSkip))
			return nil, "", 0, false
		}
		offset = v
	}
	if s, has := queryGet(q, "$skiptoken"); has {
		v, err := decodeSkip(s)
		if err != nil {
			c.graphError(http.StatusBadRequest, "BadRequest", "Invalid $skiptoken.")
			return nil, "", 0, false
		}
		offset = v
	}
	var idx []int
	for i := range n {
		if filter == nil || filter.eval(get(i)) {
			idx = append(idx, i)
		}
	}
	slices.SortFunc(idx, func(a, b int) int {
		if less, decided := lessBy(order, get(a), get(b), spec.schema.fields); decided {
			if less {
				return -1
			}
			return 1
		}
		ida, _ := get(a)("id").(string)
		idb, _ := get(b)("id").(string)
		return strings.Compare(ida, idb)
	})
	if offset < len(idx) {
		page = idx[offset:min(len(idx), offset+top)]
	}
	if offset+top < len(idx) && top > 0 {
		next = c.linkWith("$skip", strconv.Itoa(offset+top))
	}
	return page, next, len(idx), true
}

// graphCollection writes a Graph collection response.
func (c *call) graphCollection(version, context string, value []map[string]any, next string, count int) {
	out := map[string]any{"@odata.context": c.baseURL() + "/" + version + "/$metadata#" + context, "value": value}
	if v, _ := queryGet(c.r.URL.Query(), "$count"); strings.EqualFold(v, "true") {
		out["@odata.count"] = count
	}
	if next != "" {
		out["@odata.nextLink"] = next
	}
	c.jsonType(http.StatusOK, out, graphContentType)
}

// readPatch reads a JSON object body for PATCH/POST.
func (c *call) readGraphObject() (map[string]json.RawMessage, bool) {
	if ct := c.r.Header.Get("Content-Type"); ct != "" && !strings.Contains(strings.ToLower(ct), "json") {
		c.graphError(http.StatusUnsupportedMediaType, "UnsupportedMediaType", "Content-Type '"+ct+"' is not supported; use application/json.")
		return nil, false
	}
	body, err := c.readBody(1 << 20)
	if err != nil {
		c.graphError(http.StatusRequestEntityTooLarge, "RequestEntityTooLarge", "The request body is too large.")
		return nil, false
	}
	var m map[string]json.RawMessage
	if err := json.Unmarshal(body, &m); err != nil || m == nil {
		c.graphError(http.StatusBadRequest, "BadRequest", "Unable to read JSON request payload. Please ensure Content-Type header is set and payload is of valid JSON format.")
		return nil, false
	}
	delete(m, "@odata.type")
	return m, true
}

// enumProp decodes a string property and checks it against allowed.
func (c *call) enumProp(m map[string]json.RawMessage, name string, allowed []string, set func(string)) bool {
	raw, ok := m[name]
	if !ok {
		return true
	}
	var v string
	if err := json.Unmarshal(raw, &v); err != nil {
		c.graphError(http.StatusBadRequest, "BadRequest", "Cannot convert the literal '"+string(raw)+"' to the expected type for property '"+name+"'.")
		return false
	}
	cv, found := canonical(v, allowed)
	if !found {
		c.graphError(http.StatusBadRequest, "BadRequest", "Requested value '"+v+"' was not found for property '"+name+"'. Allowed values: "+strings.Join(allowed, ", ")+".")
		return false
	}
	set(cv)
	return true
}

// stringProp decodes a nullable string property.
func (c *call) stringProp(m map[string]json.RawMessage, name string, set func(string)) bool {
	raw, ok := m[name]
	if !ok {
		return true
	}
	var v *string
	if err := json.Unmarshal(raw, &v); err != nil {
		c.graphError(http.StatusBadRequest, "BadRequest", "Cannot convert the literal '"+string(raw)+"' to the expected type 'Edm.String' for property '"+name+"'.")
		return false
	}
	set(deref(v))
	return true
}

// onlyProps refuses properties outside allowed, as OData does for
// properties that do not exist or cannot be updated.
func (c *call) onlyProps(m map[string]json.RawMessage, entity string, allowed ...string) bool {
	for k := range m {
		if !slices.Contains(allowed, k) {
			c.graphError(http.StatusBadRequest, "BadRequest", "The property '"+k+"' does not exist on type '"+entity+"' or is not updatable. Updatable properties: "+strings.Join(allowed, ", ")+".")
			return false
		}
	}
	return true
}

// commentText reads {"comment": "..."}.
func (c *call) commentText() (string, bool) {
	m, ok := c.readGraphObject()
	if !ok {
		return "", false
	}
	var text string
	if raw, has := m["comment"]; has {
		_ = json.Unmarshal(raw, &text)
	}
	if strings.TrimSpace(text) == "" {
		c.graphError(http.StatusBadRequest, "BadRequest", "The comment property is required.")
		return "", false
	}
	return text, true
}

// authorName is how an app appears as a comment author.
func authorName(p principal) string {
	if p.app != nil {
		return p.app.DisplayName
	}
	return p.claims.AppID
}
