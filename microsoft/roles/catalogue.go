// Package roles is the catalogue of Microsoft Entra built-in roles a partner
// may ask for in a granular delegated admin (GDAP) relationship: display
// name ↔ roleDefinitionId (the role's template ID, the same in every tenant).
//
// Sources:
//   - https://learn.microsoft.com/en-us/entra/identity/role-based-access-control/permissions-reference
//     (Microsoft Entra built-in roles: names and template IDs)
//   - https://learn.microsoft.com/en-us/partner-center/customers/gdap-least-privileged-roles-by-task
//     and https://learn.microsoft.com/en-us/entra/identity/role-based-access-control/delegate-by-task
//     (the roles GDAP guidance recommends per task)
//   - https://learn.microsoft.com/en-us/graph/api/resources/delegatedadminaccessdetails
//     (accessDetails.unifiedRoles carries roleDefinitionId values)
//
// Roles Microsoft marks "Do not use", the default user/guest roles and the
// service-only Directory Synchronization Accounts are left out: GDAP refuses them.
package roles

import (
	"slices"
	"strings"
)

// Role is one GDAP-eligible Entra built-in role.
type Role struct {
	ID   string `json:"id"`   // roleDefinitionId (template ID)
	Name string `json:"name"` // display name, as the Entra admin center shows it
}

// GlobalAdministratorID is the role that may never be auto-extended
// (Microsoft refuses autoExtendDuration with it, and so do we).
const GlobalAdministratorID = "62e90394-69f5-4237-9190-012177145e10"

// catalogue is sorted by name: the order GET /v1/delegated-admin-roles answers.
var catalogue = []Role{
	{"9b895d92-2cd3-44c7-9d02-a6ac2d5ea5c3", "Application Administrator"},
	{"cf1c38e5-3621-4004-a7cb-879624dced7c", "Application Developer"},
	{"c430b396-e693-46cc-96f3-db01bf8bb62a", "Attack Simulation Administrator"},
	{"c4e39bd9-1100-46d3-8c65-fb160da0071f", "Authentication Administrator"},
	{"0526716b-113d-4c15-b2c8-68e3c22b9f80", "Authentication Policy Administrator"},
	{"7495fdc4-34c4-4d15-a289-98788ce399fd", "Azure Information Protection Administrator"},
	{"b0f54661-2d74-4c50-afa3-1ec803f12efe", "Billing Administrator"},
	{"158c047a-c907-4556-b7ef-446551a6b5f7", "Cloud Application Administrator"},
	{"7698a772-787b-4ac8-901f-60d6b08affd2", "Cloud Device Administrator"},
	{"17315797-102d-40b4-93e0-432062caca18", "Compliance Administrator"},
	{"e6d1a23a-da11-4be4-9570-befc86d067a7", "Compliance Data Administrator"},
	{"b1be1c3e-b65d-4f19-8427-f6fa0d97feb9", "Conditional Access Administrator"},
	{"88d8e3e3-8f55-4a1e-953a-9b9898b8876b", "Directory Readers"},
	{"9360feb5-f418-4baa-8175-e2a00bac4301", "Directory Writers"},
	{"8329153b-31d0-4727-b945-745eb3bc5f31", "Domain Name Administrator"},
	{"44367163-eba1-44c3-98af-f5787879f96a", "Dynamics 365 Administrator"},
	{"29232cdf-9323-42fd-ade2-1d097af3e4de", "Exchange Administrator"},
	{"a9ea8996-122f-4c74-9520-8edcd192826c", "Fabric Administrator"},
	{GlobalAdministratorID, "Global Administrator"},
	{"f2ef992c-3afb-46b9-b7cf-a126ee74c451", "Global Reader"},
	{"fdd7a751-b60b-444a-984c-02652fe8fa1c", "Groups Administrator"},
	{"95e79109-95c0-4d8e-aee3-d01accf2d47b", "Guest Inviter"},
	{"729827e3-9c14-49f7-bb1b-9608f156bbb8", "Helpdesk Administrator"},
	{"8ac3fc64-6eca-42ea-9e69-59f4c7b60eb2", "Hybrid Identity Administrator"},
	{"3a2c62db-5318-420d-8d74-23affee5d9d5", "Intune Administrator"},
	{"4d6ac14f-3453-41d0-bef9-a3e0c569773a", "License Administrator"},
	{"790c1fb9-7f7d-4f88-86a1-ef1f95c05c1b", "Message Center Reader"},
	{"d37c8bed-0711-4417-ba38-b4abe66ce4c2", "Network Administrator"},
	{"2b745bdf-0803-4d80-aa65-822c4493daac", "Office Apps Administrator"},
	{"966707d0-3269-4727-9be2-8c3a10f19b9d", "Password Administrator"},
	{"11648597-926c-4cf3-9c36-bcebb0ba8dcc", "Power Platform Administrator"},
	{"644ef478-e28f-4e28-b9dc-3fdde9aa0b1f", "Printer Administrator"},
	{"7be44c8a-adaf-4e2a-84d6-ab2649e08a13", "Privileged Authentication Administrator"},
	{"e8611ab8-c189-46e8-94e1-60213ab1f814", "Privileged Role Administrator"},
	{"4a5d8f65-41da-4de4-8968-e035b65339cf", "Reports Reader"},
	{"0964bb5e-9bdb-4d7b-ac29-58e794862a40", "Search Administrator"},
	{"194ae4cb-b126-40b2-bd5b-6091b380977d", "Security Administrator"},
	{"5f2222b1-57c3-48ba-8ad5-d4759f1fde6f", "Security Operator"},
	{"5d6b6bb7-de71-4623-b4af-96380a352509", "Security Reader"},
	{"f023fd81-a637-4b56-95fd-791ac0226033", "Service Support Administrator"},
	{"f28a1f50-f6e7-4571-818b-6a12f2af6b6c", "SharePoint Administrator"},
	{"75941009-915a-4869-abe7-691bff18279e", "Skype for Business Administrator"},
	{"69091246-20e8-4a56-aa4d-066075b2a7a8", "Teams Administrator"},
	{"baf37b3a-610e-45da-9e62-d9d1e5e8914b", "Teams Communications Administrator"},
	{"f70938a0-fc10-4177-9e90-2178f8765737", "Teams Communications Support Engineer"},
	{"fcf91098-03e3-41a9-b5ba-6f0ec8188a12", "Teams Communications Support Specialist"},
	{"3d762c5a-1b6c-493f-843e-55a3b42923d4", "Teams Devices Administrator"},
	{"fe930be7-5e62-47db-91af-98c3a49a38b1", "User Administrator"},
	{"11451d60-acb2-45eb-a7d6-43d0f0125c13", "Windows 365 Administrator"},
}

