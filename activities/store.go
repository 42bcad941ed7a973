package activities

// Store is everything the activities read and write (the GDAP activities
// keep their own store): the small interfaces each file declares beside its
// activities (recordStore in activities.go, and so on). *store.Store is the
// implementation (asserted in store_test.go).
type Store interface {
	recordStore
	partnerCenterStore
	bulkJobStore
	extensionStore
	linkStore
	relationshipStore
	tenantStore
	webhookEndpointStore
}
