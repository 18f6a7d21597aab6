package cli

import (
	"context"
	"fmt"
	"text/tabwriter"
	"time"

	"github.com/lastmile/lastmile/internal/clock"
	"github.com/lastmile/lastmile/internal/duty"
	"github.com/lastmile/lastmile/internal/team"
)

func runDuty(ctx context.Context, env Env, args []string) error {
	name, args, err := sub(env, args, "punch-in, punch-out, who")
	if err != nil {
		return err
	}
	fs := newFlagSet(env, "duty "+name)
	var a adminFlags
	a.register(fs)
	var manager bool
	var atText string
	switch name {
	case "punch-in":
		fs.BoolVar(&manager, "manager", false, "punch in as the manager on duty instead of primary")
	case "who":
		fs.StringVar(&atText, "at", "", "RFC 3339 time to ask about (default now)")
	case "punch-out":
	default:
		return usagef("unknown subcommand %q: use punch-in, punch-out or who", name)
	}
	pos, err := parse(fs, env, args)
	if err != nil {
		return err
	}
	want := 2
	if name == "who" {
		want = 1
	}
	if len(pos) != want {
		if name == "who" {
			return usagef("usage: lastmile duty who TEAM [--at TIME]")
		}
		return usagef("usage: lastmile duty %s TEAM EMAIL", name)
	}
	db, err := openDB(ctx, env, a.dbURL)
	if err != nil {
		return err
	}
	defer db.Close()
	ts := team.NewService(db, clock.Real{})
	ds := duty.NewService(db, clock.Real{}, ts)
	t, err := ts.TeamByRef(ctx, pos[0])
	if err != nil {
		return err
	}
	var at time.Time
	switch name {
	case "who":
		if atText != "" {
			if at, err = time.Parse(time.RFC3339, atText); err != nil {
				return usagef("--at %q is not an RFC 3339 time such as 2026-01-02T15:04:05Z", atText)
			}
		}
	default:
		u, err := ts.UserByRef(ctx, pos[1])
		if err != nil {
			return err
		}
		if name == "punch-in" {
			_, err = ds.PunchIn(ctx, t.ID, u.ID, manager)
		} else {
			err = ds.PunchOut(ctx, t.ID, u.ID)
		}
		if err != nil {
			return err
		}
	}
	if at.IsZero() {
		at = clock.Real{}.Now() // after the punch, so that it shows
	}
	st, err := ds.StatusAt(ctx, t.ID, at)
	if err != nil {
		return err
	}
	if a.json {
		return printJSON(env.Stdout, st)
	}
	members, err := ts.Members(ctx, t.ID)
	if err != nil {
		return err
	}
	email := map[string]string{}
	for _, m := range members {
		email[m.UserID] = m.Email
	}
	fmt.Fprintf(env.Stdout, "on duty for %s at %s:\n", t.Name, at.UTC().Format(time.RFC3339))
	tw := tabwriter.NewWriter(env.Stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "TIER\tMEMBER\tBY\tUNTIL")
	for _, o := range st.OnDuty {
		tier, until := fmt.Sprint(o.Tier), "-"
		if o.Tier == duty.ManagerTier {
			tier = "manager"
		}
		if !o.Until.IsZero() {
			until = o.Until.UTC().Format(time.RFC3339)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", tier, email[o.UserID], o.Source, until)
	}
	if len(st.OnDuty) == 0 {
		fmt.Fprintln(tw, "-\tnobody\t\t")
	}
	return tw.Flush()
}
