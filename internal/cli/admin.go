package cli

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"strings"
	"text/tabwriter"
	"time"

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

func runUser(ctx context.Context, env Env, args []string) error {
	name, args, err := sub(env, args, "add, list, api-key, keys, revoke-key")
	if err != nil {
		return err
	}
	fs := newFlagSet(env, "user "+name)
	var a adminFlags
	a.register(fs)
	switch name {
	case "add":
		var nu team.NewUser
		var withKey bool
		fs.StringVar(&nu.Name, "name", "", "display name")
		fs.BoolVar(&nu.IsAdmin, "admin", false, "make the user an instance administrator")
		fs.StringVar(&nu.TimeZone, "time-zone", "UTC", "IANA time zone, e.g. Europe/Berlin")
		fs.BoolVar(&withKey, "api-key", false, "also create an API key and print it once")
		pos, err := parse(fs, env, args)
		if err != nil {
			return err
		}
		if len(pos) != 1 {
			return usagef("usage: lastmile user add EMAIL [--name N] [--admin] [--api-key]")
		}
		nu.Email = pos[0]
		return withTeams(ctx, env, a, func(ts *team.Service) error {
			u, err := ts.CreateUser(ctx, nu)
			if err != nil {
				return err
			}
			out := map[string]any{"user": u}
			if withKey {
				k, key, err := ts.CreateAPIKey(ctx, u.ID, "created with the user")
				if err != nil {
					return err
				}
				out["apiKey"], out["apiKeyId"] = key, k.ID
			}
			if a.json {
				return printJSON(env.Stdout, out)
			}
			fmt.Fprintf(env.Stdout, "created user %s (%s)%s\n", u.Email, u.ID, map[bool]string{true: ", administrator"}[u.IsAdmin])
			if key, ok := out["apiKey"]; ok {
				fmt.Fprintf(env.Stdout, "API key %s (shown only now): %s\n", out["apiKeyId"], key)
			}
			return nil
		})
	case "list":
		if _, err := parse(fs, env, args); err != nil {
			return err
		}
		return withTeams(ctx, env, a, func(ts *team.Service) error {
			us, err := ts.Users(ctx)
			if err != nil {
				return err
			}
			if us == nil {
				us = []team.User{}
			}
			if a.json {
				return printJSON(env.Stdout, us)
			}
			tw := tabwriter.NewWriter(env.Stdout, 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "ID\tEMAIL\tNAME\tADMIN\tTIME ZONE")
			for _, u := range us {
				fmt.Fprintf(tw, "%s\t%s\t%s\t%v\t%s\n", u.ID, u.Email, u.Name, u.IsAdmin, u.TimeZone)
			}
			return tw.Flush()
		})
	case "api-key":
		var keyName string
		fs.StringVar(&keyName, "name", "", "what the key is for")
		pos, err := parse(fs, env, args)
		if err != nil {
			return err
		}
		if len(pos) != 1 {
			return usagef("usage: lastmile user api-key EMAIL [--name N]")
		}
		return withTeams(ctx, env, a, func(ts *team.Service) error {
			u, err := ts.UserByRef(ctx, pos[0])
			if err != nil {
				return err
			}
			k, key, err := ts.CreateAPIKey(ctx, u.ID, keyName)
			if err != nil {
				return err
			}
			if a.json {
				return printJSON(env.Stdout, map[string]any{"apiKey": k, "key": key})
			}
			fmt.Fprintf(env.Stdout, "API key %s for %s (shown only now): %s\n", k.ID, u.Email, key)
			return nil
		})
	case "keys":
		pos, err := parse(fs, env, args)
		if err != nil {
			return err
		}
		if len(pos) != 1 {
			return usagef("usage: lastmile user keys EMAIL")
		}
		return withTeams(ctx, env, a, func(ts *team.Service) error {
			u, err := ts.UserByRef(ctx, pos[0])
			if err != nil {
				return err
			}
			keys, err := ts.APIKeys(ctx, u.ID)
			if err != nil {
				return err
			}
			if a.json {
				if keys == nil {
					keys = []team.APIKey{}
				}
				return printJSON(env.Stdout, keys)
			}
			tw := tabwriter.NewWriter(env.Stdout, 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "ID\tNAME\tSTARTS WITH\tCREATED\tREVOKED")
			for _, k := range keys {
				revoked := "-"
				if k.RevokedAt != nil {
					revoked = k.RevokedAt.Format(time.RFC3339)
				}
				fmt.Fprintf(tw, "%s\t%s\t%s…\t%s\t%s\n", k.ID, k.Name, k.Prefix, k.CreatedAt.Format(time.RFC3339), revoked)
			}
			return tw.Flush()
		})
	case "revoke-key":
		pos, err := parse(fs, env, args)
		if err != nil {
			return err
		}
		if len(pos) != 2 {
			return usagef("usage: lastmile user revoke-key EMAIL KEY_ID")
		}
		return withTeams(ctx, env, a, func(ts *team.Service) error {
			u, err := ts.UserByRef(ctx, pos[0])
			if err != nil {
				return err
			}
			if err := ts.RevokeAPIKey(ctx, u.ID, pos[1]); err != nil {
				return err
			}
			fmt.Fprintf(env.Stdout, "revoked API key %s\n", pos[1])
			return nil
		})
	}
	return usagef("unknown subcommand %q: use add, list, api-key, keys or revoke-key", name)
}

