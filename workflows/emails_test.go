package workflows

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/csp-onboarding/onboarding/emails"
	"github.com/csp-onboarding/onboarding/models"
)

// TestInvitationEmailsAreInTheCustomersLanguage: the workflow names the
// template and the invitation's locale; the texts (rendered as the activity
// does) are Spanish, the reminder says so, and the partner's message is as written.
func TestInvitationEmailsAreInTheCustomersLanguage(t *testing.T) {
	env, rec := newTestEnv(t)
	in := invitationInput()
	in.Locale = "es"
	in.DelegatedAdmin = &models.DelegatedAdminRequest{Roles: []string{"Helpdesk Agent"}, DurationDays: 90, AutoExtend: true}
	env.ExecuteWorkflow(InvitationWorkflow, in)
	require.True(t, env.IsWorkflowCompleted())

	require.GreaterOrEqual(t, len(rec.emails), 3, "the invitation and its two reminders")
	first, reminder := rec.emails[0], rec.emails[1]
	require.Equal(t, emails.Invitation, first.Template)
	require.Equal(t, "es", first.Locale)
	require.Equal(t, "Fabrikam le invita a establecer una relación de revendedor", first.Subject)
	require.Contains(t, first.Body, "Please accept: {{link}}", "the partner's message is never translated")
	require.Contains(t, first.Body, "se prorroga automáticamente 180 días cada vez", "the auto-extension's length comes from models.AutoExtendPeriod")
	require.Contains(t, first.HTML, `<html lang="es">`)
	require.True(t, strings.HasPrefix(reminder.Subject, "Recordatorio: "), reminder.Subject)
}

// TestEnrollmentEscalationSaysTheConfiguredBusinessDays.
func TestEnrollmentEscalationSaysTheConfiguredBusinessDays(t *testing.T) {
	env, rec := newTestEnv(t)
	env.RegisterDelayedCallback(func() { sendUpdate(env, UpdateApprove, &updateOutcome{}, Answer{}) }, 20*day)
	env.ExecuteWorkflow(EnrollmentWorkflow, EnrollmentInput{Partner: Party{ID: "res-1", Name: "Fabrikam", Email: "sales@fabrikam.example"},
		OperatorEmail: "ops@csp.example", RemindAfter: 1 * day, EscalateAfterBusinessDays: 3})
	require.True(t, env.IsWorkflowCompleted())
	var subjects []string
	for _, e := range rec.emails {
		subjects = append(subjects, e.Subject)
	}
	require.Contains(t, subjects, "Escalation: enrollment waiting 3 business days: Fabrikam")
	require.Contains(t, subjects, "Your enrollment was approved")
	require.Contains(t, rec.emails[0].Body, "(3 business days)")
}
