package workflows

// SignalResellerRelationshipAccepted wakes an invitation waiting for the
// customer's acceptance of the reseller relationship at Microsoft (issue 14,
// item 1): the Partner Center receiver (api/webhooks_partner_center.go)
// sends it, with the customer's tenant id as its argument, on
// reseller-relationship-accepted-by-customer and its indirect variant. No
// workflow waits on it yet; until one does, those events are logged and
// acknowledged.
const SignalResellerRelationshipAccepted = "reseller_relationship_accepted"
