package azureemu

import (
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"
)

// Sentinel incident enumerations (Incidents.json, 2025-09-01).
var (
	incidentSeverities = []string{"High", "Medium", "Low", "Informational"}
	incidentStatuses   = []string{"New", "Active", "Closed"}
	classifications    = []string{"Undetermined", "TruePositive", "BenignPositive", "FalsePositive"}
	classReasons       = []string{"SuspiciousActivity", "SuspiciousButExpected", "IncorrectAlertLogic", "InaccurateData"}
	ownerTypes         = []string{"Unknown", "User", "Group"}
)

// reasonsFor lists the classification reasons Sentinel accepts with each
// classification (the portal offers the same pairs).
var reasonsFor = map[string][]string{
	"TruePositive":   {"SuspiciousActivity"},
	"BenignPositive": {"SuspiciousButExpected"},
	"FalsePositive":  {"IncorrectAlertLogic", "InaccurateData"},
	"Undetermined":   {},
}

// Keys of a Sentinel alert's additionalData (the SecurityAlert table's
// ExtendedProperties) that scheduled analytics rules fill in.
const (
	AlertPropQuery          = "Query"
	AlertPropQueryStartTime = "Query Start Time UTC"
	AlertPropQueryEndTime   = "Query End Time UTC"
	AlertPropQueryPeriod    = "Query Period"
	AlertPropRuleName       = "Analytic Rule Name"
	AlertPropRuleIDs        = "Analytic Rule Ids"
	AlertPropResultCount    = "Search Query Results Overall Count"
)

// Incident is a Microsoft Sentinel incident. Fields marked read-only are
// set by the emulator.
type Incident struct {
	Name                  string // ARM resource name (a GUID); generated if empty
	Title                 string
	Description           string
	Severity              string // High | Medium | Low | Informational
	Status                string // New | Active | Closed
	Classification        string // Undetermined | TruePositive | BenignPositive | FalsePositive
	ClassificationReason  string
	ClassificationComment string
	Owner                 Owner
	Labels                []Label
	FirstActivityTime     time.Time
	LastActivityTime      time.Time
	ProviderName          string // default "Azure Sentinel"
	ProviderIncidentID    string // default the incident number
	RelatedAnalyticRules  []string
	Tactics               []string
	Alerts                []Alert
	Entities              []Entity

	// Created and LastModified default to the clock; AddIncident honours
	// values given (to back-date incidents), UpdateIncident does not.
	Created      time.Time
	LastModified time.Time

	ID        string // read-only: ARM id
	Number    int    // read-only: per-workspace sequence
	ETag      string // read-only: with literal quotes, as Sentinel sends it
	URL       string // read-only: incidentUrl
	Workspace string // read-only: workspace name
}

// Owner is an incident's assignee.
type Owner struct {
	ObjectID          string
	Email             string
	AssignedTo        string
	UserPrincipalName string
	OwnerType         string // Unknown | User | Group
}

// Label is an incident tag.
type Label struct {
	Name string
	Type string // User (default) | AutoAssigned
}

// Alert is a Sentinel SecurityAlert entity linked to an incident.
type Alert struct {
	Name              string // systemAlertId; generated if empty
	DisplayName       string
	Description       string
	Severity          string // default the incident's
	Status            string // default New
	ProductName       string // default "Azure Sentinel"
	VendorName        string // default "Microsoft"
	AlertType         string
	ProviderAlertID   string
	ConfidenceLevel   string // default Unknown
	CompromisedEntity string
	AlertLink         string
	Tactics           []string
	StartTime         time.Time
	EndTime           time.Time
	TimeGenerated     time.Time // default now
	// ExtendedProperties is served as properties.additionalData and stored
	// (JSON-encoded) in the SecurityAlert table's ExtendedProperties;
	// see the AlertProp* keys.
	ExtendedProperties map[string]string
}

// Entity is a non-alert entity related to an incident (Account, Host, Ip…).
type Entity struct {
	Name       string // generated if empty
	Kind       string
	Properties map[string]any
}

