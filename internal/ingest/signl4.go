package ingest

import (
	"fmt"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
)

// Action is what an event asks for.
type Action string

// Event actions.
const (
	ActionNew         Action = "new"
	ActionAcknowledge Action = "acknowledge"
	ActionResolve     Action = "resolve"
	ActionDiscard     Action = "discard"
)

// Param is one alert parameter.
type Param struct {
	Name  string `json:"name"`
	Value string `json:"value"`
}

// Event is an inbound request interpreted as SIGNL4 would.
type Event struct {
	Title         string   `json:"title"`
	TitleFallback bool     `json:"titleFallback,omitempty"`
	Text          string   `json:"text"`
	Params        []Param  `json:"params"`
	ExternalID    string   `json:"externalId,omitempty"`
	Action        Action   `json:"action"`
	Reason        string   `json:"reason,omitempty"`
	Service       string   `json:"service,omitempty"`
	Location      string   `json:"location,omitempty"`
	Scenario      string   `json:"scenario,omitempty"`
	Filtering     bool     `json:"filtering,omitempty"`
	SourceSystem  string   `json:"sourceSystem,omitempty"`
	Severity      string   `json:"severity,omitempty"`
	Warnings      []string `json:"warnings,omitempty"`
}

// FallbackTitle is the title of an alert whose event names none.
const FallbackTitle = "Alert"

// Field names that give the title and the text, as SIGNL4 documents them.
var (
	titleNames = []string{"subject", "title", "task", "job", "case", "incident", "x-s4-subject"}
	textNames  = []string{"text", "message", "messagetext", "description", "body", "content"}
)

const controlPrefix = "x-s4-"

// Mapping holds the URL parameters that map a sender's own fields onto the
// external id and status, for senders that cannot add X-S4 fields.
type Mapping struct {
	ExtIDParam     string `json:"extIdParam,omitempty"`
	ExtStatusParam string `json:"extStatusParam,omitempty"`
	ResolvedStatus string `json:"resolvedStatus,omitempty"`
	AckStatus      string `json:"ackStatus,omitempty"`
	NewStatus      string `json:"newStatus,omitempty"`
}

// MappingFromQuery reads the mapping parameters, whose names senders spell
// in every case (ExtIDParam, ExtIdParam, extidparam).
func MappingFromQuery(q url.Values) Mapping {
	var m Mapping
	// Sorted, so that a query naming a parameter twice in different case
	// always means the same thing.
	for _, k := range slices.Sorted(maps.Keys(q)) {
		v := q[k]
		if len(v) == 0 {
			continue
		}
		val := clean(strings.TrimSpace(v[0]))
		switch strings.ToLower(k) {
		case "extidparam":
			m.ExtIDParam = val
		case "extstatusparam":
			m.ExtStatusParam = val
		case "resolvedstatus":
			m.ResolvedStatus = val
		case "ackstatus":
			m.AckStatus = val
		case "newstatus":
			m.NewStatus = val
		}
	}
	return m
}

