package azureemu

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/cloud"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/runtime"
	"github.com/Azure/azure-sdk-for-go/sdk/azidentity"
)

func (v *env) clientOptions() azcore.ClientOptions {
	return azcore.ClientOptions{
		Cloud:     cloud.Configuration{ActiveDirectoryAuthorityHost: v.emu.URL() + "/"},
		Transport: v.emu.Client(),
	}
}

// TestAzidentityClientSecret gets tokens from the emulator with the Azure
// SDK's own credential, exactly as the connector configures it.
func TestAzidentityClientSecret(t *testing.T) {
	v := newEnv(t)
	v.app(t, "sdk-app", App{
		GraphRoles: []string{"SecurityIncident.Read.All"},
		ARMRoles:   map[string][]string{wsPath(): {"Microsoft Sentinel Reader"}},
	})
	ctx := context.Background()
	cred, err := azidentity.NewClientSecretCredential(testTenant, "sdk-app", "secret-sdk-app",
		&azidentity.ClientSecretCredentialOptions{ClientOptions: v.clientOptions(), DisableInstanceDiscovery: true})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		scope, path string
	}{
		{graphScope, "/v1.0/security/incidents"},
		{armScope, incidentsPath() + apiV},
	} {
		tok, err := cred.GetToken(ctx, policy.TokenRequestOptions{Scopes: []string{tc.scope}})
		if err != nil {
			t.Fatalf("GetToken %s: %v", tc.scope, err)
		}
		if !tok.ExpiresOn.After(time.Now()) {
			t.Errorf("token for %s already expired: %v", tc.scope, tok.ExpiresOn)
		}
		if resp, body := v.do(t, http.MethodGet, tc.path, tok.Token, nil); resp.StatusCode != http.StatusOK {
			t.Errorf("%s with SDK token: %d %s", tc.path, resp.StatusCode, body)
		}
	}

	// The same credential inside an azcore pipeline, as SDK clients use it:
	// the bearer policy insists on https and sends the token it got.
	opts := v.clientOptions()
	pl := runtime.NewPipeline("azureemu-test", "v0", runtime.PipelineOptions{
		PerRetry: []policy.Policy{runtime.NewBearerTokenPolicy(cred, []string{armScope}, nil)},
	}, &opts)
	req, err := runtime.NewRequest(ctx, http.MethodGet, v.emu.URL()+incidentsPath()+apiV)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := pl.Do(req)
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("pipeline: %v %v", resp, err)
	}
	resp.Body.Close()

	bad, err := azidentity.NewClientSecretCredential(testTenant, "sdk-app", "wrong",
		&azidentity.ClientSecretCredentialOptions{ClientOptions: v.clientOptions(), DisableInstanceDiscovery: true})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := bad.GetToken(ctx, policy.TokenRequestOptions{Scopes: []string{graphScope}}); err == nil || !strings.Contains(err.Error(), "AADSTS7000215") {
		t.Fatalf("wrong secret: %v", err)
	}
}

// selfSignedRSA makes a certificate credential like one uploaded to an app
// registration.
func selfSignedRSA(t *testing.T) ([]byte, []byte) {
	t.Helper()
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(42), Subject: pkix.Name{CommonName: "lastmile-connector"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	certPEM := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
	keyPEM := pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(key)})
	return certPEM, keyPEM
}

func TestAzidentityClientCertificate(t *testing.T) {
	v := newEnv(t)
	certPEM, keyPEM := selfSignedRSA(t)
	otherPEM, otherKey := selfSignedRSA(t)
	v.app(t, "cert-app", App{CertificatePEM: certPEM, ARMRoles: map[string][]string{wsPath(): {"Log Analytics Reader"}}})
	ctx := context.Background()

	for _, tc := range []struct {
		name    string
		cert    []byte
		key     []byte
		x5c     bool
		wantErr string
	}{
		{"registered certificate", certPEM, keyPEM, false, ""},
		{"registered certificate with x5c", certPEM, keyPEM, true, ""},
		{"unregistered certificate", otherPEM, otherKey, false, "AADSTS700027"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			certs, key, err := azidentity.ParseCertificates(append(append([]byte{}, tc.cert...), tc.key...), nil)
			if err != nil {
				t.Fatal(err)
			}
			cred, err := azidentity.NewClientCertificateCredential(testTenant, "cert-app", certs, key,
				&azidentity.ClientCertificateCredentialOptions{ClientOptions: v.clientOptions(), DisableInstanceDiscovery: true, SendCertificateChain: tc.x5c})
			if err != nil {
				t.Fatal(err)
			}
			tok, err := cred.GetToken(ctx, policy.TokenRequestOptions{Scopes: []string{armScope}})
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("want %s, got %v", tc.wantErr, err)
				}
				return
			}
			if err != nil {
				t.Fatalf("GetToken: %v", err)
			}
			resp, body := v.do(t, http.MethodGet, wsPath()+"?api-version=2022-10-01", tok.Token, nil)
			if resp.StatusCode != 200 || jsonMap(t, body)["properties"].(map[string]any)["customerId"] != testWSID {
				t.Fatalf("workspace GET with certificate token: %d %s", resp.StatusCode, body)
			}
		})
	}
}
