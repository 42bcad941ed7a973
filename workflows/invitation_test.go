package workflows

import (
	"context"
	"errors"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/mock"
	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"

	"github.com/csp-onboarding/onboarding/activities"
	"github.com/csp-onboarding/onboarding/models"
)

const day = 24 * time.Hour

// recorder captures what the mocked activities were asked to do, with the
// test clock's time of each call.
type recorder struct {
	mu        sync.Mutex
	env       *testsuite.TestWorkflowEnvironment
	progress  []activities.Progress
	emails    []activities.Email
	emailedAt map[string]time.Time
	calls     map[string]int
	order     []string
	consents  []activities.ConsentInput
	customers []activities.NewCustomer
	// send, when set, decides each SendEmail attempt (a relay that is down, say).
	send    func(activities.Email) (activities.EmailResult, error)
	lastSeq int // what LastEventSeq answers
}

func (r *recorder) statuses() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []string
	for _, p := range r.progress {
		if p.Status == "" {
			continue // an event only: the status is unchanged
		}
		if len(out) == 0 || out[len(out)-1] != p.Status {
			out = append(out, p.Status)
		}
	}
	return out
}

func (r *recorder) events() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []string
	for _, p := range r.progress {
		out = append(out, p.Event)
	}
	return out
}

func (r *recorder) emailKeys() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []string
	for _, e := range r.emails {
		out = append(out, e.Key)
	}
	return out
}

// newTestEnv is a fresh environment per test with every activity mocked, and
// the years-long delegated admin lifecycle child mocked out.
func newTestEnv(t *testing.T) (*testsuite.TestWorkflowEnvironment, *recorder) {
	env, rec := newTestEnvWithLifecycle(t)
	env.OnWorkflow(DelegatedAdminWorkflow, mock.Anything, mock.Anything).Return(DelegatedAdminStatus{}, nil).Maybe()
	return env, rec
}

