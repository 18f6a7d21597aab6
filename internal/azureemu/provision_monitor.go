package azureemu

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"maps"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/google/uuid"
)

// insightsAPIVersions are the Microsoft.Insights api-versions accepted for
// data collection rules and endpoints.
var insightsAPIVersions = []string{"2024-03-11", "2023-03-11", "2022-06-01", "2021-09-01-preview", "2021-04-01"}

// tableMeta is what the Tables API keeps besides a table's columns.
type tableMeta struct {
	retention, total int
	plan             string
}

// dceRec is a data collection endpoint.
type dceRec struct {
	id, name, location, immutableID, access string
	description                             *string
	tags                                    map[string]string
	endpoint                                string
	created                                 time.Time
}

// provDCR is a data collection rule created over ARM.
type provDCR struct {
	id, name, location, kind, immutableID string
	props                                 dcrProps
	tags                                  map[string]string
	endpoint                              string // logs ingestion endpoint, for kind Direct
	ws                                    *Workspace
	streams                               map[string]string // stream → table
	created                               time.Time
}

// dcrProps is the part of a DCR body the emulator checks and echoes.
type dcrProps struct {
	Description              *string                      `json:"description,omitempty"`
	DataCollectionEndpointID string                       `json:"dataCollectionEndpointId,omitempty"`
	StreamDeclarations       map[string]streamDeclaration `json:"streamDeclarations"`
	Destinations             dcrDestinations              `json:"destinations"`
	DataFlows                []dataFlow                   `json:"dataFlows"`
}

type streamDeclaration struct {
	Columns []tableColumn `json:"columns"`
}

type dcrDestinations struct {
	LogAnalytics []laDestination `json:"logAnalytics,omitempty"`
}

type laDestination struct {
	WorkspaceResourceID string `json:"workspaceResourceId"`
	WorkspaceID         string `json:"workspaceId,omitempty"`
	Name                string `json:"name"`
}

type dataFlow struct {
	Streams      []string `json:"streams"`
	Destinations []string `json:"destinations"`
	TransformKql string   `json:"transformKql,omitempty"`
	OutputStream string   `json:"outputStream,omitempty"`
}

type tableColumn struct {
	Name        string `json:"name"`
	Type        string `json:"type"`
	Description string `json:"description,omitempty"`
}

// DataCollectionRule is a DCR created over ARM, as listed by
// DataCollectionRules.
type DataCollectionRule struct {
	ResourceID, Name, ImmutableID, Kind, Location string
	// Workspace is the destination workspace's resource id.
	Workspace string
	// Streams maps each input stream to its table.
	Streams map[string]string
	// LogsIngestionEndpoint is set for kind Direct (the emulator's URL).
	LogsIngestionEndpoint string
	// DataCollectionEndpointID is the DCE it sends through, if any.
	DataCollectionEndpointID string
}

// DataCollectionEndpoint is a DCE created over ARM.
type DataCollectionEndpoint struct {
	ResourceID, Name, ImmutableID, Location string
}

// SetAsyncTables makes the Tables API answer PUT and DELETE with 202 and
// an Azure-AsyncOperation header to poll (which reports Succeeded), as
// the real service does for schema changes that take a while; off, it
// answers 200 at once. Either way the change is made immediately.
func (e *Emulator) SetAsyncTables(on bool) {
	e.mu.Lock()
	e.st.prov.asyncTables = on
	e.mu.Unlock()
}

// DataCollectionRules lists the DCRs created over ARM, oldest first.
func (e *Emulator) DataCollectionRules() []DataCollectionRule {
	e.mu.Lock()
	defer e.mu.Unlock()
	var out []DataCollectionRule
	for _, d := range e.st.prov.sortedDCRs() {
		out = append(out, DataCollectionRule{ResourceID: d.id, Name: d.name, ImmutableID: d.immutableID, Kind: d.kind,
			Location: d.location, Workspace: d.ws.ResourceID(), Streams: maps.Clone(d.streams),
			LogsIngestionEndpoint: d.endpoint, DataCollectionEndpointID: d.props.DataCollectionEndpointID})
	}
	return out
}

// DataCollectionEndpoints lists the DCEs created over ARM, oldest first.
func (e *Emulator) DataCollectionEndpoints() []DataCollectionEndpoint {
	e.mu.Lock()
	defer e.mu.Unlock()
	var out []DataCollectionEndpoint
	all := slices.Collect(maps.Values(e.st.prov.dces))
	slices.SortFunc(all, func(a, b *dceRec) int { return a.created.Compare(b.created) })
	for _, d := range all {
		out = append(out, DataCollectionEndpoint{ResourceID: d.id, Name: d.name, ImmutableID: d.immutableID, Location: d.location})
	}
	return out
}

