package microsoft_test

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"

	"github.com/lastmile/lastmile/internal/azureemu"
	"github.com/lastmile/lastmile/internal/connector"
	"github.com/lastmile/lastmile/internal/connector/sentinel"
)

// ann is a responder's change.
func ann(kind, text string, e *env) connector.Change {
	return connector.Change{Kind: kind, AlertID: "alert-42", Title: "Brute force", ByUser: true, By: "Ann", Email: "ann@contoso.com", Text: text, At: e.clock.Now()}
}

func addSentinelIncident(t *testing.T, e *env, inc azureemu.Incident) azureemu.Incident {
	t.Helper()
	if inc.Title == "" {
		inc.Title = "Brute force"
	}
	if inc.Severity == "" {
		inc.Severity = "High"
	}
	got, err := e.emu.AddIncident(wsName, inc)
	if err != nil {
		t.Fatal(err)
	}
	return got
}

func stored(t *testing.T, e *env, name string) azureemu.Incident {
	t.Helper()
	inc, ok := e.emu.Incident(name)
	if !ok {
		t.Fatalf("incident %s gone", name)
	}
	return inc
}

func comments(e *env, name string) []string {
	var out []string
	for _, c := range e.emu.Comments(name) {
		out = append(out, c.Message)
	}
	return out
}

func TestSentinelApplyCreatedLabels(t *testing.T) {
	e := newEnv(t, armApp("Microsoft Sentinel Responder"))
	inc := addSentinelIncident(t, e, azureemu.Incident{Labels: []azureemu.Label{{Name: "auto", Type: "AutoAssigned"}, {Name: "vip"}}})
	src := e.source(t, "sentinel", nil)
	ctx := context.Background()

	// Responder may not label: the error names the role that may.
	err := src.Apply(ctx, inc.Name, connector.Change{Kind: "created", At: e.clock.Now()})
	var ae *sentinel.APIError
	if !errors.As(err, &ae) || ae.Status != http.StatusForbidden || !strings.Contains(err.Error(), "Microsoft Sentinel Contributor") {
		t.Fatalf("label as Responder: %v", err)
	}
	if got := stored(t, e, inc.Name); len(got.Labels) != 2 {
		t.Errorf("labels changed by a refused write: %+v", got.Labels)
	}

	if err := e.emu.GrantARMRole(tenant, client, wsResourceID, "Microsoft Sentinel Contributor"); err != nil {
		t.Fatal(err)
	}
	for range 2 { // the second time finds the label there
		if err := src.Apply(ctx, inc.Name, connector.Change{Kind: "created", At: e.clock.Now()}); err != nil {
			t.Fatal(err)
		}
	}
	got := stored(t, e, inc.Name)
	var names []string
	for _, l := range got.Labels {
		names = append(names, l.Name+"/"+l.Type)
	}
	if strings.Join(names, ",") != "auto/AutoAssigned,vip/User,SIGNL4/User" {
		t.Errorf("labels %v, want the existing ones and SIGNL4 once", names)
	}
	if c := comments(e, inc.Name); len(c) != 0 {
		t.Errorf("comments for a label: %q", c)
	}
	if got.Status != "New" {
		t.Errorf("status %s after labelling", got.Status)
	}
}

func TestSentinelApplyCreatedCustomOrNoLabel(t *testing.T) {
	e := newEnv(t, armApp("Microsoft Sentinel Contributor"))
	inc := addSentinelIncident(t, e, azureemu.Incident{})
	ctx := context.Background()
	if err := e.source(t, "sentinel", map[string]any{"label": "lastmile"}).Apply(ctx, inc.Name, connector.Change{Kind: "created"}); err != nil {
		t.Fatal(err)
	}
	if got := stored(t, e, inc.Name); len(got.Labels) != 1 || got.Labels[0].Name != "lastmile" {
		t.Errorf("labels %+v", got.Labels)
	}
	before := len(e.emu.Requests())
	if err := e.source(t, "sentinel", map[string]any{"label": "-"}).Apply(ctx, inc.Name, connector.Change{Kind: "created"}); err != nil {
		t.Fatal(err)
	}
	if n := len(e.emu.Requests()) - before; n != 0 {
		t.Errorf("%d requests with labels off", n)
	}
}

