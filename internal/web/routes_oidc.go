package web

import (
	"context"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"golang.org/x/oauth2"

	"github.com/lastmile/lastmile/internal/apperr"
	"github.com/lastmile/lastmile/internal/web/session"
)

// The single sign-on routes exist only when OIDC is configured.
func (s *Server) oidcRoutes() []route {
	if s.oidc == nil {
		return nil
	}
	return []route{
		{"GET /login/oidc", s.public(s.oidcStart)},
		{"GET /login/oidc/callback", s.public(s.oidcCallback)},
	}
}

// oidcFlowLife is how long a started sign-in may take at the provider.
const oidcFlowLife = 10 * time.Minute

// oidcFlow is one started sign-in, kept in a short-lived cookie of the
// browser that started it: the callback must bring the same state, and the
// ID token the same nonce. The cookie is HttpOnly, so the PKCE verifier in
// it never reaches the provider's page or scripts.
type oidcFlow struct {
	state, nonce, verifier, next string
}

func (p *oidcProvider) cookieName() string {
	if p.secure {
		return "__Host-lastmile_oidc"
	}
	return "lastmile_oidc"
}

func (p *oidcProvider) setFlow(w http.ResponseWriter, f oidcFlow) {
	v := strings.Join([]string{f.state, f.nonce, f.verifier, base64.RawURLEncoding.EncodeToString([]byte(f.next))}, ".")
	http.SetCookie(w, &http.Cookie{Name: p.cookieName(), Value: v, Path: "/", MaxAge: int(oidcFlowLife.Seconds()),
		HttpOnly: true, Secure: p.secure, SameSite: http.SameSiteLaxMode})
}

func (p *oidcProvider) clearFlow(w http.ResponseWriter) {
	http.SetCookie(w, &http.Cookie{Name: p.cookieName(), Value: "", Path: "/", MaxAge: -1,
		HttpOnly: true, Secure: p.secure, SameSite: http.SameSiteLaxMode})
}

func (p *oidcProvider) readFlow(r *http.Request) (oidcFlow, bool) {
	c, err := r.Cookie(p.cookieName())
	if err != nil {
		return oidcFlow{}, false
	}
	parts := strings.Split(c.Value, ".")
	if len(parts) != 4 || parts[0] == "" || parts[1] == "" || parts[2] == "" {
		return oidcFlow{}, false
	}
	next, err := base64.RawURLEncoding.DecodeString(parts[3])
	if err != nil {
		return oidcFlow{}, false
	}
	return oidcFlow{state: parts[0], nonce: parts[1], verifier: parts[2], next: safeNext(string(next))}, true
}

func (p *oidcProvider) oauth(meta *oidcMeta) *oauth2.Config {
	// The secret goes in the body where the provider takes it there, as
	// Microsoft's own libraries send it; HTTP Basic is the standard's
	// default otherwise.
	style := oauth2.AuthStyleInHeader
	if containsFold(meta.AuthMethods, "client_secret_post") {
		style = oauth2.AuthStyleInParams
	}
	return &oauth2.Config{
		ClientID: p.cfg.ClientID, ClientSecret: p.cfg.ClientSecret, RedirectURL: p.redirectURL,
		Endpoint: oauth2.Endpoint{AuthURL: meta.provider.Endpoint().AuthURL, TokenURL: meta.provider.Endpoint().TokenURL, AuthStyle: style},
		Scopes:   []string{"openid", "profile", "email"},
	}
}

func containsFold(list []string, s string) bool {
	for _, v := range list {
		if strings.EqualFold(v, s) {
			return true
		}
	}
	return false
}

// oidcStart sends the browser to the provider.
func (s *Server) oidcStart(w http.ResponseWriter, r *http.Request, v *view) error {
	p, next := s.oidc, safeNext(r.FormValue("next"))
	if v.SignedIn {
		http.Redirect(w, r, next, http.StatusSeeOther)
		return nil
	}
	if p.err != nil {
		s.cfg.Log.Error("single sign-on is not set up correctly", "err", p.err)
		return oidcRefuse(w, r, next, "Single sign-on is misconfigured: "+p.err.Error())
	}
	meta, err := p.discover(r.Context())
	if err != nil {
		s.cfg.Log.Warn("single sign-on provider unavailable", "err", err)
		return oidcRefuse(w, r, next, "Sign-in with "+p.name()+" is not available right now. Sign in with your password, or try again in a minute.")
	}
	f := oidcFlow{state: session.NewToken(), nonce: session.NewToken(), verifier: oauth2.GenerateVerifier(), next: next}
	p.setFlow(w, f)
	http.Redirect(w, r, p.oauth(meta).AuthCodeURL(f.state, oauth2.S256ChallengeOption(f.verifier),
		oauth2.SetAuthURLParam("nonce", f.nonce)), http.StatusSeeOther)
	return nil
}

