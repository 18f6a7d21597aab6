package sentinel

import (
	"fmt"
	"net/url"
	"strings"
	"time"
)

// encodeQuery encodes v with %20 for spaces (Graph reads '+' literally in
// some filters) and '$' left as is, as the services' own docs write it.
func encodeQuery(v url.Values) string {
	s := v.Encode()
	s = strings.ReplaceAll(s, "+", "%20")
	return strings.ReplaceAll(s, "%24", "$")
}

// odataString quotes s as an OData string literal.
func odataString(s string) string { return "'" + strings.ReplaceAll(s, "'", "''") + "'" }

// odataTime formats t as an OData DateTimeOffset literal. Truncating to
// the second only widens a "ge" filter.
func odataTime(t time.Time) string { return t.UTC().Truncate(time.Second).Format(time.RFC3339) }

// anyOf builds "(field eq 'a' or field eq 'b')"; empty for no values.
func anyOf(field string, values []string) string {
	var parts []string
	for _, v := range values {
		if v = strings.TrimSpace(v); v != "" {
			parts = append(parts, field+" eq "+odataString(v))
		}
	}
	switch len(parts) {
	case 0:
		return ""
	case 1:
		return parts[0]
	}
	return "(" + strings.Join(parts, " or ") + ")"
}

func and(clauses ...string) string {
	var parts []string
	for _, c := range clauses {
		if c != "" {
			parts = append(parts, c)
		}
	}
	return strings.Join(parts, " and ")
}

// checkNextLink accepts a next-page link only on the host the first page
// came from, so a token is never sent elsewhere.
func checkNextLink(next, base string) error {
	n, err := url.Parse(next)
	if err != nil {
		return fmt.Errorf("next page link is not a URL: %w", err)
	}
	b, err := url.Parse(base)
	if err != nil {
		return fmt.Errorf("base URL: %w", err)
	}
	if n.Scheme != b.Scheme || !strings.EqualFold(n.Host, b.Host) {
		return fmt.Errorf("next page link points to %s://%s, not to %s://%s", n.Scheme, n.Host, b.Scheme, b.Host)
	}
	return nil
}

// maxPages bounds a listing so a service that keeps sending next links
// cannot keep the connector paging forever.
const maxPages = 500
