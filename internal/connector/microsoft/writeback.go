package microsoft

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/lastmile/lastmile/internal/connector"
	"github.com/lastmile/lastmile/internal/connector/sentinel"
)

// Apply writes one responder's action back. Sentinel incidents get status,
// owner, label and a comment; Graph incidents and alerts their status,
// assignee, classification and comments.
func (src *Source) Apply(ctx context.Context, externalID string, c connector.Change) error {
	switch src.mode {
	case sentinel.ModeSentinel:
		return src.applySentinel(ctx, externalID, c)
	case sentinel.ModeGraphIncidents:
		return src.applyGraphIncident(ctx, externalID, c)
	case sentinel.ModeGraphAlerts:
		return src.applyAlertV2(ctx, externalID, c)
	case sentinel.ModeGraphLegacy:
		return src.applyLegacy(ctx, externalID, c)
	}
	return fmt.Errorf("unknown source %q", src.mode)
}

// comment is what lastmile writes on the incident for a change.
func comment(c connector.Change) string {
	who := firstOf(c.By, c.Email, "someone")
	switch c.Kind {
	case "acknowledged":
		return "Acknowledged in lastmile by " + who + "."
	case "unacknowledged":
		return "Acknowledgement undone in lastmile by " + who + "."
	case "closed":
		s := "Closed in lastmile by " + who + "."
		if c.Text != "" {
			s += " " + c.Text
		}
		return s
	case "reopened":
		return "Reopened in lastmile by " + who + "."
	case "annotated":
		return who + " in lastmile: " + c.Text
	}
	return ""
}

func (src *Source) applySentinel(ctx context.Context, id string, c connector.Change) error {
	var mutate func(*sentinel.Incident) (bool, error)
	switch c.Kind {
	case "created":
		if src.s.Label == "-" {
			return nil
		}
		mutate = func(inc *sentinel.Incident) (bool, error) {
			if inc.HasLabel(src.s.Label) {
				return false, nil
			}
			inc.Properties.Labels = append(inc.Properties.Labels, sentinel.Label{LabelName: src.s.Label, LabelType: "User"})
			return true, nil
		}
	case "acknowledged":
		mutate = func(inc *sentinel.Incident) (bool, error) {
			p := &inc.Properties
			if p.Status == "Closed" {
				return false, nil
			}
			p.Status = "Active"
			if c.Email != "" {
				p.Owner = &sentinel.Owner{Email: c.Email, UserPrincipalName: c.Email, AssignedTo: firstOf(c.By, c.Email), OwnerType: "User"}
			}
			return true, nil
		}
	case "unacknowledged":
		mutate = func(inc *sentinel.Incident) (bool, error) {
			if inc.Properties.Status != "Active" {
				return false, nil
			}
			inc.Properties.Status = "New"
			return true, nil
		}
	case "closed":
		mutate = func(inc *sentinel.Incident) (bool, error) {
			p := &inc.Properties
			if p.Status == "Closed" {
				return false, nil
			}
			p.Status, p.Classification, p.ClassificationReason = "Closed", src.s.CloseClassification, src.s.CloseClassificationReason
			p.ClassificationComment = firstOf(src.s.CloseComment, comment(c))
			if p.Classification == "Undetermined" {
				p.ClassificationReason = "" // Sentinel takes a reason only with a verdict
			}
			return true, nil
		}
	case "reopened":
		mutate = func(inc *sentinel.Incident) (bool, error) {
			if inc.Properties.Status != "Closed" {
				return false, nil
			}
			inc.Properties.Status = "Active"
			return true, nil
		}
	case "annotated":
		return src.c.AddIncidentComment(ctx, id, comment(c))
	default:
		return nil
	}
	if _, err := src.c.UpdateIncident(ctx, id, mutate); err != nil {
		return err
	}
	if text := comment(c); text != "" {
		return src.c.AddIncidentComment(ctx, id, text)
	}
	return nil
}

// Graph takes classifications in its own words.
func graphClassification(s string) (classification, determination string) {
	switch s {
	case "TruePositive":
		return "truePositive", "other"
	case "FalsePositive":
		return "falsePositive", "other"
	case "BenignPositive":
		return "informationalExpectedActivity", "other"
	}
	return "unknown", "unknown"
}

func ptr[T any](v T) *T { return &v }

