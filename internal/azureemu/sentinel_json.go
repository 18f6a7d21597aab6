package azureemu

import (
	"encoding/json"
	"maps"
	"slices"
	"strings"
	"time"
)

// incidentJSON is the ARM representation of an incident.
func incidentJSON(rec *incidentRec) map[string]any {
	inc := rec.inc
	labels := make([]map[string]any, 0, len(inc.Labels))
	for _, l := range inc.Labels {
		t := l.Type
		if t == "" {
			t = "User"
		}
		labels = append(labels, map[string]any{"labelName": l.Name, "labelType": t})
	}
	products := []string{}
	tactics := slices.Clone(inc.Tactics)
	if tactics == nil {
		tactics = []string{}
	}
	for _, a := range inc.Alerts {
		if !slices.Contains(products, a.ProductName) {
			products = append(products, a.ProductName)
		}
		for _, t := range a.Tactics {
			if !slices.Contains(tactics, t) {
				tactics = append(tactics, t)
			}
		}
	}
	rules := slices.Clone(inc.RelatedAnalyticRules)
	if rules == nil {
		rules = []string{}
	}
	props := map[string]any{
		"title":                  inc.Title,
		"severity":               inc.Severity,
		"status":                 inc.Status,
		"owner":                  ownerJSON(inc.Owner),
		"labels":                 labels,
		"createdTimeUtc":         armTime(inc.Created),
		"lastModifiedTimeUtc":    armTime(inc.LastModified),
		"incidentNumber":         inc.Number,
		"incidentUrl":            inc.URL,
		"providerName":           inc.ProviderName,
		"providerIncidentId":     inc.ProviderIncidentID,
		"relatedAnalyticRuleIds": rules,
		"additionalData": map[string]any{
			"alertsCount": len(inc.Alerts), "bookmarksCount": 0, "commentsCount": len(rec.comments),
			"alertProductNames": products, "tactics": tactics, "techniques": []string{},
		},
	}
	setIf(props, "description", inc.Description)
	setIf(props, "classification", inc.Classification)
	setIf(props, "classificationReason", inc.ClassificationReason)
	setIf(props, "classificationComment", inc.ClassificationComment)
	if !inc.FirstActivityTime.IsZero() {
		props["firstActivityTimeUtc"] = armTime(inc.FirstActivityTime)
	}
	if !inc.LastActivityTime.IsZero() {
		props["lastActivityTimeUtc"] = armTime(inc.LastActivityTime)
	}
	return map[string]any{
		"id": inc.ID, "name": inc.Name, "type": "Microsoft.SecurityInsights/incidents",
		"etag": inc.ETag, "properties": props,
	}
}

func ownerJSON(o Owner) map[string]any {
	t := o.OwnerType
	if t == "" {
		t = "Unknown"
	}
	return map[string]any{
		"objectId": nullable(o.ObjectID), "email": nullable(o.Email), "assignedTo": nullable(o.AssignedTo),
		"userPrincipalName": nullable(o.UserPrincipalName), "ownerType": t,
	}
}

func alertJSON(ws *Workspace, a Alert) map[string]any {
	add := map[string]any{}
	for k, v := range a.ExtendedProperties {
		add[k] = v
	}
	tactics := slices.Clone(a.Tactics)
	if tactics == nil {
		tactics = []string{}
	}
	props := map[string]any{
		"systemAlertId": a.Name, "alertDisplayName": a.DisplayName, "friendlyName": a.DisplayName,
		"severity": a.Severity, "status": a.Status, "confidenceLevel": a.ConfidenceLevel,
		"vendorName": a.VendorName, "productName": a.ProductName, "tactics": tactics,
		"timeGenerated": armTime(a.TimeGenerated), "processingEndTime": armTime(a.TimeGenerated),
		"resourceIdentifiers": []map[string]any{{
			"type": "LogAnalytics", "workspaceId": ws.WorkspaceID, "subscriptionId": ws.SubscriptionID, "resourceGroup": ws.ResourceGroup,
		}},
		"additionalData": add,
	}
	setIf(props, "description", a.Description)
	setIf(props, "alertType", a.AlertType)
	setIf(props, "providerAlertId", a.ProviderAlertID)
	setIf(props, "compromisedEntity", a.CompromisedEntity)
	setIf(props, "alertLink", a.AlertLink)
	if !a.StartTime.IsZero() {
		props["startTimeUtc"] = armTime(a.StartTime)
	}
	if !a.EndTime.IsZero() {
		props["endTimeUtc"] = armTime(a.EndTime)
	}
	return map[string]any{
		"id":   ws.ResourceID() + "/providers/Microsoft.SecurityInsights/Entities/" + a.Name,
		"name": a.Name, "type": "Microsoft.SecurityInsights/Entities", "kind": "SecurityAlert",
		"properties": props,
	}
}

