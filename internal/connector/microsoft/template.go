package microsoft

// view is what the title and text templates see.
type view struct {
	Title       string
	Description string
	Severity    string // as Microsoft writes it: High, Medium, …
	Status      string
	Number      string // the incident number (Sentinel) or id (Graph)
	Owner       string
	URL         string
	Products    []string
	Tactics     []string
	Provider    string
}

const (
	defaultTitle = `{{.Title}}`
	defaultText  = `{{.Description}}`
)
