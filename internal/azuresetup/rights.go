package azuresetup

import (
	"context"
	"fmt"
	"strings"
)

const actionAssignRoles = "Microsoft.Authorization/roleAssignments/write"

// checkRights proves, before anything is changed, that the admin may
// assign roles where the plan assigns them (Owner, User Access
// Administrator or Role Based Access Control Administrator). When the
// listing itself cannot be read it says nothing: ARM's answer at apply
// time will.
func (r *runner) checkRights(ctx context.Context, steps []Step) error {
	type need struct{ scope, where string }
	var needs []need
	for _, s := range steps {
		if s.Kind == kindRole && s.Action != Exists {
			needs = append(needs, need{s.scope, s.scopeWords()})
		}
	}
	if len(needs) == 0 || r.who.ObjectID == "" {
		return nil
	}
	subScope := "/subscriptions/" + r.sub.ID
	list, err := r.arm.assignedTo(ctx, subScope, r.who.ObjectID)
	if err != nil || len(list) == 0 {
		// Unreadable, or access through means the listing does not show
		// (the caller sees the subscription, so it holds some role).
		r.d.Log.Info("could not tell the admin's role assignments; ARM will tell", "err", err)
		return nil
	}
	defs := map[string]roleDefinition{}
	permits := func(a roleAssignment) bool {
		id := strings.ToLower(a.Properties.RoleDefinitionID)
		d, ok := defs[id]
		if !ok {
			if d, err = r.arm.roleDefinition(ctx, a.Properties.RoleDefinitionID); err != nil {
				r.d.Log.Info("could not read a role definition", "id", a.Properties.RoleDefinitionID, "err", err)
			}
			defs[id] = d
		}
		return d.permits(actionAssignRoles)
	}
	for _, n := range needs {
		ok := false
		for _, a := range list {
			// An assignment listed for the subscription but scoped outside
			// it (management group, root) is above it.
			applies := scopeCovers(a.Properties.Scope, n.scope) || !scopeCovers(subScope, a.Properties.Scope)
			if applies && permits(a) {
				ok = true
				break
			}
		}
		if !ok {
			return fmt.Errorf("%w (nothing was changed)", r.noRightsError(n.where))
		}
	}
	return nil
}

// noRightsError is the plain words for missing role-assignment rights.
func (r *runner) noRightsError(where string) error {
	return fmt.Errorf("you (%s) are not allowed to create role assignments on %s: you need Owner or User Access Administrator on it "+
		"(or on its resource group or subscription), or ask someone who has to run this command", r.who.account(), where)
}
