package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/lastmile/lastmile/internal/app"
	"github.com/lastmile/lastmile/internal/azureemu"
	"github.com/lastmile/lastmile/internal/clock"
	"github.com/lastmile/lastmile/internal/team"
)

// The app registration the demo's single sign-on uses in the emulator.
const (
	demoSignInClient = "cccccccc-bbbb-cccc-dddd-eeeeeeeeeeee"
	demoSignInSecret = "emulator-sign-in-secret"
)

// seedSignIn registers the web app's sign-in with the emulator's Entra ID,
// with Ann and Bob as the tenant's users.
func seedSignIn(emu *azureemu.Emulator, baseURL string) error {
	if _, err := emu.AddApp(demoTenant, azureemu.App{ClientID: demoSignInClient, Secret: demoSignInSecret, DisplayName: "lastmile sign-in"}); err != nil {
		return err
	}
	if err := emu.AddRedirectURIs(demoTenant, demoSignInClient, baseURL+"/login/oidc/callback"); err != nil {
		return err
	}
	for _, u := range []azureemu.User{{Email: "ann@contoso.example", Name: "Ann"}, {Email: "bob@contoso.example", Name: "Bob"}} {
		if _, err := emu.AddUser(demoTenant, u); err != nil {
			return err
		}
	}
	return nil
}

// runDemo starts lastmile on a fresh SQLite file with the Azure emulator
// in-process, a team with members on duty and a Sentinel connector, and
// opens a realistic incident every little while: the whole loop
// (incident, alert, notification, acknowledgement, Sentinel updated) is
// in the log within a minute.
func runDemo(ctx context.Context, env Env, args []string) error {
	fs := flag.NewFlagSet("lastmile demo", flag.ContinueOnError)
	fs.SetOutput(env.Stderr)
	listen := fs.String("listen", "127.0.0.1:8080", "address to serve lastmile on")
	dir := fs.String("dir", "lastmile-demo", "directory for the demo's database and keys (emptied first)")
	every := fs.Duration("incident-every", 30*time.Second, "how often a new Sentinel incident appears")
	ackAfter := fs.Duration("ack-after", 10*time.Second, "how long the demo responder takes to acknowledge (0: never, do it yourself)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if err := os.RemoveAll(*dir); err != nil {
		return err
	}
	if err := os.MkdirAll(*dir, 0o700); err != nil {
		return err
	}
	log := newLogger(env.Stderr, "info", "text")

	emu := azureemu.New(azureemu.Options{Log: slog.New(slog.DiscardHandler)})
	if err := emu.Start(); err != nil {
		return fmt.Errorf("start the Azure emulator: %w", err)
	}
	defer emu.Close()
	settings, err := seedDemo(emu)
	if err != nil {
		return err
	}
	caFile := filepath.Join(*dir, "azure-emulator-ca.pem")
	if err := os.WriteFile(caFile, emu.CACertPEM(), 0o600); err != nil {
		return err
	}

	cfg := demoConfig(*listen, *dir, caFile)
	// Single sign-on goes through the emulator's Entra ID too: "Sign in
	// with Microsoft" on the sign-in page picks Ann or Bob there.
	cfg.OIDCIssuer = emu.URL() + "/" + demoTenant + "/v2.0"
	cfg.OIDCClientID, cfg.OIDCClientSecret, cfg.OIDCCAFile = demoSignInClient, demoSignInSecret, caFile
	a, err := app.New(ctx, cfg, log, clock.Real{})
	if err != nil {
		return err
	}
	if err := seedSignIn(emu, a.BaseURL()); err != nil {
		a.Stop(context.Background())
		return err
	}
	if err := a.Start(); err != nil {
		a.Stop(context.Background())
		return err
	}
	defer a.Stop(context.WithoutCancel(ctx))
	d := &demo{a: a, emu: emu, log: log}
	if err := d.setUp(ctx, settings); err != nil {
		return err
	}
	fmt.Fprintf(env.Stdout, `
lastmile demo is running at %s with the Azure emulator at %s.

  Team "SOC" with Ann and Bob on duty, and a Sentinel connector that an emulated
  playbook pushes each new incident to (and that polls every 30 s as well).
  A new Sentinel incident appears every %s; Bob acknowledges each after %s,
  and you can watch Sentinel (the emulator) get status Active, owner and a comment.
  Notifications go to this log (set up real channels with /api/v1/channels).

  Open %s/login and sign in as ann@contoso.example (an administrator)
  or bob@contoso.example (a responder), password %s for both,
  or with "Sign in with Microsoft" (the emulator's Entra ID; your browser
  will warn about its self-made certificate).

  Ann's API key:  %s

  curl -H "Authorization: Bearer %s" %s/api/v1/alerts
  curl -H "Authorization: Bearer %s" %s/api/v1/teams/%s/connectors

Press Ctrl-C to stop.

`, a.BaseURL(), emu.URL(), *every, *ackAfter, a.BaseURL(), d.password, d.annKey, d.annKey, a.BaseURL(), d.annKey, a.BaseURL(), d.teamID)
	return d.run(ctx, *every, *ackAfter)
}