func TestSentinelApplyLifecycle(t *testing.T) {
	e := newEnv(t, armApp("Microsoft Sentinel Responder"))
	inc := addSentinelIncident(t, e, azureemu.Incident{})
	src := e.source(t, "sentinel", map[string]any{
		"closeClassification": "TruePositive", "closeClassificationReason": "SuspiciousActivity", "closeComment": "Closed from on-call",
	})
	ctx := context.Background()
	steps := []struct {
		change  connector.Change
		check   func(t *testing.T, got azureemu.Incident)
		comment string // the comment the step adds, "" for none
	}{
		{ann("acknowledged", "", e), func(t *testing.T, got azureemu.Incident) {
			o := got.Owner
			if got.Status != "Active" || o.Email != "ann@contoso.com" || o.UserPrincipalName != "ann@contoso.com" || o.AssignedTo != "Ann" {
				t.Errorf("after ack: status %s owner %+v", got.Status, o)
			}
		}, "Acknowledged in lastmile by Ann."},
		{ann("annotated", "Looking at web01 now", e), func(t *testing.T, got azureemu.Incident) {
			if got.Status != "Active" {
				t.Errorf("an annotation changed the status to %s", got.Status)
			}
		}, "Ann in lastmile: Looking at web01 now"},
		{ann("unacknowledged", "", e), func(t *testing.T, got azureemu.Incident) {
			if got.Status != "New" {
				t.Errorf("after unack: status %s", got.Status)
			}
		}, "Acknowledgement undone in lastmile by Ann."},
		{ann("closed", "Password reset.", e), func(t *testing.T, got azureemu.Incident) {
			if got.Status != "Closed" || got.Classification != "TruePositive" || got.ClassificationReason != "SuspiciousActivity" ||
				got.ClassificationComment != "Closed from on-call" {
				t.Errorf("after close: %s %s %s %q", got.Status, got.Classification, got.ClassificationReason, got.ClassificationComment)
			}
		}, "Closed in lastmile by Ann. Password reset."},
		{ann("reopened", "", e), func(t *testing.T, got azureemu.Incident) {
			if got.Status != "Active" {
				t.Errorf("after reopen: status %s", got.Status)
			}
		}, "Reopened in lastmile by Ann."},
		// Lifecycle steps not made by a responder that Sentinel has no
		// place for change nothing.
		{connector.Change{Kind: "escalated", Text: "to level 2"}, func(t *testing.T, got azureemu.Incident) {
			if got.Status != "Active" {
				t.Errorf("after escalation: status %s", got.Status)
			}
		}, ""},
	}
	for _, st := range steps {
		before := comments(e, inc.Name)
		if err := src.Apply(ctx, inc.Name, st.change); err != nil {
			t.Fatalf("%s: %v", st.change.Kind, err)
		}
		st.check(t, stored(t, e, inc.Name))
		after := comments(e, inc.Name)
		switch {
		case st.comment == "" && len(after) != len(before):
			t.Errorf("%s added comments %q", st.change.Kind, after[len(before):])
		case st.comment != "" && (len(after) != len(before)+1 || after[len(after)-1] != st.comment):
			t.Errorf("%s: comments %q, want %q added", st.change.Kind, after, st.comment)
		}
	}
}

