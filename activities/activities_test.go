package activities_test

import (
	"context"
	"errors"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"

	"github.com/csp-onboarding/onboarding/activities"
	"github.com/csp-onboarding/onboarding/emails"
	"github.com/csp-onboarding/onboarding/mail"
	"github.com/csp-onboarding/onboarding/mail/mailtest"
	"github.com/csp-onboarding/onboarding/models"
	"github.com/csp-onboarding/onboarding/secret"
	"github.com/csp-onboarding/onboarding/store"
	"github.com/csp-onboarding/onboarding/store/storetest"
)

var linkPattern = regexp.MustCompile(`http://onboarding\.test/i/([A-Za-z0-9_-]{43})`)

func TestSendEmailDeliversOnceOverSMTPWithAHashedLink(t *testing.T) {
	for _, d := range storetest.Dialects {
		t.Run(string(d), func(t *testing.T) {
			st := storetest.New(t, d)
			acts, smtpServer := smtpActivities(t, st)

			env := activityEnv(acts)
			email := activities.Email{
				Key: "invitation:inv-9:initial", To: "admin@northwind.example", Subject: "Fabrikam invites you",
				Body: "Hello,\n.\nAccept here: {{link}}\n", Link: &activities.Link{Purpose: models.LinkPurposeInvitation, SubjectID: "inv-9", ExpiresAt: time.Now().Add(time.Hour)},
			}
			for range 3 { // the activity retried after a crash must not send again
				v, err := env.ExecuteActivity(acts.SendEmail, email)
				require.NoError(t, err)
				var res activities.EmailResult
				require.NoError(t, v.Get(&res))
				require.Equal(t, models.OutboxSent, res.Status)
			}
			got, err := smtpServer.WaitFor("admin@northwind.example", "Fabrikam invites you", 5*time.Second)
			require.NoError(t, err)
			require.Len(t, smtpServer.Messages(), 1, "exactly one e-mail")
			require.Contains(t, got.Body, "\n.\n", "a lone dot line survives SMTP dot-stuffing")
			m := linkPattern.FindStringSubmatch(got.Body)
			require.NotNil(t, m, "the body carries the personal link: %s", got.Body)
			tok, err := st.LinkToken(context.Background(), secret.Hash(m[1]))
			require.NoError(t, err, "the token's hash is stored")
			require.Equal(t, "inv-9", tok.SubjectID)
			var raw int64
			require.NoError(t, st.DB().Model(&models.LinkToken{}).Where("hash = ?", m[1]).Count(&raw).Error)
			require.Zero(t, raw, "the raw token is never stored")
			row, err := st.Message(context.Background(), email.Key)
			require.NoError(t, err)
			require.Contains(t, row.Body, activities.LinkPlaceholder, "the outbox keeps the placeholder, not the link")
			require.NotContains(t, row.Body, m[1])
			require.Nil(t, row.SealedLink, "the sealed link is erased once the e-mail is sent")
		})
	}
}

// smtpActivities are the activities sending through a test SMTP server,
// with personal links at http://onboarding.test/.
func smtpActivities(t *testing.T, st *store.Store) (*activities.Activities, *mailtest.Server) {
	t.Helper()
	smtpServer, err := mailtest.Start()
	require.NoError(t, err)
	t.Cleanup(func() { _ = smtpServer.Close() })
	sender, err := mail.NewSMTPSender(mail.Options{URL: smtpServer.URL(), From: "Onboarding <onboarding@localhost>"})
	require.NoError(t, err)
	acts := activities.New(st, sender, "http://onboarding.test/")
	acts.Secrets = testKeys(t)
	return acts, smtpServer
}

func testKeys(t *testing.T) *secret.Keyring {
	k, err := secret.NewKeyring(secret.NewKey())
	require.NoError(t, err)
	return k
}