var byKey = func() map[string]Role {
	m := make(map[string]Role, 2*len(catalogue))
	for _, r := range catalogue {
		m[r.ID] = r
		m[key(r.Name)] = r
	}
	return m
}()

// key folds case and runs of blanks, so "global  administrator " cannot pass
// for another role than Global Administrator (security audit §8).
func key(s string) string { return strings.ToLower(strings.Join(strings.Fields(s), " ")) }

// All is the catalogue, sorted by name.
func All() []Role { return slices.Clone(catalogue) }

// Lookup finds a role by its roleDefinitionId or its display name (case and
// blanks folded).
func Lookup(idOrName string) (Role, bool) {
	r, ok := byKey[key(idOrName)]
	return r, ok
}

// Names are the display names of stored role values, in order. Values the
// catalogue does not know (free-text names stored before it existed) are
// kept as they are.
func Names(values []string) []string {
	out := make([]string, len(values))
	for i, v := range values {
		out[i] = v
		if r, ok := Lookup(v); ok {
			out[i] = r.Name
		}
	}
	return out
}

// IDs are the roleDefinitionIds of stored role values, in order; a value
// the catalogue does not know is kept as it is.
func IDs(values []string) []string {
	out := make([]string, len(values))
	for i, v := range values {
		out[i] = v
		if r, ok := Lookup(v); ok {
			out[i] = r.ID
		}
	}
	return out
}

// HasGlobalAdministrator says whether any value is the Global Administrator
// role, by ID after lookup: names in any spelling the lookup folds count too.
func HasGlobalAdministrator(values []string) bool {
	return slices.Contains(IDs(values), GlobalAdministratorID)
}
