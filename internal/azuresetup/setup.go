package azuresetup

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"sort"
	"strings"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"

	"github.com/lastmile/lastmile/internal/clock"
)

// runner is one run of the command.
type runner struct {
	cfg    Config
	d      Deps
	out    io.Writer // the commentary: stdout in text mode, stderr with --json
	ep     endpoints
	http   *http.Client
	cred   azcore.TokenCredential
	method signInMethod
	who    identity
	ask    *prompter
	graph  *graphClient
	arm    *armClient

	tenantID   string
	tenantName string
	sub        subscription
	ws         *workspace
	subs       []subscription // visible in the tenant
}

// Run provisions (or, with Remove, removes) the connector's identity and
// writes the outcome to deps.Stdout. A *UsageError means the command
// line was wrong.
func Run(ctx context.Context, cfg Config, deps Deps) (*Result, error) {
	if err := cfg.normalize(); err != nil {
		return nil, err
	}
	r, err := newRunner(cfg, deps)
	if err != nil {
		return nil, err
	}
	if err := r.signInAndClients(ctx); err != nil {
		return nil, err
	}
	if err := r.resolveContext(ctx); err != nil {
		return nil, err
	}
	if r.cfg.Remove {
		return r.remove(ctx)
	}
	return r.setup(ctx)
}

func newRunner(cfg Config, d Deps) (*runner, error) {
	if d.Stdout == nil {
		d.Stdout = io.Discard
	}
	if d.Stderr == nil {
		d.Stderr = io.Discard
	}
	if d.Getenv == nil {
		d.Getenv = os.Getenv
	}
	if d.Log == nil {
		d.Log = slog.New(slog.DiscardHandler)
	}
	if d.Clock == nil {
		d.Clock = clock.Real{}
	}
	if d.Sleep == nil {
		d.Sleep = timerSleep
	}
	hc := d.HTTP
	if hc == nil {
		var err error
		if hc, err = NewHTTPClient(nil); err != nil {
			return nil, err
		}
	}
	r := &runner{cfg: cfg, d: d, out: d.Stdout, ep: resolveEndpoints(&cfg), http: hc}
	if cfg.JSON {
		r.out = d.Stderr
	}
	if d.Interactive {
		r.ask = newPrompter(d.Stdin, d.Stderr)
	}
	return r, nil
}

// signInAndClients signs the admin in and makes the Graph and ARM
// clients that act as them.
func (r *runner) signInAndClients(ctx context.Context) error {
	if err := r.signIn(ctx); err != nil {
		return err
	}
	r.graph = &graphClient{api: r.api(r.cred), base: r.ep.graph, scope: r.ep.graphScope}
	r.arm = &armClient{api: r.api(r.cred), base: r.ep.arm, scope: r.ep.armScope}
	return nil
}

func (r *runner) api(cred azcore.TokenCredential) *apiClient {
	return &apiClient{http: r.http, cred: cred, log: r.d.Log, sleep: r.d.Sleep}
}

// resolveContext works out the tenant, subscription and workspace, asking
// when a person is there, and shows them before anything is done.
func (r *runner) resolveContext(ctx context.Context) error {
	r.tenantID = r.who.TenantID
	if org, err := r.graph.organization(ctx); err == nil && org.ID != "" {
		r.tenantName = org.DisplayName
	} else if err != nil {
		r.d.Log.Info("could not read the tenant's name", "err", err)
	}
	kind := "user"
	if !r.who.user() {
		kind = "application"
	}
	r.say("Signed in (%s) as %s (%s, object id %s).", r.method, r.who.account(), kind, r.who.ObjectID)
	r.say("Tenant:       %s", named(r.tenantName, r.tenantID))

	needSub := r.cfg.needsWorkspace() || r.cfg.Subscription != "" || r.cfg.Remove
	if !needSub {
		return nil
	}
	subs, err := r.arm.subscriptions(ctx)
	if err != nil {
		return fmt.Errorf("list your subscriptions: %w", err)
	}
	for _, s := range subs {
		if s.TenantID == "" || strings.EqualFold(s.TenantID, r.tenantID) {
			r.subs = append(r.subs, s)
		}
	}
	if r.cfg.Remove && r.cfg.Subscription == "" && r.cfg.Workspace == "" {
		// Remove looks in every subscription it can see.
		return nil
	}
	if err := r.pickSubscription(); err != nil {
		return err
	}
	r.say("Subscription: %s", named(r.sub.DisplayName, r.sub.ID))
	if !r.cfg.needsWorkspace() || (r.cfg.Remove && r.cfg.Workspace == "") {
		return nil
	}
	if err := r.pickWorkspace(ctx); err != nil {
		return err
	}
	r.say("Workspace:    %s in resource group %s (workspace id %s)", r.ws.Name, r.ws.resourceGroup(), r.ws.Properties.CustomerID)
	return nil
}

func named(name, id string) string {
	if name == "" || strings.EqualFold(name, id) {
		return id
	}
	return name + " (" + id + ")"
}