func TestSendEmailRefusedForGoodIsNotRetried(t *testing.T) {
	st := storetest.New(t, storetest.Dialects[0])
	acts := activities.New(st, permanentMailer{}, "http://onboarding.test")
	acts.Secrets = testKeys(t)
	metrics := &countingMetrics{}
	acts.Metrics = metrics
	env := activityEnv(acts)
	email := activities.Email{Key: "k3", To: "nobody@b.example", Subject: "s", Body: "open {{link}}",
		Link: &activities.Link{Purpose: models.LinkPurposeInvitation, SubjectID: "inv-3", ExpiresAt: time.Now().Add(time.Hour)}}
	_, err := env.ExecuteActivity(acts.SendEmail, email)
	var app *temporal.ApplicationError
	require.True(t, errors.As(err, &app), "got %v", err)
	require.True(t, app.NonRetryable())
	require.Equal(t, activities.ErrTypeEmailRejected, app.Type())
	var f activities.EmailFailure
	require.NoError(t, app.Details(&f))
	require.Equal(t, mail.ReasonRecipientRefused, f.Reason)
	require.Equal(t, 550, f.Code)
	row, err := st.Message(context.Background(), "k3")
	require.NoError(t, err)
	require.Equal(t, models.OutboxFailed, row.Status)
	require.Nil(t, row.SealedLink, "a refused e-mail keeps no link")
	require.Equal(t, []string{models.OutboxFailed}, metrics.emails)

	_, err = env.ExecuteActivity(acts.SendEmail, email)
	require.True(t, errors.As(err, &app) && app.Type() == activities.ErrTypeEmailRejected, "a retry finds it failed: %v", err)
}

func TestSendEmailNeedsTheSecretKeyToSendALink(t *testing.T) {
	st := storetest.New(t, storetest.Dialects[1])
	acts := activities.New(st, failingMailer{}, "http://onboarding.test")
	env := activityEnv(acts)
	_, err := env.ExecuteActivity(acts.SendEmail, activities.Email{Key: "k4", To: "a@b.example", Subject: "s", Body: "{{link}}",
		Link: &activities.Link{Purpose: models.LinkPurposeInvitation, SubjectID: "inv-4", ExpiresAt: time.Now().Add(time.Hour)}})
	var app *temporal.ApplicationError
	require.True(t, errors.As(err, &app), "got %v", err)
	require.Equal(t, activities.ErrTypeNoSecretKey, app.Type())
}

func TestHeldEmailKeepsItsLinkSealedUntilTheProcessCloses(t *testing.T) {
	st := storetest.New(t, storetest.Dialects[0])
	acts := activities.New(st, nil, "http://onboarding.test")
	acts.Secrets = testKeys(t)
	env := activityEnv(acts)
	_, err := env.ExecuteActivity(acts.SendEmail, activities.Email{Key: "k5", To: "a@b.example", Subject: "s", Body: "open {{link}}",
		Link: &activities.Link{Purpose: models.LinkPurposeInvitation, SubjectID: "inv-5", ExpiresAt: time.Now().Add(time.Hour)}})
	require.NoError(t, err)
	row, err := st.Message(context.Background(), "k5")
	require.NoError(t, err)
	require.NotNil(t, row.SealedLink)
	require.NotContains(t, *row.SealedLink, "onboarding.test")
	text, _, err := activities.ExpandLink(acts.Secrets, row)
	require.NoError(t, err)
	require.Regexp(t, linkPattern, text, "the dev mailbox can still show a usable link")

	require.NoError(t, st.CloseLinkTokens(context.Background(), "inv-5", time.Now()))
	row, err = st.Message(context.Background(), "k5")
	require.NoError(t, err)
	require.Nil(t, row.SealedLink, "a closed process keeps no link")
}

type permanentMailer struct{}

func (permanentMailer) Send(context.Context, mail.Message) error {
	return &mail.PermanentError{Reason: mail.ReasonRecipientRefused, Code: 550, Err: errors.New("550 5.1.1 no such user")}
}

type countingMetrics struct{ emails []string }

func (m *countingMetrics) OnboardingEnded(string, string) {}
func (m *countingMetrics) Email(outcome string)           { m.emails = append(m.emails, outcome) }

