package activities

import (
	"reflect"
	"testing"

	"github.com/csp-onboarding/onboarding/store"
	"github.com/csp-onboarding/onboarding/store/storetest"
)

// The product's store is the activities' Store: checked whenever the tests compile.
var _ Store = (*store.Store)(nil)

// TestEachFileDeclaresTheStoreItUses: what an activity file calls on its
// Store is in the interface declared in that file. The GDAP activities (g)
// keep their own store.
func TestEachFileDeclaresTheStoreItUses(t *testing.T) {
	storetest.CheckDeclaredUse(t, ".", func(receiver, field string) bool { return field == "Store" && (receiver == "a" || receiver == "p") }, map[string]reflect.Type{
		"recordStore": reflect.TypeFor[recordStore](), "partnerCenterStore": reflect.TypeFor[partnerCenterStore](),
		"bulkJobStore": reflect.TypeFor[bulkJobStore](), "extensionStore": reflect.TypeFor[extensionStore](),
		"linkStore": reflect.TypeFor[linkStore](), "relationshipStore": reflect.TypeFor[relationshipStore](),
		"tenantStore": reflect.TypeFor[tenantStore](), "webhookEndpointStore": reflect.TypeFor[webhookEndpointStore](),
	})
}
