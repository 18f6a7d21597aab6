package azureemu

import (
	"fmt"
	"maps"
	"slices"
	"time"
)

// GraphIncident is a Microsoft Graph security incident (Defender XDR).
type GraphIncident struct {
	ID                 string // generated (a number) if empty
	DisplayName        string
	Description        string
	Severity           string // unknown | informational | low | medium (default) | high
	Status             string // active (default) | resolved | inProgress | redirected | awaitingAction
	Classification     string // unknown (default) | falsePositive | truePositive | informationalExpectedActivity
	Determination      string // unknown (default) | malware | phishing | …
	AssignedTo         string
	CustomTags         []string
	SystemTags         []string
	RedirectIncidentID string // set with Status redirected when merged into another incident
	Comments           []GraphComment
	Created            time.Time // default now
	LastUpdate         time.Time // default Created
	WebURL             string    // default a security.microsoft.com link

	// Alerts are added with the incident (IncidentID filled in); the
	// getters return the alerts currently linked to the incident.
	Alerts []GraphAlert

	TenantID string // read-only
}

// GraphComment is an alertComment on a Graph incident or alert.
type GraphComment struct {
	Comment   string
	CreatedBy string // createdByDisplayName
	Created   time.Time
}

// GraphAlert is a Microsoft Graph security alert (alerts_v2).
type GraphAlert struct {
	ID                 string // generated if empty
	ProviderAlertID    string // default ID
	IncidentID         string
	Title              string
	Description        string
	Category           string
	RecommendedActions string
	Severity           string // unknown | informational | low | medium (default) | high
	Status             string // new (default) | inProgress | resolved | unknown
	Classification     string // default unknown
	Determination      string // default unknown
	// ServiceSource and DetectionSource hold the true values; values added
	// after unknownFutureValue (microsoftSentinel, scheduledAlerts, …) are
	// served as unknownFutureValue unless the client sends Prefer:
	// include-unknown-enum-members.
	ServiceSource     string
	DetectionSource   string
	DetectorID        string
	ProductName       string
	AssignedTo        string
	ActorDisplayName  string
	ThreatDisplayName string
	ThreatFamilyName  string
	MitreTechniques   []string
	SystemTags        []string
	Evidence          []map[string]any // each with "@odata.type"
	Comments          []GraphComment
	AlertWebURL       string
	IncidentWebURL    string
	Created           time.Time // default now
	LastUpdate        time.Time // default Created
	Resolved          time.Time
	FirstActivity     time.Time
	LastActivity      time.Time

	TenantID string // read-only
}

// LegacyAlert is an alert of the legacy Graph security API
// (/security/alerts, retiring in 2026).
type LegacyAlert struct {
	ID                  string // generated if empty
	Title               string
	Description         string
	Category            string
	Severity            string // unknown | informational | low | medium (default) | high
	Status              string // unknown | newAlert (default) | inProgress | resolved
	Feedback            string // unknown | truePositive | falsePositive | benignPositive
	AssignedTo          string
	Comments            []string
	Tags                []string
	Confidence          int
	Provider            string // vendorInformation.provider, e.g. "ASC"; required
	ProviderVersion     string
	SubProvider         string
	Vendor              string // vendorInformation.vendor; default "Microsoft"
	AzureSubscriptionID string
	IncidentIDs         []string
	RecommendedActions  []string
	SourceMaterials     []string
	// Extra holds other properties served as-is (hostStates, userStates…).
	Extra        map[string]any
	Created      time.Time // default now
	EventTime    time.Time // default Created
	LastModified time.Time // default Created
	Closed       time.Time

	TenantID string // read-only
}