func demoConfig(listen, dir, caFile string) app.Config {
	var cfg app.Config
	fs := flag.NewFlagSet("demo", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	cfg.RegisterFlags(fs) // the defaults
	cfg.Listen = listen
	cfg.DatabaseURL = "sqlite:" + filepath.Join(dir, "lastmile.db")
	cfg.EncryptionKeyFile = filepath.Join(dir, "lastmile.key")
	cfg.ConnectorCAFile = caFile
	// Every alert's SMS shows in the log, rather than bundles held back
	// by the per-number limits a real deployment wants.
	cfg.ChannelLimits = "sms="
	return cfg
}

type demo struct {
	a              *app.App
	emu            *azureemu.Emulator
	log            *slog.Logger
	teamID         string
	annKey, bobKey string
	// password is Ann's and Bob's password for the web app, new each run.
	password string
	// pushURL is the connector's push URL, which the emulated playbook
	// posts new incidents to.
	pushURL string
}

func (d *demo) setUp(ctx context.Context, settings map[string]any) error {
	tm, _, err := d.a.Teams.CreateTeam(ctx, "SOC", "")
	if err != nil {
		return err
	}
	d.teamID = tm.ID
	d.password = newPassword()
	for _, u := range []struct {
		email, name, phone string
		admin              bool
		key                *string
	}{{"ann@contoso.example", "Ann", "+15550100001", true, &d.annKey}, {"bob@contoso.example", "Bob", "+15550100002", false, &d.bobKey}} {
		user, err := d.a.Teams.CreateUser(ctx, team.NewUser{Email: u.email, Name: u.name, IsAdmin: u.admin, Password: d.password})
		if err != nil {
			return err
		}
		role := team.RoleResponder
		if u.admin {
			role = team.RoleAdmin
		}
		if _, err := d.a.Teams.AddMember(ctx, tm.ID, user.ID, role); err != nil {
			return err
		}
		if _, *u.key, err = d.a.Teams.CreateAPIKey(ctx, user.ID, "demo"); err != nil {
			return err
		}
		// SMS is not set up in the demo, so its messages go to the log:
		// that is where the demo shows them.
		cm, err := d.a.Teams.AddContactMethod(ctx, user.ID, "sms", u.phone, "")
		if err != nil {
			return err
		}
		if _, err := d.a.Teams.MarkVerified(ctx, user.ID, cm.ID); err != nil {
			return err
		}
		if _, err := d.a.Duty.PunchIn(ctx, tm.ID, user.ID, false); err != nil {
			return err
		}
	}
	body := map[string]any{"name": "Sentinel (emulator)", "source": "sentinel", "pollSeconds": 30, "settings": settings}
	var out map[string]any
	if err := d.call(ctx, d.annKey, http.MethodPost, "/api/v1/teams/"+tm.ID+"/connectors", body, &out); err != nil {
		return err
	}
	// Push, as a Sentinel automation rule's playbook would: each new
	// incident is posted to the connector at once; the poll (every 30 s)
	// stays as the safety net.
	id, _ := out["id"].(string)
	var push struct {
		PushURL string `json:"pushUrl"`
	}
	if err := d.call(ctx, d.annKey, http.MethodPost, "/api/v1/teams/"+tm.ID+"/connectors/"+id+"/push-secret", nil, &push); err != nil {
		return err
	}
	d.pushURL = push.PushURL
	return nil
}

// call uses lastmile's own API, as a user would.
func (d *demo) call(ctx context.Context, key, method, path string, body, out any) error {
	var r io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		r = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, d.a.BaseURL()+path, r)
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+key)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if resp.StatusCode >= 300 {
		return fmt.Errorf("%s %s: %s %s", method, path, resp.Status, raw)
	}
	if out != nil {
		return json.Unmarshal(raw, out)
	}
	return nil
}

// run opens incidents, has Bob acknowledge their alerts, and reports what
// Sentinel shows.
func (d *demo) run(ctx context.Context, every, ackAfter time.Duration) error {
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	next, n := time.Now(), 1 // the seeded incident is number 1
	acked := map[string]time.Time{}
	reported := map[string]bool{}
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-tick.C:
		}
		if time.Now().After(next) {
			if n > 1 {
				inc, err := d.emu.AddIncident(demoWorkspace, demoIncident(n))
				if err != nil {
					return err
				}
				d.log.Info("demo: Sentinel opened an incident", "number", inc.Number, "title", inc.Title)
				status, answer, err := d.emu.PushIncident(ctx, nil, d.pushURL, inc.Name)
				if err != nil || status != http.StatusOK {
					d.log.Warn("demo: the playbook's push failed; the poll will find the incident", "status", status, "err", err)
				} else {
					d.log.Info("demo: the playbook pushed the incident", "answer", strings.TrimSpace(string(answer)))
				}
			}
			n++
			next = time.Now().Add(every)
		}
		var list struct {
			Items []struct {
				ID, Status, Title, ExternalID string
				CreatedAt                     time.Time
			} `json:"items"`
		}
		if err := d.call(ctx, d.bobKey, http.MethodGet, "/api/v1/alerts?limit=50", nil, &list); err != nil {
			d.log.Warn("demo: list alerts", "err", err)
			continue
		}
		for _, al := range list.Items {
			if al.Status == "new" && ackAfter > 0 && time.Since(al.CreatedAt) > ackAfter && acked[al.ID].IsZero() {
				if err := d.call(ctx, d.bobKey, http.MethodPost, "/api/v1/alerts/"+al.ID+"/acknowledge", nil, nil); err == nil {
					acked[al.ID] = time.Now()
					d.log.Info("demo: Bob acknowledged the alert", "alert_id", al.ID, "title", al.Title)
				}
			}
			if !acked[al.ID].IsZero() && !reported[al.ID] {
				if inc, ok := d.emu.Incident(al.ExternalID); ok && inc.Status == "Active" && inc.Owner.Email != "" {
					reported[al.ID] = true
					d.log.Info("demo: Sentinel shows the incident taken", "number", inc.Number, "status", inc.Status, "owner", inc.Owner.Email,
						"comments", len(d.emu.Comments(inc.Name)))
				}
			}
		}
	}
}
