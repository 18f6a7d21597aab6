package azureemu

import (
	"maps"
	"slices"
	"time"
)

func graphTime(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return armTime(t)
}

func strs(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

func commentsJSON(cs []GraphComment) []map[string]any {
	out := make([]map[string]any, 0, len(cs))
	for _, c := range cs {
		out = append(out, map[string]any{
			"@odata.type": "microsoft.graph.security.alertComment", "comment": c.Comment,
			"createdByDisplayName": c.CreatedBy, "createdDateTime": armTime(c.Created),
		})
	}
	return out
}

func graphIncidentJSON(inc *GraphIncident, includeUnknown bool) map[string]any {
	return map[string]any{
		"@odata.type": "#microsoft.graph.security.incident", "id": inc.ID, "tenantId": inc.TenantID,
		"displayName": inc.DisplayName, "description": nullable(inc.Description),
		"severity": inc.Severity, "status": evolvable(inc.Status, baseIncidentStatuses, includeUnknown),
		"classification": inc.Classification, "determination": inc.Determination,
		"assignedTo": nullable(inc.AssignedTo), "customTags": strs(slices.Clone(inc.CustomTags)),
		"systemTags": strs(slices.Clone(inc.SystemTags)), "comments": commentsJSON(inc.Comments),
		"createdDateTime": armTime(inc.Created), "lastUpdateDateTime": armTime(inc.LastUpdate),
		"incidentWebUrl": inc.WebURL, "redirectIncidentId": nullable(inc.RedirectIncidentID),
	}
}

func graphAlertJSON(a *GraphAlert, includeUnknown bool) map[string]any {
	ev := make([]map[string]any, 0, len(a.Evidence))
	for _, x := range a.Evidence {
		ev = append(ev, maps.Clone(x))
	}
	return map[string]any{
		"@odata.type": "#microsoft.graph.security.alert", "id": a.ID, "providerAlertId": a.ProviderAlertID,
		"incidentId": nullable(a.IncidentID), "status": a.Status, "severity": a.Severity,
		"classification": a.Classification, "determination": a.Determination,
		"serviceSource":   evolvable(a.ServiceSource, baseServiceSources, includeUnknown),
		"detectionSource": evolvable(a.DetectionSource, baseDetectionSources, includeUnknown),
		"productName":     nullable(a.ProductName), "detectorId": nullable(a.DetectorID), "tenantId": a.TenantID,
		"title": a.Title, "description": nullable(a.Description), "recommendedActions": nullable(a.RecommendedActions),
		"category": nullable(a.Category), "assignedTo": nullable(a.AssignedTo),
		"alertWebUrl": a.AlertWebURL, "incidentWebUrl": nullable(a.IncidentWebURL),
		"actorDisplayName": nullable(a.ActorDisplayName), "threatDisplayName": nullable(a.ThreatDisplayName),
		"threatFamilyName": nullable(a.ThreatFamilyName), "mitreTechniques": strs(slices.Clone(a.MitreTechniques)),
		"createdDateTime": armTime(a.Created), "lastUpdateDateTime": armTime(a.LastUpdate),
		"resolvedDateTime": graphTime(a.Resolved), "firstActivityDateTime": graphTime(a.FirstActivity),
		"lastActivityDateTime": graphTime(a.LastActivity), "comments": commentsJSON(a.Comments),
		"evidence": ev, "systemTags": strs(slices.Clone(a.SystemTags)),
	}
}

func legacyAlertJSON(a *LegacyAlert) map[string]any {
	out := map[string]any{}
	for k, v := range a.Extra {
		out[k] = v
	}
	var conf any
	if a.Confidence > 0 {
		conf = a.Confidence
	}
	vals := map[string]any{
		"id": a.ID, "azureTenantId": a.TenantID, "azureSubscriptionId": nullable(a.AzureSubscriptionID),
		"title": a.Title, "description": nullable(a.Description), "category": nullable(a.Category),
		"severity": a.Severity, "status": a.Status, "feedback": nullable(a.Feedback),
		"assignedTo": nullable(a.AssignedTo), "comments": strs(slices.Clone(a.Comments)), "tags": strs(slices.Clone(a.Tags)),
		"confidence": conf, "incidentIds": strs(slices.Clone(a.IncidentIDs)),
		"recommendedActions": strs(slices.Clone(a.RecommendedActions)), "sourceMaterials": strs(slices.Clone(a.SourceMaterials)),
		"createdDateTime": armTime(a.Created), "eventDateTime": armTime(a.EventTime),
		"lastModifiedDateTime": armTime(a.LastModified), "closedDateTime": graphTime(a.Closed),
		"vendorInformation": map[string]any{
			"provider": a.Provider, "providerVersion": nullable(a.ProviderVersion),
			"subProvider": nullable(a.SubProvider), "vendor": a.Vendor,
		},
	}
	maps.Copy(out, vals)
	return out
}
