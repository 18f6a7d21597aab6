package app

import (
	"context"
	"fmt"

	"github.com/lastmile/lastmile/internal/notify/push"
	"github.com/lastmile/lastmile/internal/web"
	"github.com/lastmile/lastmile/internal/web/session"
)

// buildWeb makes the web app and the session store it shares with the API.
func (a *App) buildWeb(base string) (*web.Server, *session.Store, error) {
	sessions := session.New(a.DB, a.clock, web.Secure(base))
	cfg := web.Config{
		BaseURL: base, DB: a.DB, Teams: a.Teams, Alerts: a.Alerts, Duty: a.Duty, Sessions: sessions,
		Channels: a.channels.settings, Connectors: a.channels.connectors, Outbound: a.channels.outbound,
		VAPIDPublicKey: func(ctx context.Context) (string, error) { return push.PublicKey(ctx, a.channels.keys) },
		Wake:           a.Engine.Wake,
		Clock:          a.clock,
		Log:            a.log,
	}
	if a.cfg.OIDCIssuer != "" {
		cfg.OIDC = &web.OIDCConfig{Issuer: a.cfg.OIDCIssuer, ClientID: a.cfg.OIDCClientID, ClientSecret: a.cfg.OIDCClientSecret,
			Name: a.cfg.OIDCName, CAFile: a.cfg.OIDCCAFile}
	}
	w, err := web.New(cfg)
	if err != nil {
		return nil, nil, fmt.Errorf("web app: %w", err)
	}
	return w, sessions, nil
}