func (r *runner) pickSubscription() error {
	list := func() string {
		var b strings.Builder
		for _, s := range r.subs {
			fmt.Fprintf(&b, "\n  %s", named(s.DisplayName, s.ID))
		}
		return b.String()
	}
	if want := strings.TrimSpace(r.cfg.Subscription); want != "" {
		for _, s := range r.subs {
			if strings.EqualFold(s.ID, want) || strings.EqualFold(s.DisplayName, want) {
				r.sub = s
				return nil
			}
		}
		if len(r.subs) == 0 {
			return fmt.Errorf("subscription %s is not visible to %s: you need a role on it (Owner to assign roles)", want, r.who.account())
		}
		return usagef("--subscription %s: not one of the subscriptions %s can see:%s", want, r.who.account(), list())
	}
	switch len(r.subs) {
	case 0:
		return fmt.Errorf("%s sees no subscription in tenant %s: you need a role on the subscription of the Sentinel workspace (Owner to assign roles)",
			r.who.account(), r.tenantID)
	case 1:
		r.sub = r.subs[0]
		return nil
	}
	if r.ask == nil {
		return usagef("--subscription is needed: %s can see several:%s", r.who.account(), list())
	}
	var names []string
	for _, s := range r.subs {
		names = append(names, named(s.DisplayName, s.ID))
	}
	i, err := r.ask.choose("Subscription", names)
	if err != nil {
		return err
	}
	r.sub = r.subs[i]
	return nil
}

// pickWorkspace finds the named workspace, or lists the ones the admin
// can see, by resource group, and asks (or says which to name).
func (r *runner) pickWorkspace(ctx context.Context) error {
	all, err := r.arm.workspaces(ctx, r.sub.ID)
	if err != nil {
		return fmt.Errorf("list the Log Analytics workspaces of subscription %s: %w", named(r.sub.DisplayName, r.sub.ID), err)
	}
	var wss []workspace
	for _, w := range all {
		if r.cfg.ResourceGroup == "" || strings.EqualFold(w.resourceGroup(), r.cfg.ResourceGroup) {
			wss = append(wss, w)
		}
	}
	sort.Slice(wss, func(i, j int) bool {
		a, b := strings.ToLower(wss[i].resourceGroup()+"/"+wss[i].Name), strings.ToLower(wss[j].resourceGroup()+"/"+wss[j].Name)
		return a < b
	})
	where := "subscription " + named(r.sub.DisplayName, r.sub.ID)
	if r.cfg.ResourceGroup != "" {
		where = "resource group " + r.cfg.ResourceGroup + " of " + where
	}
	list := func() string {
		var b strings.Builder
		group := ""
		for _, w := range wss {
			if g := w.resourceGroup(); g != group {
				group = g
				fmt.Fprintf(&b, "\n  resource group %s:", g)
			}
			fmt.Fprintf(&b, " %s", w.Name)
		}
		return b.String()
	}
	if want := strings.TrimSpace(r.cfg.Workspace); want != "" {
		var found []workspace
		for _, w := range wss {
			if strings.EqualFold(w.Name, want) {
				found = append(found, w)
			}
		}
		switch {
		case len(found) == 1:
			r.ws = &found[0]
			return nil
		case len(found) > 1:
			return usagef("several workspaces are named %s in %s: add --resource-group:%s", want, where, list())
		case len(wss) == 0:
			return fmt.Errorf("%s sees no Log Analytics workspace in %s: check the subscription, or ask for a role on the workspace", r.who.account(), where)
		}
		return usagef("--workspace %s: not found in %s; the workspaces %s can see:%s", want, where, r.who.account(), list())
	}
	if len(wss) == 0 {
		return fmt.Errorf("%s sees no Log Analytics workspace in %s: check the subscription, or ask for a role on the workspace", r.who.account(), where)
	}
	if r.ask == nil {
		return usagef("--workspace is needed (the Sentinel workspace); the workspaces %s can see in %s:%s", r.who.account(), where, list())
	}
	fmt.Fprintf(r.d.Stderr, "Workspaces in %s:\n", where)
	var names []string
	for _, w := range wss {
		names = append(names, w.Name+" (resource group "+w.resourceGroup()+", "+w.Location+")")
	}
	i, err := r.ask.choose("Sentinel workspace", names)
	if err != nil {
		return err
	}
	r.ws = &wss[i]
	return nil
}

// confirmPlan asks before changing anything: --yes skips it; without a
// terminal, --yes is required.
func (r *runner) confirmPlan(q string) error {
	if r.cfg.Yes {
		return nil
	}
	if r.ask == nil {
		return usagef("nothing was changed: run again with --yes to apply this plan (or --dry-run to only see it)")
	}
	ok, err := r.ask.confirm(q)
	if err != nil {
		return err
	}
	if !ok {
		return errAborted
	}
	return nil
}

// errAborted: the admin said no.
var errAborted = errors.New("stopped: nothing was changed")

// ErrAborted reports whether err is the admin declining the plan.
func ErrAborted(err error) bool { return errors.Is(err, errAborted) }