func TestSendEmailWithoutSMTPIsHeldForTheMailbox(t *testing.T) {
	st := storetest.New(t, storetest.Dialects[1])
	acts := activities.New(st, nil, "http://onboarding.test")
	env := activityEnv(acts)
	v, err := env.ExecuteActivity(acts.SendEmail, activities.Email{Key: "k1", To: "a@b.example", Subject: "s", Body: "b"})
	require.NoError(t, err)
	var res activities.EmailResult
	require.NoError(t, v.Get(&res))
	require.Equal(t, models.OutboxHeld, res.Status)
	msgs, err := st.Messages(context.Background(), 10)
	require.NoError(t, err)
	require.Len(t, msgs, 1)
	require.Equal(t, models.OutboxHeld, msgs[0].Status)
}

func TestSendEmailRetriesAFailedDelivery(t *testing.T) {
	st := storetest.New(t, storetest.Dialects[0])
	acts := activities.New(st, failingMailer{}, "http://onboarding.test")
	env := activityEnv(acts)
	_, err := env.ExecuteActivity(acts.SendEmail, activities.Email{Key: "k2", To: "a@b.example", Subject: "s", Body: "b"})
	require.Error(t, err, "a refused delivery fails the attempt so Temporal retries it")
	msgs, err := storetest.MessagesTo(context.Background(), st, "a@b.example")
	require.NoError(t, err)
	require.Equal(t, models.OutboxPending, msgs[0].Status)
	require.Contains(t, msgs[0].LastError, "mailbox unavailable")
}

type failingMailer struct{}

func (failingMailer) Send(context.Context, mail.Message) error {
	return &mail.TransientError{Code: 451, Err: errors.New("451 mailbox unavailable")}
}

func TestRecordProgressOfAMissingOnboardingIsNotRetried(t *testing.T) {
	st := storetest.New(t, storetest.Dialects[1])
	acts := activities.New(st, nil, "")
	env := activityEnv(acts)
	_, err := env.ExecuteActivity(acts.RecordProgress, activities.Progress{Kind: activities.KindInvitation, SubjectID: uuid.NewString(),
		Status: models.InvitationExpired, Seq: 1, Event: "invitation_expired", At: time.Now()})
	var app *temporal.ApplicationError
	require.True(t, errors.As(err, &app), "got %v", err)
	require.True(t, app.NonRetryable())
	require.Equal(t, activities.ErrTypeNotFound, app.Type())
}

// TestProgressWithoutStatusIsAnEventOnly: a reminder recorded after a
// decision (its activity was slower) adds its event and leaves the decision.
func TestProgressWithoutStatusIsAnEventOnly(t *testing.T) {
	for _, d := range storetest.Dialects {
		t.Run(string(d), func(t *testing.T) {
			st := storetest.New(t, d)
			ctx := context.Background()
			acts := activities.New(st, nil, "")
			env := activityEnv(acts)
			reseller := models.Partner{ID: uuid.NewString(), Name: "Fabrikam", Type: models.PartnerTypeReseller, ContactEmail: "r@fabrikam.example", APIKeyHash: uuid.NewString()}
			require.NoError(t, st.CreatePartner(ctx, &reseller))
			_, err := st.SubmitEnrollment(ctx, reseller.ID, "enrollment:"+reseller.ID)
			require.NoError(t, err)
			provider := models.Partner{ID: uuid.NewString(), Name: "Contoso", Type: models.PartnerTypeIndirectProvider, ContactEmail: "p@contoso.example", APIKeyHash: uuid.NewString()}
			require.NoError(t, st.CreatePartner(ctx, &provider))
			ps := models.Partnership{ID: uuid.NewString(), ProviderID: provider.ID, ResellerID: reseller.ID, Status: models.PartnershipInvited, ExpiresAt: time.Now().Add(time.Hour)}
			require.NoError(t, st.CreatePartnership(ctx, &ps))

			for _, p := range []activities.Progress{
				{Kind: activities.KindEnrollment, SubjectID: reseller.ID, Status: models.EnrollmentApproved, Seq: 3, Event: "enrollment_approved", At: time.Now()},
				{Kind: activities.KindEnrollment, SubjectID: reseller.ID, Seq: 2, Event: "operators_reminded", At: time.Now()},
				{Kind: activities.KindPartnership, SubjectID: ps.ID, Status: models.PartnershipActive, Seq: 2, Event: "partnership_accepted", At: time.Now()},
				{Kind: activities.KindPartnership, SubjectID: ps.ID, Seq: 1, Event: "partnership_invited", At: time.Now()},
			} {
				_, err := env.ExecuteActivity(acts.RecordProgress, p)
				require.NoError(t, err)
			}
			e, err := st.Enrollment(ctx, reseller.ID)
			require.NoError(t, err)
			require.Equal(t, models.EnrollmentApproved, e.Status)
			partner, err := st.Partner(ctx, reseller.ID)
			require.NoError(t, err)
			require.Equal(t, models.EnrollmentApproved, partner.EnrollmentStatus)
			got, err := st.Partnership(ctx, ps.ID)
			require.NoError(t, err)
			require.Equal(t, models.PartnershipActive, got.Status)
			events, err := st.Events(ctx, reseller.ID)
			require.NoError(t, err)
			require.Len(t, events, 2, "the reminder's event is on the timeline")

			_, err = env.ExecuteActivity(acts.RecordProgress, activities.Progress{Kind: activities.KindEnrollment, SubjectID: uuid.NewString(), Seq: 1, Event: "operators_reminded", At: time.Now()})
			var app *temporal.ApplicationError
			require.True(t, errors.As(err, &app), "an event for a missing onboarding is refused: %v", err)
			require.Equal(t, activities.ErrTypeNotFound, app.Type())
		})
	}
}

