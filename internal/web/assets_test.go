package web

import "testing"

// A page loads app.css, app.js and the icon; together they must stay under
// the budget the issue sets (~100 KB), so that a phone on a poor connection
// at night gets the inbox quickly.
func TestEveryPageLoadsUnder100KBOfAssets(t *testing.T) {
	a, err := loadAssets()
	if err != nil {
		t.Fatal(err)
	}
	total := 0
	for _, url := range []string{"/assets/app.css", "/assets/app.js", "/assets/icons/icon.svg"} {
		f, ok := a.files[url]
		if !ok {
			t.Fatalf("asset %s is missing", url)
		}
		t.Logf("%s: %d bytes", url, len(f.body))
		total += len(f.body)
	}
	if total > 100_000 {
		t.Fatalf("a page loads %d bytes of assets, over the 100 KB budget", total)
	}
}
