package workflows

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/csp-onboarding/onboarding/models"
)

func partnershipInput() PartnershipInput {
	return PartnershipInput{
		PartnershipID: "ps-1",
		Provider:      Party{ID: "prov-1", Name: "Contoso", Email: "ops@contoso.example"},
		Reseller:      Party{ID: "res-1", Name: "Fabrikam", Email: "sales@fabrikam.example"},
		Reminders:     []time.Duration{3 * day},
		ExpireAfter:   14 * day,
	}
}

func TestPartnershipAccepted(t *testing.T) {
	env, rec := newTestEnv(t)
	var accept updateOutcome
	env.RegisterDelayedCallback(func() { sendUpdate(env, UpdateAccept, &accept) }, 5*day)

	env.ExecuteWorkflow(PartnershipWorkflow, partnershipInput())

	require.NoError(t, env.GetWorkflowError())
	require.Equal(t, models.PartnershipActive, accept.result)
	var st PartnershipStatus
	require.NoError(t, env.GetWorkflowResult(&st))
	require.Equal(t, models.PartnershipActive, st.Status)
	require.Equal(t, []string{"partnership:ps-1:invite", "partnership:ps-1:reminder:1", "partnership:ps-1:accepted"}, rec.emailKeys())
	require.Equal(t, "ops@contoso.example", rec.emails[2].To, "the provider hears of the acceptance")
}

func TestPartnershipDeclinedThenSecondAnswerRejected(t *testing.T) {
	env, _ := newTestEnv(t)
	var decline, accept updateOutcome
	env.RegisterDelayedCallback(func() {
		sendUpdate(env, UpdateDecline, &decline)
		sendUpdate(env, UpdateAccept, &accept)
	}, time.Hour)

	env.ExecuteWorkflow(PartnershipWorkflow, partnershipInput())

	var st PartnershipStatus
	require.NoError(t, env.GetWorkflowResult(&st))
	require.Equal(t, models.PartnershipDeclined, st.Status)
	require.Error(t, accept.rejected)
}

func TestPartnershipExpires(t *testing.T) {
	env, rec := newTestEnv(t)
	env.ExecuteWorkflow(PartnershipWorkflow, partnershipInput())

	var st PartnershipStatus
	require.NoError(t, env.GetWorkflowResult(&st))
	require.Equal(t, models.PartnershipExpired, st.Status)
	require.Equal(t, []string{models.PartnershipInvited, models.PartnershipExpired}, rec.statuses())
}
