package cli

import (
	"context"
	"errors"
	"flag"
	"log/slog"
	"os"
	"os/exec"
	"strings"

	"github.com/lastmile/lastmile/internal/azuresetup"
)

// runAzureSetup is `lastmile azure setup`: provision (or --remove) the
// Azure identity the Sentinel / Graph security connector signs in as.
func runAzureSetup(ctx context.Context, env Env, args []string) error {
	fs := newFlagSet(env, "azure setup")
	var c azuresetup.Config
	fs.StringVar(&c.Tenant, "tenant", "", "tenant id or domain to act on (default: the signed-in account's home tenant)")
	fs.StringVar(&c.Subscription, "subscription", "", "subscription id or name of the Sentinel workspace (default: the only one you can see, or ask)")
	fs.StringVar(&c.ResourceGroup, "resource-group", "", "resource group of the workspace (narrows the choice)")
	fs.StringVar(&c.Workspace, "workspace", "", "Log Analytics workspace name (Sentinel's); without it, the workspaces you can see are listed")
	fs.StringVar(&c.Mode, "mode", azuresetup.ModeSentinel, "where the connector reads from: "+strings.Join(azuresetup.Modes(), ", "))
	fs.StringVar(&c.AppName, "app-name", azuresetup.DefaultAppName, "display name of the app registration")
	fs.IntVar(&c.SecretMonths, "secret-months", 12, "lifetime of a new client secret, in months (1 to 24)")
	certFile := fs.String("certificate", "", "PEM `file` with a certificate (and, for the connector, its private key): register its public key instead of making a secret")
	fs.BoolVar(&c.NewSecret, "new-secret", false, "make a new client secret even though one made by this tool is still valid")
	fs.BoolVar(&c.Labels, "labels", false, "grant Microsoft Sentinel Contributor instead of Responder: Sentinel lets only Contributors change labels (the SIGNL4 label)")
	fs.BoolVar(&c.Augment, "augment", false, "grant Log Analytics Reader, to run the rules' queries and attach the results (default on for --mode sentinel)")
	fs.BoolVar(&c.LifecycleLog, "lifecycle-log", false, "create table SIGNL4_CL, a Direct data collection rule, and grant Monitoring Metrics Publisher on it")
	fs.BoolVar(&c.DryRun, "dry-run", false, "print the plan and change nothing")
	fs.BoolVar(&c.Remove, "remove", false, "remove what this tool created (by its lastmile-setup tag)")
	fs.BoolVar(&c.RemoveTable, "remove-table", false, "with --remove: also delete table SIGNL4_CL and its rows, if this tool created it")
	fs.BoolVar(&c.Yes, "yes", false, "apply without asking (needed when no terminal is attached)")
	fs.StringVar(&c.LastmileURL, "lastmile-url", "", "lastmile server to create the connector on (then its connection test runs)")
	fs.StringVar(&c.LastmileAPIKey, "lastmile-api-key", "", "API key of a team admin on that server (default: LASTMILE_API_KEY)")
	fs.StringVar(&c.Team, "team", "", "id of the team to create the connector in")
	fs.BoolVar(&c.JSON, "json", false, "print one JSON document")
	fs.StringVar(&c.Cloud, "cloud", "AzurePublic", "AzurePublic, AzureUSGovernment or AzureChina")
	fs.BoolVar(&c.UseAzureCLI, "use-azure-cli", false, "sign in as the Azure CLI's account (az login) instead of with a device code")
	fs.StringVar(&c.AuthorityHost, "authority-host", "", "Entra sign-in host (tests: the emulator)")
	fs.StringVar(&c.GraphURL, "graph-url", "", "Microsoft Graph base URL (tests: the emulator)")
	fs.StringVar(&c.ARMURL, "arm-url", "", "Azure Resource Manager base URL (tests: the emulator)")
	fs.StringVar(&c.LogAnalytics, "log-analytics-url", "", "Log Analytics query base URL, for the connector's settings (tests: the emulator)")
	caFile := fs.String("ca-file", "", "PEM `file` of extra certificate authorities to trust (tests: the emulator's)")
	verbose := fs.Bool("verbose", false, "log each call and wait")
	pos, err := parse(fs, env, args)
	if err != nil {
		return err
	}
	if len(pos) > 0 {
		return usagef("unexpected argument %q: lastmile azure setup takes only flags (see -h)", pos[0])
	}
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	if !set["augment"] {
		c.Augment = c.Mode == azuresetup.ModeSentinel
	}
	if set["certificate"] && set["secret-months"] {
		return usagef("--certificate and --secret-months exclude each other: the app gets a certificate or a secret")
	}
	if c.LastmileAPIKey == "" {
		c.LastmileAPIKey = env.Getenv("LASTMILE_API_KEY")
	}
	if *certFile != "" {
		if c.Certificate, err = os.ReadFile(*certFile); err != nil {
			return usagef("--certificate: %v", err)
		}
	}
	var ca []byte
	if *caFile != "" {
		if ca, err = os.ReadFile(*caFile); err != nil {
			return usagef("--ca-file: %v", err)
		}
	}
	hc, err := azuresetup.NewHTTPClient(ca)
	if err != nil {
		return usagef("--ca-file %s: %v", *caFile, err)
	}
	level := slog.LevelWarn
	if *verbose {
		level = slog.LevelDebug
	}
	deps := azuresetup.Deps{
		Stdout: env.Stdout, Stderr: env.Stderr, Getenv: env.Getenv, HTTP: hc,
		Log: slog.New(slog.NewTextHandler(env.Stderr, &slog.HandlerOptions{Level: level})),
		HasAzureCLI: func() bool {
			_, err := exec.LookPath("az")
			return err == nil
		},
	}
	// Prompts and a progress line only for a person at a terminal.
	if f, ok := env.Stderr.(*os.File); ok && azuresetup.IsTerminal(os.Stdin.Fd()) && azuresetup.IsTerminal(f.Fd()) {
		deps.Stdin, deps.Interactive = os.Stdin, true
	}
	_, err = azuresetup.Run(ctx, c, deps)
	if ue, ok := errors.AsType[*azuresetup.UsageError](err); ok {
		return usageError{ue.Msg}
	}
	return err
}
