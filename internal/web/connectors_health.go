package web

import (
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/lastmile/lastmile/internal/connector"
	"github.com/lastmile/lastmile/internal/connector/microsoft"
	"github.com/lastmile/lastmile/internal/connector/sentinel"
)

// connView is a connector with its health in plain words.
type connView struct {
	connector.Connector
	// State is one word (working, failing, off, waiting) and StateClass
	// its badge colour.
	State, StateClass string
	SourceLabel       string
	Health            []string
	// Error is the last poll error when it is newer than the last success.
	Error string
}

// connSource is a source mode with a line on what it reads.
type connSource struct {
	Mode, Label, Explain string
}

// connSources are the Microsoft kind's source modes.
var connSources = []connSource{
	{sentinel.ModeSentinel, "Microsoft Sentinel incidents", "Reads a Sentinel workspace's incidents through Azure Resource Manager: one alert per incident."},
	{sentinel.ModeGraphIncidents, "Graph security incidents", "Reads Microsoft Defender XDR incidents (and Sentinel's, once the workspace is in the Defender portal) through Microsoft Graph: one alert per incident."},
	{sentinel.ModeGraphAlerts, "Graph security alerts", "Reads Microsoft Graph alerts_v2: one alert per alert, several may belong to one incident."},
	{sentinel.ModeGraphLegacy, "Graph legacy alerts", "Reads the legacy Graph /security/alerts API, which Microsoft retires in 2026: one alert per alert."},
}

func connSourceLabel(mode string) string {
	for _, s := range connSources {
		if s.Mode == mode {
			return s.Label
		}
	}
	return mode
}

// connEvery says a poll interval in words.
func connEvery(sec int) string {
	switch {
	case sec == 1:
		return "second"
	case sec%60 == 0 && sec >= 60:
		if sec == 60 {
			return "minute"
		}
		return fmt.Sprintf("%d minutes", sec/60)
	}
	return fmt.Sprintf("%d seconds", sec)
}

// connHealthView puts a connector's health in the words an administrator
// reads: is it working, since when, and what went wrong.
func connHealthView(c connector.Connector, now time.Time, tz string) connView {
	v := connView{Connector: c, SourceLabel: connSourceLabel(c.Source)}
	h := c.Health
	failing := h.LastErrorAt != nil && (h.LastSuccessAt == nil || h.LastErrorAt.After(*h.LastSuccessAt))
	switch {
	case !c.Enabled:
		v.State, v.StateClass = "off", "sev-info"
	case failing:
		v.State, v.StateClass = "failing", "bad"
	case h.LastSuccessAt == nil:
		v.State, v.StateClass = "waiting", "sev-low"
	default:
		v.State, v.StateClass = "working", "ok"
	}
	if failing {
		v.Error = h.LastError
	}
	add := func(format string, args ...any) { v.Health = append(v.Health, fmt.Sprintf(format, args...)) }
	if h.LastPollAt != nil {
		add("Last poll %s; it polls every %s.", ago(now, *h.LastPollAt), connEvery(c.PollSeconds))
	} else {
		add("Not polled yet; it polls every %s.", connEvery(c.PollSeconds))
	}
	switch {
	case h.LastSuccessAt != nil && h.Watermark != nil:
		add("Last read successfully %s; every change up to %s is in.", ago(now, *h.LastSuccessAt), when(tz, *h.Watermark))
	case h.LastSuccessAt != nil:
		add("Last read successfully %s.", ago(now, *h.LastSuccessAt))
	default:
		add("Never read successfully yet.")
	}
	if h.LastError != "" && h.LastErrorAt != nil {
		if failing {
			add("Failing since %s: %s", ago(now, *h.LastErrorAt), h.LastError)
		} else {
			add("An earlier error (%s, since recovered): %s", ago(now, *h.LastErrorAt), h.LastError)
		}
	}
	add("Read %d %s, opened %d %s, wrote back %d %s.", h.Read, connPlural(h.Read, "change", "changes"), h.Created, connPlural(h.Created, "alert", "alerts"),
		h.Written, connPlural(h.Written, "action", "actions"))
	if h.WriteErrors > 0 {
		add("%d %s failed; the last: %s", h.WriteErrors, connPlural(h.WriteErrors, "write-back", "write-backs"), h.LastWriteError)
	}
	if h.PendingWrites > 0 {
		add("%d %s waiting to be written back.", h.PendingWrites, connPlural(int64(h.PendingWrites), "action is", "actions are"))
	}
	return v
}

func connPlural(n int64, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

// connSetting is one line of a connector's settings, as shown.
type connSetting struct {
	Name, Value string
}

// connSettingsSummary lists a Microsoft connector's settings (secrets
// arrive masked from the service).
func connSettingsSummary(c connector.Connector) []connSetting {
	var st microsoft.Settings
	if c.Kind != "microsoft" || json.Unmarshal(c.Settings, &st) != nil {
		return []connSetting{{"Settings", string(c.Settings)}}
	}
	out := []connSetting{{"Source", connSourceLabel(c.Source)}, {"Tenant", st.TenantID}, {"Client id", st.ClientID}}
	add := func(name, v string) {
		if v != "" {
			out = append(out, connSetting{name, v})
		}
	}
	add("Client secret", st.ClientSecret)
	add("Certificate", st.Certificate)
	add("Subscription", st.SubscriptionID)
	add("Resource group", st.ResourceGroup)
	add("Workspace", st.WorkspaceName)
	add("Workspace id", st.WorkspaceID)
	out = append(out, connSetting{"Severities", connOrAll(st.Severities)})
	statuses := st.Statuses
	if len(statuses) == 0 {
		statuses = []string{"New"}
	}
	out = append(out, connSetting{"Statuses that open alerts", strings.Join(statuses, ", ")})
	add("Products", strings.Join(st.Products, ", "))
	label := st.Label
	switch label {
	case "":
		label = "SIGNL4"
	case "-":
		label = "none"
	}
	out = append(out, connSetting{"Label on handled incidents", label})
	cls := st.CloseClassification
	if cls == "" {
		cls = "Undetermined"
	}
	if st.CloseClassificationReason != "" {
		cls += " (" + st.CloseClassificationReason + ")"
	}
	out = append(out, connSetting{"Closing classifies as", cls})
	if st.Augment {
		out = append(out, connSetting{"Query results", "attached"})
	}
	if st.Log != nil {
		out = append(out, connSetting{"Lifecycle log", st.Log.Mode})
	}
	add("Cloud", st.Cloud)
	if st.Endpoints != nil {
		add("Sign-in endpoint", st.Endpoints.AuthorityHost)
	}
	out = append(out, connSetting{"Poll interval", "every " + connEvery(c.PollSeconds)})
	return out
}

func connOrAll(vs []string) string {
	if len(vs) == 0 {
		return "all"
	}
	return strings.Join(vs, ", ")
}
