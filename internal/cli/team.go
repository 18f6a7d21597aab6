package cli

import (
	"context"
	"fmt"
	"strings"
	"text/tabwriter"

	"github.com/lastmile/lastmile/internal/team"
)

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
