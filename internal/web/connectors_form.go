package web

import (
	"encoding/json"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"github.com/lastmile/lastmile/internal/apperr"
	"github.com/lastmile/lastmile/internal/connector"
	"github.com/lastmile/lastmile/internal/connector/microsoft"
	"github.com/lastmile/lastmile/internal/seal"
	"github.com/lastmile/lastmile/internal/team"
)

// connForm is the guided form of a Microsoft connector, field by field.
type connForm struct {
	Name, Source                                               string
	TenantID, ClientID, ClientSecret                           string
	SubscriptionID, ResourceGroup, WorkspaceName, WorkspaceID  string
	Severities, Statuses                                       []string
	Products                                                   string
	Augment                                                    bool
	Poll                                                       string
	Enabled                                                    bool
	Label, CloseClassification, CloseReason, CloseComment      string
	LogMode, LogEndpoint, LogDCR, LogStream                    string
	LogSharedKey, LogTable, LogURL                             string
	Cloud, AuthorityHost, ResourceManager, Graph, LogAnalytics string
	TitleTemplate, TextTemplate                                string
}

// HasSeverity and HasStatus tick the filter checkboxes.
func (f connForm) HasSeverity(s string) bool { return slices.Contains(f.Severities, s) }
func (f connForm) HasStatus(s string) bool   { return slices.Contains(f.Statuses, s) }

// connFormData is the new and edit pages.
type connFormData struct {
	Team team.Team
	// ID is set when editing.
	ID      string
	Error   string
	F       connForm
	Sources []connSource
	// Choices for the selects and checkboxes.
	Severities, Statuses, Classifications, Reasons, Clouds []string
	Masked                                                 string
}

func (s *Server) connFormRender(w http.ResponseWriter, v *view, status int, d connFormData) error {
	d.Sources = connSources
	d.Severities = []string{"High", "Medium", "Low", "Informational"}
	d.Statuses = []string{"New", "Active"}
	d.Classifications = []string{"Undetermined", "TruePositive", "BenignPositive", "FalsePositive"}
	d.Reasons = []string{"SuspiciousActivity", "SuspiciousButExpected", "IncorrectAlertLogic", "InaccurateData"}
	d.Clouds = []string{"AzurePublic", "AzureUSGovernment", "AzureChina"}
	d.Masked = seal.Masked
	v.Title, v.Nav = "Add a connector · "+d.Team.Name, "console"
	if d.ID != "" {
		v.Title = "Change " + d.F.Name
	}
	v.Data = d
	s.renderStatus(w, v, status, "connector_form")
	return nil
}

func (s *Server) connectorNewForm(w http.ResponseWriter, r *http.Request, v *view) error {
	tm, err := s.pathTeam(r, v, team.RoleAdmin)
	if err != nil {
		return err
	}
	if _, err := s.connService(); err != nil {
		return err
	}
	f := connForm{Source: "sentinel", Statuses: []string{"New"}, Poll: "30", Enabled: true, Label: "SIGNL4", CloseClassification: "Undetermined"}
	return s.connFormRender(w, v, http.StatusOK, connFormData{Team: tm, F: f})
}

func (s *Server) connectorCreate(w http.ResponseWriter, r *http.Request, v *view) error {
	tm, err := s.pathTeam(r, v, team.RoleAdmin)
	if err != nil {
		return err
	}
	cs, err := s.connService()
	if err != nil {
		return err
	}
	f, err := connFormFrom(r)
	if err != nil {
		return err
	}
	refuse := func(err error) error {
		if k := apperr.KindOf(err); k != apperr.Invalid && k != apperr.Conflict {
			return err
		}
		// Secrets are not sent back to the browser: they are typed again.
		f.ClientSecret, f.LogSharedKey = "", ""
		return s.connFormRender(w, v, http.StatusBadRequest, connFormData{Team: tm, F: f, Error: connErrText(err)})
	}
	poll, err := connPoll(f.Poll)
	if err != nil {
		return refuse(err)
	}
	raw, err := f.settings(map[string]any{})
	if err != nil {
		return refuse(err)
	}
	enabled := f.Enabled
	c, err := cs.Create(r.Context(), tm.ID, connector.NewConnector{Name: f.Name, Kind: "microsoft", Source: f.Source, Settings: raw, Enabled: &enabled, PollSeconds: poll})
	if err != nil {
		return refuse(err)
	}
	s.cfg.Log.Info("connector created", "team_id", tm.ID, "connector_id", c.ID, "source", c.Source, "by", v.User.ID)
	return redirect(w, r, "/teams/"+tm.ID+"/connectors/"+c.ID+"?test=1", c.Name+" is added. Here is its connection test.")
}

