package workflows

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/mock"
	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"

	"github.com/csp-onboarding/onboarding/activities"
	"github.com/csp-onboarding/onboarding/models"
)

func extensionInput() ExtensionInput {
	return ExtensionInput{
		ExtensionID: "ext-1",
		Reseller:    Party{ID: "res-1", Name: "Fabrikam", Email: "sales@fabrikam.example"},
		Provider:    Party{ID: "prov-1", Name: "Contoso", Email: "ops@contoso.example"},
		CustomerID:  "cust-1", CustomerName: "Northwind", CustomerEmail: "admin@northwind.example",
		Method:    models.ConsentCustomerConfirmation,
		Reminders: []time.Duration{3 * day, 7 * day}, ExpireAfter: 14 * day,
	}
}

func TestExtensionConsentGivenSharesThenCreates(t *testing.T) {
	env, rec := newTestEnv(t)
	var consent updateOutcome
	env.RegisterDelayedCallback(func() {
		sendUpdate(env, UpdateConsent, &consent, Answer{IP: "203.0.113.7", UserAgent: "Mobile Safari"})
	}, 5*day)

	env.ExecuteWorkflow(ExtensionWorkflow, extensionInput())

	require.NoError(t, env.GetWorkflowError())
	var st ExtensionStatus
	require.NoError(t, env.GetWorkflowResult(&st))
	require.Equal(t, models.ExtensionCompleted, st.Status)
	require.NotEmpty(t, st.ConsentID)
	require.NotEmpty(t, st.RelationshipID)
	require.Equal(t, []string{"CheckExtensionGates", "RecordConsent", "ShareBillTo", "CreateResellerRelationship", "AddCustomerToPartnerLists"}, rec.order,
		"nothing is shared or created before the consent record")
	require.Zero(t, rec.calls["CreateDelegatedAdmin"], "an extension grants no delegated admin")
	require.Equal(t, "203.0.113.7", rec.consents[0].IP)
	require.Equal(t, "Mobile Safari", rec.consents[0].UserAgent)
	require.Equal(t, []string{"extension:ext-1:consent", "extension:ext-1:reminder:1"}, rec.emailKeys()[:2])
	require.Equal(t, models.LinkPurposeConsent, rec.emails[0].Link.Purpose)
	require.Equal(t, "admin@northwind.example", rec.emails[0].To)
}

func TestExtensionConsentDeclined(t *testing.T) {
	env, rec := newTestEnv(t)
	env.RegisterDelayedCallback(func() { sendUpdate(env, UpdateDecline, &updateOutcome{}, Answer{}) }, time.Hour)
	env.ExecuteWorkflow(ExtensionWorkflow, extensionInput())

	var st ExtensionStatus
	require.NoError(t, env.GetWorkflowResult(&st))
	require.Equal(t, models.ExtensionConsentDeclined, st.Status)
	require.Zero(t, rec.calls["RecordConsent"]+rec.calls["ShareBillTo"]+rec.calls["CreateResellerRelationship"])
	require.True(t, rec.progress[len(rec.progress)-1].CloseLinks)
}

func TestExtensionRemindsThenExpires(t *testing.T) {
	env, rec := newTestEnv(t)
	start := env.Now()
	env.ExecuteWorkflow(ExtensionWorkflow, extensionInput())

	var st ExtensionStatus
	require.NoError(t, env.GetWorkflowResult(&st))
	require.Equal(t, models.ExtensionExpired, st.Status)
	require.Equal(t, 2, st.RemindersSent)
	require.WithinDuration(t, start.Add(7*day), rec.emailedAt["extension:ext-1:reminder:2"], time.Minute)
	require.False(t, env.Now().Before(start.Add(14*day)))
	require.Zero(t, rec.calls["RecordConsent"]+rec.calls["ShareBillTo"]+rec.calls["CreateResellerRelationship"])
}

func TestExtensionCancelledWhileWaiting(t *testing.T) {
	env, rec := newTestEnv(t)
	var cancel, lateConsent updateOutcome
	env.RegisterDelayedCallback(func() {
		sendUpdate(env, UpdateCancel, &cancel, Answer{Reason: "customer asked to wait"})
		sendUpdate(env, UpdateConsent, &lateConsent, Answer{})
	}, 2*day)
	env.ExecuteWorkflow(ExtensionWorkflow, extensionInput())

	var st ExtensionStatus
	require.NoError(t, env.GetWorkflowResult(&st))
	require.Equal(t, models.ExtensionCancelled, st.Status)
	require.Error(t, lateConsent.rejected, "a consent after the cancel is refused")
	require.Zero(t, rec.calls["RecordConsent"])
}

func TestExtensionGateChangedBeforeRun(t *testing.T) {
	var suite testsuite.WorkflowTestSuite
	env := suite.NewTestWorkflowEnvironment()
	var last activities.Progress
	var emails int
	env.OnActivity(a.RecordProgress, mock.Anything, mock.Anything).Return(func(_ context.Context, p activities.Progress) error {
		last = p
		return nil
	})
	env.OnActivity(a.SendEmail, mock.Anything, mock.Anything).Return(func(context.Context, activities.Email) (activities.EmailResult, error) {
		emails++
		return activities.EmailResult{}, nil
	}).Maybe()
	// The partnership ended between the API's check and the workflow's.
	env.OnActivity(a.CheckExtensionGates, mock.Anything, mock.Anything).Return(
		temporal.NewNonRetryableApplicationError("you have no active partnership with this provider", "partnership-not-active", nil))

	env.ExecuteWorkflow(ExtensionWorkflow, extensionInput())

	require.Error(t, env.GetWorkflowError())
	require.Equal(t, models.ExtensionFailed, last.Status)
	require.Equal(t, "partnership-not-active", last.Details["code"])
	require.Zero(t, emails, "the customer is not asked when a rule no longer holds")
}

