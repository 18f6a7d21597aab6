package azureemu

import (
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/google/uuid"
)

// incidentBody is the PUT body. Pointers tell absent from empty: an
// absent (or null) optional property keeps its current value.
type incidentBody struct {
	ETag       *string             `json:"etag"`
	Properties *incidentPropsInput `json:"properties"`
}

type incidentPropsInput struct {
	Title                 *string       `json:"title"`
	Description           *string       `json:"description"`
	Severity              *string       `json:"severity"`
	Status                *string       `json:"status"`
	Classification        *string       `json:"classification"`
	ClassificationReason  *string       `json:"classificationReason"`
	ClassificationComment *string       `json:"classificationComment"`
	Owner                 *ownerInput   `json:"owner"`
	Labels                *[]labelInput `json:"labels"`
	FirstActivityTimeUtc  *string       `json:"firstActivityTimeUtc"`
	LastActivityTimeUtc   *string       `json:"lastActivityTimeUtc"`
}

type ownerInput struct {
	ObjectID          *string `json:"objectId"`
	Email             *string `json:"email"`
	AssignedTo        *string `json:"assignedTo"`
	UserPrincipalName *string `json:"userPrincipalName"`
	OwnerType         *string `json:"ownerType"`
}

type labelInput struct {
	LabelName string `json:"labelName"`
	LabelType string `json:"labelType"`
}

func deref(p *string) string {
	if p == nil {
		return ""
	}
	return *p
}

// applyIncidentInput merges a PUT body into inc and validates the result
// the way Sentinel does. It returns the message of a 400.
func applyIncidentInput(inc *Incident, in *incidentPropsInput) string {
	if in == nil {
		return "The Properties field is required."
	}
	if deref(in.Title) == "" {
		return "The Title field is required."
	}
	if deref(in.Severity) == "" {
		return "The Severity field is required."
	}
	if deref(in.Status) == "" {
		return "The Status field is required."
	}
	inc.Title = *in.Title
	var ok bool
	if inc.Severity, ok = canonical(*in.Severity, incidentSeverities); !ok {
		return enumMessage("Severity", *in.Severity, incidentSeverities)
	}
	if inc.Status, ok = canonical(*in.Status, incidentStatuses); !ok {
		return enumMessage("Status", *in.Status, incidentStatuses)
	}
	if in.Description != nil {
		inc.Description = *in.Description
	}
	if in.Classification != nil {
		inc.Classification = ""
		if *in.Classification != "" {
			if inc.Classification, ok = canonical(*in.Classification, classifications); !ok {
				return enumMessage("Classification", *in.Classification, classifications)
			}
		}
	}
	if in.ClassificationReason != nil {
		inc.ClassificationReason = ""
		if *in.ClassificationReason != "" {
			if inc.ClassificationReason, ok = canonical(*in.ClassificationReason, classReasons); !ok {
				return enumMessage("ClassificationReason", *in.ClassificationReason, classReasons)
			}
		}
	}
	if in.ClassificationComment != nil {
		inc.ClassificationComment = *in.ClassificationComment
	}
	if in.Owner != nil {
		o := Owner{ObjectID: deref(in.Owner.ObjectID), Email: deref(in.Owner.Email), AssignedTo: deref(in.Owner.AssignedTo),
			UserPrincipalName: deref(in.Owner.UserPrincipalName), OwnerType: "Unknown"}
		if o.ObjectID != "" {
			if _, err := uuid.Parse(o.ObjectID); err != nil {
				return "The value '" + o.ObjectID + "' is not valid for Owner.ObjectId; it must be a GUID."
			}
		}
		if t := deref(in.Owner.OwnerType); t != "" {
			if o.OwnerType, ok = canonical(t, ownerTypes); !ok {
				return enumMessage("Owner.OwnerType", t, ownerTypes)
			}
		}
		inc.Owner = o
	}
	for _, f := range []struct {
		in  *string
		out *time.Time
		n   string
	}{{in.FirstActivityTimeUtc, &inc.FirstActivityTime, "FirstActivityTimeUtc"}, {in.LastActivityTimeUtc, &inc.LastActivityTime, "LastActivityTimeUtc"}} {
		if f.in == nil {
			continue
		}
		if *f.in == "" {
			*f.out = time.Time{}
			continue
		}
		t, err := time.Parse(time.RFC3339Nano, *f.in)
		if err != nil {
			return "The value '" + *f.in + "' is not valid for " + f.n + "."
		}
		*f.out = t.UTC()
	}
	if inc.Status == "Closed" && inc.Classification == "" {
		return "Classification is required when closing an incident (status Closed)."
	}
	if inc.ClassificationReason != "" {
		if inc.Classification == "" || !slices.Contains(reasonsFor[inc.Classification], inc.ClassificationReason) {
			return fmt.Sprintf("ClassificationReason '%s' is not valid with Classification '%s'.", inc.ClassificationReason, inc.Classification)
		}
	}
	return ""
}