func (s *Server) connectorEditForm(w http.ResponseWriter, r *http.Request, v *view) error {
	tm, c, err := s.connEditable(r, v)
	if err != nil {
		return err
	}
	return s.connFormRender(w, v, http.StatusOK, connFormData{Team: tm, ID: c.ID, F: connFormOf(c)})
}

// connEditable loads a connector a team admin may change with the form.
func (s *Server) connEditable(r *http.Request, v *view) (team.Team, connector.Connector, error) {
	tm, err := s.pathTeam(r, v, team.RoleAdmin)
	if err != nil {
		return team.Team{}, connector.Connector{}, err
	}
	cs, err := s.connService()
	if err != nil {
		return team.Team{}, connector.Connector{}, err
	}
	c, err := cs.Get(r.Context(), tm.ID, r.PathValue("connectorId"))
	if err != nil {
		return team.Team{}, connector.Connector{}, err
	}
	if c.Kind != "microsoft" {
		return team.Team{}, connector.Connector{}, apperr.New(apperr.Invalid, "a %s connector has no form here; change it through the REST API", c.Kind)
	}
	return tm, c, nil
}

func (s *Server) connectorUpdate(w http.ResponseWriter, r *http.Request, v *view) error {
	tm, c, err := s.connEditable(r, v)
	if err != nil {
		return err
	}
	f, err := connFormFrom(r)
	if err != nil {
		return err
	}
	f.Source = c.Source // the source mode is fixed once created
	refuse := func(err error) error {
		if k := apperr.KindOf(err); k != apperr.Invalid && k != apperr.Conflict {
			return err
		}
		f.ClientSecret, f.LogSharedKey = connKeepMasked(f.ClientSecret), connKeepMasked(f.LogSharedKey)
		return s.connFormRender(w, v, http.StatusBadRequest, connFormData{Team: tm, ID: c.ID, F: f, Error: connErrText(err)})
	}
	poll, err := connPoll(f.Poll)
	if err != nil {
		return refuse(err)
	}
	// Fields the form does not show (audiences, certificate, …) are kept:
	// the form's fields are laid over the stored settings, masked.
	var base map[string]any
	if err := json.Unmarshal(c.Settings, &base); err != nil || base == nil {
		base = map[string]any{}
	}
	raw, err := f.settings(base)
	if err != nil {
		return refuse(err)
	}
	if _, err := s.cfg.Connectors.Update(r.Context(), tm.ID, c.ID, connector.Patch{Name: &f.Name, Settings: raw, PollSeconds: &poll}); err != nil {
		return refuse(err)
	}
	return redirect(w, r, "/teams/"+tm.ID+"/connectors/"+c.ID+"?test=1", "Saved. Here is the connection test with the new settings.")
}

// connKeepMasked shows a secret typed into a refused form as the mask
// again, so it is not sent back to the browser; saving keeps the stored one.
func connKeepMasked(v string) string {
	if v == "" {
		return ""
	}
	return seal.Masked
}