// TableColumns returns a workspace table's columns (as created over the
// Tables API or grown by ingestion); nil when there is no such table.
func (e *Emulator) TableColumns(workspace, tableName string) ([]Column, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	ws, err := e.st.workspaceRef(workspace)
	if err != nil {
		return nil, err
	}
	t := e.st.data(ws).lookup(tableName)
	if t == nil {
		return nil, nil
	}
	return slices.Clone(t.cols), nil
}

func (ps *provState) sortedDCRs() []*provDCR {
	out := slices.Collect(maps.Values(ps.dcrs))
	slices.SortFunc(out, func(a, b *provDCR) int { return a.created.Compare(b.created) })
	return out
}

func (ps *provState) dcrByImmutable(id string) *provDCR {
	for _, d := range ps.dcrs {
		if strings.EqualFold(d.immutableID, id) {
			return d
		}
	}
	return nil
}

// Table column rules (reference §4.1).
var (
	columnNameRE   = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9_]{1,44}$`)
	customTableRE  = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9_]{0,59}_CL$`)
	reservedColumn = []string{"id", "BilledSize", "IsBillable", "InvalidTimeGenerated", "TenantId", "Title", "Type",
		"UniqueId", "_ItemId", "_ResourceGroup", "_ResourceId", "_SubscriptionId", "_TimeReceived"}
	// columnTypes maps the Tables API's column types to the KQL types
	// the query side uses.
	columnTypes = map[string]string{"string": "string", "int": "int", "long": "long", "real": "real",
		"boolean": "bool", "datetime": "datetime", "guid": "guid", "dynamic": "dynamic"}
	dcrNameRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_.-]{1,62}[A-Za-z0-9_]$`)
	dceNameRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9-]{1,42}[A-Za-z0-9]$`)
)

// apiColumnType is how the Tables API names a KQL column type.
func apiColumnType(kql string) string {
	switch kql {
	case "bool":
		return "boolean"
	case "datetime":
		return "dateTime"
	}
	return kql
}

// checkColumns validates a list of column definitions; "" when valid.
func checkColumns(cols []tableColumn, what string) string {
	if len(cols) == 0 {
		return what + " must have at least one column."
	}
	seen := map[string]bool{}
	for _, col := range cols {
		if !columnNameRE.MatchString(col.Name) {
			return fmt.Sprintf("Column name '%s' is invalid: it must start with a letter, contain only letters, digits and '_', and be 2 to 45 characters long.", col.Name)
		}
		if slices.ContainsFunc(reservedColumn, func(r string) bool { return strings.EqualFold(r, col.Name) }) {
			return fmt.Sprintf("Column name '%s' is reserved.", col.Name)
		}
		if seen[strings.ToLower(col.Name)] {
			return fmt.Sprintf("Column name '%s' appears more than once.", col.Name)
		}
		seen[strings.ToLower(col.Name)] = true
		if _, ok := columnTypes[strings.ToLower(col.Type)]; !ok {
			return fmt.Sprintf("Column '%s' has an invalid type '%s'. Allowed types: string, int, long, real, boolean, dateTime, guid, dynamic.", col.Name, col.Type)
		}
	}
	return ""
}

// serveTables is .../workspaces/{ws}/tables[/{name}].
func (e *Emulator) serveTables(c *call, p principal, segs []string) {
	if !c.armVersion(workspaceAPIVersions) {
		return
	}
	ap := armPath{sub: segs[1], rg: segs[3], ws: segs[7]}
	switch {
	case len(segs) == 9 && c.r.Method == http.MethodGet:
		e.listTables(c, p, ap)
	case len(segs) == 10 && c.r.Method == http.MethodPut:
		e.putTable(c, p, ap, segs[9])
	case len(segs) == 10 && c.r.Method == http.MethodGet:
		e.getTable(c, p, ap, segs[9])
	case len(segs) == 10 && c.r.Method == http.MethodDelete:
		e.deleteTable(c, p, ap, segs[9])
	case len(segs) <= 10:
		c.methodNotAllowed()
	default:
		c.cloudError(http.StatusNotFound, "InvalidResourceType", "The resource type '"+strings.Join(segs[8:], "/")+"' could not be found in the emulator.")
	}
}

func tableID(ws *Workspace, name string) string { return ws.ResourceID() + "/tables/" + name }

