// Package activities holds every side effect of the onboarding workflows:
// database writes, e-mail and the Partner Center calls. Each activity is
// idempotent: its writes are keyed by IDs the workflow chooses, so a retry or a
// worker killed mid-flight never duplicates a row, an e-mail or an event.
package activities

import (
	"context"
	"errors"
	"fmt"
	"html"
	"strings"
	"time"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/temporal"

	"github.com/csp-onboarding/onboarding/emails"
	"github.com/csp-onboarding/onboarding/mail"
	"github.com/csp-onboarding/onboarding/models"
	"github.com/csp-onboarding/onboarding/secret"
	"github.com/csp-onboarding/onboarding/store"
)

// partnerCenterStore is what the built-in Partner Center writes.
type partnerCenterStore interface {
	CreateRelationship(ctx context.Context, r models.Relationship) (models.Relationship, error)
	UpsertDelegatedAdmin(ctx context.Context, d *models.DelegatedAdminRelationship) error
}

// recordStore is what recording progress and sending e-mail read and write.
// A transaction hands its callback the store itself (setStatus,
// recordSentEvent run inside one).
type recordStore interface {
	GiveUpMessage(ctx context.Context, key, reason string) (bool, error)
	InTransaction(ctx context.Context, fn func(tx *store.Store) error) error
	LastEventSeq(ctx context.Context, subjectID string) (int, error)
	MarkMessage(ctx context.Context, key, status, lastError string) error
	Message(ctx context.Context, key string) (models.OutboxMessage, error)
	QueueMessage(ctx context.Context, msg models.OutboxMessage, token *models.LinkToken) (models.OutboxMessage, error)
	RecordEvent(ctx context.Context, kind string, e models.OnboardingEvent) (bool, error)
}

// Non-retryable error types: retrying cannot change the outcome.
const (
	ErrTypePartnershipNotActive = "PartnershipNotActive"
	ErrTypeNotFound             = "NotFound"
	ErrTypeInvalidInput         = "InvalidInput"
)

// Mailer delivers one e-mail. Nil means no SMTP server: messages stay held in
// the outbox (the dev mailbox shows them).
type Mailer interface {
	Send(ctx context.Context, m mail.Message) error
}

// PartnerCenter is where reseller relationships and delegated admin grants are
// made. The built-in implementation (LocalPartnerCenter) writes to our database;
// a Partner Center / Graph integration can replace it without touching workflows.
type PartnerCenter interface {
	CreateResellerRelationship(ctx context.Context, r models.Relationship) (models.Relationship, error)
	CreateDelegatedAdminRelationship(ctx context.Context, d models.DelegatedAdminRelationship) error
}

// Metrics counts what the activities see happen. Nil counts nothing.
type Metrics interface {
	OnboardingEnded(kind, status string)
	Email(outcome string)
}

// Activities holds the dependencies of every activity.
type Activities struct {
	Store         Store
	Mailer        Mailer
	PartnerCenter PartnerCenter
	PublicBaseURL string
	Metrics       Metrics
	// Secrets seals personal links while their e-mail is pending (ONBOARDING_SECRET_KEY).
	Secrets *secret.Keyring
	// GDAP calls Microsoft Graph for delegated admin; its Microsoft.Mode
	// (MICROSOFT_MODE) says whether grants go through Microsoft. Nil: off.
	GDAP *GDAP
}

type noMetrics struct{}

func (noMetrics) OnboardingEnded(string, string) {}
func (noMetrics) Email(string)                   {}

func (a *Activities) metrics() Metrics {
	if a.Metrics == nil {
		return noMetrics{}
	}
	return a.Metrics
}

// New wires the activities with the built-in Partner Center.
func New(st Store, mailer Mailer, publicBaseURL string) *Activities {
	return &Activities{Store: st, Mailer: mailer, PartnerCenter: LocalPartnerCenter{Store: st}, PublicBaseURL: strings.TrimRight(publicBaseURL, "/")}
}

