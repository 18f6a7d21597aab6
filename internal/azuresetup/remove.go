package azuresetup

import (
	"context"
	"fmt"
	"maps"
	"net/http"
	"slices"
	"strings"
)

// remove finds what this tool made (by its tag) and deletes it: the role
// assignments of its service principal, its data collection rule, the
// table (only if the tool created it, and only when asked), then the app
// registration, which takes the service principal and its grants along.
func (r *runner) remove(ctx context.Context) (*Result, error) {
	apps, err := r.graph.appsByName(ctx, r.cfg.AppName)
	if err != nil {
		return nil, r.words(err)
	}
	var ours []application
	for _, a := range apps {
		if a.hasTag() {
			ours = append(ours, a)
		}
	}
	res := r.result(nil)
	res.Removed = true
	if len(ours) == 0 && len(apps) > 0 {
		return res, fmt.Errorf("app registration %q (client id %s) was not made by this tool (it has no %s tag): nothing was removed; delete it in the Entra admin center if you mean to",
			r.cfg.AppName, apps[0].AppID, setupTag)
	}
	var steps []Step
	for _, a := range ours {
		s, err := r.removalSteps(ctx, a)
		if err != nil {
			return res, err
		}
		steps = append(steps, s...)
		res.ClientID = a.AppID
	}
	res.Plan = steps
	if len(steps) == 0 {
		r.say("\nNothing to remove: no app registration named %q made by this tool.", r.cfg.AppName)
		return res, r.output(res)
	}
	r.printPlan("Remove:", steps)
	if r.cfg.DryRun {
		r.say("\nDry run: nothing was removed.")
		return res, r.output(res)
	}
	if err := r.askTable(&steps); err != nil {
		return res, err
	}
	res.Plan = steps
	n := changes(steps)
	if err := r.confirmPlan(fmt.Sprintf("Remove these %d objects?", n)); err != nil {
		return res, err
	}
	for i := range steps {
		if err := r.removeStep(ctx, &steps[i]); err != nil {
			return res, fmt.Errorf("remove %s: %w", steps[i].Object, err)
		}
		r.say("  removed %s", steps[i].Object)
	}
	res.Changed = true
	r.say("\nDone: %d objects removed.", n)
	return res, r.output(res)
}

// removalSteps lists what belongs to one app made by this tool.
func (r *runner) removalSteps(ctx context.Context, a application) ([]Step, error) {
	var steps []Step
	sp, hasSP, err := r.graph.spByAppID(ctx, a.AppID)
	if err != nil {
		return nil, r.words(err)
	}
	subs := r.subs
	if r.sub.ID != "" {
		subs = []subscription{r.sub}
	}
	dcrs := map[string]bool{}
	if hasSP {
		for _, s := range subs {
			list, err := r.arm.assignmentsOf(ctx, "/subscriptions/"+s.ID, sp.ID)
			if err != nil {
				return nil, r.words(err)
			}
			for _, as := range list {
				if !strings.EqualFold(as.Properties.PrincipalID, sp.ID) {
					continue
				}
				scope := as.Properties.Scope
				steps = append(steps, Step{Action: Remove, Kind: kindRole, Object: roleName(as.Properties.RoleDefinitionID) + " on " + scopeName(scope),
					Why: "given to the app by this tool", scope: scope, targetID: as.ID})
				if strings.EqualFold(idProvider(scope), "Microsoft.Insights/dataCollectionRules") {
					dcrs[strings.ToLower(scope)] = true
				}
			}
		}
	}
	if r.ws != nil {
		list, err := r.arm.dcrsIn(ctx, r.sub.ID, r.ws.resourceGroup())
		if err != nil && !isStatus(err, http.StatusNotFound, "") {
			return nil, r.words(err)
		}
		for _, d := range list {
			dcrs[strings.ToLower(d.ID)] = true
		}
	}
	for _, id := range slices.Sorted(maps.Keys(dcrs)) {
		d, ok, err := r.arm.getDCR(ctx, id)
		if err != nil {
			return nil, r.words(err)
		}
		if !ok || !d.ours() || !strings.EqualFold(d.Tags[tagApp], a.AppID) {
			continue
		}
		steps = append(steps, Step{Action: Remove, Kind: kindDCR, Object: "data collection rule " + d.Name,
			Why: "made by this tool for the lifecycle log", targetID: d.ID})
		if !strings.EqualFold(d.Tags[tagTableCreated], "true") || len(d.Properties.Destinations.LogAnalytics) == 0 {
			continue
		}
		ws := d.Properties.Destinations.LogAnalytics[0].WorkspaceResourceID
		t := Step{Action: Remove, Kind: kindTable, Object: "table " + logTable + " in workspace " + idSegment(ws, "workspaces"),
			Why: "made by this tool for the lifecycle log (its rows go with it)", targetID: ws}
		if !r.cfg.RemoveTable {
			t.Action, t.Note = Keep, "kept with its data: add --remove-table to delete it"
		}
		steps = append(steps, t)
	}
	steps = append(steps, Step{Action: Remove, Kind: kindApp, Object: fmt.Sprintf("app registration %q (client id %s)", a.DisplayName, a.AppID),
		Why: "made by this tool; its service principal, secrets and granted permissions go with it", targetID: a.ID})
	return steps, nil
}

// askTable offers to delete a kept table when someone is at the terminal.
func (r *runner) askTable(steps *[]Step) error {
	for i, s := range *steps {
		if s.Kind != kindTable || s.Action != Keep || r.ask == nil || r.cfg.Yes {
			continue
		}
		ok, err := r.ask.confirm("Also delete " + s.Object + " and all its rows?")
		if err != nil {
			return err
		}
		if ok {
			(*steps)[i].Action, (*steps)[i].Note = Remove, ""
		}
	}
	return nil
}

func (r *runner) removeStep(ctx context.Context, s *Step) error {
	if s.Action != Remove {
		return nil
	}
	switch s.Kind {
	case kindRole:
		return r.arm.deleteAssignment(ctx, s.targetID, "remove "+s.Object)
	case kindDCR:
		return r.arm.deleteDCR(ctx, s.targetID)
	case kindTable:
		return r.arm.deleteTable(ctx, s.targetID)
	case kindApp:
		err := r.graph.deleteApp(ctx, s.targetID)
		if isStatus(err, http.StatusNotFound, "") {
			return nil
		}
		return err
	}
	return fmt.Errorf("unknown step %q", s.Kind)
}

// roleName names a role definition id for people.
func roleName(defID string) string {
	id := roleGUID(defID)
	for _, r := range append(managedWorkspaceRoles(), roleMetricsPublisher()) {
		if r.id == id {
			return r.name
		}
	}
	return "role " + id
}

// scopeName names a scope for people: "workspace soc-ws".
func scopeName(scope string) string {
	switch {
	case idSegment(scope, "workspaces") != "":
		return "workspace " + idSegment(scope, "workspaces")
	case idSegment(scope, "dataCollectionRules") != "":
		return "data collection rule " + idSegment(scope, "dataCollectionRules")
	case idSegment(scope, "resourceGroups") != "":
		return "resource group " + idSegment(scope, "resourceGroups")
	}
	return scope
}

// idProvider is "Namespace/type" of a resource id.
func idProvider(id string) string {
	segs := strings.Split(strings.Trim(id, "/"), "/")
	for i := len(segs) - 3; i >= 0; i-- {
		if strings.EqualFold(segs[i], "providers") {
			return segs[i+1] + "/" + segs[i+2]
		}
	}
	return ""
}