func TestExtensionWithAttestationNeedsNoCustomer(t *testing.T) {
	env, rec := newTestEnv(t)
	in := extensionInput()
	in.Method = models.ConsentPartnerAttestation
	obtained := time.Date(2026, 11, 20, 9, 0, 0, 0, time.UTC)
	in.Attestation = &Attestation{SignerName: "Ann Beck", SignerEmail: "ann@northwind.example", ObtainedAt: obtained, Evidence: "Signed letter CL-1182"}
	env.ExecuteWorkflow(ExtensionWorkflow, in)

	var st ExtensionStatus
	require.NoError(t, env.GetWorkflowResult(&st))
	require.Equal(t, models.ExtensionCompleted, st.Status)
	require.Equal(t, "Ann Beck", rec.consents[0].SignerName)
	require.True(t, rec.consents[0].ObtainedAt.Equal(obtained))
	for _, k := range rec.emailKeys() {
		require.NotContains(t, k, "extension:ext-1:consent", "no consent link is sent")
	}
}

func TestEnrollmentRemindsEscalatesThenApproved(t *testing.T) {
	env, rec := newTestEnv(t)
	// Friday noon: five business days later is the next Friday.
	env.SetStartTime(time.Date(2026, 11, 20, 12, 0, 0, 0, time.UTC))
	var approve updateOutcome
	env.RegisterDelayedCallback(func() { sendUpdate(env, UpdateApprove, &approve, Answer{}) }, 9*day)

	env.ExecuteWorkflow(EnrollmentWorkflow, EnrollmentInput{
		Partner: Party{ID: "res-1", Name: "Fabrikam", Email: "sales@fabrikam.example"}, OperatorEmail: "ops@csp.example",
		RemindAfter: 2 * day, EscalateAfterBusinessDays: 5,
	})

	var st EnrollmentStatus
	require.NoError(t, env.GetWorkflowResult(&st))
	require.Equal(t, models.EnrollmentApproved, st.Status)
	require.Equal(t, []string{"enrollment_submitted", "operators_reminded", "escalated", "enrollment_approved"}, rec.events())
	var reminded, escalated time.Time
	for k, at := range rec.emailedAt {
		switch {
		case strings.Contains(k, "operators_reminded"):
			reminded = at
		case strings.Contains(k, "escalated"):
			escalated = at
		}
	}
	require.WithinDuration(t, time.Date(2026, 11, 22, 12, 0, 0, 0, time.UTC), reminded, time.Minute)
	require.WithinDuration(t, time.Date(2026, 11, 27, 12, 0, 0, 0, time.UTC), escalated, time.Minute, "5 business days skip the weekend")
}

func TestEnrollmentRejectedWithReason(t *testing.T) {
	env, rec := newTestEnv(t)
	env.RegisterDelayedCallback(func() { sendUpdate(env, UpdateReject, &updateOutcome{}, Answer{Reason: "tax ID missing"}) }, time.Hour)
	env.ExecuteWorkflow(EnrollmentWorkflow, EnrollmentInput{Partner: Party{ID: "res-1", Name: "Fabrikam", Email: "sales@fabrikam.example"},
		OperatorEmail: "ops@csp.example", RemindAfter: 2 * day, EscalateAfterBusinessDays: 5})

	var st EnrollmentStatus
	require.NoError(t, env.GetWorkflowResult(&st))
	require.Equal(t, models.EnrollmentRejected, st.Status)
	last := rec.progress[len(rec.progress)-1]
	require.Equal(t, "tax ID missing", last.Details["reason"])
	require.Contains(t, rec.emails[len(rec.emails)-1].Body, "tax ID missing")
}

// TestEnrollmentResubmittedContinuesItsTimeline: audit §18. A second run on
// the same partner numbers its events after the first run's, so none of
// them is dropped as a duplicate.
func TestEnrollmentResubmittedContinuesItsTimeline(t *testing.T) {
	env, rec := newTestEnv(t)
	rec.lastSeq = 3 // submitted, rejected… of the earlier run
	env.RegisterDelayedCallback(func() { sendUpdate(env, UpdateApprove, &updateOutcome{}, Answer{}) }, time.Hour)
	env.ExecuteWorkflow(EnrollmentWorkflow, EnrollmentInput{Partner: Party{ID: "res-1", Name: "Fabrikam", Email: "sales@fabrikam.example"},
		OperatorEmail: "ops@csp.example", RemindAfter: 2 * day, EscalateAfterBusinessDays: 5})
	require.NoError(t, env.GetWorkflowError())
	var seqs []int
	for _, p := range rec.progress {
		seqs = append(seqs, p.Seq)
	}
	require.Equal(t, []int{4, 5}, seqs)
}

func TestAddBusinessDays(t *testing.T) {
	fri := time.Date(2026, 11, 20, 9, 0, 0, 0, time.UTC)
	require.Equal(t, time.Date(2026, 11, 23, 9, 0, 0, 0, time.UTC), AddBusinessDays(fri, 1))
	require.Equal(t, time.Date(2026, 11, 27, 9, 0, 0, 0, time.UTC), AddBusinessDays(fri, 5))
	sat := time.Date(2026, 11, 21, 9, 0, 0, 0, time.UTC)
	require.Equal(t, time.Date(2026, 11, 27, 9, 0, 0, 0, time.UTC), AddBusinessDays(sat, 5))
}