func runTeam(ctx context.Context, env Env, args []string) error {
	name, args, err := sub(env, args, "create, list, add-member, remove-member, rotate-secret")
	if err != nil {
		return err
	}
	fs := newFlagSet(env, "team "+name)
	var a adminFlags
	a.register(fs)
	printSecret := func(t team.Team, secret string) error {
		base := strings.TrimSuffix(a.baseURL, "/")
		if a.json {
			return printJSON(env.Stdout, map[string]any{"team": t, "secret": secret,
				"webhookUrl": base + "/webhook/" + secret, "eventsUrl": base + "/api/v2/events/" + secret})
		}
		fmt.Fprintf(env.Stdout, "team %s (%s)\ninbound secret (shown only now): %s\nwebhook URL: %s/webhook/%s\n", t.Name, t.ID, secret, base, secret)
		return nil
	}
	switch name {
	case "create":
		var scenario string
		fs.StringVar(&scenario, "scenario", "single_ack", "default alerting scenario: single_ack, multi_ack or emergency")
		pos, err := parse(fs, env, args)
		if err != nil {
			return err
		}
		if len(pos) != 1 {
			return usagef("usage: lastmile team create NAME [--scenario single_ack|multi_ack|emergency]")
		}
		return withTeams(ctx, env, a, func(ts *team.Service) error {
			t, secret, err := ts.CreateTeam(ctx, pos[0], scenario)
			if err != nil {
				return err
			}
			return printSecret(t, secret)
		})
	case "rotate-secret":
		pos, err := parse(fs, env, args)
		if err != nil {
			return err
		}
		if len(pos) != 1 {
			return usagef("usage: lastmile team rotate-secret TEAM")
		}
		return withTeams(ctx, env, a, func(ts *team.Service) error {
			t, err := ts.TeamByRef(ctx, pos[0])
			if err != nil {
				return err
			}
			secret, err := ts.RotateSecret(ctx, t.ID)
			if err != nil {
				return err
			}
			return printSecret(t, secret)
		})
	case "list":
		if _, err := parse(fs, env, args); err != nil {
			return err
		}
		return withTeams(ctx, env, a, func(ts *team.Service) error {
			teams, err := ts.Teams(ctx)
			if err != nil {
				return err
			}
			if a.json {
				return printJSON(env.Stdout, teams)
			}
			tw := tabwriter.NewWriter(env.Stdout, 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "ID\tNAME\tSCENARIO\tSECRET STARTS WITH")
			for _, t := range teams {
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s…\n", t.ID, t.Name, t.DefaultScenario, t.SecretPrefix)
			}
			return tw.Flush()
		})
	case "add-member", "remove-member":
		var role string
		if name == "add-member" {
			fs.StringVar(&role, "role", "responder", "admin, manager or responder")
		}
		pos, err := parse(fs, env, args)
		if err != nil {
			return err
		}
		if len(pos) != 2 {
			return usagef("usage: lastmile team %s TEAM EMAIL", name)
		}
		return withTeams(ctx, env, a, func(ts *team.Service) error {
			t, err := ts.TeamByRef(ctx, pos[0])
			if err != nil {
				return err
			}
			u, err := ts.UserByRef(ctx, pos[1])
			if err != nil {
				return err
			}
			if name == "remove-member" {
				if err := ts.RemoveMember(ctx, t.ID, u.ID); err != nil {
					return err
				}
				fmt.Fprintf(env.Stdout, "removed %s from %s\n", u.Email, t.Name)
				return nil
			}
			m, err := ts.AddMember(ctx, t.ID, u.ID, team.Role(role))
			if err != nil {
				return err
			}
			if a.json {
				return printJSON(env.Stdout, m)
			}
			fmt.Fprintf(env.Stdout, "added %s to %s as %s\n", u.Email, t.Name, m.Role)
			return nil
		})
	}
	return usagef("unknown subcommand %q: use create, list, add-member, remove-member or rotate-secret", name)
}
