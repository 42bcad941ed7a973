package workflows

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/testsuite"

	"github.com/csp-onboarding/onboarding/activities"
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
	require.Equal(t, []string{models.PartnershipExpired}, rec.statuses(), "invited is the row's status from its creation")
}

// TestDecisionRecordedBeforeTheUpdateAnswers: when an update answers, its
// decision is in the database already (docs/decisions/read-your-writes.md),
// and the records that do not change the status are events only.
func TestDecisionRecordedBeforeTheUpdateAnswers(t *testing.T) {
	env, rec := newTestEnv(t)
	var recordedAtAnswer []activities.Progress
	var second updateOutcome
	env.RegisterDelayedCallback(func() {
		env.UpdateWorkflow(UpdateAccept, "", &testsuite.TestUpdateCallback{
			OnAccept: func() {},
			OnReject: func(err error) { t.Errorf("accept rejected: %v", err) },
			OnComplete: func(result any, err error) {
				require.NoError(t, err)
				rec.mu.Lock()
				recordedAtAnswer = append(recordedAtAnswer, rec.progress...)
				rec.mu.Unlock()
			},
		})
		sendUpdate(env, UpdateDecline, &second)
	}, 4*day)

	env.ExecuteWorkflow(PartnershipWorkflow, partnershipInput())

	require.NoError(t, env.GetWorkflowError())
	require.NotEmpty(t, recordedAtAnswer)
	last := recordedAtAnswer[len(recordedAtAnswer)-1]
	require.Equal(t, "partnership_accepted", last.Event, "the answer waits for its record")
	require.Equal(t, models.PartnershipActive, last.Status)
	require.Error(t, second.rejected, "a second answer is refused while the first is recorded")
	seqs := map[int]bool{}
	for _, p := range rec.progress {
		require.False(t, seqs[p.Seq], "sequence %d used twice", p.Seq)
		seqs[p.Seq] = true
		if p.Event == "partnership_invited" {
			require.Empty(t, p.Status, "an event that changes no status leaves the status alone")
		}
	}
	require.Equal(t, []string{"partnership_invited", "partnership_accepted"}, rec.events())
}
