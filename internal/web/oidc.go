package web

// OIDCConfig is single sign-on with an OpenID Connect provider.
type OIDCConfig struct {
	Issuer       string
	ClientID     string
	ClientSecret string
	// Name is shown on the button ("Sign in with Microsoft").
	Name string
	// CAFile names PEM certificate authorities trusted for the provider
	// besides the system's.
	CAFile string
}

type oidcProvider struct{ cfg OIDCConfig }

func newOIDCProvider(cfg OIDCConfig, baseURL string) *oidcProvider { return &oidcProvider{cfg: cfg} }
