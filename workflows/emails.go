package workflows

import (
	"fmt"
	"strings"

	"github.com/csp-onboarding/onboarding/activities"
	"github.com/csp-onboarding/onboarding/models"
)

// The texts of the e-mails. Plain text only; the personal link replaces
// {{link}} inside the activity, so it never enters workflow history.

func invitationEmail(in InvitationInput, key, subjectPrefix string, st *InvitationStatus) activities.Email {
	var b strings.Builder
	printf(&b, "Hello %s,\n\n", nonEmpty(in.CustomerCompany, "there"))
	printf(&b, "%s invites you to a reseller relationship with %s and its indirect provider %s.\n",
		in.Reseller.Name, in.Reseller.Name, in.Provider.Name)
	if in.DelegatedAdmin != nil {
		printf(&b, "They also ask for delegated admin access (%s) for %d days.\n",
			strings.Join(in.DelegatedAdmin.Roles, ", "), in.DelegatedAdmin.DurationDays)
	}
	b.WriteString("\n")
	b.WriteString(MessageWithLink(in.Message))
	printf(&b, "\n\nThis link is personal and works until %s (UTC).\n", st.ExpiresAt.Format("2 January 2006 15:04"))
	b.WriteString("Opening it changes nothing: you choose Accept or Decline on the page.\n")
	return activities.Email{
		Key:     key,
		To:      in.CustomerEmail,
		Subject: subjectPrefix + in.Reseller.Name + " invites you to a reseller relationship",
		Body:    b.String(),
		Link:    &activities.Link{Purpose: models.LinkPurposeInvitation, SubjectID: in.InvitationID, ExpiresAt: st.ExpiresAt},
	}
}

// MessageWithLink places the personal link in the partner's text: at {{link}}
// if the text has it, else after the text.
func MessageWithLink(message string) string {
	message = strings.TrimSpace(message)
	if message == "" {
		return "Review the invitation: " + activities.LinkPlaceholder
	}
	if strings.Contains(message, activities.LinkPlaceholder) {
		return message
	}
	return message + "\n\n" + activities.LinkPlaceholder
}

func partnerNotice(key string, to Party, subject, body string) activities.Email {
	return activities.Email{Key: key, To: to.Email, Subject: subject, Body: "Hello " + to.Name + ",\n\n" + body + "\n"}
}

func nonEmpty(s, fallback string) string {
	if strings.TrimSpace(s) == "" {
		return fallback
	}
	return s
}

// printf appends formatted text. fmt.Fprintf would do the same, but it writes
// through an io.Writer, which workflowcheck cannot prove deterministic.
func printf(b *strings.Builder, format string, args ...any) {
	b.WriteString(fmt.Sprintf(format, args...))
}