// Graph enumerations.
var (
	graphSeverities        = []string{"unknown", "informational", "low", "medium", "high"}
	graphIncidentStatuses  = []string{"active", "resolved", "inProgress", "redirected", "awaitingAction"}
	graphAlertStatuses     = []string{"unknown", "new", "inProgress", "resolved"}
	graphClassifications   = []string{"unknown", "falsePositive", "truePositive", "informationalExpectedActivity"}
	graphDeterminations    = []string{"unknown", "apt", "malware", "securityPersonnel", "securityTesting", "unwantedSoftware", "other", "multiStagedAttack", "compromisedUser", "phishing", "maliciousUserActivity", "clean", "insufficientData", "confirmedUserActivity", "lineOfBusinessApplication", "notMalicious", "notEnoughDataToValidate"}
	legacyStatuses         = []string{"unknown", "newAlert", "inProgress", "resolved"}
	legacyFeedback         = []string{"unknown", "truePositive", "falsePositive", "benignPositive"}
	legacyAllowedComments  = []string{"Closed in IPC", "Closed in MCAS"}
	incidentStatusesPATCH  = []string{"active", "resolved", "redirected", "inProgress"}
	graphAlertStatusesEdit = []string{"new", "inProgress", "resolved"}
)

// Members of evolvable enums up to unknownFutureValue; later members are
// only served to clients that ask with Prefer: include-unknown-enum-members.
var (
	baseServiceSources = []string{"unknown", "microsoftDefenderForEndpoint", "microsoftDefenderForIdentity", "microsoftDefenderForCloudApps",
		"microsoftDefenderForOffice365", "microsoft365Defender", "azureAdIdentityProtection", "microsoftAppGovernance", "dataLossPrevention", "unknownFutureValue"}
	baseDetectionSources = []string{"unknown", "microsoftDefenderForEndpoint", "antivirus", "smartScreen", "customTi", "microsoftDefenderForOffice365",
		"automatedInvestigation", "microsoftThreatExperts", "customDetection", "microsoftDefenderForIdentity", "cloudAppSecurity", "microsoft365Defender",
		"azureAdIdentityProtection", "manual", "microsoftDataLossPrevention", "appGovernancePolicy", "appGovernanceDetection", "unknownFutureValue"}
	baseIncidentStatuses = []string{"active", "resolved", "inProgress", "redirected", "unknownFutureValue"}
)

func evolvable(v string, base []string, includeUnknown bool) string {
	if v == "" || includeUnknown || slices.Contains(base, v) {
		return v
	}
	return "unknownFutureValue"
}

func orDefault(v, def string) string {
	if v == "" {
		return def
	}
	return v
}

func cloneGraphAlert(a GraphAlert) GraphAlert {
	a.MitreTechniques = slices.Clone(a.MitreTechniques)
	a.SystemTags = slices.Clone(a.SystemTags)
	a.Comments = slices.Clone(a.Comments)
	a.Evidence = slices.Clone(a.Evidence)
	for i := range a.Evidence {
		a.Evidence[i] = maps.Clone(a.Evidence[i])
	}
	return a
}

func cloneGraphIncident(in GraphIncident) GraphIncident {
	in.CustomTags = slices.Clone(in.CustomTags)
	in.SystemTags = slices.Clone(in.SystemTags)
	in.Comments = slices.Clone(in.Comments)
	in.Alerts = nil
	return in
}

func cloneLegacy(a LegacyAlert) LegacyAlert {
	a.Comments = slices.Clone(a.Comments)
	a.Tags = slices.Clone(a.Tags)
	a.IncidentIDs = slices.Clone(a.IncidentIDs)
	a.RecommendedActions = slices.Clone(a.RecommendedActions)
	a.SourceMaterials = slices.Clone(a.SourceMaterials)
	a.Extra = maps.Clone(a.Extra)
	return a
}

func checkEnum(field, v string, allowed []string) (string, error) {
	if v == "" {
		return "", nil
	}
	c, ok := canonical(v, allowed)
	if !ok {
		return "", fmt.Errorf("azureemu: invalid %s %q", field, v)
	}
	return c, nil
}
