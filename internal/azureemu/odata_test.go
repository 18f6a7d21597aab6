package azureemu

import (
	"testing"
	"time"
)

func TestFilterParser(t *testing.T) {
	t0 := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	item := map[string]any{"status": "New", "title": "Disk 'full'", "created": t0, "number": float64(7), "owner": nil}
	get := func(f string) any { return item[f] }
	arm := filterSchema{entity: "x", foldNames: true, quotedTimes: true, fields: map[string]fieldKind{
		"status": kindEnum, "title": kindString, "created": kindTime, "number": kindNumber, "owner": kindString,
	}}
	graph := arm
	graph.foldNames, graph.quotedTimes = false, false
	cases := []struct {
		expr   string
		sch    filterSchema
		want   bool
		hasErr bool
	}{
		{expr: "status eq 'New'", sch: arm, want: true},
		{expr: "status eq 'new'", sch: arm, want: true},
		{expr: "STATUS eq 'New'", sch: arm, want: true},
		{expr: "STATUS eq 'New'", sch: graph, hasErr: true},
		{expr: "title eq 'disk ''full'''", sch: arm, want: false},
		{expr: "title eq 'Disk ''full'''", sch: arm, want: true},
		{expr: "created ge 2026-03-01T12:00:00Z", sch: graph, want: true},
		{expr: "created gt 2026-03-01T12:00:00.0000001Z", sch: graph, want: false},
		{expr: "created lt 2026-03-01T13:00:00+01:00", sch: graph, want: false},
		{expr: "created ge '2026-03-01T12:00:00Z'", sch: arm, want: true},
		{expr: "created ge '2026-03-01T12:00:00Z'", sch: graph, hasErr: true},
		{expr: "created ge 2026-03-01", sch: graph, hasErr: true},
		{expr: "number le 7 and number gt 6", sch: arm, want: true},
		{expr: "number eq '7'", sch: arm, hasErr: true},
		{expr: "owner eq null", sch: arm, want: true},
		{expr: "owner ne null", sch: arm, want: false},
		{expr: "status in ('Active', 'New')", sch: arm, want: true},
		{expr: "status eq 'Closed' or (status eq 'New' and number eq 7)", sch: arm, want: true},
		{expr: "status eq 'Closed' or status eq 'New' and number eq 8", sch: arm, want: false},
		{expr: "not status eq 'Closed'", sch: arm, want: true},
		{expr: "status eq New", sch: arm, hasErr: true},
		{expr: "status like 'N%'", sch: arm, hasErr: true},
		{expr: "startswith(title, 'D')", sch: arm, hasErr: true},
		{expr: "status eq 'New' and", sch: arm, hasErr: true},
		{expr: "status eq 'New", sch: arm, hasErr: true},
		{expr: "(status eq 'New'", sch: arm, hasErr: true},
		{expr: "status eq 'New')", sch: arm, hasErr: true},
		{expr: "", sch: arm, hasErr: true},
	}
	for _, tc := range cases {
		x, err := parseFilter(tc.expr, tc.sch)
		if tc.hasErr {
			if err == nil {
				t.Errorf("%q: accepted", tc.expr)
			}
			continue
		}
		if err != nil {
			t.Errorf("%q: %v", tc.expr, err)
			continue
		}
		if got := x.eval(get); got != tc.want {
			t.Errorf("%q = %v, want %v", tc.expr, got, tc.want)
		}
	}
}

func TestGlobAndScope(t *testing.T) {
	globs := []struct {
		pattern, action string
		want            bool
	}{
		{"*", "Microsoft.SecurityInsights/incidents/write", true},
		{"*/read", "Microsoft.SecurityInsights/incidents/read", true},
		{"*/read", "Microsoft.SecurityInsights/incidents/write", false},
		{"Microsoft.SecurityInsights/*", "microsoft.securityinsights/incidents/labels/write", true},
		{"Microsoft.SecurityInsights/*/read", "Microsoft.SecurityInsights/incidents/comments/read", true},
		{"Microsoft.SecurityInsights/*/read", "Microsoft.SecurityInsights/incidents/labels/write", false},
		{"Microsoft.OperationalInsights/workspaces/query/*/read", "Microsoft.OperationalInsights/workspaces/query/read", false},
		{"Microsoft.OperationalInsights/workspaces/query/read", "Microsoft.OperationalInsights/workspaces/query/read", true},
	}
	for _, g := range globs {
		if got := globMatch(g.pattern, g.action); got != g.want {
			t.Errorf("globMatch(%q, %q) = %v", g.pattern, g.action, got)
		}
	}
	scopes := []struct {
		scope, resource string
		want            bool
	}{
		{"/subscriptions/S", "/subscriptions/s/resourceGroups/rg", true},
		{"/subscriptions/S/", "/subscriptions/S/resourceGroups/rg", true},
		{"/subscriptions/S", "/subscriptions/S2/resourceGroups/rg", false},
		{"/subscriptions/S/resourceGroups/rg", "/subscriptions/S/resourceGroups/rg2/x", false},
		{"/", "/subscriptions/S", true},
	}
	for _, s := range scopes {
		if got := scopeCovers(s.scope, s.resource); got != s.want {
			t.Errorf("scopeCovers(%q, %q) = %v", s.scope, s.resource, got)
		}
	}
}
