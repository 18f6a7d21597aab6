package sentinel

import (
	"encoding/json"
	"time"
)

// GraphIncident is a Microsoft Graph security incident
// (/security/incidents), with its alerts when listed.
type GraphIncident struct {
	ID                 string         `json:"id"`
	TenantID           string         `json:"tenantId"`
	DisplayName        string         `json:"displayName"`
	Description        string         `json:"description"`
	Summary            string         `json:"summary"`
	Status             string         `json:"status"` // active, resolved, inProgress, redirected, awaitingAction, unknownFutureValue
	Severity           string         `json:"severity"`
	Classification     string         `json:"classification"`
	Determination      string         `json:"determination"`
	AssignedTo         string         `json:"assignedTo"`
	IncidentWebURL     string         `json:"incidentWebUrl"`
	RedirectIncidentID string         `json:"redirectIncidentId"`
	ResolvingComment   string         `json:"resolvingComment"`
	LastModifiedBy     string         `json:"lastModifiedBy"`
	CustomTags         []string       `json:"customTags"`
	SystemTags         []string       `json:"systemTags"`
	Comments           []AlertComment `json:"comments"`
	Alerts             []AlertV2      `json:"alerts"`
	CreatedDateTime    time.Time      `json:"createdDateTime"`
	LastUpdateDateTime time.Time      `json:"lastUpdateDateTime"`
}

func (g *GraphIncident) UnmarshalJSON(b []byte) error {
	type alias GraphIncident
	aux := struct {
		*alias
		CreatedDateTime    flexTime `json:"createdDateTime"`
		LastUpdateDateTime flexTime `json:"lastUpdateDateTime"`
	}{alias: (*alias)(g)}
	if err := json.Unmarshal(b, &aux); err != nil {
		return err
	}
	g.CreatedDateTime, g.LastUpdateDateTime = aux.CreatedDateTime.t, aux.LastUpdateDateTime.t
	return nil
}

// AlertV2 is a Microsoft Graph security alert (/security/alerts_v2).
// Evidence is kept raw: it is polymorphic by @odata.type.
type AlertV2 struct {
	ID                    string            `json:"id"`
	ProviderAlertID       string            `json:"providerAlertId"`
	IncidentID            string            `json:"incidentId"`
	TenantID              string            `json:"tenantId"`
	Title                 string            `json:"title"`
	Description           string            `json:"description"`
	RecommendedActions    string            `json:"recommendedActions"`
	Category              string            `json:"category"`
	Status                string            `json:"status"` // new, inProgress, resolved, unknownFutureValue
	Severity              string            `json:"severity"`
	Classification        string            `json:"classification"`
	Determination         string            `json:"determination"`
	ServiceSource         string            `json:"serviceSource"`
	DetectionSource       string            `json:"detectionSource"`
	DetectorID            string            `json:"detectorId"`
	ProductName           string            `json:"productName"`
	AssignedTo            string            `json:"assignedTo"`
	AlertWebURL           string            `json:"alertWebUrl"`
	IncidentWebURL        string            `json:"incidentWebUrl"`
	ActorDisplayName      string            `json:"actorDisplayName"`
	ThreatDisplayName     string            `json:"threatDisplayName"`
	ThreatFamilyName      string            `json:"threatFamilyName"`
	MitreTechniques       []string          `json:"mitreTechniques"`
	SystemTags            []string          `json:"systemTags"`
	Comments              []AlertComment    `json:"comments"`
	Evidence              []json.RawMessage `json:"evidence"`
	Raw                   json.RawMessage   `json:"-"` // the whole alert as sent
	CreatedDateTime       time.Time         `json:"createdDateTime"`
	LastUpdateDateTime    time.Time         `json:"lastUpdateDateTime"`
	ResolvedDateTime      time.Time         `json:"resolvedDateTime"`
	FirstActivityDateTime time.Time         `json:"firstActivityDateTime"`
	LastActivityDateTime  time.Time         `json:"lastActivityDateTime"`
}

func (a *AlertV2) UnmarshalJSON(b []byte) error {
	type alias AlertV2
	aux := struct {
		*alias
		CreatedDateTime       flexTime `json:"createdDateTime"`
		LastUpdateDateTime    flexTime `json:"lastUpdateDateTime"`
		ResolvedDateTime      flexTime `json:"resolvedDateTime"`
		FirstActivityDateTime flexTime `json:"firstActivityDateTime"`
		LastActivityDateTime  flexTime `json:"lastActivityDateTime"`
	}{alias: (*alias)(a)}
	if err := json.Unmarshal(b, &aux); err != nil {
		return err
	}
	a.CreatedDateTime, a.LastUpdateDateTime, a.ResolvedDateTime = aux.CreatedDateTime.t, aux.LastUpdateDateTime.t, aux.ResolvedDateTime.t
	a.FirstActivityDateTime, a.LastActivityDateTime = aux.FirstActivityDateTime.t, aux.LastActivityDateTime.t
	a.Raw = append(json.RawMessage(nil), b...)
	return nil
}

