package web

import (
	"context"
	"fmt"
	"net/url"

	"github.com/coreos/go-oidc/v3/oidc"
)

// oidcMeta is what discovery tells about the provider, and the verifier of
// its ID tokens (which caches the provider's signing keys and fetches them
// again when a new key id appears).
type oidcMeta struct {
	AuthMethods []string `json:"token_endpoint_auth_methods_supported"`
	// CloudInstance is only in Entra ID's documents (and its emulator's).
	CloudInstance string `json:"cloud_instance_name"`
	// entra: the provider is Microsoft Entra ID, whose tenant-specific
	// tokens carry addresses the tenant's administrators manage.
	entra    bool
	provider *oidc.Provider
	verifier *oidc.IDTokenVerifier
}

// discover fetches the provider's metadata once; a failure is not kept, so
// the next sign-in tries again. go-oidc checks that the provider calls
// itself by the configured issuer.
func (p *oidcProvider) discover(ctx context.Context) (*oidcMeta, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.meta != nil {
		return p.meta, nil
	}
	ctx, cancel := context.WithTimeout(ctx, oidcTimeout)
	defer cancel()
	prov, err := oidc.NewProvider(oidc.ClientContext(ctx, p.client), p.cfg.Issuer)
	if err != nil {
		return nil, fmt.Errorf("discover %s: %w", p.cfg.Issuer, err)
	}
	var m oidcMeta
	if err := prov.Claims(&m); err != nil {
		return nil, fmt.Errorf("read the discovery document of %s: %w", p.cfg.Issuer, err)
	}
	m.provider = prov
	// The key set outlives the request that first needed it, so it gets a
	// context of its own (with the client that trusts the CA file).
	m.verifier = prov.VerifierContext(oidc.ClientContext(context.Background(), p.client),
		&oidc.Config{ClientID: p.cfg.ClientID, Now: p.now})
	if u, err := url.Parse(p.cfg.Issuer); err == nil {
		m.entra = isMicrosoftHost(u.Hostname()) || m.CloudInstance != ""
	}
	p.meta = &m
	return p.meta, nil
}
