package azureemu

import "time"

// state is everything the emulator remembers; guarded by Emulator.mu.
type state struct {
	tenants    map[string]*tenant // by lower-case id and domain names
	roles      map[string]roleDef // custom roles by lower-case name
	workspaces []*Workspace
	dcrs       map[string]*dcrRec // by lower-case immutable id

	incidents  map[string]*incidentRec // by lower-case name
	incNumbers map[*Workspace]int

	graphIncidents map[string]*GraphIncident
	graphAlerts    map[string]*GraphAlert
	legacyAlerts   map[string]*LegacyAlert
	graphSeq       int

	tables  map[*Workspace]*wsData
	results map[*Workspace]map[string]Table

	tokens   map[string]*issuedToken // by token id (uti)
	signin   signinState
	prov     provState
	faults   []*fault
	delay    time.Duration
	requests []Request
}

func newState() state {
	return state{
		tenants:        map[string]*tenant{},
		roles:          map[string]roleDef{},
		dcrs:           map[string]*dcrRec{},
		incidents:      map[string]*incidentRec{},
		incNumbers:     map[*Workspace]int{},
		graphIncidents: map[string]*GraphIncident{},
		graphAlerts:    map[string]*GraphAlert{},
		legacyAlerts:   map[string]*LegacyAlert{},
		tables:         map[*Workspace]*wsData{},
		results:        map[*Workspace]map[string]Table{},
		tokens:         map[string]*issuedToken{},
	}
}
