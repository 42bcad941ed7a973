package api

import (
	"reflect"
	"testing"

	"github.com/csp-onboarding/onboarding/store"
	"github.com/csp-onboarding/onboarding/store/storetest"
)

// The product's store is the API's Store: checked whenever the tests compile.
var _ Store = (*store.Store)(nil)

// TestEachFileDeclaresTheStoreItUses: what a handler file calls on s.store
// is in the interface declared in that file (or in store.go's shared ones),
// so a handler group's needs are read beside it.
func TestEachFileDeclaresTheStoreItUses(t *testing.T) {
	storetest.CheckDeclaredUse(t, ".", func(receiver, field string) bool { return field == "store" }, map[string]reflect.Type{
		"serverStore": reflect.TypeFor[serverStore](), "apiKeyStore": reflect.TypeFor[apiKeyStore](),
		"partnerStore": reflect.TypeFor[partnerStore](), "enrollmentStore": reflect.TypeFor[enrollmentStore](),
		"invitationStore": reflect.TypeFor[invitationStore](), "extensionStore": reflect.TypeFor[extensionStore](),
		"tenantRequestStore": reflect.TypeFor[tenantRequestStore](), "customerStore": reflect.TypeFor[customerStore](),
		"relationshipStore": reflect.TypeFor[relationshipStore](), "bulkJobStore": reflect.TypeFor[bulkJobStore](),
		"webhookStore": reflect.TypeFor[webhookStore](), "pageStore": reflect.TypeFor[pageStore](),
		"startStore": reflect.TypeFor[startStore](), "delegatedAdminStore": reflect.TypeFor[delegatedAdminStore](),
		"microsoftConnectionStore": reflect.TypeFor[microsoftConnectionStore](), "partnerCenterStore": reflect.TypeFor[partnerCenterStore](),
		"signinStore": reflect.TypeFor[signinStore](),
	})
}