// newTestEnvWithLifecycle mocks the activities only.
func newTestEnvWithLifecycle(t *testing.T) (*testsuite.TestWorkflowEnvironment, *recorder) {
	var suite testsuite.WorkflowTestSuite
	env := suite.NewTestWorkflowEnvironment()
	env.RegisterWorkflow(RelationshipWorkflow)
	env.RegisterWorkflow(DelegatedAdminWorkflow)
	rec := &recorder{env: env, emailedAt: map[string]time.Time{}, calls: map[string]int{}}
	count := func(name string) {
		rec.mu.Lock()
		rec.calls[name]++
		rec.order = append(rec.order, name)
		rec.mu.Unlock()
	}
	env.OnActivity(a.RecordProgress, mock.Anything, mock.Anything).Return(func(_ context.Context, p activities.Progress) error {
		rec.mu.Lock()
		rec.progress = append(rec.progress, p)
		rec.mu.Unlock()
		return nil
	}).Maybe()
	env.OnActivity(a.LastEventSeq, mock.Anything, mock.Anything).Return(func(context.Context, string) (int, error) {
		return rec.lastSeq, nil
	}).Maybe()
	sendEmail := func(_ context.Context, e activities.Email) (activities.EmailResult, error) {
		// Rendered as the real activity would: every e-mail a workflow asks for must render.
		e, err := activities.RenderEmail(e)
		if err != nil {
			return activities.EmailResult{}, err
		}
		if rec.send != nil {
			res, err := rec.send(e)
			if err != nil {
				return res, err
			}
		}
		rec.mu.Lock()
		rec.emails = append(rec.emails, e)
		rec.emailedAt[e.Key] = env.Now()
		// The real activity writes the reserved "sent" itself (withSentEvent);
		// written once, as the store keeps one event per place.
		if e.Sent != nil && !slices.ContainsFunc(rec.progress, func(p activities.Progress) bool { return p.Seq == e.Sent.Seq && p.Event == e.Sent.Event }) {
			rec.progress = append(rec.progress, *e.Sent)
		}
		rec.mu.Unlock()
		return activities.EmailResult{Status: models.OutboxSent}, nil
	}
	env.OnActivity(a.SendEmail, mock.Anything, mock.Anything).Return(sendEmail).Maybe()
	// The lean shape's batch of notices: each as SendEmail, as the real one does.
	env.OnActivity(a.SendNotices, mock.Anything, mock.Anything).Return(func(ctx context.Context, notices []activities.Email) ([]activities.NoticeOutcome, error) {
		var out []activities.NoticeOutcome
		for _, e := range notices {
			o := activities.NoticeOutcome{Key: e.Key}
			if _, err := sendEmail(ctx, e); err != nil {
				o.Failed = err.Error()
			}
			out = append(out, o)
		}
		return out, nil
	}).Maybe()
	env.OnActivity(a.SupersedeLinks, mock.Anything, mock.Anything).Return(func(_ context.Context, in activities.SupersedeLinksInput) error {
		count("SupersedeLinks")
		return nil
	}).Maybe()
	env.OnActivity(a.GiveUpEmail, mock.Anything, mock.Anything).Return(func(context.Context, string) (bool, error) {
		count("GiveUpEmail")
		return false, nil
	}).Maybe()
	env.OnActivity(a.EnsureCustomer, mock.Anything, mock.Anything).Return(func(_ context.Context, c activities.NewCustomer) error {
		count("EnsureCustomer")
		rec.mu.Lock()
		rec.customers = append(rec.customers, c)
		rec.mu.Unlock()
		return nil
	}).Maybe()
	env.OnActivity(a.CreateResellerRelationship, mock.Anything, mock.Anything).Return(func(_ context.Context, in activities.ResellerRelationshipInput) (string, error) {
		count("CreateResellerRelationship")
		return in.RelationshipID, nil
	}).Maybe()
	// The lean shape's one local activity for the three writes.
	env.OnActivity(a.SetUpRelationship, mock.Anything, mock.Anything).Return(func(_ context.Context, in activities.SetUpRelationshipInput) (string, error) {
		if c := in.NewCustomer; c != nil {
			count("EnsureCustomer")
			rec.mu.Lock()
			rec.customers = append(rec.customers, *c)
			rec.mu.Unlock()
		}
		count("CreateResellerRelationship")
		count("AddCustomerToPartnerLists")
		if in.Recorded != nil {
			rec.mu.Lock()
			rec.progress = append(rec.progress, in.Recorded.WithRelationship(in.Relationship.RelationshipID))
			rec.mu.Unlock()
		}
		return in.Relationship.RelationshipID, nil
	}).Maybe()
	env.OnActivity(a.CreateDelegatedAdmin, mock.Anything, mock.Anything).Return(func(context.Context, activities.DelegatedAdminInput) error {
		count("CreateDelegatedAdmin")
		return nil
	}).Maybe()
	// Off mode (MICROSOFT_MODE=off): the grant is recorded active, as CreateDelegatedAdmin did.
	env.OnActivity(a.RecordDelegatedAdmin, mock.Anything, mock.Anything).Return(func(context.Context, activities.DelegatedAdminInput) (activities.DelegatedAdminRecord, error) {
		count("CreateDelegatedAdmin")
		return activities.DelegatedAdminRecord{Status: models.DelegatedAdminActive}, nil
	}).Maybe()
	env.OnActivity(a.AddCustomerToPartnerLists, mock.Anything, mock.Anything).Return(func(context.Context, activities.CustomerListsInput) error {
		count("AddCustomerToPartnerLists")
		return nil
	}).Maybe()
	env.OnActivity(a.CreateTenantCustomer, mock.Anything, mock.Anything).Return(func(context.Context, activities.TenantCustomerInput) error {
		count("CreateTenantCustomer")
		return nil
	}).Maybe()
	env.OnActivity(a.CheckExtensionGates, mock.Anything, mock.Anything).Return(func(context.Context, activities.ExtensionGates) error {
		count("CheckExtensionGates")
		return nil
	}).Maybe()
	env.OnActivity(a.RecordConsent, mock.Anything, mock.Anything).Return(func(_ context.Context, in activities.ConsentInput) (string, error) {
		count("RecordConsent")
		rec.mu.Lock()
		rec.consents = append(rec.consents, in)
		rec.mu.Unlock()
		return in.ConsentID, nil
	}).Maybe()
	env.OnActivity(a.ShareBillTo, mock.Anything, mock.Anything).Return(func(_ context.Context, in activities.ShareInput) error {
		count("ShareBillTo")
		return nil
	}).Maybe()
	return env, rec
}

