package cli

import (
	"context"
	"crypto/rand"
	"fmt"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/lastmile/lastmile/internal/clock"
	"github.com/lastmile/lastmile/internal/team"
	"github.com/lastmile/lastmile/internal/web/session"
)

// newPassword makes a password of 100 random bits in groups a person can
// type from a screen: "k3x9p-w2m7q-…".
func newPassword() string {
	const alphabet = "abcdefghijkmnpqrstuvwxyz23456789"
	b := make([]byte, 20)
	rand.Read(b)
	var sb strings.Builder
	for i, c := range b {
		if i > 0 && i%5 == 0 {
			sb.WriteByte('-')
		}
		sb.WriteByte(alphabet[int(c)%len(alphabet)])
	}
	return sb.String()
}

func runUser(ctx context.Context, env Env, args []string) error {
	name, args, err := sub(env, args, "add, list, set-password, api-key, keys, revoke-key")
	if err != nil {
		return err
	}
	fs := newFlagSet(env, "user "+name)
	var a adminFlags
	a.register(fs)
	switch name {
	case "add":
		var nu team.NewUser
		var withKey, withPassword bool
		fs.StringVar(&nu.Name, "name", "", "display name")
		fs.BoolVar(&withPassword, "password", false, "also make a sign-in password for the web app and print it once")
		fs.BoolVar(&nu.IsAdmin, "admin", false, "make the user an instance administrator")
		fs.StringVar(&nu.TimeZone, "time-zone", "UTC", "IANA time zone, e.g. Europe/Berlin")
		fs.BoolVar(&withKey, "api-key", false, "also create an API key and print it once")
		pos, err := parse(fs, env, args)
		if err != nil {
			return err
		}
		if len(pos) != 1 {
			return usagef("usage: lastmile user add EMAIL [--name N] [--admin] [--password] [--api-key]")
		}
		nu.Email = pos[0]
		if withPassword {
			nu.Password = newPassword()
		}
		return withTeams(ctx, env, a, func(ts *team.Service) error {
			u, err := ts.CreateUser(ctx, nu)
			if err != nil {
				return err
			}
			out := map[string]any{"user": u}
			if withPassword {
				out["password"] = nu.Password
			}
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
			if withPassword {
				fmt.Fprintf(env.Stdout, "password for the web app (shown only now; change it under Me after signing in): %s\n", nu.Password)
			}
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
	case "set-password":
		pos, err := parse(fs, env, args)
		if err != nil {
			return err
		}
		if len(pos) != 1 {
			return usagef("usage: lastmile user set-password EMAIL")
		}
		db, err := openDB(ctx, env, a.dbURL)
		if err != nil {
			return err
		}
		defer db.Close()
		ts := team.NewService(db, clock.Real{})
		u, err := ts.UserByRef(ctx, pos[0])
		if err != nil {
			return err
		}
		pw := newPassword()
		if err := ts.SetPassword(ctx, u.ID, pw); err != nil {
			return err
		}
		// A reset password means the old one may be known to someone
		// else: every browser signed in with it is signed out.
		if _, err := session.New(db, clock.Real{}, false).DeleteAll(ctx, u.ID); err != nil {
			return err
		}
		if a.json {
			return printJSON(env.Stdout, map[string]any{"user": u, "password": pw})
		}
		fmt.Fprintf(env.Stdout, "new password for %s (shown only now; every browser signed in as them is signed out): %s\n", u.Email, pw)
		return nil
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