// Interpret builds an Event from a parsed body, the URL mapping and the
// request headers (X-S4-* headers are honoured when the body lacks the field).
func Interpret(b Body, m Mapping, h http.Header) Event {
	ev := Event{Warnings: slices.Clone(b.Warnings), Params: []Param{}}
	control := map[string]string{}
	for _, f := range b.Fields {
		lname := strings.ToLower(f.Name)
		if f.Top && strings.HasPrefix(lname, controlPrefix) && lname != "x-s4-subject" {
			if _, seen := control[lname]; !seen && f.Value != "" {
				control[lname] = f.Value
			}
			continue
		}
		if f.Top && f.String && strings.TrimSpace(f.Value) != "" {
			if ev.Title == "" && contains(titleNames, lname) {
				ev.Title = strings.TrimSpace(f.Value)
				continue
			}
			if ev.Text == "" && contains(textNames, lname) {
				ev.Text = strings.TrimSpace(f.Value)
				continue
			}
		}
		ev.Params = append(ev.Params, Param{Name: f.Name, Value: f.Value})
	}
	if ev.Text == "" && b.Text != "" {
		ev.Text = b.Text
	}
	if ev.Title == "" {
		ev.Title, ev.TitleFallback = FallbackTitle, true
	}
	get := func(name string) string {
		if v := control[name]; v != "" {
			return strings.TrimSpace(v)
		}
		// Headers are not parsed like bodies: make them storable here.
		return clean(strings.TrimSpace(h.Get(name)))
	}

	ev.Service = get("x-s4-service")
	ev.SourceSystem = get("x-s4-sourcesystem")
	ev.Severity = get("x-s4-severity")
	ev.Filtering = truthy(get("x-s4-filtering"))
	if loc := get("x-s4-location"); loc != "" {
		if norm, ok := parseLocation(loc); ok {
			ev.Location = norm
		} else {
			ev.Warnings = append(ev.Warnings, fmt.Sprintf("X-S4-Location %q is not \"latitude,longitude\"; ignored", loc))
		}
	}
	if sc := strings.ToLower(get("x-s4-alertingscenario")); sc != "" {
		switch sc {
		case "single_ack", "multi_ack", "emergency":
			ev.Scenario = sc
		default:
			ev.Warnings = append(ev.Warnings, fmt.Sprintf("X-S4-AlertingScenario %q is not single_ack, multi_ack or emergency; the team default is used", sc))
		}
	}

	ev.ExternalID = get("x-s4-externalid")
	if ev.ExternalID == "" && m.ExtIDParam != "" {
		if v, ok := lookup(b.Fields, m.ExtIDParam); ok {
			ev.ExternalID = strings.TrimSpace(v)
		} else {
			ev.Warnings = append(ev.Warnings, fmt.Sprintf("ExtIDParam names field %q, which the body does not have", m.ExtIDParam))
		}
	}
	if len(ev.ExternalID) > 500 {
		ev.Warnings = append(ev.Warnings, "external id longer than 500 bytes was cut")
		ev.ExternalID = strings.ToValidUTF8(ev.ExternalID[:500], "")
	}

	ev.Action = ActionNew
	status, hasStatus := control["x-s4-status"], true
	if status == "" {
		status = clean(h.Get("X-S4-Status"))
	}
	if status == "" {
		hasStatus = false
	}
	switch {
	case hasStatus:
		switch s := strings.ToLower(strings.TrimSpace(status)); s {
		case "", "new":
		case "acknowledged":
			ev.Action = ActionAcknowledge
		case "resolved":
			ev.Action = ActionResolve
		default:
			ev.Action, ev.Reason = ActionDiscard, fmt.Sprintf("X-S4-Status %q is not new, acknowledged or resolved", status)
		}
	case m.ExtStatusParam != "":
		v, ok := lookup(b.Fields, m.ExtStatusParam)
		if !ok {
			ev.Warnings = append(ev.Warnings, fmt.Sprintf("ExtStatusParam names field %q, which the body does not have", m.ExtStatusParam))
		}
		v = strings.TrimSpace(v)
		switch {
		case m.ResolvedStatus != "" && strings.EqualFold(v, m.ResolvedStatus):
			ev.Action = ActionResolve
		case m.AckStatus != "" && strings.EqualFold(v, m.AckStatus):
			ev.Action = ActionAcknowledge
		case m.NewStatus != "" && !strings.EqualFold(v, m.NewStatus):
			ev.Action, ev.Reason = ActionDiscard, fmt.Sprintf("%s is %q, which is not NewStatus %q, ResolvedStatus %q or AckStatus %q", m.ExtStatusParam, v, m.NewStatus, m.ResolvedStatus, m.AckStatus)
		}
	}
	if (ev.Action == ActionAcknowledge || ev.Action == ActionResolve) && ev.ExternalID == "" {
		ev.Action, ev.Reason = ActionDiscard, "a status change needs an external id (X-S4-ExternalID or ExtIDParam) to find its alert"
	}
	return ev
}

// lookup finds a field by name, case-insensitively, preferring an exact match.
func lookup(fields []Field, name string) (string, bool) {
	for _, f := range fields {
		if f.Name == name {
			return f.Value, true
		}
	}
	for _, f := range fields {
		if strings.EqualFold(f.Name, name) {
			return f.Value, true
		}
	}
	return "", false
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

// truthy reads the booleans senders write: true, "true", "1", "yes", "on".
func truthy(s string) bool {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "true", "1", "yes", "on":
		return true
	}
	return false
}

// parseLocation accepts "lat,long" with optional spaces and returns it
// normalised.
func parseLocation(s string) (string, bool) {
	la, lo, ok := strings.Cut(s, ",")
	if !ok {
		return "", false
	}
	lat, err1 := strconv.ParseFloat(strings.TrimSpace(la), 64)
	lon, err2 := strconv.ParseFloat(strings.TrimSpace(lo), 64)
	// The comparisons also refuse NaN, which ParseFloat accepts.
	if err1 != nil || err2 != nil || !(lat >= -90 && lat <= 90) || !(lon >= -180 && lon <= 180) {
		return "", false
	}
	return strings.TrimSpace(la) + "," + strings.TrimSpace(lo), true
}
