package outbound

import (
	"context"
	"net"
	"net/netip"
	"net/url"
	"path"
	"slices"
	"strings"
	"time"

	"github.com/lastmile/lastmile/internal/apperr"
)

// Resolver looks up a host's addresses; *net.Resolver is one.
type Resolver interface {
	LookupIPAddr(ctx context.Context, host string) ([]net.IPAddr, error)
}

const (
	maxURLLength   = 2048
	resolveTimeout = 5 * time.Second
)

// inboundPaths are this server's routes that raise alerts: a webhook
// posting to one of them would turn every event into a new alert, and
// that alert into a new event.
var inboundPaths = []string{"/webhook", "/api/v2/events"}

func invalid(format string, args ...any) error { return apperr.New(apperr.Invalid, format, args...) }

// checkURL validates a webhook target and returns it in canonical form.
func (s *Service) checkURL(ctx context.Context, raw string) (string, error) {
	raw = strings.TrimSpace(raw)
	if raw == "" {
		return "", invalid("url is required")
	}
	if len(raw) > maxURLLength {
		return "", invalid("url is longer than %d characters", maxURLLength)
	}
	u, err := url.Parse(raw)
	if err != nil || !u.IsAbs() || u.Host == "" || u.Opaque != "" {
		return "", invalid("url %q is not an absolute http(s) URL", raw)
	}
	u.Scheme = strings.ToLower(u.Scheme)
	switch {
	case u.Scheme == "https":
	case u.Scheme == "http" && s.opt.AllowPrivate:
	case u.Scheme == "http":
		return "", invalid("url must use https; plain http is allowed only when the server runs with --allow-private-webhooks")
	case s.opt.AllowPrivate:
		return "", invalid("url must start with https:// or http:// (got %q)", u.Scheme+":")
	default:
		return "", invalid("url must start with https:// (got %q)", u.Scheme+":")
	}
	if u.User != nil {
		return "", invalid("url must not contain a user name or password")
	}
	host := u.Hostname()
	if host == "" {
		return "", invalid("url %q has no host name", raw)
	}
	if s.isOwnInbound(u) {
		return "", invalid("url points at this server's own inbound webhook: every event it sends would raise a new alert, so this is refused")
	}
	if err := s.checkHost(ctx, host); err != nil {
		return "", err
	}
	u.Fragment, u.RawFragment = "", ""
	return u.String(), nil
}

// isOwnInbound reports whether u is one of this server's inbound routes.
// Host names are compared without ports: another port of the same host
// is most likely the same server behind a proxy.
func (s *Service) isOwnInbound(u *url.URL) bool {
	if s.opt.BaseURL == "" {
		return false
	}
	base, err := url.Parse(s.opt.BaseURL)
	if err != nil || base.Hostname() == "" {
		return false
	}
	norm := func(h string) string { return strings.TrimSuffix(strings.ToLower(h), ".") }
	if norm(base.Hostname()) != norm(u.Hostname()) {
		return false
	}
	prefix := strings.TrimSuffix(strings.ToLower(base.Path), "/")
	p := strings.ToLower(path.Clean("/" + u.Path))
	for _, in := range inboundPaths {
		in = prefix + in
		if p == in || strings.HasPrefix(p, in+"/") {
			return true
		}
	}
	return false
}

// checkHost refuses a host that is, or resolves to, an internal address,
// unless such targets are allowed. The Deliverer's client checks again at
// every connection, so a name that later re-resolves inward is still
// refused; this check is there to tell the admin at once.
func (s *Service) checkHost(ctx context.Context, host string) error {
	if s.opt.AllowPrivate {
		return nil
	}
	const hint = "; a server administrator can allow such targets with --allow-private-webhooks"
	if ip, err := netip.ParseAddr(host); err == nil {
		if why := blocked(ip); why != "" {
			return invalid("url points at %s, %s%s", ip, why, hint)
		}
		return nil
	}
	rctx, cancel := context.WithTimeout(ctx, resolveTimeout)
	defer cancel()
	addrs, err := s.resolver.LookupIPAddr(rctx, host)
	if err != nil || len(addrs) == 0 {
		return invalid("the host name %q could not be resolved; check the URL for typos", host)
	}
	for _, a := range addrs {
		ip, ok := netip.AddrFromSlice(a.IP)
		if !ok {
			continue
		}
		if why := blocked(ip.Unmap()); why != "" {
			return invalid("the host name %q resolves to %s, %s%s", host, ip.Unmap(), why, hint)
		}
	}
	return nil
}

// blocked says in words why ip may not be a webhook target, or "" if it
// may. It refuses what notify.GuardedClient refuses.
func blocked(ip netip.Addr) string {
	ip = ip.Unmap()
	switch {
	case ip.IsLoopback():
		return "a loopback address (this machine)"
	case ip.IsPrivate():
		return "a private network address"
	case ip.IsLinkLocalUnicast(), ip.IsLinkLocalMulticast():
		return "a link-local address"
	case ip.IsUnspecified():
		return "an unspecified address"
	case ip.IsMulticast():
		return "a multicast address"
	}
	return ""
}

// checkEvents validates a list of event types and returns it sorted and
// without repeats; empty means all.
func checkEvents(events []int) ([]int, error) {
	out := make([]int, 0, len(events))
	for _, e := range events {
		if !knownEvent(e) {
			return nil, invalid("event type %d is unknown; use 1, 200, 201, 202, 203, 300, 301, 302 or 303 (or none for all)", e)
		}
		if !slices.Contains(out, e) {
			out = append(out, e)
		}
	}
	slices.Sort(out)
	return out, nil
}