// Comment is a Sentinel incident comment.
type Comment struct {
	Name         string
	Message      string
	Author       CommentAuthor
	Created      time.Time
	LastModified time.Time
	ETag         string
}

// CommentAuthor is who wrote a comment; for apps, their service principal.
type CommentAuthor struct {
	ObjectID          string
	Name              string
	Email             string
	UserPrincipalName string
}

type incidentRec struct {
	inc      Incident
	ws       *Workspace
	comments []Comment
}

func (r *incidentRec) id() string {
	return r.ws.ResourceID() + "/providers/Microsoft.SecurityInsights/incidents/" + r.inc.Name
}

func newETag() string { return `"` + uuid.NewString() + `"` }

// canonical returns the allowed value equal to v ignoring case.
func canonical(v string, allowed []string) (string, bool) {
	for _, a := range allowed {
		if strings.EqualFold(a, v) {
			return a, true
		}
	}
	return "", false
}

func cloneIncident(in Incident) Incident {
	in.Labels = slices.Clone(in.Labels)
	in.RelatedAnalyticRules = slices.Clone(in.RelatedAnalyticRules)
	in.Tactics = slices.Clone(in.Tactics)
	in.Alerts = slices.Clone(in.Alerts)
	for i := range in.Alerts {
		in.Alerts[i].Tactics = slices.Clone(in.Alerts[i].Tactics)
		in.Alerts[i].ExtendedProperties = maps.Clone(in.Alerts[i].ExtendedProperties)
	}
	in.Entities = slices.Clone(in.Entities)
	for i := range in.Entities {
		in.Entities[i].Properties = maps.Clone(in.Entities[i].Properties)
	}
	return in
}

