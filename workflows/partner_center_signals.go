package workflows

// SignalResellerRelationshipAccepted wakes an invitation waiting for the
// customer's acceptance of the reseller relationship at Microsoft (issue 14,
// item 1): the Partner Center receiver (api/webhooks_partner_center.go)
// sends it, with the customer's tenant id as its argument, on
// reseller-relationship-accepted-by-customer and its indirect variant, to
// the invitations waiting for that tenant. The workflow then reads Partner
// Center to confirm (invitation_microsoft.go).
const SignalResellerRelationshipAccepted = "reseller_relationship_accepted"
