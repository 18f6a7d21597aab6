package azureemu

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
)

// prepareGraphAlert fills defaults. Caller holds e.mu.
func (e *Emulator) prepareGraphAlert(tenantID string, a GraphAlert) (GraphAlert, error) {
	var err error
	if a.Severity, err = checkEnum("alert severity", orDefault(a.Severity, "medium"), graphSeverities); err != nil {
		return a, err
	}
	if a.Status, err = checkEnum("alert status", orDefault(a.Status, "new"), graphAlertStatuses); err != nil {
		return a, err
	}
	if a.Classification, err = checkEnum("alert classification", orDefault(a.Classification, "unknown"), graphClassifications); err != nil {
		return a, err
	}
	if a.Determination, err = checkEnum("alert determination", orDefault(a.Determination, "unknown"), graphDeterminations); err != nil {
		return a, err
	}
	a = cloneGraphAlert(a)
	if a.ID == "" {
		a.ID = fmt.Sprintf("da%018d_%d", rand.Int64N(1e18), -rand.Int32N(1<<30))
	}
	if e.st.graphAlerts[a.ID] != nil {
		return a, fmt.Errorf("azureemu: Graph alert %s already exists", a.ID)
	}
	a.ProviderAlertID = orDefault(a.ProviderAlertID, a.ID)
	a.ServiceSource = orDefault(a.ServiceSource, "microsoftDefenderForEndpoint")
	a.DetectionSource = orDefault(a.DetectionSource, "antivirus")
	a.TenantID = tenantID
	if a.Created.IsZero() {
		a.Created = e.now()
	}
	if a.LastUpdate.IsZero() {
		a.LastUpdate = a.Created
	}
	a.AlertWebURL = orDefault(a.AlertWebURL, "https://security.microsoft.com/alerts/"+a.ID+"?tid="+tenantID)
	if a.IncidentID != "" {
		a.IncidentWebURL = orDefault(a.IncidentWebURL, "https://security.microsoft.com/incidents/"+a.IncidentID+"?tid="+tenantID)
	}
	return a, nil
}

