// Package microsoft is the connector's source for Microsoft Sentinel and
// Microsoft Graph security: it maps incidents and alerts to lastmile's
// items, and responders' actions to status, owner, labels and comments,
// with the wire-level clients of package sentinel.
package microsoft

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"text/template"

	"github.com/lastmile/lastmile/internal/connector/sentinel"
)

// Settings are what an administrator gives a Microsoft connector.
type Settings struct {
	TenantID       string `json:"tenantId"`
	SubscriptionID string `json:"subscriptionId,omitempty"`
	ClientID       string `json:"clientId"`
	ClientSecret   string `json:"clientSecret,omitempty"`
	Certificate    string `json:"certificate,omitempty"` // PEM: certificate and RSA private key

	ResourceGroup string `json:"resourceGroup,omitempty"`
	WorkspaceName string `json:"workspaceName,omitempty"`
	WorkspaceID   string `json:"workspaceId,omitempty"`

	// Severities, Statuses and Products filter which incidents open
	// alerts (changes to ones already open are always followed).
	Severities []string `json:"severities,omitempty"` // High, Medium, Low, Informational; empty: all
	Statuses   []string `json:"statuses,omitempty"`   // New (default), Active
	Products   []string `json:"products,omitempty"`   // e.g. "Microsoft Defender for Endpoint"; empty: all

	// Label is put on incidents an alert was opened for (default
	// "SIGNL4", which Sentinel's SIGNL4 data connector page looks for;
	// "-" for none).
	Label string `json:"label,omitempty"`
	// Closing in lastmile closes the incident with these.
	CloseClassification       string `json:"closeClassification,omitempty"`       // Undetermined (default), TruePositive, BenignPositive, FalsePositive
	CloseClassificationReason string `json:"closeClassificationReason,omitempty"` // SuspiciousActivity, SuspiciousButExpected, IncorrectAlertLogic, InaccurateData
	CloseComment              string `json:"closeComment,omitempty"`

	// Augment runs the analytics rule query of each linked alert on the
	// workspace and attaches the result.
	Augment bool `json:"augment,omitempty"`

	// TitleTemplate and TextTemplate shape the alert (Go text/template
	// over the incident; see docs/sentinel.md).
	TitleTemplate string `json:"titleTemplate,omitempty"`
	TextTemplate  string `json:"textTemplate,omitempty"`

	// Log writes lifecycle records to a Log Analytics table.
	Log *LogSettings `json:"log,omitempty"`

	// Cloud names a national cloud: AzurePublic (default),
	// AzureUSGovernment or AzureChina.
	Cloud string `json:"cloud,omitempty"`
	// Endpoints replace the cloud's, one by one: for a custom cloud, or
	// the emulator.
	Endpoints *sentinel.Endpoints `json:"endpoints,omitempty"`
}

// LogSettings say where lifecycle records go.
type LogSettings struct {
	// Mode is "ingestion" (Logs Ingestion API through a data collection
	// rule) or "datacollector" (the legacy HTTP Data Collector API).
	Mode string `json:"mode"`
	// Logs Ingestion: the data collection endpoint (or the rule's own
	// ingestion endpoint), the rule's immutable id and its stream.
	Endpoint       string `json:"endpoint,omitempty"`
	DCRImmutableID string `json:"dcrImmutableId,omitempty"`
	Stream         string `json:"stream,omitempty"` // default Custom-SIGNL4_CL
	// Data Collector: the workspace's shared key and the table name
	// without _CL (default SIGNL4).
	SharedKey string `json:"sharedKey,omitempty"`
	Table     string `json:"table,omitempty"`
	URL       string `json:"url,omitempty"` // default https://{workspaceId}.ods.opinsights.azure.com
}

// Secrets are the settings never shown again.
var secretFields = []string{"clientSecret", "certificate", "log.sharedKey"}

var (
	severities      = []string{"High", "Medium", "Low", "Informational"}
	statuses        = []string{"New", "Active"}
	classifications = []string{"Undetermined", "TruePositive", "BenignPositive", "FalsePositive"}
	reasons         = []string{"SuspiciousActivity", "SuspiciousButExpected", "IncorrectAlertLogic", "InaccurateData"}
)