// AddIncident creates an incident in a workspace (by name or WorkspaceID),
// as an analytics rule would: it gets the next incident number, timestamps
// and an etag, and its alerts land in the workspace's SecurityAlert table.
func (e *Emulator) AddIncident(workspace string, inc Incident) (Incident, error) {
	if inc.Title == "" {
		return Incident{}, fmt.Errorf("azureemu: incident needs a Title")
	}
	if inc.Severity == "" {
		inc.Severity = "Medium"
	}
	if inc.Status == "" {
		inc.Status = "New"
	}
	if err := validateIncidentEnums(&inc); err != nil {
		return Incident{}, fmt.Errorf("azureemu: %w", err)
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	ws, err := e.st.workspaceRef(workspace)
	if err != nil {
		return Incident{}, err
	}
	if inc.Name == "" {
		inc.Name = uuid.NewString()
	}
	if e.st.incidents[strings.ToLower(inc.Name)] != nil {
		return Incident{}, fmt.Errorf("azureemu: incident %s already exists", inc.Name)
	}
	inc = cloneIncident(inc)
	now := e.now()
	if inc.Created.IsZero() {
		inc.Created = now
	}
	if inc.LastModified.IsZero() {
		inc.LastModified = inc.Created
	}
	for i := range inc.Alerts {
		a := &inc.Alerts[i]
		if a.Name == "" {
			a.Name = uuid.NewString()
		}
		if a.Severity == "" {
			a.Severity = inc.Severity
		}
		if a.Status == "" {
			a.Status = "New"
		}
		if a.ProductName == "" {
			a.ProductName = "Azure Sentinel"
		}
		if a.VendorName == "" {
			a.VendorName = "Microsoft"
		}
		if a.ConfidenceLevel == "" {
			a.ConfidenceLevel = "Unknown"
		}
		if a.TimeGenerated.IsZero() {
			a.TimeGenerated = inc.Created
		}
	}
	for i := range inc.Entities {
		if inc.Entities[i].Name == "" {
			inc.Entities[i].Name = uuid.NewString()
		}
	}
	rec := &incidentRec{inc: inc, ws: ws}
	e.st.createIncident(rec)
	for _, a := range rec.inc.Alerts {
		e.st.data(ws).table("SecurityAlert").add(securityAlertRow(ws, a))
	}
	e.st.data(ws).table("SecurityIncident").add(securityIncidentRow(rec, "Sentinel"))
	return cloneIncident(rec.inc), nil
}

// createIncident fills the read-only fields and stores rec. Caller holds
// e.mu.
func (s *state) createIncident(rec *incidentRec) {
	s.incNumbers[rec.ws]++
	rec.inc.Number = s.incNumbers[rec.ws]
	rec.inc.Workspace = rec.ws.Name
	rec.inc.ID = rec.id()
	rec.inc.ETag = newETag()
	rec.inc.URL = "https://portal.azure.com/#asset/Microsoft_Azure_Security_Insights/Incident" + rec.inc.ID
	if rec.inc.ProviderName == "" {
		rec.inc.ProviderName = "Azure Sentinel"
	}
	if rec.inc.ProviderIncidentID == "" {
		rec.inc.ProviderIncidentID = strconv.Itoa(rec.inc.Number)
	}
	if rec.inc.Owner.OwnerType == "" {
		rec.inc.Owner.OwnerType = "Unknown"
	}
	s.incidents[strings.ToLower(rec.inc.Name)] = rec
}

// UpdateIncident changes an incident as a Sentinel analyst or automation
// would: fn edits a copy, then lastModifiedTimeUtc and the etag move on.
// Name, ID, Number and Created cannot change.
func (e *Emulator) UpdateIncident(name string, fn func(*Incident)) (Incident, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	rec := e.st.incidents[strings.ToLower(name)]
	if rec == nil {
		return Incident{}, fmt.Errorf("azureemu: no incident %s", name)
	}
	inc := cloneIncident(rec.inc)
	fn(&inc)
	if err := validateIncidentEnums(&inc); err != nil {
		return Incident{}, fmt.Errorf("azureemu: %w", err)
	}
	old := rec.inc
	inc.Name, inc.ID, inc.Number, inc.Created, inc.Workspace, inc.URL = old.Name, old.ID, old.Number, old.Created, old.Workspace, old.URL
	inc.LastModified = e.now()
	inc.ETag = newETag()
	for i := range inc.Alerts {
		if inc.Alerts[i].Name == "" {
			inc.Alerts[i].Name = uuid.NewString()
		}
	}
	rec.inc = inc
	e.st.data(rec.ws).table("SecurityIncident").add(securityIncidentRow(rec, "Sentinel"))
	return cloneIncident(inc), nil
}

// Incident returns an incident by name, as stored now.
func (e *Emulator) Incident(name string) (Incident, bool) {
	e.mu.Lock()
	defer e.mu.Unlock()
	rec := e.st.incidents[strings.ToLower(name)]
	if rec == nil {
		return Incident{}, false
	}
	return cloneIncident(rec.inc), true
}

// Incidents returns every incident, oldest first.
func (e *Emulator) Incidents() []Incident {
	e.mu.Lock()
	defer e.mu.Unlock()
	out := make([]Incident, 0, len(e.st.incidents))
	for _, r := range e.st.incidents {
		out = append(out, cloneIncident(r.inc))
	}
	slices.SortFunc(out, func(a, b Incident) int {
		if c := a.Created.Compare(b.Created); c != 0 {
			return c
		}
		return strings.Compare(a.Name, b.Name)
	})
	return out
}

// Comments returns an incident's comments, oldest first.
func (e *Emulator) Comments(incidentName string) []Comment {
	e.mu.Lock()
	defer e.mu.Unlock()
	rec := e.st.incidents[strings.ToLower(incidentName)]
	if rec == nil {
		return nil
	}
	return slices.Clone(rec.comments)
}

func validateIncidentEnums(inc *Incident) error {
	var ok bool
	if inc.Severity, ok = canonical(inc.Severity, incidentSeverities); !ok {
		return fmt.Errorf("invalid incident severity")
	}
	if inc.Status, ok = canonical(inc.Status, incidentStatuses); !ok {
		return fmt.Errorf("invalid incident status")
	}
	if inc.Classification != "" {
		if inc.Classification, ok = canonical(inc.Classification, classifications); !ok {
			return fmt.Errorf("invalid incident classification")
		}
	}
	return nil
}