// LocalPartnerCenter records relationships in our own database.
type LocalPartnerCenter struct{ Store partnerCenterStore }

// CreateResellerRelationship creates the relationship once per active triple.
func (p LocalPartnerCenter) CreateResellerRelationship(ctx context.Context, r models.Relationship) (models.Relationship, error) {
	return p.Store.CreateRelationship(ctx, r)
}

// CreateDelegatedAdminRelationship records the grant once.
func (p LocalPartnerCenter) CreateDelegatedAdminRelationship(ctx context.Context, d models.DelegatedAdminRelationship) error {
	return p.Store.UpsertDelegatedAdmin(ctx, &d)
}

// Kinds of onboarding whose progress RecordProgress writes (the lifecycle
// registry's, models/kinds.go).
const (
	KindInvitation     = models.KindInvitation
	KindPartnership    = models.KindPartnership
	KindExtension      = models.KindExtension
	KindEnrollment     = models.KindEnrollment
	KindTenantRequest  = models.KindTenantRequest
	KindDelegatedAdmin = models.KindDelegatedAdmin
)

// DelegatedAdminState is a delegated admin relationship's lifecycle state.
type DelegatedAdminState struct {
	EndsAt     time.Time
	Extensions int
	AutoExtend bool
	// With Microsoft: when Graph reported the relationship active, and its
	// id in Graph; zero leaves the row's as they are.
	ActivatedAt         time.Time
	GraphRelationshipID string `json:",omitempty"`
}

// Progress is one step of an onboarding: its new status and the timeline event.
type Progress struct {
	Kind      string
	SubjectID string
	// Status is the new status; empty means a timeline event only, the
	// status unchanged (a reminder must not overwrite a newer decision).
	Status         string
	RelationshipID string
	ConsentID      string
	CustomerID     string
	DelegatedAdmin *DelegatedAdminState // kind delegated_admin
	Seq            int                  // chosen by the workflow: the event's idempotency key
	Event          string
	At             time.Time
	Details        map[string]string
	CloseLinks     bool   // the process has decided or ended: no link works any more
	CustomerEmail  string // an invitation's corrected customer address
	// CustomerTenantID: an invitation's customer tenant, once known (the
	// Partner Center webhooks find the invitation by it).
	CustomerTenantID string
}

