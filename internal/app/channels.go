package app

import (
	"context"
	"fmt"
	"net/http"
	"time"

	"github.com/lastmile/lastmile/internal/connector"
	"github.com/lastmile/lastmile/internal/notify"
	"github.com/lastmile/lastmile/internal/notify/action"
	"github.com/lastmile/lastmile/internal/notify/email"
	"github.com/lastmile/lastmile/internal/notify/inbound"
	"github.com/lastmile/lastmile/internal/notify/ntfy"
	"github.com/lastmile/lastmile/internal/notify/outbound"
	"github.com/lastmile/lastmile/internal/notify/push"
	"github.com/lastmile/lastmile/internal/notify/settings"
	"github.com/lastmile/lastmile/internal/notify/slack"
	"github.com/lastmile/lastmile/internal/notify/teams"
	"github.com/lastmile/lastmile/internal/notify/twilio"
	"github.com/lastmile/lastmile/internal/notify/webhook"
	"github.com/lastmile/lastmile/internal/seal"
	"github.com/lastmile/lastmile/internal/store"
)

// providerTimeout bounds one call to a provider's API.
const providerTimeout = 30 * time.Second

// channels is the channel subsystem: provider settings and the channels
// built from them, the keys, action tokens, recipients' answers and the
// outbound webhooks.
type channels struct {
	registry  *notify.Registry
	keys      *settings.Keys
	settings  *settings.Service
	tokens    *action.Tokens
	inbound   *inbound.Service
	outbound  *outbound.Service
	deliverer *outbound.Deliverer
	limits    notify.Limits
	// connectors link teams to Sentinel and Graph security; runner polls
	// them and writes back.
	connectors *connector.Service
	runner     *connector.Runner
}

func (a *App) buildChannels(ctx context.Context, baseURL string, override []notify.Channel) error {
	key, err := encryptionKey(a.cfg, a.log)
	if err != nil {
		return err
	}
	box, err := seal.New(key)
	if err != nil {
		return err
	}
	ch := &channels{registry: notify.NewRegistry(), keys: settings.NewKeys(a.DB, box, a.clock)}
	if err := ch.keys.CheckEncryptionKey(ctx); err != nil {
		return err
	}
	if ch.tokens, err = action.New(ctx, ch.keys, a.DB, a.clock); err != nil {
		return err
	}
	if ch.limits, err = notify.ParseLimits(a.cfg.ChannelLimits); err != nil {
		return err
	}
	ch.inbound = inbound.New(a.DB, a.Alerts, a.Teams, ch.tokens, a.clock, a.log)
	deps := notify.Deps{
		Log:     a.log,
		Clock:   a.clock,
		BaseURL: baseURL,
		HTTP:    &http.Client{Timeout: providerTimeout},
		Guarded: notify.GuardedClient(a.cfg.AllowPrivateWebhooks, providerTimeout),
		Keys:    ch.keys,
		Inbound: ch.inbound,
	}
	ch.settings = settings.New(a.DB, box, a.clock, a.log, deps, ch.registry,
		push.Provider(), ntfy.Provider(), twilio.Provider(), email.Provider(), slack.Provider(), teams.Provider(),
		webhook.Provider(webhook.Options{Secret: []byte(a.cfg.WebhookSecret), AllowPrivate: a.cfg.AllowPrivateWebhooks, Clock: a.clock}))
	if err := ch.settings.Load(ctx); err != nil {
		return fmt.Errorf("load channel settings: %w", err)
	}
	// Tests hand in channels of their own in place of the providers'.
	ch.registry.Set(override...)
	ch.outbound = outbound.NewService(a.DB, box, a.clock, outbound.Options{AllowPrivate: a.cfg.AllowPrivateWebhooks, BaseURL: baseURL})
	ch.deliverer = outbound.NewDeliverer(a.DB, box, a.clock, notify.GuardedClient(a.cfg.AllowPrivateWebhooks, providerTimeout), a.log, outbound.DelivererOptions{})
	kinds, err := a.connectorKinds()
	if err != nil {
		return err
	}
	ch.connectors = connector.NewService(a.DB, box, a.clock, kinds...)
	a.metrics.reg.MustRegister(connector.NewCollector(ch.connectors))
	a.channels = ch
	return nil
}

// housekeeping runs the channel subsystem's background work until ctx
// ends: outbound webhook deliveries every second, settings changed by
// other instances every 10 seconds, and spent tokens and old deliveries
// hourly.
func (a *App) housekeeping(ctx context.Context, deliver bool) {
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	var n int
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		n++
		if deliver {
			if err := a.channels.deliverer.RunOnce(ctx); err != nil && ctx.Err() == nil {
				a.log.Error("outbound webhooks", "err", err)
			}
			if err := a.channels.runner.RunOnce(ctx); err != nil && ctx.Err() == nil {
				a.log.Error("connectors", "err", err)
			}
		}
		if n%10 == 0 {
			if err := a.channels.settings.Refresh(ctx); err != nil && ctx.Err() == nil {
				a.log.Error("refresh channel settings", "err", err)
			}
		}
		if n%3600 == 0 {
			if err := a.channels.tokens.Purge(ctx); err != nil && ctx.Err() == nil {
				a.log.Error("purge spent tokens", "err", err)
			}
			// Delivery reports no message ever claimed (test messages).
			if _, err := a.DB.Exec(ctx, `DELETE FROM early_deliveries WHERE at < ?`, store.Micros(a.clock.Now().Add(-24*time.Hour))); err != nil && ctx.Err() == nil {
				a.log.Error("purge early delivery reports", "err", err)
			}
			if a.sessions != nil {
				if _, err := a.sessions.Purge(ctx); err != nil && ctx.Err() == nil {
					a.log.Error("purge expired sessions", "err", err)
				}
			}
			// Outbound deliveries are kept 30 days for admins to look at.
			if _, err := a.channels.deliverer.Prune(ctx, a.clock.Now().Add(-30*24*time.Hour)); err != nil && ctx.Err() == nil {
				a.log.Error("prune outbound deliveries", "err", err)
			}
		}
	}
}
