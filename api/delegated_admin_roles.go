package api

import (
	"context"
	"fmt"

	"github.com/csp-onboarding/onboarding/api/oapi"
	"github.com/csp-onboarding/onboarding/microsoft/roles"
)

// ListDelegatedAdminRoles answers the role catalogue a delegated admin request chooses from.
func (s *Server) ListDelegatedAdminRoles(ctx context.Context, _ oapi.ListDelegatedAdminRolesRequestObject) (oapi.ListDelegatedAdminRolesResponseObject, error) {
	all := roles.All()
	items := make([]oapi.DelegatedAdminRole, len(all))
	for i, r := range all {
		items[i] = oapi.DelegatedAdminRole{Id: r.ID, Name: r.Name}
	}
	return oapi.ListDelegatedAdminRoles200JSONResponse{Items: items}, nil
}

// resolveRole turns a requested role (a roleDefinitionId or a display name)
// into its roleDefinitionId, in place; an unknown or repeated role is a
// field error naming it.
func resolveRole(f *fieldErrors, field string, v *string, seen map[string]bool) {
	r, ok := roles.Lookup(*v)
	switch {
	case !ok:
		f.add(field, fmt.Sprintf("%q is not a Microsoft Entra role GDAP can grant: give a roleDefinitionId or name from GET /v1/delegated-admin-roles", clip(*v, 100)))
		return
	case seen[r.ID]:
		f.add(field, "is listed twice")
	}
	seen[r.ID] = true
	*v = r.ID
}

// clip keeps an echoed value short.
func clip(s string, n int) string {
	if r := []rune(s); len(r) > n {
		return string(r[:n]) + "…"
	}
	return s
}

// roleView is stored role values as answered: display names and ids, in the same order.
func roleView(stored []string) (names, ids []string) {
	return roles.Names(stored), roles.IDs(stored)
}
