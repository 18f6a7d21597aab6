package azuresetup

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"
)

// Backoff for propagation waits: 1 s, 2 s, 4 s … capped at 30 s; each
// wait is bounded by Deps.PropagationTimeout (the sum of the sleeps).
const (
	firstWait          = time.Second
	longestWait        = 30 * time.Second
	defaultPropagation = 10 * time.Minute
)

// errNotYet is what a poll returns while the awaited state is not there.
var errNotYet = errors.New("not visible yet")

// await runs try until it succeeds, or fails with an error retry does
// not accept, or the time budget is spent. It shows progress: dots on one
// line at a terminal, a line per wait otherwise.
func (r *runner) await(ctx context.Context, what string, retry func(error) bool, try func(context.Context) error) error {
	return r.awaitWithin(ctx, r.budget(), what, retry, try)
}

// budget is how long one wait for propagation may take.
func (r *runner) budget() time.Duration {
	if r.d.PropagationTimeout > 0 {
		return r.d.PropagationTimeout
	}
	return defaultPropagation
}

// awaitWithin is await with its own time budget.
func (r *runner) awaitWithin(ctx context.Context, budget time.Duration, what string, retry func(error) bool, try func(context.Context) error) error {
	var waited time.Duration
	wait := firstWait
	shown := false
	defer func() {
		if shown && r.d.Interactive {
			fmt.Fprintln(r.d.Stderr)
		}
	}()
	for {
		err := try(ctx)
		if err == nil {
			if shown {
				r.progress(" done")
			}
			return nil
		}
		if !retry(err) {
			return err
		}
		if waited+wait > budget {
			return fmt.Errorf("gave up waiting for %s after %s: %w", what, waited, err)
		}
		if !shown {
			r.d.Log.Info("waiting for propagation", "what", what, "err", err)
		}
		switch {
		case !r.d.Interactive:
			fmt.Fprintf(r.d.Stderr, "waiting for %s (next try in %s)\n", what, wait)
		case !shown:
			r.progress("waiting for " + what + " ")
		default:
			r.progress(".")
		}
		shown = true
		if err := r.d.Sleep(ctx, wait); err != nil {
			return fmt.Errorf("waiting for %s: %w", what, err)
		}
		waited += wait
		wait = min(wait*2, longestWait)
	}
}

// progress writes to the terminal line (only when interactive).
func (r *runner) progress(s string) {
	if r.d.Interactive {
		fmt.Fprint(r.d.Stderr, s)
	}
}

// notYet reports the errors that mean "replication has not caught up".
func notYet(err error) bool { return errors.Is(err, errNotYet) || isReplicationError(err) }

// visible polls get until the object exists (404 means not yet).
func (r *runner) visible(ctx context.Context, what string, get func(context.Context) error) error {
	return r.await(ctx, what+" to replicate", notYet, func(ctx context.Context) error {
		err := get(ctx)
		if e, ok := asAPIError(err); ok && e.Status == 404 {
			return fmt.Errorf("%w: %w", errNotYet, err)
		}
		return err
	})
}

// tokenNotReady tells the sign-in failures of a brand-new app or secret
// (AADSTS700016 unknown app, AADSTS7000215 invalid secret, AADSTS7000222
// expired) that disappear once Entra has replicated it.
func tokenNotReady(err error) bool {
	if err == nil {
		return false
	}
	msg := err.Error()
	for _, code := range []string{"AADSTS700016", "AADSTS7000215", "AADSTS7000222", "AADSTS700027", "AADSTS50034"} {
		if strings.Contains(msg, code) {
			return true
		}
	}
	return errors.Is(err, errNotYet)
}
