package microsoft_test

import (
	"context"
	"encoding/base64"
	"strings"
	"testing"
	"time"

	"github.com/lastmile/lastmile/internal/azureemu"
	"github.com/lastmile/lastmile/internal/connector"
)

func logger(t *testing.T, src connector.Source) connector.Logger {
	t.Helper()
	l, ok := src.(connector.Logger)
	if !ok {
		t.Fatal("the source is no connector.Logger")
	}
	return l
}

// logChange is a lifecycle record: Ann acknowledged alert-42, opened for
// incident inc-7, a minute ago.
func logChange(e *env) connector.Change {
	return connector.Change{Kind: "acknowledged", AlertID: "alert-42", Title: "Brute force", ByUser: true, By: "Ann", Email: "ann@contoso.com",
		Text: "on it", At: e.clock.Now().Add(-time.Minute)}
}

func TestLogIngestion(t *testing.T) {
	tests := []struct {
		name   string
		stream string // "" for the default
		table  string
	}{
		{"default stream", "", "SIGNL4_CL"},
		{"own stream", "Custom-LastmileAudit", "LastmileAudit_CL"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t, azureemu.App{IngestionRoles: []string{dcrID}})
			if err := e.emu.AddDCR(azureemu.DCR{ImmutableID: dcrID, Workspace: wsName,
				Streams: map[string]string{"Custom-SIGNL4_CL": "SIGNL4_CL", "Custom-LastmileAudit": "LastmileAudit_CL"}}); err != nil {
				t.Fatal(err)
			}
			log := map[string]any{"mode": "ingestion", "endpoint": e.emu.URL(), "dcrImmutableId": dcrID}
			if tt.stream != "" {
				log["stream"] = tt.stream
			}
			src := e.source(t, "sentinel", map[string]any{"log": log})
			c := logChange(e)
			if err := logger(t, src).Log(context.Background(), "inc-7", c); err != nil {
				t.Fatal(err)
			}
			rows, err := e.emu.Rows(wsName, tt.table)
			if err != nil || len(rows) != 1 {
				t.Fatalf("rows %+v, %v", rows, err)
			}
			r := rows[0]
			want := map[string]any{"EventType": "acknowledged", "AlertId": "alert-42", "User": "Ann", "UserEmail": "ann@contoso.com",
				"IncidentId": "inc-7", "AlertTitle": "Brute force", "Text": "on it", "Source": "lastmile"}
			for k, v := range want {
				if r[k] != v {
					t.Errorf("%s = %v, want %v", k, r[k], v)
				}
			}
			if tg, ok := r["TimeGenerated"].(time.Time); !ok || !tg.Equal(c.At) {
				t.Errorf("TimeGenerated = %v (%T), want the change's time %v", r["TimeGenerated"], r["TimeGenerated"], c.At)
			}
		})
	}
}

func TestLogIngestionRefused(t *testing.T) {
	e := newEnv(t, azureemu.App{}) // not a Monitoring Metrics Publisher
	if err := e.emu.AddDCR(azureemu.DCR{ImmutableID: dcrID, Workspace: wsName, Streams: map[string]string{"Custom-SIGNL4_CL": "SIGNL4_CL"}}); err != nil {
		t.Fatal(err)
	}
	src := e.source(t, "sentinel", map[string]any{"log": map[string]any{"mode": "ingestion", "endpoint": e.emu.URL(), "dcrImmutableId": dcrID}})
	err := logger(t, src).Log(context.Background(), "inc-7", logChange(e))
	if err == nil || !strings.Contains(err.Error(), "Monitoring Metrics Publisher") {
		t.Errorf("err = %v, want the role named", err)
	}
	if rows, _ := e.emu.Rows(wsName, "SIGNL4_CL"); len(rows) != 0 {
		t.Errorf("rows %+v", rows)
	}
}

func TestLogDataCollector(t *testing.T) {
	tests := []struct {
		name  string
		table string // "" for the default
		want  string
	}{
		{"default table", "", "SIGNL4_CL"},
		{"own table", "LastmileAudit", "LastmileAudit_CL"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t, azureemu.App{}) // no role: the shared key is all it takes
			log := map[string]any{"mode": "datacollector", "sharedKey": e.ws.SharedKey, "url": e.emu.URL()}
			if tt.table != "" {
				log["table"] = tt.table
			}
			src := e.source(t, "graph_incidents", map[string]any{"workspaceId": wsID, "log": log})
			c := logChange(e)
			if err := logger(t, src).Log(context.Background(), "inc-7", c); err != nil {
				t.Fatal(err)
			}
			rows, err := e.emu.Rows(wsName, tt.want)
			if err != nil || len(rows) != 1 {
				t.Fatalf("rows %+v, %v", rows, err)
			}
			r := rows[0]
			want := map[string]any{"EventType_s": "acknowledged", "AlertId_s": "alert-42", "User_s": "Ann", "UserEmail_s": "ann@contoso.com",
				"IncidentId_s": "inc-7", "AlertTitle_s": "Brute force", "Text_s": "on it", "Source_s": "lastmile"}
			for k, v := range want {
				if r[k] != v {
					t.Errorf("%s = %v, want %v (row %v)", k, r[k], v, r)
				}
			}
			// time-generated-field names the record's time.
			if tg, ok := r["TimeGenerated"].(time.Time); !ok || !tg.Equal(c.At) {
				t.Errorf("TimeGenerated = %v, want the change's time %v", r["TimeGenerated"], c.At)
			}
		})
	}
}

func TestLogDataCollectorWrongKey(t *testing.T) {
	e := newEnv(t, azureemu.App{})
	wrong := base64.StdEncoding.EncodeToString([]byte("not the workspace key"))
	src := e.source(t, "sentinel", map[string]any{"workspaceId": wsID, "log": map[string]any{"mode": "datacollector", "sharedKey": wrong, "url": e.emu.URL()}})
	err := logger(t, src).Log(context.Background(), "inc-7", logChange(e))
	if err == nil || !strings.Contains(err.Error(), "InvalidAuthorization") {
		t.Errorf("err = %v", err)
	}
}

func TestLogOffWritesNothing(t *testing.T) {
	e := newEnv(t, armApp("Microsoft Sentinel Reader"))
	if err := logger(t, e.source(t, "sentinel", nil)).Log(context.Background(), "inc-7", logChange(e)); err != nil {
		t.Fatal(err)
	}
	if n := len(e.emu.Requests()); n != 0 {
		t.Errorf("%d requests without a log", n)
	}
}
