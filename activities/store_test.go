package activities

import "github.com/csp-onboarding/onboarding/store"

// The product's store is the activities' Store: checked whenever the tests compile.
var _ Store = (*store.Store)(nil)