func TestSentinelApplyCloseClassifications(t *testing.T) {
	tests := []struct {
		name                            string
		settings                        map[string]any
		previous                        azureemu.Incident // the incident's past, before it was reopened
		classification, reason, comment string
	}{
		{"default: undetermined with the timeline's words", nil, azureemu.Incident{}, "Undetermined", "", "Closed in lastmile by Ann."},
		{"undetermined drops a configured reason", map[string]any{"closeClassificationReason": "SuspiciousActivity"}, azureemu.Incident{},
			"Undetermined", "", "Closed in lastmile by Ann."},
		{"false positive", map[string]any{"closeClassification": "FalsePositive", "closeClassificationReason": "IncorrectAlertLogic"}, azureemu.Incident{},
			"FalsePositive", "IncorrectAlertLogic", "Closed in lastmile by Ann."},
		{"benign positive", map[string]any{"closeClassification": "BenignPositive", "closeClassificationReason": "SuspiciousButExpected", "closeComment": "Expected"},
			azureemu.Incident{}, "BenignPositive", "SuspiciousButExpected", "Expected"},
		// Closed before as a true positive, reopened, now closed as
		// undetermined: the old reason must not survive.
		{"undetermined after an earlier verdict", nil,
			azureemu.Incident{Status: "Active", Classification: "TruePositive", ClassificationReason: "SuspiciousActivity", ClassificationComment: "earlier"},
			"Undetermined", "", "Closed in lastmile by Ann."},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t, armApp("Microsoft Sentinel Responder"))
			inc := addSentinelIncident(t, e, tt.previous)
			err := e.source(t, "sentinel", tt.settings).Apply(context.Background(), inc.Name, ann("closed", "", e))
			got := stored(t, e, inc.Name)
			wrong := got.Status != "Closed" || got.Classification != tt.classification || got.ClassificationReason != tt.reason || got.ClassificationComment != tt.comment
			if err != nil {
				t.Fatal(err)
			}
			if wrong {
				t.Errorf("closed as %s/%s/%q (status %s), want %s/%s/%q", got.Classification, got.ClassificationReason, got.ClassificationComment, got.Status,
					tt.classification, tt.reason, tt.comment)
			}
		})
	}
}

func TestSentinelApplyLeavesClosedAlone(t *testing.T) {
	e := newEnv(t, armApp("Microsoft Sentinel Responder"))
	inc := addSentinelIncident(t, e, azureemu.Incident{Status: "Closed", Classification: "FalsePositive", ClassificationReason: "InaccurateData",
		ClassificationComment: "by the SOC"})
	src := e.source(t, "sentinel", map[string]any{"closeClassification": "TruePositive", "closeClassificationReason": "SuspiciousActivity"})
	ctx := context.Background()
	for _, kind := range []string{"acknowledged", "closed", "unacknowledged"} {
		if err := src.Apply(ctx, inc.Name, ann(kind, "", e)); err != nil {
			t.Fatalf("%s: %v", kind, err)
		}
	}
	got := stored(t, e, inc.Name)
	if got.Status != "Closed" || got.Classification != "FalsePositive" || got.ClassificationComment != "by the SOC" || got.Owner.Email != "" {
		t.Errorf("an incident closed at the source was changed: %+v", got)
	}
	if n := e.requests("PUT", "/incidents/"+inc.Name) - e.requests("PUT", "/comments/"); n != 0 {
		t.Errorf("%d incident PUTs for a closed incident", n)
	}
}