func entityJSON(ws *Workspace, en Entity) map[string]any {
	props := maps.Clone(en.Properties)
	if props == nil {
		props = map[string]any{}
	}
	return map[string]any{
		"id":   ws.ResourceID() + "/providers/Microsoft.SecurityInsights/Entities/" + en.Name,
		"name": en.Name, "type": "Microsoft.SecurityInsights/Entities", "kind": en.Kind,
		"properties": props,
	}
}

func commentJSON(rec *incidentRec, c Comment) map[string]any {
	return map[string]any{
		"id":   rec.inc.ID + "/comments/" + c.Name,
		"name": c.Name, "type": "Microsoft.SecurityInsights/incidents/comments", "etag": c.ETag,
		"properties": map[string]any{
			"message": c.Message, "createdTimeUtc": armTime(c.Created), "lastModifiedTimeUtc": armTime(c.LastModified),
			"author": map[string]any{
				"objectId": nullable(c.Author.ObjectID), "name": nullable(c.Author.Name),
				"email": nullable(c.Author.Email), "userPrincipalName": nullable(c.Author.UserPrincipalName),
			},
		},
	}
}

// securityAlertRow is the alert as the SecurityAlert table holds it.
func securityAlertRow(ws *Workspace, a Alert) (map[string]any, map[string]string) {
	ext, _ := json.Marshal(a.ExtendedProperties)
	if a.ExtendedProperties == nil {
		ext = []byte("{}")
	}
	row := map[string]any{
		"TimeGenerated": a.TimeGenerated, "DisplayName": a.DisplayName, "AlertName": a.DisplayName,
		"AlertSeverity": a.Severity, "Description": a.Description, "ProviderName": "ASI Scheduled Alerts",
		"VendorName": a.VendorName, "VendorOriginalId": a.ProviderAlertID, "SystemAlertId": a.Name,
		"ProductName": a.ProductName, "AlertType": a.AlertType, "Status": a.Status,
		"ConfidenceLevel": a.ConfidenceLevel, "CompromisedEntity": a.CompromisedEntity,
		"AlertLink": a.AlertLink, "Tactics": strings.Join(a.Tactics, ","),
		"ExtendedProperties": string(ext), "Entities": "[]",
		"StartTime": a.StartTime, "EndTime": a.EndTime,
		"WorkspaceSubscriptionId": ws.SubscriptionID, "WorkspaceResourceGroup": ws.ResourceGroup,
		"IsIncident": false,
	}
	return row, map[string]string{"StartTime": "datetime", "EndTime": "datetime"}
}

// securityIncidentRow is one version of an incident in the
// SecurityIncident table (a row per change).
func securityIncidentRow(rec *incidentRec, modifiedBy string) (map[string]any, map[string]string) {
	inc := rec.inc
	labels := make([]map[string]any, 0, len(inc.Labels))
	for _, l := range inc.Labels {
		t := l.Type
		if t == "" {
			t = "User"
		}
		labels = append(labels, map[string]any{"labelName": l.Name, "labelType": t})
	}
	alertIDs := make([]string, 0, len(inc.Alerts))
	for _, a := range inc.Alerts {
		alertIDs = append(alertIDs, a.Name)
	}
	row := map[string]any{
		"TimeGenerated": inc.LastModified, "IncidentName": inc.Name, "Title": inc.Title,
		"Description": inc.Description, "Severity": inc.Severity, "Status": inc.Status,
		"Classification": inc.Classification, "ClassificationReason": inc.ClassificationReason,
		"ClassificationComment": inc.ClassificationComment, "Owner": ownerJSON(inc.Owner),
		"ProviderName": inc.ProviderName, "ProviderIncidentId": inc.ProviderIncidentID,
		"IncidentNumber": int64(inc.Number), "IncidentUrl": inc.URL, "Labels": labels,
		"FirstActivityTime": inc.FirstActivityTime, "LastActivityTime": inc.LastActivityTime,
		"CreatedTime": inc.Created, "LastModifiedTime": inc.LastModified, "AlertIds": alertIDs,
		"ModifiedBy": modifiedBy,
	}
	return row, map[string]string{"FirstActivityTime": "datetime", "LastActivityTime": "datetime", "IncidentNumber": "int"}
}

// armTime formats a timestamp the way ARM and Graph do (UTC, up to seven
// fractional digits).
func armTime(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.9999999Z") }

func nullable(s string) any {
	if s == "" {
		return nil
	}
	return s
}

func setIf(m map[string]any, k, v string) {
	if v != "" {
		m[k] = v
	}
}
