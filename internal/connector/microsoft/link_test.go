package microsoft

import (
	"bytes"
	"compress/gzip"
	"encoding/base64"
	"io"
	"net/url"
	"strings"
	"testing"
	"time"
)

func TestQueryLinkCarriesTheQuery(t *testing.T) {
	src := &Source{s: Settings{TenantID: "t1", SubscriptionID: "s1", ResourceGroup: "rg", WorkspaceName: "ws"}}
	start := time.Date(2026, 11, 29, 1, 0, 0, 0, time.UTC)
	link := src.queryLink("SigninLogs | take 10", start, start.Add(time.Hour))
	if !strings.HasPrefix(link, "https://portal.azure.com/#@t1/blade/") || !strings.Contains(link, "workspaces%2Fws") || !strings.Contains(link, "/timespan/") {
		t.Fatalf("link %s", link)
	}
	i := strings.Index(link, "/q/") + 3
	j := strings.Index(link, "/timespan/")
	enc, _ := url.PathUnescape(link[i:j])
	raw, err := base64.StdEncoding.DecodeString(enc)
	if err != nil {
		t.Fatal(err)
	}
	zr, err := gzip.NewReader(bytes.NewReader(raw))
	if err != nil {
		t.Fatal(err)
	}
	q, _ := io.ReadAll(zr)
	if string(q) != "SigninLogs | take 10" {
		t.Fatalf("query in the link: %q", q)
	}
	if (&Source{}).queryLink("x", start, start) != "" {
		t.Fatal("a link without the workspace's place")
	}
}