func (src *Source) applyGraphIncident(ctx context.Context, id string, c connector.Change) error {
	var p sentinel.GraphIncidentPatch
	switch c.Kind {
	case "created":
		if src.s.Label == "-" {
			return nil
		}
		// Graph replaces the whole list: keep the SOC's own tags.
		cur, err := src.c.GetGraphIncident(ctx, id)
		if err != nil {
			return err
		}
		if slices.Contains(cur.CustomTags, src.s.Label) {
			return nil
		}
		p.CustomTags = ptr(append(slices.Clone(cur.CustomTags), src.s.Label))
	case "acknowledged":
		p.Status = ptr("active")
		if c.Email != "" {
			p.AssignedTo = ptr(c.Email)
		}
	case "closed":
		cl, det := graphClassification(src.s.CloseClassification)
		p.Status, p.Classification, p.Determination = ptr("resolved"), ptr(cl), ptr(det)
	case "reopened":
		p.Status = ptr("active")
	case "annotated", "unacknowledged":
	default:
		return nil
	}
	if p != (sentinel.GraphIncidentPatch{}) {
		if _, err := src.c.UpdateGraphIncident(ctx, id, p); err != nil {
			return err
		}
	}
	if text := comment(c); text != "" {
		return src.c.CommentGraphIncident(ctx, id, text)
	}
	return nil
}

func (src *Source) applyAlertV2(ctx context.Context, id string, c connector.Change) error {
	var p sentinel.AlertV2Patch
	switch c.Kind {
	case "acknowledged":
		p.Status = ptr("inProgress")
		if c.Email != "" {
			p.AssignedTo = ptr(c.Email)
		}
	case "unacknowledged", "reopened":
		p.Status = ptr("new")
	case "closed":
		cl, det := graphClassification(src.s.CloseClassification)
		p.Status, p.Classification, p.Determination = ptr("resolved"), ptr(cl), ptr(det)
	case "annotated":
	default:
		return nil // alerts_v2 have no tags to label
	}
	if p != (sentinel.AlertV2Patch{}) {
		if _, err := src.c.UpdateAlertV2(ctx, id, p); err != nil {
			return err
		}
	}
	if text := comment(c); text != "" {
		return src.c.CommentAlertV2(ctx, id, text)
	}
	return nil
}

func (src *Source) applyLegacy(ctx context.Context, externalID string, c connector.Change) error {
	parts := strings.SplitN(externalID, "|", 3)
	if len(parts) != 3 {
		return errors.New("legacy alert id without its vendor information")
	}
	vendor := sentinel.VendorInformation{Provider: parts[0], Vendor: parts[1]}
	var p sentinel.LegacyAlertPatch
	switch c.Kind {
	case "acknowledged":
		p.Status = ptr("inProgress")
		if c.Email != "" {
			p.AssignedTo = ptr(c.Email)
		}
	case "unacknowledged", "reopened":
		p.Status = ptr("newAlert")
	case "closed":
		fb := map[string]string{"TruePositive": "truePositive", "FalsePositive": "falsePositive", "BenignPositive": "benignPositive"}[src.s.CloseClassification]
		p.Status, p.ClosedDateTime, p.Feedback = ptr("resolved"), ptr(c.At.UTC()), ptr(firstOf(fb, "unknown"))
	default:
		return nil // legacy alerts take no free-text comments
	}
	return src.c.UpdateLegacyAlert(ctx, parts[2], p, vendor)
}

// ApplyGroup sets a Graph incident Active (with the member as assignee)
// once lastmile holds all its alerts acknowledged, and resolves it once
// they are all closed. Only the alerts mode groups items.
func (src *Source) ApplyGroup(ctx context.Context, incidentID string, c connector.Change) error {
	if src.mode != sentinel.ModeGraphAlerts {
		return nil
	}
	var p sentinel.GraphIncidentPatch
	switch c.Kind {
	case "acknowledged":
		p.Status = ptr("active")
		if c.Email != "" {
			p.AssignedTo = ptr(c.Email)
		}
	case "closed":
		cl, det := graphClassification(src.s.CloseClassification)
		p.Status, p.Classification, p.Determination = ptr("resolved"), ptr(cl), ptr(det)
	default:
		return nil
	}
	_, err := src.c.UpdateGraphIncident(ctx, incidentID, p)
	return err
}

// Check tests sign-in and each permission the settings need.
func (src *Source) Check(ctx context.Context) []connector.Check {
	labels := src.s.Label != "-"
	var out []connector.Check
	for _, ch := range src.c.CheckPermissions(ctx, src.mode, true, labels, src.s.Augment) {
		// An unverified check's detail already says it was not tested
		// and what will prove it; adding words would say it twice.
		out = append(out, connector.Check{Name: ch.Name, OK: ch.OK, Detail: ch.Detail})
	}
	if src.s.Log != nil && !slices.ContainsFunc(out, func(c connector.Check) bool { return strings.Contains(c.Name, "log") }) {
		out = append(out, connector.Check{Name: "lifecycle log", OK: true, Detail: "checked on the first record written"})
	}
	return out
}