func TestCreateResellerRelationshipRefusedWithoutActivePartnership(t *testing.T) {
	st := storetest.New(t, storetest.Dialects[0])
	acts := activities.New(st, nil, "")
	env := activityEnv(acts)
	_, err := env.ExecuteActivity(acts.CreateResellerRelationship, activities.ResellerRelationshipInput{
		RelationshipID: uuid.NewString(), CustomerID: "c", ProviderID: "p", ResellerID: "r", Source: models.SourceInvitation})
	var app *temporal.ApplicationError
	require.True(t, errors.As(err, &app), "got %v", err)
	require.Equal(t, activities.ErrTypePartnershipNotActive, app.Type())
	n, err := storetest.CountRelationships(context.Background(), st, "c", "p", "r")
	require.NoError(t, err)
	require.Zero(t, n)
}

// activityEnv is a fresh test environment running the real activities.
func activityEnv(acts *activities.Activities) *testsuite.TestActivityEnvironment {
	var suite testsuite.WorkflowTestSuite
	env := suite.NewTestActivityEnvironment()
	env.RegisterActivity(acts)
	return env
}

// TestSendEmailRendersTheTemplateIntoTheOutbox: the workflow names a template,
// a language and data; the outbox row has the rendered subject, the text part
// and the HTML part, each with the same personal link.
func TestSendEmailRendersTheTemplateIntoTheOutbox(t *testing.T) {
	for _, d := range storetest.Dialects {
		t.Run(string(d), func(t *testing.T) {
			st := storetest.New(t, d)
			acts := activities.New(st, nil, "http://onboarding.test")
			acts.Secrets = testKeys(t)
			env := activityEnv(acts)
			expires := time.Date(2026, 12, 15, 14, 30, 0, 0, time.UTC)
			_, err := env.ExecuteActivity(acts.SendEmail, activities.Email{
				Key: "invitation:inv-de:initial", To: "admin@northwind.example", Template: emails.Invitation, Locale: "de",
				Data: &emails.Data{Recipient: "Northwind", Reseller: "Fabrikam & Söhne", Provider: "Contoso", Message: "Bitte <hier> annehmen: {{link}}", ExpiresAt: expires},
				Link: &activities.Link{Purpose: models.LinkPurposeInvitation, SubjectID: "inv-de", ExpiresAt: expires},
			})
			require.NoError(t, err)
			msgs, err := storetest.MessagesTo(context.Background(), st, "admin@northwind.example")
			require.NoError(t, err)
			require.Len(t, msgs, 1)
			m := msgs[0]
			require.Equal(t, "Fabrikam & Söhne lädt Sie zu einer Reseller-Beziehung ein", m.Subject)
			// The outbox keeps both parts with the placeholder; the link is put in at delivery.
			require.Contains(t, m.Body, activities.LinkPlaceholder)
			require.Contains(t, m.HTMLBody, activities.LinkPlaceholder)
			text, html, err := activities.ExpandLink(acts.Secrets, m)
			require.NoError(t, err)
			link := linkPattern.FindString(text)
			require.NotEmpty(t, link, text)
			require.Contains(t, text, "Bitte <hier> annehmen: "+link, "the partner's message as written, with the link where it asked")
			require.Contains(t, html, `<html lang="de">`)
			require.Equal(t, 2, strings.Count(html, `href="`+link+`"`), "button and plain link carry the same link")
			require.Contains(t, html, "Bitte &lt;hier&gt; annehmen: "+link)
			require.Contains(t, html, "Fabrikam &amp; Söhne")
			require.NotContains(t, html, activities.LinkPlaceholder)
		})
	}
}

