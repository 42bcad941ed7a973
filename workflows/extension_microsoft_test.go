package workflows

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/mock"
	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/testsuite"

	"github.com/csp-onboarding/onboarding/activities"
	"github.com/csp-onboarding/onboarding/models"
)

// microsoftExtension is an extension in live or simulated mode whose
// customer consents after an hour, and a Partner Center that lists the
// reseller with the provider from extendedAt on (nil: never).
func microsoftExtension(t *testing.T, extendedAt *time.Time) (*testsuite.TestWorkflowEnvironment, *recorder, ExtensionInput) {
	env, rec := newTestEnv(t)
	in := extensionInput()
	in.Microsoft = &ExtensionAtMicrosoft{ResellerTenantID: "r-tenant", ProviderTenantID: "p-tenant", CustomerDomain: "northwind.example"}
	var g *activities.GDAP
	env.OnActivity(g.CustomerTenantOfDomain, mock.Anything, "northwind.example").Return(msCustomerTenant, nil)
	env.OnActivity(g.ResellerRelationshipAccepted, mock.Anything, mock.Anything).Return(func(_ context.Context, c activities.ResellerRelationshipCheck) (bool, error) {
		require.Equal(t, activities.ResellerRelationshipCheck{ProviderID: "prov-1", CustomerTenantID: msCustomerTenant, ResellerTenantID: "r-tenant"}, c)
		return extendedAt != nil && !env.Now().Before(*extendedAt), nil
	}).Maybe()
	env.RegisterDelayedCallback(func() { sendUpdate(env, UpdateConsent, &updateOutcome{}, Answer{IP: "203.0.113.7"}) }, time.Hour)
	return env, rec, in
}

// The consent and the bill-to share stay first; then the reseller gets its
// Partner Center task, and the relationship exists only once Partner
// Center lists the extension.
func TestExtensionWaitsForPartnerCenter(t *testing.T) {
	var extendedAt time.Time
	env, rec, in := microsoftExtension(t, &extendedAt)
	extendedAt = env.Now().Add(2 * day)

	env.ExecuteWorkflow(ExtensionWorkflow, in)

	require.NoError(t, env.GetWorkflowError())
	var st ExtensionStatus
	require.NoError(t, env.GetWorkflowResult(&st))
	require.Equal(t, models.ExtensionCompleted, st.Status)
	require.Equal(t, []string{"extension_requested", "consent_requested", "consent_given", "consent_recorded", "bill_to_shared",
		models.EventPartnerCenterTask, models.EventExtendedAtMicrosoft, "relationship_created"}, rec.events())
	require.Equal(t, []string{models.ExtensionWaitingForPartnerCenter, models.ExtensionCompleted}, rec.statuses())
	require.Equal(t, 1, rec.calls["ShareBillTo"])
	require.Equal(t, 1, rec.calls["CreateResellerRelationship"])
	var task activities.Email
	for _, e := range rec.emails {
		if e.Key == "extension:ext-1:partner-center-task:0" {
			task = e
		}
	}
	require.Equal(t, in.Reseller.Email, task.To, "the task goes to the reseller")
	require.Equal(t, PartnerCenterURL, task.Link.URL)
	require.Contains(t, task.Body, "Microsoft ID "+msCustomerTenant)
	require.Contains(t, task.Subject, "Action needed in Partner Center: extend Northwind to Contoso")
}

// Never done in Partner Center: the reseller is reminded, then the
// extension expires; the consent and share stay recorded, no relationship.
func TestExtensionNotDoneInPartnerCenterExpires(t *testing.T) {
	env, rec, in := microsoftExtension(t, nil)

	env.ExecuteWorkflow(ExtensionWorkflow, in)

	require.NoError(t, env.GetWorkflowError())
	var st ExtensionStatus
	require.NoError(t, env.GetWorkflowResult(&st))
	require.Equal(t, models.ExtensionExpired, st.Status)
	require.Equal(t, models.EventPartnerCenterTaskExpired, rec.events()[len(rec.events())-1])
	require.Equal(t, 3, countPrefix(rec.emailKeys(), "extension:ext-1:partner-center-task:"), "the task, then two reminders on the consent schedule")
	require.Zero(t, rec.calls["CreateResellerRelationship"])
}
