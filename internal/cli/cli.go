// Package cli holds lastmile's subcommands. Main returns the exit status:
// 0 on success, 2 on usage errors, 1 otherwise.
package cli

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"

	"github.com/lastmile/lastmile/internal/app"
	"github.com/lastmile/lastmile/internal/apperr"
)

// Version is set at build time with -ldflags "-X ...cli.Version=v1.2.3".
var Version = "dev"

// Env is what a command may touch of the outside world.
type Env struct {
	Stdout io.Writer
	Stderr io.Writer
	Getenv func(string) string
}

// usageError is a mistake in the command line: exit status 2.
type usageError struct{ msg string }

func (e usageError) Error() string { return e.msg }

func usagef(format string, args ...any) error { return usageError{fmt.Sprintf(format, args...)} }

type command struct {
	name    string
	summary string
	run     func(ctx context.Context, env Env, args []string) error
}

func commands() []command {
	return []command{
		{"serve", "run the server", runServe},
		{"migrate", "apply database migrations and exit", runMigrate},
		{"user", "manage users: add, list, api-key, keys, revoke-key", runUser},
		{"team", "manage teams: create, list, add-member, remove-member, rotate-secret", runTeam},
		{"duty", "punch members in and out, and see who is on duty: punch-in, punch-out, who", runDuty},
		{"demo", "run lastmile with an in-process Azure emulator, a team on duty and a stream of Sentinel incidents", runDemo},
		{"azure", "Azure tools: setup (provision the connector's Azure identity, least privilege), emulator (the Microsoft APIs the connector uses, on this machine)", runAzure},
		{"version", "print the version", runVersion},
	}
}

// Main runs the subcommand named by args[0].
func Main(ctx context.Context, args []string, env Env) int {
	if env.Getenv == nil {
		env.Getenv = os.Getenv
	}
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		printUsage(env.Stderr)
		if len(args) == 0 {
			return 2
		}
		return 0
	}
	for _, c := range commands() {
		if c.name != args[0] {
			continue
		}
		err := c.run(ctx, env, args[1:])
		switch {
		case err == nil:
			return 0
		case errors.Is(err, flag.ErrHelp):
			return 0
		case errors.As(err, new(usageError)) || apperr.KindOf(err) == apperr.Invalid:
			fmt.Fprintf(env.Stderr, "lastmile %s: %s\n", c.name, oneLine(err))
			return 2
		default:
			fmt.Fprintf(env.Stderr, "lastmile %s: %s\n", c.name, oneLine(err))
			return 1
		}
	}
	fmt.Fprintf(env.Stderr, "lastmile: unknown command %q; run lastmile help\n", args[0])
	return 2
}

func oneLine(err error) string {
	msg := err.Error()
	if e, ok := apperr.As(err); ok {
		msg = e.Error()
	}
	return strings.ReplaceAll(msg, "\n", "; ")
}

func printUsage(w io.Writer) {
	fmt.Fprintln(w, "lastmile: self-hosted alerting and on-call\n\nUsage: lastmile COMMAND [flags]\n\nCommands:")
	for _, c := range commands() {
		fmt.Fprintf(w, "  %-9s %s\n", c.name, c.summary)
	}
	fmt.Fprintln(w, "\nRun lastmile COMMAND -h for the flags of a command. Every flag of serve and migrate can also be\nset as LASTMILE_<FLAG>; the user, team and duty commands read only LASTMILE_DATABASE_URL.")
}

// newFlagSet returns a flag set whose errors come back as usage errors.
func newFlagSet(env Env, name string) *flag.FlagSet {
	fs := flag.NewFlagSet("lastmile "+name, flag.ContinueOnError)
	fs.SetOutput(env.Stderr)
	return fs
}

// parse parses flags placed anywhere among the positional arguments, applies
// LASTMILE_* variables, and returns the positional arguments. Admin commands
// read only LASTMILE_DATABASE_URL from the environment: a variable such as
// LASTMILE_ADMIN must never turn every new user into an administrator.
func parse(fs *flag.FlagSet, env Env, args []string) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				return nil, err
			}
			return nil, usageError{err.Error()}
		}
		args = fs.Args()
		if len(args) == 0 {
			break
		}
		pos = append(pos, args[0])
		args = args[1:]
	}
	getenv := env.Getenv
	if fs.Lookup("listen") == nil {
		getenv = func(k string) string {
			if k == "LASTMILE_DATABASE_URL" || k == "LASTMILE_DATABASE_URL_FILE" {
				return env.Getenv(k)
			}
			return ""
		}
	}
	if err := app.ApplyEnv(fs, getenv); err != nil {
		return nil, usageError{err.Error()}
	}
	return pos, nil
}

func newLogger(w io.Writer, level, format string) *slog.Logger {
	var lv slog.Level
	_ = lv.UnmarshalText([]byte(level))
	opts := &slog.HandlerOptions{Level: lv}
	if format == "json" {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}

func printJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

func runVersion(ctx context.Context, env Env, args []string) error {
	fmt.Fprintln(env.Stdout, "lastmile", Version)
	return nil
}