func invitationInput() InvitationInput {
	return InvitationInput{
		InvitationID:    "inv-1",
		Reseller:        Party{ID: "res-1", Name: "Fabrikam", Email: "sales@fabrikam.example"},
		Provider:        Party{ID: "prov-1", Name: "Contoso", Email: "ops@contoso.example"},
		CustomerCompany: "Northwind",
		CustomerEmail:   "admin@northwind.example",
		Message:         "Please accept: {{link}}",
		Reminders:       []time.Duration{3 * day, 7 * day},
		ExpireAfter:     30 * day,
	}
}

// update sends an update from a delayed callback and keeps its outcome.
type updateOutcome struct {
	accepted bool
	rejected error
	result   any
	err      error
}

func sendUpdate(env *testsuite.TestWorkflowEnvironment, name string, out *updateOutcome, args ...any) {
	env.UpdateWorkflow(name, "", &testsuite.TestUpdateCallback{
		OnAccept:   func() { out.accepted = true },
		OnReject:   func(err error) { out.rejected = err },
		OnComplete: func(result any, err error) { out.result, out.err = result, err },
	}, args...)
}

func TestInvitationAcceptedCreatesRelationship(t *testing.T) {
	env, rec := newTestEnv(t)
	in := invitationInput()
	in.DelegatedAdmin = &models.DelegatedAdminRequest{Roles: []string{"Helpdesk Agent"}, DurationDays: 90}
	in.ContactEmailReason = "the customer's mail is hosted by the reseller"
	var accept updateOutcome
	env.RegisterDelayedCallback(func() {
		sendUpdate(env, UpdateAccept, &accept, Answer{IP: "203.0.113.9", UserAgent: "test-browser"})
	}, 26*time.Hour)

	env.ExecuteWorkflow(InvitationWorkflow, in)

	require.True(t, env.IsWorkflowCompleted())
	require.NoError(t, env.GetWorkflowError())
	require.True(t, accept.accepted)
	require.NoError(t, accept.err)
	require.Equal(t, models.InvitationAccepted, accept.result)
	var st InvitationStatus
	require.NoError(t, env.GetWorkflowResult(&st))
	require.Equal(t, models.InvitationCompleted, st.Status)
	require.NotEmpty(t, st.RelationshipID)
	require.NotEmpty(t, st.CustomerID)
	// waiting_for_customer is the row's status from its creation: the
	// workflow's records while waiting are timeline events only.
	require.Equal(t, []string{models.InvitationAccepted, models.InvitationCompleted}, rec.statuses())
	require.Equal(t, []string{"invitation_created", "invitation_sent", "customer_accepted", "relationship_created"}, rec.events())
	require.Equal(t, "203.0.113.9", rec.progress[2].Details["ip"], "the accepting request is recorded")
	require.Equal(t, in.ContactEmailReason, rec.progress[0].Details["contact_email_reason"], "the reseller's reason for the address is on the timeline")
	require.True(t, rec.progress[2].CloseLinks, "accepting closes every link of the invitation")
	// One reminder was due after 3 days; the customer answered after 26 hours.
	// Both partners' notices go out at once, in either order, after the invitation.
	keys := rec.emailKeys()
	require.Len(t, keys, 3)
	require.Equal(t, "invitation:inv-1:initial", keys[0])
	require.ElementsMatch(t, []string{"relationship:" + st.RelationshipID + ":notify:res-1", "relationship:" + st.RelationshipID + ":notify:prov-1"}, keys[1:])
	require.Equal(t, 1, rec.calls["CreateResellerRelationship"])
	require.Equal(t, 1, rec.calls["CreateDelegatedAdmin"])
	require.Equal(t, 1, rec.calls["EnsureCustomer"])
	require.Contains(t, rec.emails[0].Body, activities.LinkPlaceholder, "the link is minted by the activity, never in workflow history")
	require.Equal(t, in.CustomerEmail, rec.emails[0].To)
}

func TestInvitationDeclined(t *testing.T) {
	env, rec := newTestEnv(t)
	var decline updateOutcome
	env.RegisterDelayedCallback(func() { sendUpdate(env, UpdateDecline, &decline, Answer{IP: "198.51.100.1"}) }, 4*day)

	env.ExecuteWorkflow(InvitationWorkflow, invitationInput())

	require.NoError(t, env.GetWorkflowError())
	var st InvitationStatus
	require.NoError(t, env.GetWorkflowResult(&st))
	require.Equal(t, models.InvitationDeclined, st.Status)
	require.Empty(t, st.RelationshipID)
	require.Zero(t, rec.calls["CreateResellerRelationship"], "a declined invitation creates nothing")
	require.Equal(t, []string{"invitation:inv-1:initial", "invitation:inv-1:reminder:1"}, rec.emailKeys())
	require.Equal(t, "customer_declined", rec.events()[len(rec.events())-1])
}

