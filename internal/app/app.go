package app

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/lastmile/lastmile/internal/alert"
	"github.com/lastmile/lastmile/internal/clock"
	"github.com/lastmile/lastmile/internal/connector"
	"github.com/lastmile/lastmile/internal/duty"
	"github.com/lastmile/lastmile/internal/engine"
	"github.com/lastmile/lastmile/internal/httpapi"
	"github.com/lastmile/lastmile/internal/ingest"
	"github.com/lastmile/lastmile/internal/notify"
	"github.com/lastmile/lastmile/internal/notify/action"
	"github.com/lastmile/lastmile/internal/notify/push"
	"github.com/lastmile/lastmile/internal/store"
	"github.com/lastmile/lastmile/internal/team"
	"github.com/lastmile/lastmile/internal/web/session"
)

// App is a running lastmile server.
type App struct {
	cfg     Config
	log     *slog.Logger
	clock   clock.Clock
	metrics *appMetrics
	DB      *store.DB
	batch   *store.Batcher
	Teams   *team.Service
	Alerts  *alert.Service
	Duty    *duty.Service
	srv     *http.Server
	ln      net.Listener
	served  chan error
	Engine  *engine.Engine
	stopEng context.CancelFunc
	engDone chan struct{}
	// channels is the channel subsystem (providers, tokens, answers,
	// outbound webhooks).
	channels *channels
	// sessions are the web app's sign-ins, purged by housekeeping.
	sessions *session.Store
}

// OpenStore opens and, if asked, migrates the database.
func OpenStore(ctx context.Context, cfg Config, log *slog.Logger, c clock.Clock) (*store.DB, error) {
	db, err := store.Open(ctx, cfg.DatabaseURL, store.Options{
		SQLiteSynchronous:         cfg.SQLiteSynchronous,
		PostgresSynchronousCommit: cfg.PostgresSynchronousCommit,
		MaxConns:                  cfg.DBMaxConns,
		Logger:                    log,
	})
	if err != nil {
		return nil, err
	}
	if cfg.Migrate {
		if _, err := db.Migrate(ctx, c.Now); err != nil {
			db.Close()
			return nil, err
		}
	} else if err := db.CheckCurrent(ctx); err != nil {
		db.Close()
		return nil, err
	}
	return db, nil
}

// New opens the database and builds the services; Start begins serving.
// Channels, if given, replace the providers' channels of the same names
// (tests use recorders).
func New(ctx context.Context, cfg Config, log *slog.Logger, c clock.Clock, channels ...notify.Channel) (*App, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	db, err := OpenStore(ctx, cfg, log, c)
	if err != nil {
		return nil, err
	}
	a := &App{cfg: cfg, log: log, clock: c, DB: db}
	a.metrics = newMetrics()
	a.batch = store.NewBatcher(db, store.BatcherOptions{Logger: log, OnCommit: a.metrics.observeCommit})
	a.Teams = team.NewService(db, c)
	a.Alerts = alert.NewService(db, a.batch, c, a.Teams)
	a.Duty = duty.NewService(db, c, a.Teams)
	fail := func(err error) (*App, error) {
		if a.ln != nil {
			a.ln.Close()
		}
		a.batch.Close()
		db.Close()
		return nil, err
	}
	// Listen now: links in messages need the address when no base URL is
	// configured.
	if a.ln, err = net.Listen("tcp", cfg.Listen); err != nil {
		return fail(fmt.Errorf("listen on %s: %w", cfg.Listen, err))
	}
	if err := a.buildChannels(ctx, a.BaseURL(), channels); err != nil {
		return fail(err)
	}
	a.Engine = engine.New(db, c, a.Teams, a.Duty, a.channels.registry, log, engine.Options{
		BaseURL:    a.BaseURL(),
		Actions:    action.Issuer{Tokens: a.channels.tokens},
		ReplyCodes: a.channels.inbound,
		Limits:     a.channels.limits,
		Updates:    a.channels.settings.Updater,
		Observe:    a.channels.settings.Observe,
		Deliveries: a.channels.inbound.Delivery,
	})
	a.channels.runner = connector.NewRunner(a.channels.connectors, a.Alerts, a.Teams, log, connector.RunnerOptions{Wake: a.Engine.Wake})
	if err := a.Alerts.Prepare(ctx); err != nil {
		return fail(err)
	}
	return a, nil
}

