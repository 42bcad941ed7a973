package api

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/csp-onboarding/onboarding/api/oapi"
	"github.com/csp-onboarding/onboarding/microsoft/roles"
)

func TestDelegatedAdminRolesResolveToIDs(t *testing.T) {
	d := delegatedAdminRequest(oapi.DelegatedAdminRequest{Roles: []string{"Helpdesk Administrator", "fe930be7-5e62-47db-91af-98c3a49a38b1"}, DurationDays: 30})
	var f fieldErrors
	validateDelegatedAdmin(&f, d)
	require.Empty(t, f)
	require.Equal(t, []string{"729827e3-9c14-49f7-bb1b-9608f156bbb8", "fe930be7-5e62-47db-91af-98c3a49a38b1"}, d.Roles)
	names, ids := roleView(d.Roles)
	require.Equal(t, []string{"Helpdesk Administrator", "User Administrator"}, names)
	require.Equal(t, d.Roles, ids)
}

func TestDelegatedAdminRolesRefused(t *testing.T) {
	for _, c := range []struct {
		name     string
		roles    []string
		extend   bool
		field    string
		contains string
	}{
		{"unknown role is named", []string{"Helpdesk Administrator", "Helpdesk Agent"}, false, "delegated_admin.roles[1]", `"Helpdesk Agent"`},
		{"same role by name and id", []string{"Global Reader", "f2ef992c-3afb-46b9-b7cf-a126ee74c451"}, false, "delegated_admin.roles[1]", "twice"},
		// security audit §8: any spelling of Global Administrator is the same role
		{"global admin in lower case with auto-extend", []string{"global  administrator "}, true, "delegated_admin.auto_extend", "Global Administrator"},
		{"global admin by id with auto-extend", []string{roles.GlobalAdministratorID}, true, "delegated_admin.auto_extend", "Global Administrator"},
	} {
		t.Run(c.name, func(t *testing.T) {
			var f fieldErrors
			validateDelegatedAdmin(&f, delegatedAdminRequest(oapi.DelegatedAdminRequest{Roles: c.roles, DurationDays: 30, AutoExtend: c.extend}))
			require.Len(t, f, 1, "%v", f)
			require.Equal(t, c.field, f[0].Field)
			require.Contains(t, f[0].Message, c.contains)
		})
	}
}

func TestListDelegatedAdminRoles(t *testing.T) {
	res, err := (&Server{}).ListDelegatedAdminRoles(context.Background(), oapi.ListDelegatedAdminRolesRequestObject{})
	require.NoError(t, err)
	items := res.(oapi.ListDelegatedAdminRoles200JSONResponse).Items
	require.Len(t, items, len(roles.All()))
	require.Contains(t, items, oapi.DelegatedAdminRole{Id: roles.GlobalAdministratorID, Name: "Global Administrator"})
}