func (e *Emulator) tableJSON(ws *Workspace, t *table) map[string]any {
	meta := e.st.prov.tables[strings.ToLower(tableID(ws, t.name))]
	if meta == nil {
		meta = &tableMeta{retention: 90, total: 90, plan: "Analytics"}
	}
	cols := []any{}
	for _, col := range t.cols {
		cols = append(cols, map[string]any{"name": col.Name, "type": apiColumnType(col.Type), "isDefaultDisplay": false, "isHidden": false})
	}
	subType := "Any"
	if strings.HasSuffix(t.name, "_CL") {
		subType = "DataCollectionRuleBased"
	}
	return map[string]any{
		"id": tableID(ws, t.name), "name": t.name, "type": "Microsoft.OperationalInsights/workspaces/tables",
		"properties": map[string]any{
			"retentionInDays": meta.retention, "totalRetentionInDays": meta.total, "archiveRetentionInDays": meta.total - meta.retention,
			"retentionInDaysAsDefault": false, "totalRetentionInDaysAsDefault": false, "plan": meta.plan, "provisioningState": "Succeeded",
			"schema": map[string]any{
				"name": t.name, "tableType": "CustomLog", "tableSubType": subType, "columns": cols,
				"standardColumns": []any{map[string]any{"name": "TenantId", "type": "guid"}},
				"solutions":       []string{"LogManagement"}, "source": "customer",
			},
		},
	}
}

// tableWorkspace runs the checks common to the Tables API. Caller holds
// e.mu.
func (c *call) tableWorkspace(p principal, ap armPath, action, resource string) *Workspace {
	if !c.armCan(p, action, resource) {
		return nil
	}
	w := c.armWorkspace(ap)
	if w == nil || !c.tenantMatches(p, w) {
		return nil
	}
	return w
}

func (e *Emulator) listTables(c *call, p principal, ap armPath) {
	e.mu.Lock()
	defer e.mu.Unlock()
	ws := c.tableWorkspace(p, ap, "Microsoft.OperationalInsights/workspaces/tables/read", ap.workspaceID()+"/tables")
	if ws == nil {
		return
	}
	d := e.st.data(ws)
	names := slices.Sorted(maps.Keys(d.tables))
	value := []any{}
	for _, n := range names {
		value = append(value, e.tableJSON(ws, d.tables[n]))
	}
	c.json(http.StatusOK, map[string]any{"value": value})
}

func (e *Emulator) getTable(c *call, p principal, ap armPath, name string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	ws := c.tableWorkspace(p, ap, "Microsoft.OperationalInsights/workspaces/tables/read", ap.workspaceID()+"/tables/"+name)
	if ws == nil {
		return
	}
	t := e.st.data(ws).lookup(name)
	if t == nil {
		c.cloudError(http.StatusNotFound, "ResourceNotFound", "The table '"+name+"' was not found in workspace '"+ws.Name+"'.")
		return
	}
	c.json(http.StatusOK, e.tableJSON(ws, t))
}

// tableBody is the PUT body of a table.
type tableBody struct {
	Properties *struct {
		Schema *struct {
			Name    string        `json:"name"`
			Columns []tableColumn `json:"columns"`
		} `json:"schema"`
		RetentionInDays      *int   `json:"retentionInDays"`
		TotalRetentionInDays *int   `json:"totalRetentionInDays"`
		Plan                 string `json:"plan"`
	} `json:"properties"`
}

