package e2e

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/csp-onboarding/onboarding/config"
	"github.com/csp-onboarding/onboarding/models"
	"github.com/csp-onboarding/onboarding/workflows"
)

// TestTheSweeperStartsWhatACrashLeftBehind: rows written as a create handler
// writes them (row and pending start in one transaction), whose process died
// before the start, are started by the product's own sweeper over the real
// Temporal server: the customer gets the invitation with its message, and
// the invited reseller can answer the partnership, which blocked the pair.
func TestTheSweeperStartsWhatACrashLeftBehind(t *testing.T) {
	p := startProductWith(t, func(c *config.Config) { c.StartSweepEvery = 300 * time.Millisecond })
	ctx := context.Background()
	provider := p.createPartner("Sweep Distribution", "indirect_provider", false)
	reseller := p.createPartner("Sweep Reseller", "reseller", false)
	lonely := p.createPartner("Lonely Reseller", "reseller", false)
	p.activePartnership(provider, reseller)

	now := time.Now().UTC()
	inv := models.Invitation{ID: "01a21a00-0000-7000-8000-00000000c0de", ResellerID: reseller.id, ProviderID: provider.id,
		CustomerCompany: "Crashed Co", CustomerEmail: "admin@crashed.example", Message: "Hello Crashed Co, as agreed",
		DelegatedAdmin: &models.DelegatedAdminRequest{Roles: []string{"Helpdesk Administrator"}, DurationDays: 30},
		Status:         models.InvitationWaitingForCustomer, ExpiresAt: now.Add(30 * 24 * time.Hour), CreatedAt: now, UpdatedAt: now}
	inv.WorkflowID = workflows.InvitationWorkflowID(inv.ID)
	_, err := p.store.CreateOnboarding(ctx, nil, &inv, models.WorkflowStart{WorkflowID: inv.WorkflowID, Kind: workflows.KindInvitation, SubjectID: inv.ID})
	require.NoError(t, err)
	ps := models.Partnership{ID: "01a21a00-0000-7000-8000-0000000000ps", ProviderID: provider.id, ResellerID: lonely.id, Status: models.PartnershipInvited,
		ExpiresAt: now.Add(14 * 24 * time.Hour), CreatedAt: now, UpdatedAt: now}
	ps.WorkflowID = workflows.PartnershipWorkflowID(ps.ID)
	_, err = p.store.CreateOnboarding(ctx, nil, &ps, models.WorkflowStart{WorkflowID: ps.WorkflowID, Kind: workflows.KindPartnership, SubjectID: ps.ID})
	require.NoError(t, err)

	m, err := p.smtp.WaitFor("admin@crashed.example", "invites you", 30*time.Second)
	require.NoError(t, err, "the sweeper started the invitation and its e-mail went out")
	require.Contains(t, m.Body, "Hello Crashed Co, as agreed")
	p.eventually("invitation on its timeline", func() bool {
		events := eventTypes(p.call("GET", "/v1/invitations/"+inv.ID, reseller.key, nil))
		return len(events) >= 2 && events[0] == "invitation_created"
	})
	accepted := p.must(200, p.call("POST", "/v1/partnerships/"+ps.ID+"/accept", lonely.key, nil))
	require.Equal(t, "active", accepted.str("status"), "the partnership's workflow runs and takes the answer")
	p.eventually("no start left pending", func() bool {
		left, err := p.store.PendingStarts(ctx, time.Now().Add(time.Minute), 10)
		return err == nil && len(left) == 0
	})
}
