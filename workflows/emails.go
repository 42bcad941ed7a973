package workflows

import (
	"strings"

	"github.com/csp-onboarding/onboarding/activities"
	"github.com/csp-onboarding/onboarding/emails"
	"github.com/csp-onboarding/onboarding/microsoft/roles"
	"github.com/csp-onboarding/onboarding/models"
)

// The e-mails name their template (emails.Kind), language and data; the
// SendEmail activity renders them (package emails), so no template runs in
// workflow code. The personal link stays {{link}} until delivery, so it never
// enters workflow history.

func invitationEmail(in InvitationInput, key string, reminder bool, st *InvitationStatus) activities.Email {
	d := &emails.Data{
		Recipient: in.CustomerCompany, Reminder: reminder, Reseller: in.Reseller.Name, Provider: in.Provider.Name,
		Message: in.Message, ExpiresAt: st.ExpiresAt,
	}
	if da := in.DelegatedAdmin; da != nil {
		d.Roles, d.DurationDays, d.AutoExtend, d.ExtendDays = roles.Names(da.Roles), da.DurationDays, da.AutoExtend, autoExtendDays()
	}
	return activities.Email{
		Key: key, To: in.CustomerEmail, Template: emails.Invitation, Locale: in.Locale, Data: d,
		Link: &activities.Link{Purpose: models.LinkPurposeInvitation, SubjectID: in.InvitationID, ExpiresAt: st.ExpiresAt},
	}
}

// autoExtendDays is one delegated admin auto-extension, in days.
func autoExtendDays() int { return int(models.AutoExtendPeriod.Hours() / 24) }

// partnerNotice is an English e-mail to a partner (or the operators).
func partnerNotice(key string, to Party, kind emails.Kind, d emails.Data) activities.Email {
	d.Recipient = to.Name
	return activities.Email{Key: key, To: to.Email, Template: kind, Data: &d}
}

func nonEmpty(s, fallback string) string {
	if strings.TrimSpace(s) == "" {
		return fallback
	}
	return s
}