func TestInvitationCancelledByPartner(t *testing.T) {
	env, rec := newTestEnv(t)
	var cancel updateOutcome
	env.RegisterDelayedCallback(func() { sendUpdate(env, UpdateCancel, &cancel, Answer{Reason: "sent to the wrong contact"}) }, time.Hour)

	env.ExecuteWorkflow(InvitationWorkflow, invitationInput())

	var st InvitationStatus
	require.NoError(t, env.GetWorkflowResult(&st))
	require.Equal(t, models.InvitationCancelled, st.Status)
	last := rec.progress[len(rec.progress)-1]
	require.Equal(t, "cancelled_by_partner", last.Event)
	require.Equal(t, "sent to the wrong contact", last.Details["reason"])
	require.True(t, last.CloseLinks)
}

func TestInvitationRemindsThenExpires(t *testing.T) {
	env, rec := newTestEnv(t)
	var start time.Time
	env.RegisterDelayedCallback(func() {}, 0)
	start = env.Now()

	env.ExecuteWorkflow(InvitationWorkflow, invitationInput())

	require.NoError(t, env.GetWorkflowError())
	var st InvitationStatus
	require.NoError(t, env.GetWorkflowResult(&st))
	require.Equal(t, models.InvitationExpired, st.Status)
	require.Equal(t, 2, st.RemindersSent)
	require.Equal(t, []string{"invitation:inv-1:initial", "invitation:inv-1:reminder:1", "invitation:inv-1:reminder:2"}, rec.emailKeys())
	require.WithinDuration(t, start.Add(3*day), rec.emailedAt["invitation:inv-1:reminder:1"], time.Minute)
	require.WithinDuration(t, start.Add(7*day), rec.emailedAt["invitation:inv-1:reminder:2"], time.Minute)
	require.False(t, env.Now().Before(start.Add(30*day)), "expiry comes after 30 days")
	require.Equal(t, "invitation_expired", rec.events()[len(rec.events())-1])
	require.True(t, rec.progress[len(rec.progress)-1].CloseLinks)
	require.Zero(t, rec.calls["CreateResellerRelationship"])
}

func TestInvitationSecondAnswerRejected(t *testing.T) {
	env, rec := newTestEnv(t)
	var first, second, resend updateOutcome
	env.RegisterDelayedCallback(func() {
		sendUpdate(env, UpdateAccept, &first, Answer{})
		sendUpdate(env, UpdateDecline, &second, Answer{})
		sendUpdate(env, UpdateResend, &resend)
	}, time.Hour)

	env.ExecuteWorkflow(InvitationWorkflow, invitationInput())

	require.NoError(t, env.GetWorkflowError())
	require.True(t, first.accepted)
	require.Error(t, second.rejected, "a second decision is rejected synchronously")
	var app *temporal.ApplicationError
	require.True(t, errors.As(second.rejected, &app))
	require.Equal(t, ErrTypeAlreadyDecided, app.Type())
	require.Error(t, resend.rejected, "nothing is resent once the customer answered")
	require.Equal(t, 1, rec.calls["CreateResellerRelationship"])
}

func TestInvitationResendSendsAFreshLink(t *testing.T) {
	env, rec := newTestEnv(t)
	var resend, accept updateOutcome
	env.RegisterDelayedCallback(func() { sendUpdate(env, UpdateResend, &resend) }, time.Hour)
	env.RegisterDelayedCallback(func() { sendUpdate(env, UpdateAccept, &accept, Answer{}) }, 2*time.Hour)

	env.ExecuteWorkflow(InvitationWorkflow, invitationInput())

	require.NoError(t, env.GetWorkflowError())
	require.Equal(t, 1, resend.result)
	keys := rec.emailKeys()
	require.Equal(t, []string{"invitation:inv-1:initial", "invitation:inv-1:resend:1"}, keys[:2])
	require.NotNil(t, rec.emails[1].Link, "a resend carries its own personal link")
	require.Contains(t, rec.events(), "invitation_resent")
}