// AddGraphIncident creates a Graph security incident with its alerts.
func (e *Emulator) AddGraphIncident(tenantID string, inc GraphIncident) (GraphIncident, error) {
	var err error
	if inc.Severity, err = checkEnum("incident severity", orDefault(inc.Severity, "medium"), graphSeverities); err != nil {
		return GraphIncident{}, err
	}
	if inc.Status, err = checkEnum("incident status", orDefault(inc.Status, "active"), graphIncidentStatuses); err != nil {
		return GraphIncident{}, err
	}
	if inc.Classification, err = checkEnum("incident classification", orDefault(inc.Classification, "unknown"), graphClassifications); err != nil {
		return GraphIncident{}, err
	}
	if inc.Determination, err = checkEnum("incident determination", orDefault(inc.Determination, "unknown"), graphDeterminations); err != nil {
		return GraphIncident{}, err
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	if inc.ID == "" {
		e.st.graphSeq++
		inc.ID = strconv.Itoa(28000 + e.st.graphSeq)
	}
	if e.st.graphIncidents[inc.ID] != nil {
		return GraphIncident{}, fmt.Errorf("azureemu: Graph incident %s already exists", inc.ID)
	}
	alerts := inc.Alerts
	stored := cloneGraphIncident(inc)
	stored.TenantID = tenantID
	if stored.Created.IsZero() {
		stored.Created = e.now()
	}
	if stored.LastUpdate.IsZero() {
		stored.LastUpdate = stored.Created
	}
	stored.WebURL = orDefault(stored.WebURL, "https://security.microsoft.com/incidents/"+stored.ID+"?tid="+tenantID)
	var prepared []GraphAlert
	for _, a := range alerts {
		a.IncidentID = stored.ID
		if a.Created.IsZero() {
			a.Created = stored.Created
		}
		p, err := e.prepareGraphAlert(tenantID, a)
		if err != nil {
			return GraphIncident{}, err
		}
		prepared = append(prepared, p)
	}
	e.st.graphIncidents[stored.ID] = &stored
	for i := range prepared {
		a := prepared[i]
		e.st.graphAlerts[a.ID] = &a
	}
	return e.st.graphIncidentWithAlerts(&stored), nil
}

// AddGraphAlert creates an alerts_v2 alert, optionally linked to an
// existing incident through IncidentID.
func (e *Emulator) AddGraphAlert(tenantID string, a GraphAlert) (GraphAlert, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if a.IncidentID != "" && e.st.graphIncidents[a.IncidentID] == nil {
		return GraphAlert{}, fmt.Errorf("azureemu: no Graph incident %s", a.IncidentID)
	}
	p, err := e.prepareGraphAlert(tenantID, a)
	if err != nil {
		return GraphAlert{}, err
	}
	e.st.graphAlerts[p.ID] = &p
	return cloneGraphAlert(p), nil
}

func (s *state) graphIncidentWithAlerts(inc *GraphIncident) GraphIncident {
	out := cloneGraphIncident(*inc)
	out.Alerts = s.incidentAlerts(inc.ID)
	return out
}

// incidentAlerts lists the alerts linked to a Graph incident, oldest
// first. Caller holds e.mu.
func (s *state) incidentAlerts(id string) []GraphAlert {
	var out []GraphAlert
	for _, a := range s.graphAlerts {
		if a.IncidentID == id {
			out = append(out, cloneGraphAlert(*a))
		}
	}
	slices.SortFunc(out, func(a, b GraphAlert) int {
		if c := a.Created.Compare(b.Created); c != 0 {
			return c
		}
		return strings.Compare(a.ID, b.ID)
	})
	return out
}

// GraphIncident returns a Graph incident and its alerts as stored now.
func (e *Emulator) GraphIncident(id string) (GraphIncident, bool) {
	e.mu.Lock()
	defer e.mu.Unlock()
	inc := e.st.graphIncidents[id]
	if inc == nil {
		return GraphIncident{}, false
	}
	return e.st.graphIncidentWithAlerts(inc), true
}

// GraphAlert returns an alerts_v2 alert as stored now.
func (e *Emulator) GraphAlert(id string) (GraphAlert, bool) {
	e.mu.Lock()
	defer e.mu.Unlock()
	a := e.st.graphAlerts[id]
	if a == nil {
		return GraphAlert{}, false
	}
	return cloneGraphAlert(*a), true
}

// UpdateGraphIncident changes an incident as Defender would; its
// lastUpdateDateTime moves to now. Alerts cannot be changed through it.
func (e *Emulator) UpdateGraphIncident(id string, fn func(*GraphIncident)) (GraphIncident, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	inc := e.st.graphIncidents[id]
	if inc == nil {
		return GraphIncident{}, fmt.Errorf("azureemu: no Graph incident %s", id)
	}
	cp := cloneGraphIncident(*inc)
	fn(&cp)
	cp.ID, cp.TenantID, cp.Created, cp.Alerts = inc.ID, inc.TenantID, inc.Created, nil
	cp.LastUpdate = e.now()
	*inc = cp
	return e.st.graphIncidentWithAlerts(inc), nil
}

// UpdateGraphAlert changes an alert as Defender would; its
// lastUpdateDateTime (and its incident's) moves to now.
func (e *Emulator) UpdateGraphAlert(id string, fn func(*GraphAlert)) (GraphAlert, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	a := e.st.graphAlerts[id]
	if a == nil {
		return GraphAlert{}, fmt.Errorf("azureemu: no Graph alert %s", id)
	}
	cp := cloneGraphAlert(*a)
	fn(&cp)
	cp.ID, cp.TenantID, cp.Created = a.ID, a.TenantID, a.Created
	cp.LastUpdate = e.now()
	*a = cp
	if inc := e.st.graphIncidents[a.IncidentID]; inc != nil {
		inc.LastUpdate = cp.LastUpdate
	}
	return cloneGraphAlert(cp), nil
}

// MergeGraphIncidents folds incident from into incident into, as Defender
// does when it correlates them: from becomes status redirected with
// redirectIncidentId = into, and its alerts move to into.
func (e *Emulator) MergeGraphIncidents(from, into string) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	src, dst := e.st.graphIncidents[from], e.st.graphIncidents[into]
	if src == nil || dst == nil {
		return fmt.Errorf("azureemu: merge needs two existing Graph incidents (%s, %s)", from, into)
	}
	now := e.now()
	src.Status, src.RedirectIncidentID, src.LastUpdate = "redirected", into, now
	dst.LastUpdate = now
	for _, a := range e.st.graphAlerts {
		if a.IncidentID == from {
			a.IncidentID = into
			a.IncidentWebURL = "https://security.microsoft.com/incidents/" + into + "?tid=" + a.TenantID
			a.LastUpdate = now
		}
	}
	return nil
}

// AddLegacyAlert creates an alert of the legacy /security/alerts API.
func (e *Emulator) AddLegacyAlert(tenantID string, a LegacyAlert) (LegacyAlert, error) {
	if a.Provider == "" {
		return LegacyAlert{}, fmt.Errorf("azureemu: legacy alert needs a Provider (vendorInformation.provider)")
	}
	var err error
	if a.Severity, err = checkEnum("alert severity", orDefault(a.Severity, "medium"), graphSeverities); err != nil {
		return LegacyAlert{}, err
	}
	if a.Status, err = checkEnum("alert status", orDefault(a.Status, "newAlert"), legacyStatuses); err != nil {
		return LegacyAlert{}, err
	}
	if a.Feedback, err = checkEnum("alert feedback", a.Feedback, legacyFeedback); err != nil {
		return LegacyAlert{}, err
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	a = cloneLegacy(a)
	if a.ID == "" {
		a.ID = fmt.Sprintf("%016X%016X", rand.Uint64(), rand.Uint64())
	}
	if e.st.legacyAlerts[a.ID] != nil {
		return LegacyAlert{}, fmt.Errorf("azureemu: legacy alert %s already exists", a.ID)
	}
	a.Vendor = orDefault(a.Vendor, "Microsoft")
	a.TenantID = tenantID
	if a.Created.IsZero() {
		a.Created = e.now()
	}
	if a.EventTime.IsZero() {
		a.EventTime = a.Created
	}
	if a.LastModified.IsZero() {
		a.LastModified = a.Created
	}
	e.st.legacyAlerts[a.ID] = &a
	return cloneLegacy(a), nil
}

// LegacyAlert returns a legacy alert as stored now.
func (e *Emulator) LegacyAlert(id string) (LegacyAlert, bool) {
	e.mu.Lock()
	defer e.mu.Unlock()
	a := e.st.legacyAlerts[id]
	if a == nil {
		return LegacyAlert{}, false
	}
	return cloneLegacy(*a), true
}