// AlertComment is a comment on a Graph alert or incident.
type AlertComment struct {
	Comment              string    `json:"comment"`
	CreatedByDisplayName string    `json:"createdByDisplayName"`
	CreatedDateTime      time.Time `json:"createdDateTime"`
}

func (a *AlertComment) UnmarshalJSON(b []byte) error {
	type alias AlertComment
	aux := struct {
		*alias
		CreatedDateTime flexTime `json:"createdDateTime"`
	}{alias: (*alias)(a)}
	if err := json.Unmarshal(b, &aux); err != nil {
		return err
	}
	a.CreatedDateTime = aux.CreatedDateTime.t
	return nil
}

// GraphIncidentPatch changes a Graph incident; nil fields are left alone.
type GraphIncidentPatch struct {
	Status         *string   `json:"status,omitempty"` // active, resolved, inProgress, redirected, awaitingAction
	AssignedTo     *string   `json:"assignedTo,omitempty"`
	Classification *string   `json:"classification,omitempty"`
	Determination  *string   `json:"determination,omitempty"`
	CustomTags     *[]string `json:"customTags,omitempty"`
}

// AlertV2Patch changes a Graph alert; nil fields are left alone.
type AlertV2Patch struct {
	Status         *string `json:"status,omitempty"` // new, inProgress, resolved
	AssignedTo     *string `json:"assignedTo,omitempty"`
	Classification *string `json:"classification,omitempty"`
	Determination  *string `json:"determination,omitempty"`
}

// LegacyAlert is a legacy Graph security alert (/security/alerts). The
// nested state collections are kept raw.
type LegacyAlert struct {
	ID                   string            `json:"id"`
	AzureTenantID        string            `json:"azureTenantId"`
	AzureSubscriptionID  string            `json:"azureSubscriptionId"`
	Title                string            `json:"title"`
	Description          string            `json:"description"`
	Category             string            `json:"category"`
	Severity             string            `json:"severity"` // unknown, informational, low, medium, high
	Status               string            `json:"status"`   // unknown, newAlert, inProgress, resolved
	Feedback             string            `json:"feedback"` // unknown, truePositive, falsePositive, benignPositive
	AssignedTo           string            `json:"assignedTo"`
	Confidence           int               `json:"confidence"`
	ActivityGroupName    string            `json:"activityGroupName"`
	Comments             []string          `json:"comments"`
	Tags                 []string          `json:"tags"`
	IncidentIDs          []string          `json:"incidentIds"`
	RecommendedActions   []string          `json:"recommendedActions"`
	SourceMaterials      []string          `json:"sourceMaterials"`
	VendorInformation    VendorInformation `json:"vendorInformation"`
	HostStates           []json.RawMessage `json:"hostStates"`
	UserStates           []json.RawMessage `json:"userStates"`
	FileStates           []json.RawMessage `json:"fileStates"`
	NetworkConnections   []json.RawMessage `json:"networkConnections"`
	Processes            []json.RawMessage `json:"processes"`
	Triggers             []json.RawMessage `json:"triggers"`
	Raw                  json.RawMessage   `json:"-"` // the whole alert as sent
	CreatedDateTime      time.Time         `json:"createdDateTime"`
	EventDateTime        time.Time         `json:"eventDateTime"`
	LastModifiedDateTime time.Time         `json:"lastModifiedDateTime"`
	ClosedDateTime       time.Time         `json:"closedDateTime"`
}

func (a *LegacyAlert) UnmarshalJSON(b []byte) error {
	type alias LegacyAlert
	aux := struct {
		*alias
		CreatedDateTime      flexTime `json:"createdDateTime"`
		EventDateTime        flexTime `json:"eventDateTime"`
		LastModifiedDateTime flexTime `json:"lastModifiedDateTime"`
		ClosedDateTime       flexTime `json:"closedDateTime"`
	}{alias: (*alias)(a)}
	if err := json.Unmarshal(b, &aux); err != nil {
		return err
	}
	a.CreatedDateTime, a.EventDateTime = aux.CreatedDateTime.t, aux.EventDateTime.t
	a.LastModifiedDateTime, a.ClosedDateTime = aux.LastModifiedDateTime.t, aux.ClosedDateTime.t
	a.Raw = append(json.RawMessage(nil), b...)
	return nil
}

// VendorInformation names the product behind a legacy alert. Graph
// requires provider and vendor on every update.
type VendorInformation struct {
	Provider        string `json:"provider"`
	ProviderVersion string `json:"providerVersion,omitempty"`
	SubProvider     string `json:"subProvider,omitempty"`
	Vendor          string `json:"vendor"`
}

// LegacyAlertPatch changes a legacy alert; nil fields are left alone.
type LegacyAlertPatch struct {
	Status         *string    `json:"status,omitempty"` // newAlert, inProgress, resolved
	AssignedTo     *string    `json:"assignedTo,omitempty"`
	Feedback       *string    `json:"feedback,omitempty"`
	ClosedDateTime *time.Time `json:"closedDateTime,omitempty"`
}