// putTable creates or updates a custom table: a _CL name, a TimeGenerated
// datetime column, valid column names and types; columns may be added
// later but not change type.
func (e *Emulator) putTable(c *call, p principal, ap armPath, name string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	ws := c.tableWorkspace(p, ap, "Microsoft.OperationalInsights/workspaces/tables/write", ap.workspaceID()+"/tables/"+name)
	if ws == nil {
		return
	}
	var body tableBody
	if !c.readARMObject(&body) {
		return
	}
	bad := func(msg string) { c.cloudError(http.StatusBadRequest, "InvalidParameter", msg) }
	if !customTableRE.MatchString(name) {
		bad("Table name '" + name + "' is invalid: custom table names must start with a letter, contain only letters, digits and '_', and end with '_CL'.")
		return
	}
	if body.Properties == nil {
		bad("The 'properties' object is required.")
		return
	}
	d := e.st.data(ws)
	existing := d.lookup(name)
	props := body.Properties
	if props.Schema == nil && existing == nil {
		bad("A schema with columns is required to create table '" + name + "'.")
		return
	}
	if props.Schema != nil {
		if props.Schema.Name != "" && props.Schema.Name != name {
			bad("Schema name '" + props.Schema.Name + "' does not match table name '" + name + "'.")
			return
		}
		if msg := checkColumns(props.Schema.Columns, "Table '"+name+"'"); msg != "" {
			bad(msg)
			return
		}
		i := slices.IndexFunc(props.Schema.Columns, func(col tableColumn) bool { return col.Name == "TimeGenerated" })
		if i < 0 || !strings.EqualFold(props.Schema.Columns[i].Type, "datetime") {
			bad("Table '" + name + "' must have a 'TimeGenerated' column of type 'dateTime'.")
			return
		}
		if existing != nil {
			for _, col := range props.Schema.Columns {
				if j, ok := existing.idx[col.Name]; ok && existing.cols[j].Type != columnTypes[strings.ToLower(col.Type)] {
					bad(fmt.Sprintf("The type of column '%s' cannot be changed from '%s' to '%s'.", col.Name, apiColumnType(existing.cols[j].Type), col.Type))
					return
				}
			}
		}
	}
	meta := e.st.prov.tables[strings.ToLower(tableID(ws, name))]
	if meta == nil {
		meta = &tableMeta{retention: 30, total: 30, plan: "Analytics"}
	}
	if r := props.RetentionInDays; r != nil {
		if *r != -1 && (*r < 4 || *r > 730) {
			bad(fmt.Sprintf("retentionInDays must be between 4 and 730 (or -1 for the workspace default); got %d.", *r))
			return
		}
		if *r > 0 {
			meta.retention = *r
		}
	}
	meta.total = max(meta.total, meta.retention)
	if r := props.TotalRetentionInDays; r != nil && *r > 0 {
		meta.total = max(*r, meta.retention)
	}
	if props.Plan != "" {
		plan, ok := canonical(props.Plan, []string{"Analytics", "Basic", "Auxiliary"})
		if !ok {
			bad("Plan '" + props.Plan + "' is invalid. Allowed values: Analytics, Basic, Auxiliary.")
			return
		}
		meta.plan = plan
	}
	t := d.table(name)
	if props.Schema != nil {
		for _, col := range props.Schema.Columns {
			if _, ok := t.idx[col.Name]; !ok {
				t.idx[col.Name] = len(t.cols)
				t.cols = append(t.cols, Column{Name: col.Name, Type: columnTypes[strings.ToLower(col.Type)]})
			}
		}
	}
	ps := &e.st.prov
	if ps.tables == nil {
		ps.tables = map[string]*tableMeta{}
	}
	ps.tables[strings.ToLower(tableID(ws, name))] = meta
	if ps.asyncTables {
		c.asyncAccepted(ws)
		return
	}
	c.json(http.StatusOK, e.tableJSON(ws, t))
}

// deleteTable drops a table and its rows.
func (e *Emulator) deleteTable(c *call, p principal, ap armPath, name string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	ws := c.tableWorkspace(p, ap, "Microsoft.OperationalInsights/workspaces/tables/delete", ap.workspaceID()+"/tables/"+name)
	if ws == nil {
		return
	}
	d := e.st.data(ws)
	if d.lookup(name) == nil {
		c.empty(http.StatusNoContent)
		return
	}
	delete(d.tables, strings.ToLower(name))
	delete(e.st.prov.tables, strings.ToLower(tableID(ws, name)))
	if e.st.prov.asyncTables {
		c.asyncAccepted(ws)
		return
	}
	c.empty(http.StatusOK)
}

// asyncAccepted answers 202 with the operation to poll. Caller holds
// e.mu.
func (c *call) asyncAccepted(ws *Workspace) {
	ps := &c.e.st.prov
	if ps.asyncOps == nil {
		ps.asyncOps = map[string]time.Time{}
	}
	id := uuid.NewString()
	ps.asyncOps[id] = c.e.now()
	op := c.baseURL() + "/subscriptions/" + ws.SubscriptionID + "/providers/Microsoft.OperationalInsights/locations/" +
		strings.ReplaceAll(strings.ToLower(ws.Location), " ", "") + "/operationStatuses/" + id + "?api-version=" + c.r.URL.Query().Get("api-version")
	c.w.Header().Set("Azure-AsyncOperation", op)
	c.w.Header().Set("Location", op)
	c.w.Header().Set("Retry-After", "1")
	c.empty(http.StatusAccepted)
}

