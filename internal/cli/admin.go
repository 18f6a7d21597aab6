package cli

import (
	"context"
	"flag"
	"fmt"
	"log/slog"

	"github.com/lastmile/lastmile/internal/app"
	"github.com/lastmile/lastmile/internal/clock"
	"github.com/lastmile/lastmile/internal/store"
	"github.com/lastmile/lastmile/internal/team"
)

// openDB opens the database for an admin command, creating the schema if it
// is new, so the first command on a fresh machine just works.
func openDB(ctx context.Context, env Env, dbURL string) (*store.DB, error) {
	cfg := app.Config{DatabaseURL: dbURL, Migrate: true, DBMaxConns: 2}
	return app.OpenStore(ctx, cfg, slog.New(slog.DiscardHandler), clock.Real{})
}

// adminFlags are the flags every admin command shares.
type adminFlags struct {
	dbURL   string
	json    bool
	baseURL string
}

func (a *adminFlags) register(fs *flag.FlagSet) {
	app.RegisterDatabaseFlag(fs, &a.dbURL)
	fs.BoolVar(&a.json, "json", false, "print JSON instead of text")
	fs.StringVar(&a.baseURL, "base-url", "http://127.0.0.1:8080", "server URL, for the webhook URLs printed")
}

func withTeams(ctx context.Context, env Env, a adminFlags, fn func(ts *team.Service) error) error {
	db, err := openDB(ctx, env, a.dbURL)
	if err != nil {
		return err
	}
	defer db.Close()
	return fn(team.NewService(db, clock.Real{}))
}

func sub(env Env, args []string, names string) (string, []string, error) {
	if len(args) == 0 {
		return "", nil, usagef("missing subcommand: use one of %s", names)
	}
	if args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		fmt.Fprintf(env.Stderr, "subcommands: %s; add -h after one for its flags\n", names)
		return "", nil, flag.ErrHelp
	}
	return args[0], args[1:], nil
}