// TestInvitationResendsAreLimitedPerDay: five resends in a day, the sixth is
// refused by the validator (with the wait in its details) and sends nothing;
// a day later resending works again. Each resend closes the earlier links.
func TestInvitationResendsAreLimitedPerDay(t *testing.T) {
	env, rec := newTestEnv(t)
	outcomes := make([]updateOutcome, 7)
	for i := range 6 {
		env.RegisterDelayedCallback(func() { sendUpdate(env, UpdateResend, &outcomes[i]) }, time.Duration(i+1)*time.Minute)
	}
	env.RegisterDelayedCallback(func() { sendUpdate(env, UpdateResend, &outcomes[6]) }, 25*time.Hour)
	var accept updateOutcome
	env.RegisterDelayedCallback(func() { sendUpdate(env, UpdateAccept, &accept, Answer{}) }, 26*time.Hour)

	env.ExecuteWorkflow(InvitationWorkflow, invitationInput())

	require.NoError(t, env.GetWorkflowError())
	for i := range 5 {
		require.NoError(t, outcomes[i].rejected, "resend %d", i+1)
	}
	var app *temporal.ApplicationError
	require.ErrorAs(t, outcomes[5].rejected, &app, "the sixth resend in a day")
	require.Equal(t, ErrTypeResendLimit, app.Type())
	var wait int
	require.NoError(t, app.Details(&wait))
	require.InDelta(t, (24*time.Hour - 5*time.Minute).Seconds(), wait, 120, "seconds until a resend is allowed again")
	require.NoError(t, outcomes[6].rejected, "a day later")
	require.Equal(t, 6, rec.calls["SupersedeLinks"], "each resend closes the earlier links")
	var invitationMails []string
	for _, k := range rec.emailKeys() {
		if strings.HasPrefix(k, "invitation:") {
			invitationMails = append(invitationMails, k)
		}
	}
	require.Len(t, invitationMails, 7, "the initial e-mail and six resends, not the refused one")
}

func TestInvitationCancelledByOperatorIsRecorded(t *testing.T) {
	env, rec := newTestEnv(t)
	env.RegisterDelayedCallback(func() { env.CancelWorkflow() }, 2*day)

	env.ExecuteWorkflow(InvitationWorkflow, invitationInput())

	require.True(t, env.IsWorkflowCompleted())
	var canceled *temporal.CanceledError
	require.True(t, errors.As(env.GetWorkflowError(), &canceled))
	last := rec.progress[len(rec.progress)-1]
	require.Equal(t, models.InvitationCancelled, last.Status, "cleanup runs in a disconnected context")
	require.True(t, last.CloseLinks)
}

func TestInvitationFailsWhenPartnershipEnded(t *testing.T) {
	var suite testsuite.WorkflowTestSuite
	env := suite.NewTestWorkflowEnvironment()
	env.RegisterWorkflow(RelationshipWorkflow)
	var statuses []string
	env.OnActivity(a.RecordProgress, mock.Anything, mock.Anything).Return(func(_ context.Context, p activities.Progress) error {
		statuses = append(statuses, p.Status)
		return nil
	})
	env.OnActivity(a.SendEmail, mock.Anything, mock.Anything).Return(activities.EmailResult{}, nil)
	env.OnActivity(a.SetUpRelationship, mock.Anything, mock.Anything).Return("",
		temporal.NewNonRetryableApplicationError("the partnership between the reseller and the provider is no longer active", activities.ErrTypePartnershipNotActive, nil)).Once()
	var accept updateOutcome
	env.RegisterDelayedCallback(func() { sendUpdate(env, UpdateAccept, &accept, Answer{}) }, time.Hour)

	env.ExecuteWorkflow(InvitationWorkflow, invitationInput())

	require.Error(t, env.GetWorkflowError())
	require.Equal(t, models.InvitationFailed, statuses[len(statuses)-1])
	env.AssertExpectations(t)
}

func TestInvitationStatusQuery(t *testing.T) {
	env, _ := newTestEnv(t)
	env.RegisterDelayedCallback(func() {
		v, err := env.QueryWorkflow(QueryStatus)
		require.NoError(t, err)
		var st InvitationStatus
		require.NoError(t, v.Get(&st))
		require.Equal(t, models.InvitationWaitingForCustomer, st.Status)
		require.Contains(t, st.Step, "Waiting for the customer")
		require.Equal(t, 1, st.RemindersSent)
		sendUpdate(env, UpdateCancel, &updateOutcome{}, Answer{})
	}, 4*day)
	env.ExecuteWorkflow(InvitationWorkflow, invitationInput())
	require.NoError(t, env.GetWorkflowError())
}
