package web

import (
	"context"
	"net/http"
	"time"

	"github.com/lastmile/lastmile/internal/apperr"
	"github.com/lastmile/lastmile/internal/connector"
	"github.com/lastmile/lastmile/internal/team"
)

// connTestTimeout bounds a connection test run while the admin waits:
// each check is a few calls to Microsoft, retried when throttled.
const connTestTimeout = 45 * time.Second

// connectorsData is the list of a team's connectors.
type connectorsData struct {
	Team    team.Team
	CanEdit bool
	// Off is true when the server has no connectors.
	Off   bool
	Items []connView
}

// connectorData is one connector's page, with the connection test's
// results when one was run.
type connectorData struct {
	Team     team.Team
	CanEdit  bool
	C        connView
	Settings []connSetting
	Tested   bool
	TestErr  string
	Checks   []connector.Check
	ChecksOK bool
	// Push is how Sentinel's playbook reaches this connector; PushURL is
	// set only on the answer that made a new secret, the one time it can
	// be shown.
	Push    connector.PushInfo
	PushURL string
}

func (s *Server) connService() (*connector.Service, error) {
	if s.cfg.Connectors == nil {
		return nil, apperr.New(apperr.Unavailable, "Connectors are not available on this server.")
	}
	return s.cfg.Connectors, nil
}

func (s *Server) connectorsPage(w http.ResponseWriter, r *http.Request, v *view) error {
	tm, err := s.pathTeam(r, v, team.RoleManager)
	if err != nil {
		return err
	}
	d := connectorsData{Team: tm, CanEdit: integCanEdit(v, tm.ID), Off: s.cfg.Connectors == nil}
	if !d.Off {
		list, err := s.cfg.Connectors.List(r.Context(), tm.ID)
		if err != nil {
			return err
		}
		now := s.cfg.Clock.Now()
		for _, c := range list {
			d.Items = append(d.Items, connHealthView(c, now, v.User.TimeZone))
		}
	}
	v.Title, v.Nav = "Connectors · "+tm.Name, "console"
	return s.render(w, v, "connectors", d)
}

// connectorPage shows a connector; ?test=1 (team admins) runs the
// connection test first. The test only reads, so a GET may run it.
func (s *Server) connectorPage(w http.ResponseWriter, r *http.Request, v *view) error {
	return s.connectorPageData(w, r, v, nil)
}

// connectorPageData renders a connector's page; adjust, if set, adds to
// what it shows.
func (s *Server) connectorPageData(w http.ResponseWriter, r *http.Request, v *view, adjust func(*connectorData)) error {
	tm, err := s.pathTeam(r, v, team.RoleManager)
	if err != nil {
		return err
	}
	cs, err := s.connService()
	if err != nil {
		return err
	}
	ctx := r.Context()
	c, err := cs.Get(ctx, tm.ID, r.PathValue("connectorId"))
	if err != nil {
		return err
	}
	d := connectorData{Team: tm, CanEdit: integCanEdit(v, tm.ID)}
	if r.URL.Query().Get("test") != "" {
		if !d.CanEdit {
			return apperr.New(apperr.Forbidden, "only team admins may test a connector's connection")
		}
		d.Tested = true
		tctx, cancel := context.WithTimeout(ctx, connTestTimeout)
		d.Checks, err = cs.Test(tctx, tm.ID, c.ID)
		cancel()
		if err != nil {
			if apperr.KindOf(err) == apperr.Internal {
				return err
			}
			d.TestErr = connErrText(err)
		}
		d.ChecksOK = err == nil
		for _, ch := range d.Checks {
			d.ChecksOK = d.ChecksOK && ch.OK
		}
		// The test may have signed in for the first time: read the
		// health again so the page shows what the test left.
		if c, err = cs.Get(ctx, tm.ID, c.ID); err != nil {
			return err
		}
	}
	if d.Push, err = cs.PushInfo(ctx, tm.ID, c.ID); err != nil {
		return err
	}
	d.C = connHealthView(c, s.cfg.Clock.Now(), v.User.TimeZone)
	d.Settings = connSettingsSummary(c)
	if adjust != nil {
		adjust(&d)
	}
	v.Title, v.Nav = c.Name+" · Connectors", "console"
	return s.render(w, v, "connector", d)
}

// connErrText is the words of an error for a page.
func connErrText(err error) string {
	if e, ok := apperr.As(err); ok {
		return e.Message
	}
	return err.Error()
}

// connectorAction turns a connector on or off, queues a poll or deletes it.
func (s *Server) connectorAction(w http.ResponseWriter, r *http.Request, v *view) error {
	tm, err := s.pathTeam(r, v, team.RoleAdmin)
	if err != nil {
		return err
	}
	cs, err := s.connService()
	if err != nil {
		return err
	}
	ctx, id := r.Context(), r.PathValue("connectorId")
	page := "/teams/" + tm.ID + "/connectors/" + id
	switch r.PathValue("action") {
	case "enable", "disable":
		on := r.PathValue("action") == "enable"
		c, err := cs.Update(ctx, tm.ID, id, connector.Patch{Enabled: &on})
		if err != nil {
			return err
		}
		if on {
			return redirect(w, r, page, c.Name+" is on: it polls every "+connEvery(c.PollSeconds)+".")
		}
		return redirect(w, r, page, c.Name+" is off: it neither polls nor writes back until turned on.")
	case "poll":
		if err := cs.PollNow(ctx, tm.ID, id); err != nil {
			return err
		}
		return redirect(w, r, page, "A poll is queued; reload in a few seconds to see its outcome.")
	case "push-url":
		secret, _, err := cs.RotatePushSecret(ctx, tm.ID, id)
		if err != nil {
			return err
		}
		s.cfg.Log.Info("connector push secret made", "team_id", tm.ID, "connector_id", id, "by", v.User.ID)
		// Shown on this answer only: the secret is not kept.
		r.URL.RawQuery = ""
		return s.connectorPageWithPushURL(w, r, v, connector.PushURL(s.cfg.BaseURL, secret))
	case "push-off":
		if err := cs.DisablePush(ctx, tm.ID, id); err != nil {
			return err
		}
		return redirect(w, r, page, "Push is off: the old push URL answers 404, and the connector polls as before.")
	case "delete":
		c, err := cs.Get(ctx, tm.ID, id)
		if err != nil {
			return err
		}
		if err := cs.Delete(ctx, tm.ID, id); err != nil {
			return err
		}
		s.cfg.Log.Info("connector deleted", "team_id", tm.ID, "connector_id", id, "by", v.User.ID)
		return redirect(w, r, "/teams/"+tm.ID+"/connectors", c.Name+" is deleted. Its alerts stay, no longer linked.")
	}
	return notFound()
}

// connectorPageWithPushURL renders the connector's page with a push URL
// made just now, which no later visit can show again.
func (s *Server) connectorPageWithPushURL(w http.ResponseWriter, r *http.Request, v *view, pushURL string) error {
	return s.connectorPageData(w, r, v, func(d *connectorData) { d.PushURL = pushURL })
}
