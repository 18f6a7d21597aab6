package browser_test

import (
	"context"
	"net/http"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/lastmile/lastmile/internal/team"
)

// A responder who opens an administrator's page or another team's page is
// refused, with words rather than a blank page, and without learning that
// the other team exists.
func TestResponderIsRefusedAdminAndOtherTeamsPages(t *testing.T) {
	s := startSite(t)
	s.member("ann@example.com", team.RoleResponder)
	other, _, err := s.a.Teams.CreateTeam(context.Background(), "Secret SOC", "")
	if err != nil {
		t.Fatal(err)
	}
	b := s.open(t)
	b.login("ann@example.com")

	for _, tc := range []struct {
		path   string
		status int64
		text   string
	}{
		{"/admin", http.StatusForbidden, "Not allowed"},
		{"/admin/channels", http.StatusForbidden, "Not allowed"},
		{"/teams/" + other.ID, http.StatusNotFound, "Not found"},
		{"/teams/" + other.ID + "/planner", http.StatusNotFound, "Not found"},
		{"/teams/" + s.team.ID + "/integrations", http.StatusForbidden, "Not allowed"},
	} {
		resp, err := chromedp.Run(b.ctx, chromedp.NavigateResponse(s.url+tc.path))
		if err != nil {
			t.Fatalf("open %s: %v", tc.path, err)
		}
		if resp.Status != tc.status {
			t.Errorf("%s answered %d, want %d", tc.path, resp.Status, tc.status)
		}
		b.waitText(tc.text)
		if txt := b.bodyText(); strings.Contains(txt, "Secret SOC") {
			t.Errorf("%s shows the other team's name", tc.path)
		}
	}
}