// defaults fills what was left out.
func (s *Settings) defaults() {
	if len(s.Statuses) == 0 {
		s.Statuses = []string{"New"}
	}
	if s.Label == "" {
		s.Label = "SIGNL4"
	}
	if s.CloseClassification == "" {
		s.CloseClassification = "Undetermined"
	}
	if s.Log != nil {
		if s.Log.Stream == "" {
			s.Log.Stream = "Custom-SIGNL4_CL"
		}
		if s.Log.Table == "" {
			s.Log.Table = "SIGNL4"
		}
	}
}

// validate checks the settings for mode, naming each field that is wrong.
func (s *Settings) validate(mode string) error {
	var errs []error
	bad := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }
	oneOf := func(field string, vs, allowed []string) {
		for _, v := range vs {
			if !slices.Contains(allowed, v) {
				bad("%s: %q is not one of %s", field, v, strings.Join(allowed, ", "))
			}
		}
	}
	oneOf("severities", s.Severities, severities)
	oneOf("statuses", s.Statuses, statuses)
	oneOf("closeClassification", []string{s.CloseClassification}, classifications)
	if s.CloseClassificationReason != "" {
		oneOf("closeClassificationReason", []string{s.CloseClassificationReason}, reasons)
	}
	if mode == sentinel.ModeSentinel {
		var missing []string
		for _, f := range []struct{ name, v string }{{"subscriptionId", s.SubscriptionID}, {"resourceGroup", s.ResourceGroup}, {"workspaceName", s.WorkspaceName}} {
			if strings.TrimSpace(f.v) == "" {
				missing = append(missing, f.name)
			}
		}
		if len(missing) > 0 {
			bad("the sentinel source needs %s", strings.Join(missing, " and "))
		}
	}
	if s.Augment && s.WorkspaceID == "" && mode != sentinel.ModeSentinel {
		bad("augment needs workspaceId")
	}
	for name, t := range map[string]string{"titleTemplate": s.TitleTemplate, "textTemplate": s.TextTemplate} {
		if _, err := template.New(name).Parse(t); err != nil {
			bad("%s: %v", name, err)
		}
	}
	if s.Cloud != "" {
		if _, err := sentinel.Cloud(s.Cloud); err != nil {
			bad("%v", err)
		}
	}
	if l := s.Log; l != nil {
		switch l.Mode {
		case "ingestion":
			if l.Endpoint == "" || l.DCRImmutableID == "" {
				bad("log: the ingestion mode needs endpoint and dcrImmutableId")
			}
		case "datacollector":
			if l.SharedKey == "" || s.WorkspaceID == "" {
				bad("log: the datacollector mode needs sharedKey and workspaceId")
			}
		default:
			bad("log.mode: use ingestion or datacollector")
		}
	}
	return errors.Join(errs...)
}

func (s *Settings) config() sentinel.Config {
	c := sentinel.Config{TenantID: s.TenantID, SubscriptionID: s.SubscriptionID, ClientID: s.ClientID, ClientSecret: s.ClientSecret,
		CertificatePEM: s.Certificate, ResourceGroup: s.ResourceGroup, WorkspaceName: s.WorkspaceName, WorkspaceID: s.WorkspaceID}
	if s.Cloud != "" {
		c.Endpoints, _ = sentinel.Cloud(s.Cloud)
	}
	if e := s.Endpoints; e != nil {
		set := func(dst *string, v string) {
			if v != "" {
				*dst = v
			}
		}
		set(&c.Endpoints.AuthorityHost, e.AuthorityHost)
		set(&c.Endpoints.ResourceManager, e.ResourceManager)
		set(&c.Endpoints.Graph, e.Graph)
		set(&c.Endpoints.LogAnalytics, e.LogAnalytics)
		set(&c.Endpoints.ResourceManagerAudience, e.ResourceManagerAudience)
		set(&c.Endpoints.GraphAudience, e.GraphAudience)
		set(&c.Endpoints.LogAnalyticsAudience, e.LogAnalyticsAudience)
		set(&c.Endpoints.MonitorAudience, e.MonitorAudience)
	}
	return c
}