// mergeLabels computes the labels after a PUT: the User labels sent, plus
// AutoAssigned labels the incident already has (clients cannot add or
// remove those). changed reports whether the User labels differ.
func mergeLabels(old []Label, in []labelInput) (merged []Label, changed bool, msg string) {
	var user []Label
	for _, l := range in {
		if strings.TrimSpace(l.LabelName) == "" {
			return nil, false, "The LabelName field is required."
		}
		t := l.LabelType
		if t == "" {
			t = "User"
		}
		ct, ok := canonical(t, []string{"User", "AutoAssigned"})
		if !ok {
			return nil, false, enumMessage("LabelType", t, []string{"User", "AutoAssigned"})
		}
		if ct == "AutoAssigned" {
			if !slices.ContainsFunc(old, func(o Label) bool { return o.Type == "AutoAssigned" && o.Name == l.LabelName }) {
				return nil, false, "The label '" + l.LabelName + "' cannot be added with labelType AutoAssigned; that type is read-only."
			}
			continue
		}
		if !slices.ContainsFunc(user, func(u Label) bool { return u.Name == l.LabelName }) {
			user = append(user, Label{Name: l.LabelName, Type: "User"})
		}
	}
	var oldUser []string
	for _, o := range old {
		if o.Type == "AutoAssigned" {
			merged = append(merged, o)
		} else {
			oldUser = append(oldUser, o.Name)
		}
	}
	var newUser []string
	for _, u := range user {
		newUser = append(newUser, u.Name)
	}
	slices.Sort(oldUser)
	slices.Sort(newUser)
	return append(merged, user...), !slices.Equal(oldUser, newUser), ""
}

func enumMessage(field, v string, allowed []string) string {
	return fmt.Sprintf("The value '%s' is not valid for %s. Valid values are: %s.", v, field, strings.Join(allowed, ", "))
}

func (e *Emulator) putIncident(c *call, p principal, ap armPath, name, scope string) {
	body, err := c.readBody(4 << 20)
	if err != nil {
		c.cloudError(http.StatusRequestEntityTooLarge, "RequestEntityTooLarge", "The request content is too large.")
		return
	}
	var in incidentBody
	if err := json.Unmarshal(body, &in); err != nil {
		c.cloudError(http.StatusBadRequest, "InvalidRequestContent", "The request content was invalid and could not be deserialized: '"+err.Error()+"'.")
		return
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	ws := c.sentinelWorkspace(p, ap, actionIncidentWrite, scope)
	if ws == nil {
		return
	}
	rec := e.st.incidents[strings.ToLower(name)]
	if rec != nil && rec.ws != ws {
		c.cloudError(http.StatusConflict, "Conflict", "An incident named '"+name+"' exists in another workspace.")
		return
	}
	if rec != nil {
		match := c.r.Header.Get("If-Match")
		if in.ETag != nil && *in.ETag != "" {
			match = *in.ETag
		}
		if match != "" && match != "*" && match != rec.inc.ETag {
			c.cloudError(http.StatusConflict, "Conflict", "Newer version of resource '"+name+"' exists. Data was not saved")
			return
		}
	}
	var inc Incident
	if rec != nil {
		inc = cloneIncident(rec.inc)
	} else {
		inc = Incident{Name: name}
	}
	if msg := applyIncidentInput(&inc, in.Properties); msg != "" {
		c.cloudError(http.StatusBadRequest, "BadRequest", msg)
		return
	}
	if in.Properties.Labels != nil {
		var old []Label
		if rec != nil {
			old = rec.inc.Labels
		}
		merged, changed, msg := mergeLabels(old, *in.Properties.Labels)
		if msg != "" {
			c.cloudError(http.StatusBadRequest, "BadRequest", msg)
			return
		}
		if changed && !c.armAllowed(p, actionIncidentLabels, scope) {
			return
		}
		inc.Labels = merged
	}
	now := e.now()
	status := http.StatusOK
	if rec == nil {
		inc.Created, inc.LastModified = now, now
		rec = &incidentRec{inc: inc, ws: ws}
		e.st.createIncident(rec)
		status = http.StatusCreated
	} else {
		inc.LastModified = now
		inc.ETag = newETag()
		rec.inc = inc
	}
	e.st.data(ws).table("SecurityIncident").add(securityIncidentRow(rec, p.claims.AppID))
	c.json(status, incidentJSON(rec))
}
