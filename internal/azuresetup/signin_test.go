package azuresetup

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/azidentity"

	"github.com/lastmile/lastmile/internal/azureemu"
)

// certPEM makes a self-signed certificate with its RSA key, as an admin
// would with openssl.
func certPEM(t *testing.T, cn string) []byte {
	t.Helper()
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	must(t, err)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(time.Now().UnixNano()), Subject: pkix.Name{CommonName: cn},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().AddDate(1, 0, 0), KeyUsage: x509.KeyUsageDigitalSignature}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	must(t, err)
	out := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
	return append(out, pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(key)})...)
}

// A certificate instead of a secret: its public key is registered, the
// connector's settings carry the PEM, and the credential is verified.
func TestCertificate(t *testing.T) {
	v := newEnv(t)
	pemBytes := certPEM(t, "lastmile-connector")
	res := v.mustRun(func(c *Config) { c.Certificate = pemBytes; c.Augment = false })
	app := v.ourApp(DefaultAppName)
	cert, err := parseCertificate(pemBytes)
	must(t, err)
	if len(app.Passwords) != 0 || len(app.Certificates) != 1 || app.Certificates[0].Thumbprint != thumbprintHex(cert.Raw) {
		t.Fatalf("credentials %+v / %+v", app.Passwords, app.Certificates)
	}
	if res.Settings["certificate"] != string(pemBytes) || res.Settings["clientSecret"] != nil {
		t.Fatalf("settings %v", res.Settings)
	}
	if !strings.Contains(v.stdout.String(), "the app reads workspace soc-workspace") {
		t.Errorf("the certificate credential was not tried:\n%s", v.stdout.String())
	}
	if _, err := v.connectorClient(res.Settings).Workspace(context.Background()); err != nil {
		t.Fatalf("the connector with the certificate: %v", err)
	}
	before := len(v.writes())
	v.mustRun(func(c *Config) { c.Certificate = pemBytes; c.Augment = false })
	if len(v.writes()) != before || !strings.Contains(v.stdout.String(), "exists  certificate CN=lastmile-connector") {
		t.Fatalf("rerun with the same certificate:\n%s", v.stdout.String())
	}
	// A second certificate is added beside the first.
	v.mustRun(func(c *Config) { c.Certificate = certPEM(t, "rollover"); c.Augment = false })
	if n := len(v.ourApp(DefaultAppName).Certificates); n != 2 {
		t.Fatalf("%d certificates after adding one", n)
	}
}

// The AZURE_* variables sign in as an application (a pipeline's service
// principal) instead of a person.
func TestEnvironmentCredential(t *testing.T) {
	v := newEnv(t)
	const pipeline = "9e3a1c4e-8a0f-4c3e-9d61-2f1b0c7a5e11"
	_, err := v.emu.AddApp(testTenant, azureemu.App{ClientID: pipeline, Secret: "pipeline-secret",
		GraphRoles: []string{"Application.ReadWrite.All", "AppRoleAssignment.ReadWrite.All"},
		ARMRoles:   map[string][]string{"/subscriptions/" + testSub: {"Owner"}}})
	must(t, err)
	t.Setenv("AZURE_TENANT_ID", testTenant)
	t.Setenv("AZURE_CLIENT_ID", pipeline)
	t.Setenv("AZURE_CLIENT_SECRET", "pipeline-secret")
	t.Setenv("AZURE_AUTHORITY_HOST", "")
	v.emu.SetAutoApprove("") // a device code would hang: prove none is used
	d := v.deps()
	d.Getenv = os.Getenv
	res, err := Run(context.Background(), v.config(func(c *Config) { c.Mode = ModeGraphIncidents }), d)
	if err != nil {
		t.Fatalf("%v\n%s\n%s", err, v.stdout.String(), v.stderr.String())
	}
	if !strings.Contains(v.stdout.String(), "as application "+pipeline) || strings.Contains(v.stderr.String(), "To sign in") {
		t.Fatalf("not signed in as the pipeline's app:\n%s\n%s", v.stdout.String(), v.stderr.String())
	}
	if g := v.emu.AppRoleGrants(testTenant); len(g) != 1 || g[0].PrincipalID != res.ServicePrincipalID {
		t.Fatalf("grants %+v", g)
	}
}

// --use-azure-cli takes the tokens of `az account get-access-token`.
func TestAzureCLICredential(t *testing.T) {
	v := newEnv(t)
	// What az would hand out after `az login`: the admin's tokens.
	dc, err := azidentity.NewDeviceCodeCredential(&azidentity.DeviceCodeCredentialOptions{
		ClientOptions: resolveEndpoints(&Config{AuthorityHost: v.emu.URL() + "/"}).clientOptions(v.emu.Client()),
		TenantID:      testTenant, DisableInstanceDiscovery: true,
		UserPrompt: func(context.Context, azidentity.DeviceCodeMessage) error { return nil },
	})
	must(t, err)
	tok := map[string]string{}
	for _, scope := range []string{"https://graph.microsoft.com/.default", "https://management.azure.com/.default"} {
		at, err := dc.GetToken(context.Background(), policy.TokenRequestOptions{Scopes: []string{scope}})
		must(t, err)
		tok[strings.TrimSuffix(scope, "/.default")] = at.Token
	}
	dir := t.TempDir()
	exp := time.Now().Add(time.Hour).Unix()
	script := fmt.Sprintf(`#!/bin/sh
case "$*" in
*graph.microsoft.com*) t=%q ;;
*management.azure.com*) t=%q ;;
*) echo "unexpected: $*" >&2; exit 1 ;;
esac
printf '{"accessToken":"%%s","expires_on":%d,"tenant":"%s","tokenType":"Bearer"}' "$t"
`, tok["https://graph.microsoft.com"], tok["https://management.azure.com"], exp, testTenant)
	must(t, os.WriteFile(filepath.Join(dir, "az"), []byte(script), 0o755))
	t.Setenv("PATH", dir+string(os.PathListSeparator)+os.Getenv("PATH"))
	v.emu.SetAutoApprove("")
	res := v.mustRun(func(c *Config) { c.UseAzureCLI = true; c.DryRun = true })
	if !strings.Contains(v.stdout.String(), "Signed in (Azure CLI) as "+adminUPN) || res.WorkspaceName != testWS {
		t.Fatalf("output:\n%s\n%s", v.stdout.String(), v.stderr.String())
	}
}