func TestSentinelApplyRetriesConcurrentChange(t *testing.T) {
	e := newEnv(t, armApp("Microsoft Sentinel Responder"))
	inc := addSentinelIncident(t, e, azureemu.Incident{})
	// An analyst saves in the portal after the connector read the
	// incident and before it writes: Sentinel answers 409, the connector
	// reads again and keeps the analyst's change.
	e.http.Transport = &hookTransport{
		next: e.http.Transport,
		match: func(r *http.Request) bool {
			return r.Method == http.MethodPut && strings.HasSuffix(r.URL.Path, "/incidents/"+inc.Name)
		},
		before: func() {
			if _, err := e.emu.UpdateIncident(inc.Name, func(i *azureemu.Incident) { i.Description = "edited by analyst" }); err != nil {
				t.Error(err)
			}
		},
	}
	src := e.source(t, "sentinel", nil)
	if err := src.Apply(context.Background(), inc.Name, ann("acknowledged", "", e)); err != nil {
		t.Fatal(err)
	}
	got := stored(t, e, inc.Name)
	if got.Status != "Active" || got.Owner.Email != "ann@contoso.com" || got.Description != "edited by analyst" {
		t.Errorf("after the concurrent change: status %s owner %+v description %q", got.Status, got.Owner, got.Description)
	}
	if n := incidentPuts(e, inc.Name); n != 2 {
		t.Errorf("%d PUTs, want the refused one and the retry", n)
	}
	if c := comments(e, inc.Name); len(c) != 1 {
		t.Errorf("comments %q, want one", c)
	}
}

func TestSentinelApplyRetriesInjectedConflict(t *testing.T) {
	e := newEnv(t, armApp("Microsoft Sentinel Responder"))
	inc := addSentinelIncident(t, e, azureemu.Incident{})
	e.emu.Fail(azureemu.FailRule{PathContains: "/incidents/" + inc.Name, Method: http.MethodPut, Status: http.StatusConflict})
	if err := e.source(t, "sentinel", nil).Apply(context.Background(), inc.Name, ann("closed", "", e)); err != nil {
		t.Fatal(err)
	}
	if got := stored(t, e, inc.Name); got.Status != "Closed" {
		t.Errorf("status %s", got.Status)
	}
	if n := incidentPuts(e, inc.Name); n != 2 {
		t.Errorf("%d PUTs, want 2", n)
	}
	// Conflicting on every try gives up with the conflict.
	inc2 := addSentinelIncident(t, e, azureemu.Incident{})
	e.emu.Fail(azureemu.FailRule{PathContains: "/incidents/" + inc2.Name, Method: http.MethodPut, Status: http.StatusConflict, Times: 10})
	err := e.source(t, "sentinel", nil).Apply(context.Background(), inc2.Name, ann("acknowledged", "", e))
	var ae *sentinel.APIError
	if !errors.As(err, &ae) || ae.Status != http.StatusConflict {
		t.Errorf("err = %v, want the 409", err)
	}
	e.emu.ClearFaults()
}

// incidentPuts counts PUTs of the incident itself (not its comments).
func incidentPuts(e *env, name string) int {
	n := 0
	for _, r := range e.emu.Requests() {
		if r.Method == http.MethodPut && strings.HasSuffix(r.Path, "/incidents/"+name) {
			n++
		}
	}
	return n
}

func TestSentinelApplyReaderRefused(t *testing.T) {
	e := newEnv(t, armApp("Microsoft Sentinel Reader"))
	inc := addSentinelIncident(t, e, azureemu.Incident{})
	src := e.source(t, "sentinel", nil)
	for _, kind := range []string{"acknowledged", "annotated"} {
		err := src.Apply(context.Background(), inc.Name, ann(kind, "note", e))
		if err == nil || !strings.Contains(err.Error(), "Microsoft Sentinel Responder") {
			t.Errorf("%s as Reader: %v, want the Responder role named", kind, err)
		}
	}
	if got := stored(t, e, inc.Name); got.Status != "New" || len(e.emu.Comments(inc.Name)) != 0 {
		t.Errorf("a refused write changed the incident: %+v", got)
	}
}

func TestSentinelApplyUnknownIncident(t *testing.T) {
	e := newEnv(t, armApp("Microsoft Sentinel Responder"))
	err := e.source(t, "sentinel", nil).Apply(context.Background(), "00000000-0000-0000-0000-00000000000a", ann("acknowledged", "", e))
	if err == nil || !strings.Contains(err.Error(), "not found") {
		t.Errorf("err = %v", err)
	}
}
