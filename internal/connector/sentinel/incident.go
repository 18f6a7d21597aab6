package sentinel

import (
	"bytes"
	"encoding/json"
	"fmt"
	"slices"
	"time"
)

// Incident is a Sentinel incident as ARM sends it. The properties it
// does not model are kept and sent back unchanged on update.
type Incident struct {
	ID         string             `json:"id"`
	Name       string             `json:"name"` // the incident id in URLs (a GUID)
	Type       string             `json:"type,omitempty"`
	Etag       string             `json:"etag,omitempty"` // with its literal quotes, as sent
	Properties IncidentProperties `json:"properties"`

	raw json.RawMessage // properties as Sentinel sent them
}

// IncidentProperties mirror the wire's properties. Fields marked RO are
// read-only: Sentinel ignores changes to them.
type IncidentProperties struct {
	Title                  string         `json:"title,omitempty"`
	Description            string         `json:"description,omitempty"`
	Severity               string         `json:"severity,omitempty"` // High, Medium, Low, Informational
	Status                 string         `json:"status,omitempty"`   // New, Active, Closed
	Classification         string         `json:"classification,omitempty"`
	ClassificationReason   string         `json:"classificationReason,omitempty"`
	ClassificationComment  string         `json:"classificationComment,omitempty"`
	Owner                  *Owner         `json:"owner,omitempty"`
	Labels                 []Label        `json:"labels,omitempty"`
	IncidentNumber         int            `json:"incidentNumber,omitempty"` // RO
	IncidentURL            string         `json:"incidentUrl,omitempty"`    // RO
	CreatedTimeUTC         time.Time      `json:"createdTimeUtc,omitzero"`  // RO
	LastModifiedTimeUTC    time.Time      `json:"lastModifiedTimeUtc,omitzero"`
	FirstActivityTimeUTC   time.Time      `json:"firstActivityTimeUtc,omitzero"`
	LastActivityTimeUTC    time.Time      `json:"lastActivityTimeUtc,omitzero"`
	AdditionalData         AdditionalData `json:"additionalData,omitzero"` // RO
	ProviderName           string         `json:"providerName,omitempty"`  // RO
	ProviderIncidentID     string         `json:"providerIncidentId,omitempty"`
	RelatedAnalyticRuleIDs []string       `json:"relatedAnalyticRuleIds,omitempty"` // RO
}

// Owner is who the incident is assigned to.
type Owner struct {
	ObjectID          string `json:"objectId,omitempty"`
	Email             string `json:"email,omitempty"`
	AssignedTo        string `json:"assignedTo,omitempty"`
	UserPrincipalName string `json:"userPrincipalName,omitempty"`
	OwnerType         string `json:"ownerType,omitempty"` // Unknown, User, Group
}

// Label is an incident tag. LabelType (User, AutoAssigned) is read-only.
type Label struct {
	LabelName string `json:"labelName"`
	LabelType string `json:"labelType,omitempty"`
}

// AdditionalData is Sentinel's summary of what the incident holds.
type AdditionalData struct {
	AlertsCount         int      `json:"alertsCount,omitempty"`
	BookmarksCount      int      `json:"bookmarksCount,omitempty"`
	CommentsCount       int      `json:"commentsCount,omitempty"`
	AlertProductNames   []string `json:"alertProductNames,omitempty"`
	Tactics             []string `json:"tactics,omitempty"`
	Techniques          []string `json:"techniques,omitempty"`
	ProviderIncidentURL string   `json:"providerIncidentUrl,omitempty"`
}

// HasLabel tells whether the incident carries a label named name.
func (i Incident) HasLabel(name string) bool {
	for _, l := range i.Properties.Labels {
		if l.LabelName == name {
			return true
		}
	}
	return false
}

// labelsChanged tells whether the labels differ from those Sentinel sent.
func (i Incident) labelsChanged() bool {
	var before IncidentProperties
	if len(i.raw) > 0 && json.Unmarshal(i.raw, &before) != nil {
		return true
	}
	names := func(ls []Label) []string {
		out := make([]string, 0, len(ls))
		for _, l := range ls {
			out = append(out, l.LabelName)
		}
		slices.Sort(out)
		return slices.Compact(out)
	}
	return !slices.Equal(names(before.Labels), names(i.Properties.Labels))
}