// Start listens and serves in the background.
func (a *App) Start() error {
	ln := a.ln
	base := a.BaseURL()
	webApp, sessions, err := a.buildWeb(base)
	if err != nil {
		return err
	}
	a.sessions = sessions
	ctx, cancel := context.WithCancel(context.Background())
	a.stopEng, a.engDone = cancel, make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() { a.housekeeping(ctx, !a.cfg.NoEngine) })
	wg.Go(func() { webApp.Run(ctx) })
	if !a.cfg.NoEngine {
		wg.Go(func() { a.Engine.Run(ctx) })
	}
	go func() {
		wg.Wait()
		close(a.engDone)
	}()
	// A new alert wakes the engine to notify, and open inboxes to show it.
	wake := func() { a.Engine.Wake(); webApp.Notify() }
	api := httpapi.New(httpapi.Config{BaseURL: base, MaxBodyBytes: a.cfg.MaxBodyBytes, Limits: ingest.DefaultLimits, Metrics: a.metrics.reg, Wake: wake,
		Sessions: sessions, Web: webApp.Handler(),
		Channels: &httpapi.Channels{Settings: a.channels.settings, Inbound: a.channels.inbound, Outbound: a.channels.outbound,
			VAPIDPublicKey: func(ctx context.Context) (string, error) { return push.PublicKey(ctx, a.channels.keys) }},
		Connectors: a.channels.connectors},
		a.DB, a.Teams, a.Alerts, a.Duty, a.clock, a.log)
	a.srv = &http.Server{
		Handler:           api.Handler(),
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       2 * time.Minute,
		WriteTimeout:      2 * time.Minute,
		IdleTimeout:       2 * time.Minute,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          slog.NewLogLogger(a.log.Handler(), slog.LevelWarn),
	}
	a.served = make(chan error, 1)
	go func() { a.served <- a.srv.Serve(ln) }()
	a.log.Info("lastmile is serving", "addr", ln.Addr().String(), "base_url", base, "database", Redacted(a.cfg.DatabaseURL), "dialect", a.DB.Dialect())
	return nil
}

// BaseURL is the URL users reach this server at.
func (a *App) BaseURL() string {
	if a.cfg.BaseURL != "" {
		return a.cfg.BaseURL
	}
	return "http://" + a.Addr()
}

// Addr is the address the server listens on.
func (a *App) Addr() string { return a.ln.Addr().String() }

// Stop shuts down in dependency order: HTTP first, so requests in flight
// finish and their events commit; then the writer; then the database.
func (a *App) Stop(ctx context.Context) error {
	var errs []error
	if a.srv != nil {
		if err := a.srv.Shutdown(ctx); err != nil {
			errs = append(errs, fmt.Errorf("stop http: %w", err))
		}
		if err := <-a.served; err != nil && !errors.Is(err, http.ErrServerClosed) {
			errs = append(errs, fmt.Errorf("serve: %w", err))
		}
	}
	if a.stopEng != nil {
		a.stopEng()
		<-a.engDone
	}
	a.batch.Close()
	if err := a.DB.Close(); err != nil {
		errs = append(errs, fmt.Errorf("close database: %w", err))
	}
	return errors.Join(errs...)
}

// Run serves until ctx is done, then stops gracefully.
func Run(ctx context.Context, cfg Config, log *slog.Logger, c clock.Clock, firstStart func(a *App)) error {
	a, err := New(ctx, cfg, log, c)
	if err != nil {
		return err
	}
	if err := a.Start(); err != nil {
		a.Stop(context.Background())
		return err
	}
	if firstStart != nil {
		firstStart(a)
	}
	select {
	case <-ctx.Done():
	case err := <-a.served:
		a.served <- err
	}
	log.Info("stopping", "timeout", cfg.ShutdownTimeout.String())
	stopCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), cfg.ShutdownTimeout)
	defer cancel()
	return a.Stop(stopCtx)
}
