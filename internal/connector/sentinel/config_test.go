package sentinel

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"strings"
	"testing"
	"time"
)

func goodConfig() Config {
	return Config{TenantID: testTenant, SubscriptionID: testSub, ClientID: testClient, ClientSecret: testSecret,
		ResourceGroup: testRG, WorkspaceName: testWS, WorkspaceID: testWSID}
}

// testCertPEM makes a self-signed certificate and its key, PEM encoded.
func testCertPEM(t *testing.T) string {
	t.Helper()
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "lastmile test"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	pk, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	return string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})) +
		string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: pk}))
}

func TestValidate(t *testing.T) {
	cert := testCertPEM(t)
	tests := []struct {
		name   string
		change func(*Config)
		want   string // "" means valid
	}{
		{"good", func(*Config) {}, ""},
		{"domain tenant", func(c *Config) { c.TenantID = "contoso.onmicrosoft.com" }, ""},
		{"certificate instead of secret", func(c *Config) { c.ClientSecret, c.CertificatePEM = "", cert }, ""},
		{"no subscription is fine for Graph", func(c *Config) { c.SubscriptionID, c.ResourceGroup, c.WorkspaceName = "", "", "" }, ""},
		{"empty tenant", func(c *Config) { c.TenantID = "" }, "tenant id is empty"},
		{"bad tenant", func(c *Config) { c.TenantID = "my tenant" }, `tenant id "my tenant" must be a GUID or a domain`},
		{"bad client", func(c *Config) { c.ClientID = "lastmile-app" }, `client id "lastmile-app" must be a GUID`},
		{"bad subscription", func(c *Config) { c.SubscriptionID = "prod" }, `subscription id "prod" must be a GUID`},
		{"no secret", func(c *Config) { c.ClientSecret = "" }, "client secret is empty"},
		{"both", func(c *Config) { c.CertificatePEM = cert }, "a client secret or a certificate, not both"},
		{"bad certificate", func(c *Config) {
			c.ClientSecret, c.CertificatePEM = "", "-----BEGIN CERTIFICATE-----\nnope\n-----END CERTIFICATE-----\n"
		}, "certificate cannot be read"},
		{"ecdsa certificate", func(c *Config) { c.ClientSecret, c.CertificatePEM = "", ecdsaCertPEM(t) }, "private key must be RSA"},
		{"bad workspace", func(c *Config) { c.WorkspaceName = "-ws_1" }, `workspace name "-ws_1" is not valid`},
		{"short workspace", func(c *Config) { c.WorkspaceName = "ab" }, `workspace name "ab" is not valid`},
		{"bad workspace id", func(c *Config) { c.WorkspaceID = "soc-ws" }, `workspace id "soc-ws" must be a GUID`},
		{"bad resource group", func(c *Config) { c.ResourceGroup = "rg." }, `resource group "rg." is not a valid name`},
		{"http endpoint", func(c *Config) { c.Endpoints.Graph = "http://127.0.0.1:1" }, "graph endpoint \"http://127.0.0.1:1\" must be an https URL"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := goodConfig()
			tt.change(&c)
			err := c.Validate()
			if tt.want == "" {
				if err != nil {
					t.Fatalf("Validate() = %v, want nil", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("Validate() = %v, want it to contain %q", err, tt.want)
			}
		})
	}
}

func TestValidateNamesEveryProblem(t *testing.T) {
	c := Config{TenantID: "x y", ClientID: "nope"}
	err := c.Validate()
	for _, want := range []string{"tenant id", "client id", "client secret is empty"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("Validate() = %v, want it to mention %q", err, want)
		}
	}
}

func TestValidateSentinel(t *testing.T) {
	c := goodConfig()
	c.SubscriptionID, c.WorkspaceName = "", ""
	err := c.ValidateSentinel()
	for _, want := range []string{"subscription id is empty", "workspace name is empty"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("ValidateSentinel() = %v, want it to mention %q", err, want)
		}
	}
	if err := goodConfig().ValidateSentinel(); err != nil {
		t.Errorf("ValidateSentinel(good) = %v", err)
	}
}

func ecdsaCertPEM(t *testing.T) string {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(2), NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	pk, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	return string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})) +
		string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: pk}))
}

func TestCloudScopes(t *testing.T) {
	gov, err := Cloud("AzureUSGovernment")
	if err != nil {
		t.Fatal(err)
	}
	for public, want := range map[string]string{
		ScopeResourceManager: "https://management.usgovcloudapi.net/.default",
		ScopeGraph:           "https://graph.microsoft.us/.default",
		ScopeLogAnalytics:    "https://api.loganalytics.us/.default",
		ScopeMonitor:         "https://monitor.azure.us//.default",
	} {
		if got := gov.scope(public); got != want {
			t.Errorf("scope(%s) in US Government = %s, want %s", public, got, want)
		}
	}
	if got := (Endpoints{}).scope(ScopeGraph); got != ScopeGraph {
		t.Errorf("public scope changed: %s", got)
	}
	if _, err := Cloud("AzureGermany"); err == nil || !strings.Contains(err.Error(), "AzureUSGovernment") {
		t.Errorf("unknown cloud: %v", err)
	}
}
