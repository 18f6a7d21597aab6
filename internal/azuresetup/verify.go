package azuresetup

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"strings"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/azidentity"
)

// appCredential is a fresh credential for the app (a fresh one per try,
// so a token issued before a grant landed is not reused from a cache).
func (r *runner) appCredential(ap *applied) (func() (azcore.TokenCredential, error), bool) {
	opts := r.ep.clientOptions(r.http)
	switch {
	case ap.secret != "":
		return func() (azcore.TokenCredential, error) {
			return azidentity.NewClientSecretCredential(r.tenantID, ap.app.AppID, ap.secret,
				&azidentity.ClientSecretCredentialOptions{ClientOptions: opts, DisableInstanceDiscovery: r.ep.custom})
		}, true
	case r.cfg.Certificate != nil && hasPrivateKey(r.cfg.Certificate):
		certs, key, err := azidentity.ParseCertificates(r.cfg.Certificate, nil)
		if err != nil {
			return nil, false
		}
		return func() (azcore.TokenCredential, error) {
			return azidentity.NewClientCertificateCredential(r.tenantID, ap.app.AppID, certs, key,
				&azidentity.ClientCertificateCredentialOptions{ClientOptions: opts, DisableInstanceDiscovery: r.ep.custom})
		}, true
	}
	return nil, false
}

// verify signs in as the app: its Graph token must carry the granted
// permissions, and it must be able to read the workspace (so the role
// assignments are in effect). It waits for both, polling.
func (r *runner) verify(ctx context.Context, ap *applied, steps []Step) error {
	newCred, ok := r.appCredential(ap)
	if !ok {
		r.say("\nThe app's credential was not tried: its secret is not known to this run (or the certificate file has no private key).")
		return nil
	}
	r.say("\nTrying the app's credential:")
	perms := graphPermissions(r.cfg.Mode)
	if len(perms) > 0 && !ap.consentDenied {
		var want []string
		for _, p := range perms {
			want = append(want, p.value)
		}
		var roles []string
		err := r.await(ctx, "Microsoft Graph to show the granted permissions in the app's token", tokenNotReady, func(ctx context.Context) error {
			cred, err := newCred()
			if err != nil {
				return err
			}
			tok, err := cred.GetToken(ctx, policy.TokenRequestOptions{Scopes: []string{r.ep.graphScope}})
			if err != nil {
				return err
			}
			roles = tokenRoles(tok.Token)
			for _, w := range want {
				if !slices.ContainsFunc(roles, func(h string) bool { return strings.EqualFold(h, w) }) {
					return fmt.Errorf("%w: the token carries %s", errNotYet, orNone(roles))
				}
			}
			return nil
		})
		if err != nil {
			return fmt.Errorf("the app's Microsoft Graph token lacks the granted permissions: %w", err)
		}
		r.say("  Microsoft Graph: the app signs in with %s", strings.Join(roles, ", "))
	} else if len(perms) > 0 {
		r.say("  Microsoft Graph: not tried, admin consent is pending")
	}
	hasRole := false
	for _, s := range steps {
		hasRole = hasRole || (s.Kind == kindRole && s.Action != Remove && r.ws != nil && strings.EqualFold(s.scope, r.ws.ID))
	}
	if !hasRole {
		return nil
	}
	err := r.await(ctx, "the role assignments to take effect", func(err error) bool {
		e, isAPI := asAPIError(err)
		return tokenNotReady(err) || (isAPI && (e.Status == http.StatusForbidden || e.Status == http.StatusUnauthorized))
	}, func(ctx context.Context) error {
		cred, err := newCred()
		if err != nil {
			return err
		}
		app := &armClient{api: r.api(cred), base: r.ep.arm, scope: r.ep.armScope}
		_, err = app.getWorkspace(ctx, r.ws.ID)
		return err
	})
	if err != nil {
		return fmt.Errorf("the app cannot read workspace %s with its new roles: %w", r.ws.Name, err)
	}
	r.say("  Azure: the app reads workspace %s", r.ws.Name)
	return nil
}

func orNone(s []string) string {
	if len(s) == 0 {
		return "no permissions"
	}
	return strings.Join(s, ", ")
}
