package roles

import (
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestCatalogueIsWellFormed(t *testing.T) {
	guid := regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$`)
	ids, names := map[string]bool{}, map[string]bool{}
	for _, r := range All() {
		require.Regexp(t, guid, r.ID)
		require.False(t, ids[r.ID], "duplicate id %s", r.ID)
		require.False(t, names[key(r.Name)], "duplicate name %s", r.Name)
		ids[r.ID], names[key(r.Name)] = true, true
	}
	require.True(t, slices.IsSortedFunc(All(), func(a, b Role) int { return strings.Compare(a.Name, b.Name) }))
}

func TestLookupByIDOrName(t *testing.T) {
	for _, v := range []string{"Global Administrator", "global administrator", " Global  Administrator ", GlobalAdministratorID, strings.ToUpper(GlobalAdministratorID)} {
		r, ok := Lookup(v)
		require.True(t, ok, v)
		require.Equal(t, Role{GlobalAdministratorID, "Global Administrator"}, r, v)
	}
	_, ok := Lookup("Global Administrat0r")
	require.False(t, ok)
	_, ok = Lookup("Helpdesk Agent") // Partner Center's DAP group, not an Entra role
	require.False(t, ok)
}

func TestNamesIDsAndGlobalAdministrator(t *testing.T) {
	stored := []string{"729827e3-9c14-49f7-bb1b-9608f156bbb8", "Legacy free text"}
	require.Equal(t, []string{"Helpdesk Administrator", "Legacy free text"}, Names(stored))
	require.Equal(t, stored, IDs([]string{"helpdesk administrator", "Legacy free text"}))
	require.True(t, HasGlobalAdministrator([]string{"x", "GLOBAL ADMINISTRATOR"}))
	require.True(t, HasGlobalAdministrator([]string{GlobalAdministratorID}))
	require.False(t, HasGlobalAdministrator([]string{"Global Reader"}))
}
