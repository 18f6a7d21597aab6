package azureemu

import (
	"encoding/base64"
	"errors"
	"net/url"
	"strconv"
	"strings"
)

// Skip tokens are opaque to clients; here they carry the offset of the
// next page in the (sorted, filtered) result.

func encodeSkip(offset int) string {
	return base64.RawURLEncoding.EncodeToString([]byte("emu-offset:" + strconv.Itoa(offset)))
}

func decodeSkip(tok string) (int, error) {
	b, err := base64.RawURLEncoding.DecodeString(tok)
	if err != nil {
		return 0, errors.New("invalid skip token")
	}
	n, err := strconv.Atoi(strings.TrimPrefix(string(b), "emu-offset:"))
	if err != nil || n < 0 || !strings.HasPrefix(string(b), "emu-offset:") {
		return 0, errors.New("invalid skip token")
	}
	return n, nil
}

// queryGet reads a query parameter ignoring the case of its name
// ($skipToken vs $skiptoken); the exact name wins.
func queryGet(q url.Values, name string) (string, bool) {
	if v, ok := q[name]; ok && len(v) > 0 {
		return v[0], true
	}
	for k, v := range q {
		if strings.EqualFold(k, name) && len(v) > 0 {
			return v[0], true
		}
	}
	return "", false
}

// nextLink is the request URL with the skip token parameter replaced.
func (c *call) nextLink(param string, offset int) string {
	return c.linkWith(param, encodeSkip(offset))
}

// linkWith is the request URL with one query parameter (matched ignoring
// case) set to value.
func (c *call) linkWith(param, value string) string {
	q := url.Values{}
	for k, v := range c.r.URL.Query() {
		if !strings.EqualFold(k, param) {
			q[k] = v
		}
	}
	q.Set(param, value)
	return c.baseURL() + c.r.URL.EscapedPath() + "?" + q.Encode()
}