// RecordProgress writes an onboarding's status and appends its timeline event.
func (a *Activities) RecordProgress(ctx context.Context, p Progress) error {
	if p.Kind == KindDelegatedAdmin && p.DelegatedAdmin == nil {
		return temporal.NewNonRetryableApplicationError("delegated admin progress needs its state", ErrTypeInvalidInput, nil)
	}
	// The status, its timeline event and the links it closes are one
	// transaction: a reader never sees a new status without its event.
	var wrote bool
	err := a.Store.InTransaction(ctx, func(st *store.Store) error {
		if err := setStatus(ctx, st, p); err != nil {
			var app *temporal.ApplicationError
			switch {
			case errors.Is(err, store.ErrNotFound):
				return temporal.NewNonRetryableApplicationError(p.Kind+" "+p.SubjectID+" does not exist", ErrTypeNotFound, err)
			case errors.As(err, &app):
				return err
			}
			return fmt.Errorf("record %s status: %w", p.Kind, err)
		}
		if p.Event != "" {
			var err error
			if wrote, err = st.RecordEvent(ctx, p.Kind, models.OnboardingEvent{SubjectID: p.SubjectID, Seq: p.Seq, Type: p.Event, At: p.At, Details: p.Details}); err != nil {
				return fmt.Errorf("append %s event: %w", p.Kind, err)
			}
		}
		if p.CloseLinks {
			if err := st.CloseLinkTokens(ctx, p.SubjectID, p.At); err != nil {
				return fmt.Errorf("close links of %s: %w", p.SubjectID, err)
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	// Counted once: a retried activity finds its event written already.
	if wrote && endsOnboarding(p.Kind, p.Status) {
		a.metrics().OnboardingEnded(p.Kind, p.Status)
	}
	activity.GetLogger(ctx).Info("Onboarding progress recorded", "kind", p.Kind, "id", p.SubjectID, "status", p.Status, "event", p.Event)
	return nil
}

// setStatus writes an onboarding's new status. An empty Status is a timeline
// event only: the store leaves the status as it is, but still finds the
// onboarding (an event for a missing one is refused).
func setStatus(ctx context.Context, st *store.Store, p Progress) error {
	var err error
	switch p.Kind {
	case KindInvitation:
		err = st.SetInvitationStatus(ctx, p.SubjectID, p.Status, p.RelationshipID)
		if err == nil && p.CustomerEmail != "" {
			err = st.SetInvitationCustomerEmail(ctx, p.SubjectID, p.CustomerEmail)
		}
		if err == nil && p.CustomerTenantID != "" {
			err = st.SetInvitationCustomerTenant(ctx, p.SubjectID, p.CustomerTenantID)
		}
	case KindPartnership:
		err = st.SetPartnershipStatus(ctx, p.SubjectID, p.Status)
	case KindExtension:
		err = st.SetExtensionStatus(ctx, p.SubjectID, p.Status, p.ConsentID, p.RelationshipID)
	case KindEnrollment:
		err = st.SetEnrollmentStatus(ctx, p.SubjectID, p.Status, p.Details["reason"])
	case KindTenantRequest:
		err = st.SetTenantRequestStatus(ctx, p.SubjectID, p.Status, p.Details["reason"], p.CustomerID, p.RelationshipID)
	case KindDelegatedAdmin:
		d := p.DelegatedAdmin
		err = st.UpdateDelegatedAdminAt(ctx, p.SubjectID, p.Status, store.DelegatedAdminUpdate{EndsAt: d.EndsAt, Extensions: d.Extensions,
			AutoExtend: d.AutoExtend, ActivatedAt: d.ActivatedAt, GraphRelationshipID: d.GraphRelationshipID})
	default:
		return temporal.NewNonRetryableApplicationError("unknown onboarding kind "+p.Kind, ErrTypeInvalidInput, nil)
	}
	return err
}

// LinkPlaceholder is replaced in an e-mail body by the personal link.
const LinkPlaceholder = emails.LinkPlaceholder

// Link asks SendEmail to mint a personal link for the message.
type Link struct {
	Purpose   string // models.LinkPurposeInvitation or models.LinkPurposeConsent
	SubjectID string
	ExpiresAt time.Time
	// URL, when set, is a public address put in the link's place instead of
	// a personal link (no token): Microsoft's GDAP approval link.
	URL string `json:",omitempty"`
}

// Email is one message; Key makes it exactly-once. Workflows name its
// Template (an emails.Kind), Locale and Data; SendEmail renders Subject,
// Body (the text part) and HTML from them. An Email without a Template is
// sent as its Subject and Body say (those queued before the templates).
// Both parts carry the {{link}} placeholder, never the link: it is put in
// at delivery.
type Email struct {
	Key      string
	To       string
	Template emails.Kind  `json:",omitempty"`
	Locale   string       `json:",omitempty"`
	Data     *emails.Data `json:",omitempty"`
	Subject  string
	Body     string
	HTML     string `json:",omitempty"`
	Link     *Link
	// Sent is the timeline event to write once the message went out (or is
	// held for the dev mailbox), with the place the workflow reserved for it.
	Sent *Progress `json:",omitempty"`
}

// RenderEmail fills the Email's Subject, Body and HTML from its template.
// It is pure: the same Email always renders the same message.
func RenderEmail(e Email) (Email, error) {
	if e.Template == "" {
		return e, nil
	}
	var d emails.Data
	if e.Data != nil {
		d = *e.Data
	}
	m, err := emails.Render(e.Template, e.Locale, d)
	if err != nil {
		return e, temporal.NewNonRetryableApplicationError("render e-mail "+e.Key+": "+err.Error(), ErrTypeInvalidInput, err)
	}
	e.Subject, e.Body, e.HTML = m.Subject, m.Text, m.HTML
	return e, nil
}

// EmailResult says what became of a message.
type EmailResult struct {
	Status string // sent or held
}

// E-mail error types. EmailRejected is final: the relay refused the message,
// the recipient, the credentials or the TLS (its details are an EmailFailure).
const (
	ErrTypeEmailRejected = "EmailRejected"
	// ErrTypeEmailObsolete: the process closed its links before the e-mail
	// carrying one could be delivered; sending it would only mislead.
	ErrTypeEmailObsolete = "EmailObsolete"
	// ErrTypeNoSecretKey: a link cannot be kept for delivery without ONBOARDING_SECRET_KEY.
	ErrTypeNoSecretKey = "NoSecretKey"
)

// EmailFailure is the details of an EmailRejected error: why, in a word and
// in a sentence a partner or operator can act on. It never holds a secret.
type EmailFailure struct {
	Reason  string `json:"reason"` // mail.Reason…, or "gave_up"
	Code    int    `json:"code,omitempty"`
	Message string `json:"message"`
}

// LastEventSeq reads where a subject's timeline stands, for a workflow run
// that continues the timeline of an earlier run.
func (a *Activities) LastEventSeq(ctx context.Context, subjectID string) (int, error) {
	return a.Store.LastEventSeq(ctx, subjectID)
}

// SendEmail writes the message to the outbox under its key (minting its link
// token in the same transaction), then delivers it unless an earlier attempt
// did. A retry after a crash finds the same row, the same link, and does not
// send twice once delivery was recorded. The outbox keeps the body with its
// placeholder and the link only sealed (ONBOARDING_SECRET_KEY) until delivery.
func (a *Activities) SendEmail(ctx context.Context, e Email) (EmailResult, error) {
	if e.Key == "" || e.To == "" {
		return EmailResult{}, temporal.NewNonRetryableApplicationError("an e-mail needs a key and a recipient", ErrTypeInvalidInput, nil)
	}
	if activity.IsActivity(ctx) {
		defer heartbeatWhileRunning(ctx, beatEvery, func() { activity.RecordHeartbeat(ctx) })()
	}
	e, err := RenderEmail(e)
	if err != nil {
		return EmailResult{}, err
	}
	row := models.OutboxMessage{Key: e.Key, ToAddr: e.To, Subject: e.Subject, Body: e.Body, HTMLBody: e.HTML}
	var token *models.LinkToken
	if e.Link != nil {
		link := e.Link.URL
		if link == "" {
			raw, hash := secret.New("")
			token = &models.LinkToken{Hash: hash, Purpose: e.Link.Purpose, SubjectID: e.Link.SubjectID, ExpiresAt: e.Link.ExpiresAt.UTC()}
			link = a.linkURL(e.Link.Purpose, raw)
		}
		row.LinkSubjectID = e.Link.SubjectID
		switch sealed, err := a.Secrets.Seal(link, e.Key); {
		case err == nil:
			row.SealedLink = &sealed
		case a.Mailer != nil:
			return EmailResult{}, temporal.NewNonRetryableApplicationError("set ONBOARDING_SECRET_KEY: personal links are kept sealed until their e-mail is delivered", ErrTypeNoSecretKey, nil)
		}
		// Without a key and without SMTP the held message keeps no link at all.
	}
	msg, err := a.Store.QueueMessage(ctx, row, token)
	if err != nil {
		return EmailResult{}, fmt.Errorf("queue e-mail %s: %w", e.Key, err)
	}
	logger := activity.GetLogger(ctx)
	switch {
	case msg.Status == models.OutboxSent || msg.Status == models.OutboxHeld:
		return EmailResult{Status: msg.Status}, a.recordSent(ctx, e)
	case msg.Status == models.OutboxFailed:
		return EmailResult{}, rejected(EmailFailure{Reason: "failed", Message: msg.LastError})
	case a.Mailer == nil:
		if err := a.settleSent(ctx, e, models.OutboxHeld); err != nil {
			return EmailResult{}, err
		}
		a.metrics().Email(models.OutboxHeld)
		logger.Info("E-mail kept in the outbox (no SMTP_URL): read it on /dev/mailbox", "key", msg.Key)
		return EmailResult{Status: models.OutboxHeld}, nil
	}
	text, html, err := ExpandLink(a.Secrets, msg)
	if err != nil {
		return EmailResult{}, err
	}
	err = a.Mailer.Send(ctx, mail.Message{Key: msg.Key, To: msg.ToAddr, Subject: msg.Subject, Text: text, HTML: html})
	if perm, ok := mail.IsPermanent(err); ok {
		a.metrics().Email(models.OutboxFailed)
		if markErr := a.Store.MarkMessage(ctx, msg.Key, models.OutboxFailed, perm.Error()); markErr != nil {
			return EmailResult{}, fmt.Errorf("record the refused e-mail %s: %w", msg.Key, markErr)
		}
		logger.Warn("E-mail refused for good", "key", msg.Key, "reason", perm.Reason, "error", perm.Error())
		return EmailResult{}, rejected(EmailFailure{Reason: perm.Reason, Code: perm.Code, Message: perm.Error()})
	}
	if err != nil {
		a.metrics().Email("deferred")
		if markErr := a.Store.MarkMessage(ctx, msg.Key, models.OutboxPending, err.Error()); markErr != nil {
			logger.Warn("Could not record the failed delivery", "key", msg.Key, "error", markErr)
		}
		return EmailResult{}, fmt.Errorf("deliver e-mail %s: %w", msg.Key, err)
	}
	// The relay has it: its record must land even if the send is cancelled now
	// (a heartbeat delivers the cancel of an ended process), or the outbox
	// would keep it pending and the timeline would miss its "sent".
	settleCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
	defer cancel()
	if err := a.settleSent(settleCtx, e, models.OutboxSent); err != nil {
		return EmailResult{}, err
	}
	a.metrics().Email(models.OutboxSent)
	logger.Info("E-mail sent", "key", msg.Key)
	return EmailResult{Status: models.OutboxSent}, nil
}

// EmailHeartbeat is how often a send tells Temporal its worker is alive. The
// workflows' e-mail options time a send out after a few missed beats, so an
// e-mail whose worker was killed is retried within seconds instead of at the
// end of its two-minute start-to-close limit (a relay may take that long).
const EmailHeartbeat = 5 * time.Second

// beatEvery is EmailHeartbeat, shortened by a test.
var beatEvery = EmailHeartbeat

// heartbeatWhileRunning calls beat every interval until the returned stop is
// called or ctx ends. stop returns once no beat can come any more.
func heartbeatWhileRunning(ctx context.Context, every time.Duration, beat func()) (stop func()) {
	done, finished := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(finished)
		t := time.NewTicker(every)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-ctx.Done():
				return
			case <-t.C:
				beat()
			}
		}
	}()
	return func() {
		close(done)
		<-finished
	}
}

// settleSent records, in one transaction, that the message went out (or is
// held) and its reserved "sent" event, so one is never written without the
// other. A failure is retried here, briefly, before the activity gives up:
// the activity's own retry comes after 10 s, and by then the workflow may
// have stopped waiting for this e-mail (the customer answered it), which
// would leave the timeline without its "sent" while the message went out.
func (a *Activities) settleSent(ctx context.Context, e Email, status string) error {
	var err error
	for attempt, wait := 0, 100*time.Millisecond; attempt < 5; attempt, wait = attempt+1, wait*2 {
		err = a.Store.InTransaction(ctx, func(tx *store.Store) error {
			if err := tx.MarkMessage(ctx, e.Key, status, ""); err != nil {
				return err
			}
			return recordSentEvent(ctx, tx, e)
		})
		if err == nil || ctx.Err() != nil {
			break
		}
		activity.GetLogger(ctx).Warn("Could not record the e-mail's delivery yet; trying again", "key", e.Key, "error", err)
		select {
		case <-ctx.Done():
		case <-time.After(wait):
		}
	}
	if err != nil {
		return fmt.Errorf("record delivery of %s: %w", e.Key, err)
	}
	return nil
}

// recordSent writes the e-mail's "sent" event in the place the workflow
// reserved for it; a retry, or the workflow recording it too, finds it written.
func (a *Activities) recordSent(ctx context.Context, e Email) error {
	return recordSentEvent(ctx, a.Store, e)
}

func recordSentEvent(ctx context.Context, s interface {
	RecordEvent(ctx context.Context, kind string, e models.OnboardingEvent) (bool, error)
}, e Email) error {
	if e.Sent == nil {
		return nil
	}
	p := *e.Sent
	if _, err := s.RecordEvent(ctx, p.Kind, models.OnboardingEvent{SubjectID: p.SubjectID, Seq: p.Seq, Type: p.Event, At: p.At, Details: p.Details}); err != nil {
		return fmt.Errorf("record that e-mail %s went out: %w", e.Key, err)
	}
	return nil
}

func rejected(f EmailFailure) error {
	return temporal.NewNonRetryableApplicationError(f.Message, ErrTypeEmailRejected, nil, f)
}

// ExpandLink returns the text and HTML of a message with its personal link in
// place of the placeholder, opening the sealed link. A message whose link was
// closed (its process ended) cannot be delivered.
func ExpandLink(keys *secret.Keyring, m models.OutboxMessage) (textPart, htmlPart string, err error) {
	if m.LinkSubjectID == "" {
		return m.Body, m.HTMLBody, nil
	}
	if m.SealedLink == nil {
		return "", "", temporal.NewNonRetryableApplicationError("the personal link was closed before its e-mail could be delivered", ErrTypeEmailObsolete, nil)
	}
	link, err := keys.Open(*m.SealedLink, m.Key)
	if err != nil {
		return "", "", temporal.NewNonRetryableApplicationError("the e-mail's personal link cannot be opened: "+err.Error()+
			" (was ONBOARDING_SECRET_KEY changed without keeping the old one in ONBOARDING_SECRET_KEY_OLD?)", ErrTypeNoSecretKey, nil)
	}
	return strings.ReplaceAll(m.Body, LinkPlaceholder, link), strings.ReplaceAll(m.HTMLBody, LinkPlaceholder, html.EscapeString(link)), nil
}

// GiveUpEmail marks an e-mail failed after MAIL_GIVE_UP and erases its sealed
// link. Delivered says it went out after all (a last attempt won the race).
func (a *Activities) GiveUpEmail(ctx context.Context, key string) (delivered bool, err error) {
	failed, err := a.Store.GiveUpMessage(ctx, key, "given up: not delivered within MAIL_GIVE_UP")
	if err != nil {
		return false, err
	}
	if failed {
		a.metrics().Email(models.OutboxFailed)
		return false, nil
	}
	m, err := a.Store.Message(ctx, key)
	if errors.Is(err, store.ErrNotFound) {
		return false, nil
	}
	return m.Status == models.OutboxSent, err
}

func (a *Activities) linkURL(purpose, token string) string {
	prefix := "/i/"
	if purpose == models.LinkPurposeConsent {
		prefix = "/c/"
	}
	return a.PublicBaseURL + prefix + token
}

// endsOnboarding tells whether status is final for an onboarding the
// metrics count as ended. A delegated admin grant ends on its own clock: it
// is not an onboarding that waited on a party.
func endsOnboarding(kind, status string) bool {
	l, ok := models.LifecycleOf(kind)
	return ok && l.Waiting != "" && l.IsFinal(status)
}