// oidcCallback is where the provider sends the browser back.
func (s *Server) oidcCallback(w http.ResponseWriter, r *http.Request, v *view) error {
	p, q := s.oidc, r.URL.Query()
	f, ok := p.readFlow(r)
	p.clearFlow(w)
	if !ok {
		f.next = "/"
	}
	if code := q.Get("error"); code != "" {
		s.cfg.Log.Warn("single sign-on refused by the provider", "error", code, "description", q.Get("error_description"))
		return oidcRefuse(w, r, f.next, p.providerError(code, q.Get("error_description")))
	}
	switch {
	case !ok:
		return oidcRefuse(w, r, f.next, "The sign-in took too long, or this browser did not keep its cookie. Try again.")
	case subtle.ConstantTimeCompare([]byte(q.Get("state")), []byte(f.state)) != 1:
		s.cfg.Log.Warn("single sign-on refused: state mismatch")
		return oidcRefuse(w, r, f.next, "The answer from "+p.name()+" does not belong to the sign-in this browser started. Try again.")
	case q.Get("code") == "":
		return oidcRefuse(w, r, f.next, p.name()+" sent no authorization code. Try again.")
	}
	meta, err := p.discover(r.Context())
	if err != nil {
		s.cfg.Log.Warn("single sign-on provider unavailable", "err", err)
		return oidcRefuse(w, r, f.next, "Sign-in with "+p.name()+" is not available right now. Sign in with your password, or try again in a minute.")
	}
	claims, err := s.oidcRedeem(r.Context(), meta, q.Get("code"), f)
	if err != nil {
		var re *oauth2.RetrieveError
		if errors.As(err, &re) {
			s.cfg.Log.Warn("single sign-on code refused", "error", re.ErrorCode, "description", re.ErrorDescription)
			return oidcRefuse(w, r, f.next, p.providerError(re.ErrorCode, re.ErrorDescription))
		}
		s.cfg.Log.Warn("single sign-on failed", "err", err)
		return oidcRefuse(w, r, f.next, "The sign-in with "+p.name()+" could not be completed. Try again, or sign in with your password.")
	}
	u, err := s.oidcUser(r.Context(), meta, claims)
	if err != nil {
		if e, ok := apperr.As(err); ok && e.Kind == apperr.Unauthorized {
			s.cfg.Log.Info("single sign-on refused", "subject", claims.Sub, "reason", e.Message)
			return oidcRefuse(w, r, f.next, e.Message)
		}
		return err
	}
	return s.startSession(w, r, u.ID, "oidc", f.next)
}

// oidcRedeem exchanges the code (with the PKCE verifier) and verifies the
// ID token that comes back.
func (s *Server) oidcRedeem(ctx context.Context, meta *oidcMeta, code string, f oidcFlow) (idClaims, error) {
	p := s.oidc
	ctx, cancel := context.WithTimeout(context.WithValue(ctx, oauth2.HTTPClient, p.client), oidcTimeout)
	defer cancel()
	tok, err := p.oauth(meta).Exchange(ctx, code, oauth2.VerifierOption(f.verifier))
	if err != nil {
		return idClaims{}, err
	}
	raw, _ := tok.Extra("id_token").(string)
	if raw == "" {
		return idClaims{}, errors.New("the token answer has no id_token")
	}
	// go-oidc checks the signature against the provider's keys, the
	// issuer, the audience and the expiry; the nonce is this sign-in's.
	idt, err := meta.verifier.Verify(ctx, raw)
	if err != nil {
		return idClaims{}, fmt.Errorf("verify the ID token: %w", err)
	}
	if subtle.ConstantTimeCompare([]byte(idt.Nonce), []byte(f.nonce)) != 1 {
		return idClaims{}, errors.New("the ID token's nonce is not the one this sign-in sent")
	}
	var c idClaims
	if err := idt.Claims(&c); err != nil {
		return idClaims{}, fmt.Errorf("read the ID token's claims: %w", err)
	}
	c.Sub = idt.Subject
	return c, nil
}

// providerError puts the provider's error in plain words: its description
// without the trace lines Entra appends.
func (p *oidcProvider) providerError(code, desc string) string {
	desc, _, _ = strings.Cut(strings.ReplaceAll(desc, "\r\n", "\n"), "\n")
	desc = strings.TrimSpace(desc)
	if len(desc) > 200 {
		desc = desc[:200] + "…"
	}
	switch {
	case desc != "":
		return "Sign-in with " + p.name() + " failed: " + desc
	case code == "access_denied":
		return "Sign-in with " + p.name() + " was cancelled or refused."
	}
	if len(code) > 60 {
		code = code[:60]
	}
	return "Sign-in with " + p.name() + " failed (" + code + ")."
}

// oidcRefuse sends the browser to the sign-in page with the reason, in the
// flash cookie rather than the URL, so that no link can put words of its
// own on lastmile's sign-in page.
func oidcRefuse(w http.ResponseWriter, r *http.Request, next, msg string) error {
	if len(msg) > 290 {
		msg = strings.ToValidUTF8(msg[:290], "") + "…"
	}
	setFlash(w, "error", msg)
	q := url.Values{}
	if next != "/" {
		q.Set("next", next)
	}
	to := "/login"
	if len(q) > 0 {
		to += "?" + q.Encode()
	}
	http.Redirect(w, r, to, http.StatusSeeOther)
	return nil
}