// TestSendEmailWithAnUnknownTemplateIsNotRetried: a rendering error is a bug, not a
// transient failure.
func TestSendEmailWithAnUnknownTemplateIsNotRetried(t *testing.T) {
	st := storetest.New(t, storetest.Dialects[1])
	acts := activities.New(st, nil, "http://onboarding.test")
	_, err := activityEnv(acts).ExecuteActivity(acts.SendEmail, activities.Email{Key: "k", To: "a@b.example", Template: "no_such_kind"})
	var app *temporal.ApplicationError
	require.True(t, errors.As(err, &app), "%v", err)
	require.True(t, app.NonRetryable())
}

// refusingMailer refuses one recipient for good and defers every other
// recipient's first attempt; it counts deliveries.
type refusingMailer struct {
	refuse string
	tries  map[string]int
	sent   map[string]int
}

func (m *refusingMailer) Send(_ context.Context, msg mail.Message) error {
	if msg.To == m.refuse {
		m.tries[msg.To]++
		return &mail.PermanentError{Reason: mail.ReasonRecipientRefused, Code: 550, Err: errors.New("550 5.1.1 no such user")}
	}
	if m.tries[msg.To]++; m.tries[msg.To] == 1 {
		return &mail.TransientError{Code: 451, Err: errors.New("451 try again later")}
	}
	m.sent[msg.To]++
	return nil
}

func TestSendNoticesReportsARefusalAndRetriesTheRestWithoutDuplicates(t *testing.T) {
	st := storetest.New(t, storetest.Dialects[1])
	mailer := &refusingMailer{refuse: "gone@provider.example", tries: map[string]int{}, sent: map[string]int{}}
	acts := activities.New(st, mailer, "http://onboarding.test")
	env := activityEnv(acts)
	notices := []activities.Email{
		{Key: "rel-1:notify:provider", To: "gone@provider.example", Subject: "s", Body: "b"},
		{Key: "rel-1:notify:reseller", To: "ops@reseller.example", Subject: "s", Body: "b"},
	}
	_, err := env.ExecuteActivity(acts.SendNotices, notices)
	require.Error(t, err, "a transient failure fails the attempt so Temporal retries the batch")

	v, err := env.ExecuteActivity(acts.SendNotices, notices)
	require.NoError(t, err)
	var outcomes []activities.NoticeOutcome
	require.NoError(t, v.Get(&outcomes))
	require.Len(t, outcomes, 2)
	require.Equal(t, "rel-1:notify:provider", outcomes[0].Key)
	require.Contains(t, outcomes[0].Failed, "no such user", "the refusal is reported, not retried")
	require.Empty(t, outcomes[1].Failed)

	_, err = env.ExecuteActivity(acts.SendNotices, notices)
	require.NoError(t, err, "a third attempt finds both settled")
	require.Equal(t, map[string]int{"ops@reseller.example": 1}, mailer.sent, "delivered once across the retries")
	require.Equal(t, 1, mailer.tries["gone@provider.example"], "the refused address is not tried again")
}