func connPoll(v string) (int, error) {
	v = strings.TrimSpace(v)
	if v == "" {
		return 30, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 || n > 3600 {
		return 0, apperr.New(apperr.Invalid, "The poll interval must be a whole number of seconds from 1 to 3600.")
	}
	return n, nil
}

// connFormFrom reads the posted form.
func connFormFrom(r *http.Request) (connForm, error) {
	if err := r.ParseForm(); err != nil {
		return connForm{}, apperr.New(apperr.Invalid, "the form could not be read: %v", err)
	}
	g := func(k string) string { return strings.TrimSpace(r.PostFormValue(k)) }
	f := connForm{Name: g("name"), Source: g("source"), TenantID: g("tenantId"), ClientID: g("clientId"), ClientSecret: g("clientSecret"),
		SubscriptionID: g("subscriptionId"), ResourceGroup: g("resourceGroup"), WorkspaceName: g("workspaceName"), WorkspaceID: g("workspaceId"),
		Severities: r.PostForm["severities"], Statuses: r.PostForm["statuses"], Products: g("products"), Augment: g("augment") != "",
		Poll: g("pollSeconds"), Enabled: g("enabled") != "", Label: g("label"), CloseClassification: g("closeClassification"),
		CloseReason: g("closeClassificationReason"), CloseComment: g("closeComment"),
		LogMode: g("logMode"), LogEndpoint: g("logEndpoint"), LogDCR: g("logDcrImmutableId"), LogStream: g("logStream"),
		LogSharedKey: g("logSharedKey"), LogTable: g("logTable"), LogURL: g("logUrl"),
		Cloud: g("cloud"), AuthorityHost: g("authorityHost"), ResourceManager: g("resourceManager"), Graph: g("graph"), LogAnalytics: g("logAnalytics"),
		TitleTemplate: g("titleTemplate"), TextTemplate: g("textTemplate")}
	if f.LogMode == "off" {
		f.LogMode = ""
	}
	return f, nil
}

// connFormOf fills the form from a stored connector (secrets masked).
func connFormOf(c connector.Connector) connForm {
	var st microsoft.Settings
	_ = json.Unmarshal(c.Settings, &st)
	f := connForm{Name: c.Name, Source: c.Source, TenantID: st.TenantID, ClientID: st.ClientID, ClientSecret: st.ClientSecret,
		SubscriptionID: st.SubscriptionID, ResourceGroup: st.ResourceGroup, WorkspaceName: st.WorkspaceName, WorkspaceID: st.WorkspaceID,
		Severities: st.Severities, Statuses: st.Statuses, Products: strings.Join(st.Products, ", "), Augment: st.Augment,
		Poll: strconv.Itoa(c.PollSeconds), Enabled: c.Enabled, Label: st.Label, CloseClassification: st.CloseClassification,
		CloseReason: st.CloseClassificationReason, CloseComment: st.CloseComment, Cloud: st.Cloud,
		TitleTemplate: st.TitleTemplate, TextTemplate: st.TextTemplate}
	if len(f.Statuses) == 0 {
		f.Statuses = []string{"New"}
	}
	if l := st.Log; l != nil {
		f.LogMode, f.LogEndpoint, f.LogDCR, f.LogStream = l.Mode, l.Endpoint, l.DCRImmutableID, l.Stream
		f.LogSharedKey, f.LogTable, f.LogURL = l.SharedKey, l.Table, l.URL
	}
	if e := st.Endpoints; e != nil {
		f.AuthorityHost, f.ResourceManager, f.Graph, f.LogAnalytics = e.AuthorityHost, e.ResourceManager, e.Graph, e.LogAnalytics
	}
	return f
}

// settings lays the form over base and returns the settings JSON the
// connector service takes. An empty field is left out, so the kind's
// default applies (and a left-out secret keeps the stored one).
func (f connForm) settings(base map[string]any) (json.RawMessage, error) {
	m := base
	put := func(dst map[string]any, k, v string) {
		if v == "" {
			delete(dst, k)
		} else {
			dst[k] = v
		}
	}
	list := func(k string, vs []string) {
		if len(vs) == 0 {
			delete(m, k)
		} else {
			m[k] = vs
		}
	}
	for k, v := range map[string]string{"tenantId": f.TenantID, "clientId": f.ClientID, "clientSecret": f.ClientSecret,
		"subscriptionId": f.SubscriptionID, "resourceGroup": f.ResourceGroup, "workspaceName": f.WorkspaceName, "workspaceId": f.WorkspaceID,
		"label": f.Label, "closeClassification": f.CloseClassification, "closeClassificationReason": f.CloseReason,
		"closeComment": f.CloseComment, "cloud": f.Cloud, "titleTemplate": f.TitleTemplate, "textTemplate": f.TextTemplate} {
		put(m, k, v)
	}
	list("severities", f.Severities)
	list("statuses", f.Statuses)
	var products []string
	for _, p := range strings.Split(f.Products, ",") {
		if p = strings.TrimSpace(p); p != "" {
			products = append(products, p)
		}
	}
	list("products", products)
	if f.Augment {
		m["augment"] = true
	} else {
		delete(m, "augment")
	}
	if f.LogMode == "" {
		delete(m, "log")
	} else {
		lg, _ := m["log"].(map[string]any)
		if lg == nil {
			lg = map[string]any{}
		}
		lg["mode"] = f.LogMode
		for k, v := range map[string]string{"endpoint": f.LogEndpoint, "dcrImmutableId": f.LogDCR, "stream": f.LogStream,
			"sharedKey": f.LogSharedKey, "table": f.LogTable, "url": f.LogURL} {
			put(lg, k, v)
		}
		m["log"] = lg
	}
	ep, _ := m["endpoints"].(map[string]any)
	if ep == nil {
		ep = map[string]any{}
	}
	for k, v := range map[string]string{"authorityHost": f.AuthorityHost, "resourceManager": f.ResourceManager, "graph": f.Graph, "logAnalytics": f.LogAnalytics} {
		put(ep, k, v)
	}
	if len(ep) == 0 {
		delete(m, "endpoints")
	} else {
		m["endpoints"] = ep
	}
	raw, err := json.Marshal(m)
	if err != nil {
		return nil, apperr.New(apperr.Invalid, "the settings could not be put together: %v", err)
	}
	return raw, nil
}