// operationStatus answers an Azure-AsyncOperation poll: every operation
// the emulator starts has already succeeded.
func (e *Emulator) operationStatus(c *call, p principal, sub, id string) {
	if c.r.Method != http.MethodGet {
		c.methodNotAllowed()
		return
	}
	if !c.armVersion(workspaceAPIVersions) {
		return
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	started, ok := e.st.prov.asyncOps[id]
	if !ok || !e.st.seesScope(p, "/subscriptions/"+sub) {
		c.cloudError(http.StatusNotFound, "OperationNotFound", "The operation '"+id+"' was not found.")
		return
	}
	c.json(http.StatusOK, map[string]any{"id": c.r.URL.Path, "name": id, "status": "Succeeded",
		"startTime": started.Format(armTimeLayout), "endTime": started.Format(armTimeLayout)})
}

// serveDataCollection is .../providers/Microsoft.Insights/
// dataCollectionEndpoints|dataCollectionRules[/{name}].
func (e *Emulator) serveDataCollection(c *call, p principal, segs []string) {
	if !c.armVersion(insightsAPIVersions) {
		return
	}
	rules := strings.EqualFold(segs[6], "dataCollectionRules")
	typ := "dataCollectionEndpoints"
	if rules {
		typ = "dataCollectionRules"
	}
	rg := "/subscriptions/" + segs[1] + "/resourceGroups/" + segs[3]
	if len(segs) > 8 {
		c.cloudError(http.StatusNotFound, "InvalidResourceType", "The resource type '"+strings.Join(segs[6:], "/")+"' could not be found in the emulator.")
		return
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	if !c.scopeExists(rg) {
		return
	}
	if len(segs) == 7 {
		if c.r.Method != http.MethodGet {
			c.methodNotAllowed()
			return
		}
		e.listDataCollection(c, p, rg, typ)
		return
	}
	id := rg + "/providers/Microsoft.Insights/" + typ + "/" + segs[7]
	action := "Microsoft.Insights/" + typ + "/"
	switch c.r.Method {
	case http.MethodPut:
		if !c.armCan(p, action+"write", id) {
			return
		}
		if rules {
			e.putDCR(c, id, segs[3], segs[7])
		} else {
			e.putDCE(c, id, segs[3], segs[7])
		}
	case http.MethodGet:
		if !c.armCan(p, action+"read", id) {
			return
		}
		if rules {
			if d := e.st.prov.dcrs[strings.ToLower(id)]; d != nil {
				c.json(http.StatusOK, dcrJSON(d))
				return
			}
		} else if d := e.st.prov.dces[strings.ToLower(id)]; d != nil {
			c.json(http.StatusOK, dceJSON(d))
			return
		}
		c.cloudError(http.StatusNotFound, "ResourceNotFound", "The Resource 'Microsoft.Insights/"+typ+"/"+segs[7]+"' under resource group '"+segs[3]+
			"' was not found. For more details please go to https://aka.ms/ARMResourceNotFoundFix")
	case http.MethodDelete:
		if !c.armCan(p, action+"delete", id) {
			return
		}
		e.deleteDataCollection(c, id, rules)
	default:
		c.methodNotAllowed()
	}
}

func (e *Emulator) listDataCollection(c *call, p principal, rg, typ string) {
	value := []any{}
	prefix := strings.ToLower(rg + "/")
	if typ == "dataCollectionRules" {
		for _, d := range e.st.prov.sortedDCRs() {
			if strings.HasPrefix(strings.ToLower(d.id), prefix) && e.st.can(p, "Microsoft.Insights/dataCollectionRules/read", d.id) {
				value = append(value, dcrJSON(d))
			}
		}
	} else {
		for _, d := range e.st.prov.dces {
			if strings.HasPrefix(strings.ToLower(d.id), prefix) && e.st.can(p, "Microsoft.Insights/dataCollectionEndpoints/read", d.id) {
				value = append(value, dceJSON(d))
			}
		}
	}
	c.json(http.StatusOK, map[string]any{"value": value})
}

func (e *Emulator) deleteDataCollection(c *call, id string, rules bool) {
	ps := &e.st.prov
	key := strings.ToLower(id)
	if rules {
		d := ps.dcrs[key]
		if d == nil {
			c.empty(http.StatusNoContent)
			return
		}
		delete(ps.dcrs, key)
		delete(e.st.dcrs, strings.ToLower(d.immutableID))
		c.empty(http.StatusOK)
		return
	}
	if ps.dces[key] == nil {
		c.empty(http.StatusNoContent)
		return
	}
	for _, r := range ps.dcrs {
		if strings.EqualFold(r.props.DataCollectionEndpointID, id) {
			c.cloudError(http.StatusConflict, "Conflict", "The data collection endpoint is used by data collection rule '"+r.id+"' and cannot be deleted.")
			return
		}
	}
	delete(ps.dces, key)
	c.empty(http.StatusOK)
}

// normLocation compares Azure regions the way ARM does ("West Europe" is
// westeurope).
func normLocation(l string) string { return strings.ReplaceAll(strings.ToLower(l), " ", "") }

func newImmutableID(prefix string) string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	return prefix + hex.EncodeToString(b)
}

// locationConflict answers ARM's error for re-creating a resource in
// another region.
func (c *call) locationConflict(name, old, rg, want string) {
	c.cloudError(http.StatusBadRequest, "InvalidResourceLocation", fmt.Sprintf(
		"The resource '%s' already exists in location '%s' in resource group '%s'. A resource with the same name cannot be created in location '%s'. Please select a new resource name.",
		name, old, rg, want))
}

type dceBody struct {
	Location   string            `json:"location"`
	Tags       map[string]string `json:"tags"`
	Properties struct {
		Description *string `json:"description"`
		NetworkAcls *struct {
			PublicNetworkAccess string `json:"publicNetworkAccess"`
		} `json:"networkAcls"`
	} `json:"properties"`
}

// putDCE creates or updates a data collection endpoint; its ingestion
// URL is the emulator's. Caller holds e.mu.
func (e *Emulator) putDCE(c *call, id, rg, name string) {
	var body dceBody
	if !c.readARMObject(&body) {
		return
	}
	if !dceNameRE.MatchString(name) {
		c.cloudError(http.StatusBadRequest, "InvalidResourceName", "The data collection endpoint name '"+name+"' is invalid: 3 to 44 letters, digits and hyphens, starting and ending with a letter or digit.")
		return
	}
	if body.Location == "" {
		c.cloudError(http.StatusBadRequest, "LocationRequired", "The location property is required for this definition.")
		return
	}
	access := "Enabled"
	if acl := body.Properties.NetworkAcls; acl != nil && acl.PublicNetworkAccess != "" {
		v, ok := canonical(acl.PublicNetworkAccess, []string{"Enabled", "Disabled", "SecuredByPerimeter"})
		if !ok {
			c.cloudError(http.StatusBadRequest, "InvalidPayload", "publicNetworkAccess '"+acl.PublicNetworkAccess+"' is invalid. Allowed values: Enabled, Disabled, SecuredByPerimeter.")
			return
		}
		access = v
	}
	ps := &e.st.prov
	if ps.dces == nil {
		ps.dces = map[string]*dceRec{}
	}
	key := strings.ToLower(id)
	status := http.StatusOK
	d := ps.dces[key]
	if d != nil && normLocation(d.location) != normLocation(body.Location) {
		c.locationConflict(name, d.location, rg, body.Location)
		return
	}
	if d == nil {
		d = &dceRec{id: id, name: name, location: body.Location, immutableID: newImmutableID("dce-"), endpoint: c.baseURL(), created: e.now()}
		ps.dces[key] = d
		status = http.StatusCreated
	}
	d.access, d.description, d.tags = access, body.Properties.Description, body.Tags
	c.json(status, dceJSON(d))
}

func dceJSON(d *dceRec) map[string]any {
	tags := d.tags
	if tags == nil {
		tags = map[string]string{}
	}
	return map[string]any{
		"id": d.id, "name": d.name, "type": "Microsoft.Insights/dataCollectionEndpoints", "location": d.location, "tags": tags,
		"etag": `"` + d.immutableID[4:12] + `-0000-0d00-0000-000000000000"`,
		"properties": map[string]any{
			"description": d.description, "immutableId": d.immutableID,
			"configurationAccess": map[string]any{"endpoint": d.endpoint},
			"logsIngestion":       map[string]any{"endpoint": d.endpoint},
			"metricsIngestion":    map[string]any{"endpoint": d.endpoint},
			"networkAcls":         map[string]any{"publicNetworkAccess": d.access},
			"provisioningState":   "Succeeded",
		},
	}
}

type dcrBody struct {
	Location   string            `json:"location"`
	Kind       *string           `json:"kind"`
	Tags       map[string]string `json:"tags"`
	Properties *dcrProps         `json:"properties"`
	// The Logs Ingestion docs put dataCollectionEndpointId next to kind;
	// the REST schema has it under properties. Both are accepted.
	DataCollectionEndpointID string `json:"dataCollectionEndpointId"`
}

// dcrKinds are the DCR kinds ARM accepts (matched exactly, apart from
// case: " Direct" with a space, seen in a spec example, is refused).
var dcrKinds = []string{"Direct", "Linux", "Windows", "AgentDirectToStore", "WorkspaceTransforms", "AgentSettings", "PlatformTelemetry"}

// dcrIssue is one entry of an InvalidPayload error's details.
type dcrIssue struct {
	Code    string `json:"code"`
	Message string `json:"message"`
	Target  string `json:"target,omitempty"`
}

// putDCR creates or updates a data collection rule and makes it usable
// by the Logs Ingestion endpoint. It checks what Azure checks: streams,
// destinations and data flows reference each other, the destination is an
// existing workspace in the rule's region, each output table exists, a
// named DCE exists, and an existing rule does not gain endpoints (kind
// Direct) or move. Caller holds e.mu.
func (e *Emulator) putDCR(c *call, id, rg, name string) {
	var body dcrBody
	if !c.readARMObject(&body) {
		return
	}
	if !dcrNameRE.MatchString(name) {
		c.cloudError(http.StatusBadRequest, "InvalidResourceName", "The data collection rule name '"+name+"' is invalid.")
		return
	}
	if body.Location == "" {
		c.cloudError(http.StatusBadRequest, "LocationRequired", "The location property is required for this definition.")
		return
	}
	kind := ""
	if body.Kind != nil {
		k, ok := canonical(*body.Kind, dcrKinds)
		if !ok {
			c.cloudError(http.StatusBadRequest, "InvalidPayload", "Data collection rule kind '"+*body.Kind+"' is invalid. Allowed values: "+strings.Join(dcrKinds, ", ")+".")
			return
		}
		kind = k
	}
	if body.Properties == nil {
		c.cloudError(http.StatusBadRequest, "InvalidPayload", "Data collection rule is invalid: the 'properties' object is required.")
		return
	}
	props := *body.Properties
	if props.DataCollectionEndpointID == "" {
		props.DataCollectionEndpointID = body.DataCollectionEndpointID
	}
	ws, streams, issues := e.checkDCR(body.Location, props)
	if len(issues) > 0 {
		c.json(http.StatusBadRequest, map[string]any{"error": map[string]any{
			"code": "InvalidPayload", "message": "Data collection rule is invalid", "details": issues}})
		return
	}
	ps := &e.st.prov
	if ps.dcrs == nil {
		ps.dcrs = map[string]*provDCR{}
	}
	key := strings.ToLower(id)
	d := ps.dcrs[key]
	status := http.StatusOK
	if d != nil {
		if normLocation(d.location) != normLocation(body.Location) {
			c.locationConflict(name, d.location, rg, body.Location)
			return
		}
		if kind == "Direct" && d.endpoint == "" {
			c.cloudError(http.StatusBadRequest, "InvalidPayload", "Endpoints can't be added to an existing data collection rule; create a new rule with kind 'Direct' to replace it.")
			return
		}
	} else {
		d = &provDCR{id: id, name: name, location: body.Location, immutableID: newImmutableID("dcr-"), created: e.now()}
		if kind == "Direct" {
			d.endpoint = c.baseURL()
		}
		ps.dcrs[key] = d
		status = http.StatusCreated
	}
	if kind != "" || d.kind == "" {
		d.kind = kind
	}
	d.props, d.tags, d.ws, d.streams = props, body.Tags, ws, streams
	// The ingestion endpoint looks rules up by immutable id.
	e.st.dcrs[strings.ToLower(d.immutableID)] = &dcrRec{DCR: DCR{ImmutableID: d.immutableID, Workspace: ws.WorkspaceID, Streams: maps.Clone(streams)}, ws: ws}
	c.json(status, dcrJSON(d))
}

// checkDCR validates a DCR's properties, returning its destination
// workspace and stream → table map. Caller holds e.mu.
func (e *Emulator) checkDCR(location string, props dcrProps) (*Workspace, map[string]string, []dcrIssue) {
	var issues []dcrIssue
	add := func(code, target, format string, args ...any) {
		issues = append(issues, dcrIssue{Code: code, Message: fmt.Sprintf(format, args...), Target: target})
	}
	for _, s := range slices.Sorted(maps.Keys(props.StreamDeclarations)) {
		if !strings.HasPrefix(s, "Custom-") {
			add("InvalidStreamDeclaration", "properties.streamDeclarations", "Stream declaration '%s' is invalid: declared stream names must start with 'Custom-'.", s)
			continue
		}
		if msg := checkColumns(props.StreamDeclarations[s].Columns, "Stream '"+s+"'"); msg != "" {
			add("InvalidStreamDeclaration", "properties.streamDeclarations."+s, "%s", msg)
		}
	}
	dests := map[string]*Workspace{}
	if len(props.Destinations.LogAnalytics) == 0 {
		add("InvalidDestinations", "properties.destinations", "At least one destination is required.")
	}
	for i, d := range props.Destinations.LogAnalytics {
		target := fmt.Sprintf("properties.destinations.logAnalytics[%d]", i)
		if d.Name == "" || dests[strings.ToLower(d.Name)] != nil {
			add("InvalidDestinationName", target, "Destination name '%s' is empty or not unique.", d.Name)
			continue
		}
		var ws *Workspace
		for _, w := range e.st.workspaces {
			if strings.EqualFold(w.ResourceID(), strings.TrimRight(d.WorkspaceResourceID, "/")) {
				ws = w
			}
		}
		switch {
		case ws == nil:
			add("InvalidWorkspaceResourceId", target, "Workspace '%s' was not found.", d.WorkspaceResourceID)
			continue
		case normLocation(ws.Location) != normLocation(location):
			add("InvalidDestinationLocation", target, "The destination workspace is in '%s'; a data collection rule must be in the same region as its Log Analytics destinations ('%s' given).", ws.Location, location)
			continue
		}
		dests[strings.ToLower(d.Name)] = ws
	}
	if len(props.DataFlows) == 0 {
		add("InvalidDataFlows", "properties.dataFlows", "At least one data flow is required.")
	}
	streams := map[string]string{}
	var first *Workspace
	for i, f := range props.DataFlows {
		target := fmt.Sprintf("properties.dataFlows[%d]", i)
		if len(f.Streams) == 0 || len(f.Destinations) == 0 {
			add("InvalidDataFlow", target, "A data flow needs at least one stream and one destination.")
			continue
		}
		var flowWS []*Workspace
		for _, dn := range f.Destinations {
			ws, ok := dests[strings.ToLower(dn)]
			if !ok {
				add("InvalidDataFlowDestination", target, "Destination '%s' is not defined in properties.destinations.", dn)
				continue
			}
			flowWS = append(flowWS, ws)
		}
		for _, s := range f.Streams {
			_, declared := props.StreamDeclarations[s]
			if !declared && !strings.HasPrefix(s, "Microsoft-") {
				add("InvalidDataFlowStream", target, "Stream '%s' is not declared in properties.streamDeclarations.", s)
				continue
			}
			out := f.OutputStream
			if out == "" && strings.HasPrefix(s, "Microsoft-") {
				out = s
			}
			var tableName string
			switch {
			case strings.HasPrefix(out, "Custom-") && strings.HasSuffix(out, "_CL"):
				tableName = strings.TrimPrefix(out, "Custom-")
			case strings.HasPrefix(out, "Microsoft-"):
				tableName = strings.TrimPrefix(out, "Microsoft-")
			default:
				add("InvalidOutputStream", target, "Output stream '%s' is invalid: use 'Custom-<table>_CL' for a custom table or 'Microsoft-<table>'.", out)
				continue
			}
			for _, ws := range flowWS {
				if strings.HasPrefix(out, "Custom-") && e.st.data(ws).lookup(tableName) == nil {
					add("InvalidOutputTable", target, "Table for output stream '%s' is not available for destination workspace '%s'.", out, ws.Name)
					continue
				}
				streams[s] = tableName
				if first == nil {
					first = ws
				}
			}
		}
	}
	if id := props.DataCollectionEndpointID; id != "" {
		dce := e.st.prov.dces[strings.ToLower(strings.TrimRight(id, "/"))]
		switch {
		case dce == nil:
			add("InvalidDataCollectionEndpointId", "properties.dataCollectionEndpointId", "Data collection endpoint '%s' was not found.", id)
		case normLocation(dce.location) != normLocation(location):
			add("InvalidDataCollectionEndpointLocation", "properties.dataCollectionEndpointId", "The data collection endpoint is in '%s'; it must be in the rule's region '%s'.", dce.location, location)
		}
	}
	if len(issues) == 0 && first == nil {
		add("InvalidDataFlows", "properties.dataFlows", "No data flow reaches a Log Analytics destination.")
	}
	return first, streams, issues
}

func dcrJSON(d *provDCR) map[string]any {
	props := map[string]any{
		"immutableId": d.immutableID, "streamDeclarations": d.props.StreamDeclarations,
		"destinations": d.props.Destinations, "dataFlows": d.props.DataFlows, "provisioningState": "Succeeded",
	}
	if d.props.Description != nil {
		props["description"] = *d.props.Description
	}
	if d.props.DataCollectionEndpointID != "" {
		props["dataCollectionEndpointId"] = d.props.DataCollectionEndpointID
	}
	if d.endpoint != "" {
		props["endpoints"] = map[string]any{"logsIngestion": d.endpoint, "metricsIngestion": d.endpoint}
	}
	tags := d.tags
	if tags == nil {
		tags = map[string]string{}
	}
	out := map[string]any{
		"id": d.id, "name": d.name, "type": "Microsoft.Insights/dataCollectionRules", "location": d.location,
		"tags": tags, "etag": `"` + d.immutableID[4:12] + `-0000-0d00-0000-000000000000"`, "properties": props,
	}
	if d.kind != "" {
		out["kind"] = d.kind
	}
	return out
}