// RawProperties returns the properties as Sentinel sent them, including
// those not modelled here.
func (i Incident) RawProperties() json.RawMessage { return append(json.RawMessage(nil), i.raw...) }

func (i *Incident) UnmarshalJSON(b []byte) error {
	type alias Incident
	aux := struct {
		*alias
		Properties json.RawMessage `json:"properties"`
	}{alias: (*alias)(i)}
	if err := json.Unmarshal(b, &aux); err != nil {
		return err
	}
	i.raw = nil
	i.Properties = IncidentProperties{}
	if p := bytes.TrimSpace(aux.Properties); len(p) > 0 && !bytes.Equal(p, []byte("null")) {
		i.raw = append(json.RawMessage(nil), p...)
		if err := json.Unmarshal(p, &i.Properties); err != nil {
			return fmt.Errorf("incident %s properties: %w", i.Name, err)
		}
	}
	return nil
}

func (p *IncidentProperties) UnmarshalJSON(b []byte) error {
	type alias IncidentProperties
	aux := struct {
		*alias
		CreatedTimeUTC       flexTime `json:"createdTimeUtc"`
		LastModifiedTimeUTC  flexTime `json:"lastModifiedTimeUtc"`
		FirstActivityTimeUTC flexTime `json:"firstActivityTimeUtc"`
		LastActivityTimeUTC  flexTime `json:"lastActivityTimeUtc"`
	}{alias: (*alias)(p)}
	if err := json.Unmarshal(b, &aux); err != nil {
		return err
	}
	p.CreatedTimeUTC, p.LastModifiedTimeUTC = aux.CreatedTimeUTC.t, aux.LastModifiedTimeUTC.t
	p.FirstActivityTimeUTC, p.LastActivityTimeUTC = aux.FirstActivityTimeUTC.t, aux.LastActivityTimeUTC.t
	return nil
}

// putBody is the PUT body for inc: the properties Sentinel sent, with
// only the modelled fields that differ from them replaced, so fields
// Sentinel has and this package does not model survive the update.
func (i Incident) putBody() ([]byte, error) {
	props, err := mergeProperties(i.raw, i.Properties)
	if err != nil {
		return nil, err
	}
	body := struct {
		Etag       string          `json:"etag,omitempty"`
		Properties json.RawMessage `json:"properties"`
	}{i.Etag, props}
	return json.Marshal(body)
}

func mergeProperties(raw json.RawMessage, after IncidentProperties) (json.RawMessage, error) {
	var before IncidentProperties
	out := map[string]json.RawMessage{}
	if len(raw) > 0 {
		if err := json.Unmarshal(raw, &out); err != nil {
			return nil, fmt.Errorf("incident properties: %w", err)
		}
		if err := json.Unmarshal(raw, &before); err != nil {
			return nil, fmt.Errorf("incident properties: %w", err)
		}
	}
	bm, err := fieldMap(before)
	if err != nil {
		return nil, err
	}
	am, err := fieldMap(after)
	if err != nil {
		return nil, err
	}
	for k, b := range bm {
		if _, ok := am[k]; !ok && b != nil {
			// Cleared by the change. Sentinel keeps a property a PUT leaves
			// out, so a cleared string is sent empty (a reason dropped with
			// an Undetermined verdict must not survive); other kinds (the
			// owner object) are left out.
			if len(b) > 0 && b[0] == '"' {
				out[k] = json.RawMessage(`""`)
			} else {
				delete(out, k)
			}
		}
	}
	for k, a := range am {
		if b, ok := bm[k]; !ok || !bytes.Equal(a, b) {
			out[k] = a
		}
	}
	return json.Marshal(out)
}

func fieldMap(p IncidentProperties) (map[string]json.RawMessage, error) {
	b, err := json.Marshal(p)
	if err != nil {
		return nil, fmt.Errorf("encode incident properties: %w", err)
	}
	m := map[string]json.RawMessage{}
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, fmt.Errorf("encode incident properties: %w", err)
	}
	return m, nil
}
