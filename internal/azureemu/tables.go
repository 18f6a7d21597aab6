package azureemu

import (
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"
)

// Column is a Log Analytics result column. Type is one of bool, datetime,
// dynamic, int, long, real, string, guid, timespan, decimal.
type Column struct {
	Name string `json:"name"`
	Type string `json:"type"`
}

// Table is a query result: positional rows under Columns.
type Table struct {
	Columns []Column
	Rows    [][]any
}

type wsData struct {
	tables map[string]*table // by lower-case name
}

type table struct {
	name string
	cols []Column
	idx  map[string]int
	rows []map[string]any
}

// data returns a workspace's tables. Caller holds e.mu.
func (s *state) data(ws *Workspace) *wsData {
	d := s.tables[ws]
	if d == nil {
		d = &wsData{tables: map[string]*table{}}
		s.tables[ws] = d
	}
	return d
}

// table returns the named table, creating it empty.
func (d *wsData) table(name string) *table {
	t := d.tables[strings.ToLower(name)]
	if t == nil {
		t = &table{name: name, idx: map[string]int{}}
		d.tables[strings.ToLower(name)] = t
	}
	return t
}

func (d *wsData) lookup(name string) *table { return d.tables[strings.ToLower(name)] }

func (d *wsData) hasRows() bool {
	for _, t := range d.tables {
		if len(t.rows) > 0 {
			return true
		}
	}
	return false
}

// add appends a row; types names column types for keys whose Go value
// does not tell (e.g. a zero time stored as null).
func (t *table) add(row map[string]any, types map[string]string) {
	keys := slices.Sorted(maps.Keys(row))
	if i := slices.Index(keys, "TimeGenerated"); i > 0 {
		keys = append(append([]string{"TimeGenerated"}, keys[:i]...), keys[i+1:]...)
	}
	stored := make(map[string]any, len(row))
	for _, k := range keys {
		v := row[k]
		if tm, ok := v.(time.Time); ok && tm.IsZero() {
			v = nil
		}
		if _, ok := t.idx[k]; !ok {
			typ := types[k]
			if typ == "" {
				typ = kqlType(v)
			}
			t.idx[k] = len(t.cols)
			t.cols = append(t.cols, Column{Name: k, Type: typ})
		}
		stored[k] = v
	}
	t.rows = append(t.rows, stored)
}

// kqlType infers a column type from a Go value.
func kqlType(v any) string {
	switch v.(type) {
	case time.Time:
		return "datetime"
	case bool:
		return "bool"
	case int, int32, int64:
		return "long"
	case float32, float64:
		return "real"
	case map[string]any, []any, []string, []map[string]any:
		return "dynamic"
	}
	return "string"
}

// SetQueryResult makes the Log Analytics query API answer query (compared
// after trimming surrounding space) on a workspace (name or WorkspaceID)
// with t, whatever the timespan.
func (e *Emulator) SetQueryResult(workspace, query string, t Table) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	ws, err := e.st.workspaceRef(workspace)
	if err != nil {
		return err
	}
	for i, r := range t.Rows {
		if len(r) != len(t.Columns) {
			return fmt.Errorf("azureemu: query result row %d has %d values for %d columns", i, len(r), len(t.Columns))
		}
	}
	if e.st.results[ws] == nil {
		e.st.results[ws] = map[string]Table{}
	}
	cp := Table{Columns: slices.Clone(t.Columns)}
	for _, r := range t.Rows {
		cp.Rows = append(cp.Rows, slices.Clone(r))
	}
	e.st.results[ws][strings.TrimSpace(query)] = cp
	return nil
}

// Rows returns the rows of a workspace's table (ingested, posted through
// the Data Collector, or written by the emulator such as SecurityAlert),
// oldest first. datetime values are time.Time; dynamic values are decoded
// JSON.
func (e *Emulator) Rows(workspace, tableName string) ([]map[string]any, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	ws, err := e.st.workspaceRef(workspace)
	if err != nil {
		return nil, err
	}
	t := e.st.data(ws).lookup(tableName)
	if t == nil {
		return nil, nil
	}
	out := make([]map[string]any, len(t.rows))
	for i, r := range t.rows {
		out[i] = maps.Clone(r)
	}
	return out, nil
}
