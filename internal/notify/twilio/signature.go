package twilio

import (
	"crypto/hmac"
	"crypto/sha1"
	"encoding/base64"
	"net/http"
	"net/url"
	"sort"
	"strings"
)

// signature is Twilio's X-Twilio-Signature of a form POST to fullURL:
// HMAC-SHA1 under the auth token of the URL followed by every parameter's
// name and value, sorted by name (and repeated values sorted, as
// twilio-node does).
func signature(authToken, fullURL string, form url.Values) []byte {
	names := make([]string, 0, len(form))
	for k := range form {
		names = append(names, k)
	}
	sort.Strings(names)
	m := hmac.New(sha1.New, []byte(authToken))
	m.Write([]byte(fullURL))
	for _, k := range names {
		vals := append([]string(nil), form[k]...)
		sort.Strings(vals)
		for _, v := range vals {
			m.Write([]byte(k))
			m.Write([]byte(v))
		}
	}
	return m.Sum(nil)
}

// validSignature checks X-Twilio-Signature against the URL Twilio called:
// the public base URL followed by the path and query this server received.
// Twilio's own libraries accept the URL with or without the default port,
// since Twilio has signed both ways.
func (c *client) validSignature(r *http.Request) bool {
	got, err := base64.StdEncoding.DecodeString(r.Header.Get("X-Twilio-Signature"))
	if err != nil || len(got) == 0 {
		return false
	}
	// RequestURI is the path as it arrived, before any prefix was
	// stripped on the way to this handler.
	uri := r.RequestURI
	if !strings.HasPrefix(uri, "/") {
		uri = r.URL.RequestURI()
	}
	ok := false
	for _, base := range baseVariants(c.d.BaseURL) {
		// Every variant is checked, so the time taken does not tell which
		// one matched.
		if hmac.Equal(got, signature(c.s.AuthToken, base+uri, r.PostForm)) {
			ok = true
		}
	}
	return ok
}

// baseVariants returns base as given and with its default port added or
// removed.
func baseVariants(base string) []string {
	u, err := url.Parse(base)
	if err != nil || u.Host == "" {
		return []string{base}
	}
	def := map[string]string{"https": "443", "http": "80"}[u.Scheme]
	if def == "" {
		return []string{base}
	}
	prefix := u.Scheme + "://" + u.Host
	rest := strings.TrimPrefix(base, prefix)
	switch u.Port() {
	case "":
		return []string{base, prefix + ":" + def + rest}
	case def:
		return []string{base, strings.TrimSuffix(prefix, ":"+def) + rest}
	}
	return []string{base}
}
