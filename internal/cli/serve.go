package cli

import (
	"context"
	"fmt"

	"github.com/lastmile/lastmile/internal/app"
	"github.com/lastmile/lastmile/internal/clock"
)

func runServe(ctx context.Context, env Env, args []string) error {
	fs := newFlagSet(env, "serve")
	var cfg app.Config
	cfg.RegisterFlags(fs)
	pos, err := parse(fs, env, args)
	if err != nil {
		return err
	}
	if len(pos) > 0 {
		return usagef("unexpected argument %q", pos[0])
	}
	if err := cfg.Validate(); err != nil {
		return usageError{err.Error()}
	}
	log := newLogger(env.Stderr, cfg.LogLevel, cfg.LogFormat)
	return app.Run(ctx, cfg, log, clock.Real{}, func(a *app.App) {
		n, err := a.Teams.CountUsers(ctx)
		if err != nil || n > 0 {
			return
		}
		db := ""
		if cfg.DatabaseURL != app.DefaultDatabaseURL {
			db = " --database-url \"$LASTMILE_DATABASE_URL\""
		}
		fmt.Fprintf(env.Stderr, "\nlastmile has no users yet. Create the first administrator, with a password for the web app and an API key:\n\n"+
			"    lastmile user add you@example.com --admin --password --api-key%s\n\n"+
			"then sign in at %s/login, or ", db, a.BaseURL())
		fmt.Fprintf(env.Stderr,
			"create a team from the command line (it prints the team's webhook URL):\n\n"+
				"    lastmile team create Operations --base-url %s%s\n\n", a.BaseURL(), db)
		if db != "" {
			fmt.Fprintf(env.Stderr, "(set LASTMILE_DATABASE_URL to the database URL this server uses)\n\n")
		}
	})
}

func runMigrate(ctx context.Context, env Env, args []string) error {
	fs := newFlagSet(env, "migrate")
	var cfg app.Config
	cfg.RegisterFlags(fs)
	pos, err := parse(fs, env, args)
	if err != nil {
		return err
	}
	if len(pos) > 0 {
		return usagef("unexpected argument %q", pos[0])
	}
	db, err := openDB(ctx, env, cfg.DatabaseURL)
	if err != nil {
		return err
	}
	defer db.Close()
	v, err := db.SchemaVersion(ctx)
	if err != nil {
		return err
	}
	fmt.Fprintf(env.Stdout, "database schema is at version %d\n", v)
	return nil
}
