package emails

import (
	"flag"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/csp-onboarding/onboarding/i18n"
)

var update = flag.Bool("update", false, "write every template in every language to test-artifacts/emails for preview")

var expires = time.Date(2026, 12, 15, 14, 30, 0, 0, time.UTC)

// sample is data for every kind: each template takes what it uses.
func sample(kind Kind) Data {
	d := Data{
		Recipient: "Northwind Traders", Reseller: "Fabrikam", Provider: "Contoso Distribution", Partner: "Fabrikam", PartnerID: "p-1",
		Customer: "Northwind Traders", CustomerID: "c-1", Message: "Hello Northwind,\nas agreed, please accept here: {{link}}\nAnn",
		ExpiresAt: expires, EndsAt: expires, Roles: []string{"Helpdesk Agent", "User Administrator"}, DurationDays: 90,
		AutoExtend: true, ExtendDays: 180, Days: 7, BusinessDays: 5, ID: "x-1", Domain: "northwind.example",
		Reason: "the domain is not verified", Stage: StageReview,
	}
	if kind == EnrollmentDecision {
		d.Reason = "tax ID missing"
	}
	return d
}

// leftovers are signs of a template gone wrong: Go's zero output, a catalogue
// key shown instead of its text, an unfilled go-i18n placeholder.
var leftovers = regexp.MustCompile(`<no value>|\b(email|invitation|consent|page|label|result|button|billto|month)_[a-z_0-9]+\b|\{\{\.`)

// TestEveryTemplateInEveryLanguage renders each kind in each language (the
// partner kinds come out in English whatever is asked) and checks the frame
// every e-mail must have. With -update it writes the previews.
func TestEveryTemplateInEveryLanguage(t *testing.T) {
	dir := filepath.Join("..", "test-artifacts", "emails")
	if *update {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	for _, kind := range Kinds {
		for _, lang := range i18n.Supported {
			for _, reminder := range []bool{false, true} {
				d := sample(kind)
				d.Reminder = reminder
				m, err := Render(kind, lang, d)
				if err != nil {
					t.Fatalf("%s %s: %v", kind, lang, err)
				}
				wantLang := lang
				if !IsCustomerKind(kind) {
					wantLang = "en"
				}
				if m.Subject == "" || strings.ContainsAny(m.Subject, "\r\n") {
					t.Errorf("%s %s: subject %q", kind, lang, m.Subject)
				}
				for part, s := range map[string]string{"subject": m.Subject, "text": m.Text, "html": m.HTML} {
					if loc := leftovers.FindString(s); loc != "" {
						t.Errorf("%s %s %s: %q left in\n%s", kind, lang, part, loc, s)
					}
				}
				if !strings.Contains(m.HTML, `<html lang="`+wantLang+`">`) {
					t.Errorf("%s %s: the HTML part is not marked %s", kind, lang, wantLang)
				}
				for _, banned := range []string{"<script", "<img", "<style", "<link", "src=", "http://", "https://", "javascript:"} {
					if strings.Contains(strings.ToLower(m.HTML), banned) {
						t.Errorf("%s %s: the HTML part has %s", kind, lang, banned)
					}
				}
				if !strings.Contains(m.HTML, "<h1") {
					t.Errorf("%s %s: no heading", kind, lang)
				}
				if IsCustomerKind(kind) {
					if !strings.Contains(m.Text, LinkPlaceholder) {
						t.Errorf("%s %s: the text part lacks the link", kind, lang)
					}
					if strings.Count(m.HTML, `href="{{link}}"`) != 2 {
						t.Errorf("%s %s: the link must be a button and a plain address, each href=\"{{link}}\":\n%s", kind, lang, m.HTML)
					}
					if !strings.Contains(m.HTML, `>{{link}}</a>`) {
						t.Errorf("%s %s: the link is not shown as text", kind, lang)
					}
					if strings.Contains(m.HTML, "%7b") || strings.Contains(m.HTML, "%7B") {
						t.Errorf("%s %s: html/template encoded the placeholder", kind, lang)
					}
				}
				if *update && !reminder && (IsCustomerKind(kind) || lang == "en") {
					base := filepath.Join(dir, string(kind)+"."+lang)
					_ = os.WriteFile(base+".html", []byte(m.HTML), 0o644)
					_ = os.WriteFile(base+".txt", []byte("Subject: "+m.Subject+"\n\n"+m.Text), 0o644)
				}
			}
		}
	}
}

func TestInvitationInGerman(t *testing.T) {
	m, err := Render(Invitation, "de", sample(Invitation))
	if err != nil {
		t.Fatal(err)
	}
	if m.Subject != "Fabrikam lädt Sie zu einer Reseller-Beziehung ein" {
		t.Errorf("subject %q", m.Subject)
	}
	want := `Guten Tag Northwind Traders,

Fabrikam lädt Sie zu einer Reseller-Beziehung im Rahmen des Microsoft Cloud Solution Provider-Programms mit Fabrikam und dessen indirektem Anbieter Contoso Distribution ein.
Fabrikam bittet außerdem um delegierten Administratorzugriff mit den Rollen Helpdesk Agent und User Administrator für 90 Tage. Dieser Zugriff verlängert sich automatisch um jeweils 180 Tage, sofern er nicht beendet wird.

Nachricht von Fabrikam:

Hello Northwind,
as agreed, please accept here: {{link}}
Ann

Dieser Link ist persönlich und gilt bis zum 15. Dezember 2026 um 14:30 Uhr (UTC).
Das Öffnen des Links ändert nichts: Sie entscheiden auf der Seite, ob Sie annehmen oder ablehnen.

--
Sie erhalten diese E-Mail, weil Fabrikam uns Ihre Adresse für diese Anfrage genannt hat. Falls Sie sie nicht erwartet haben, können Sie sie ignorieren: Ohne Ihre Antwort geschieht nichts.
`
	if m.Text != want {
		t.Errorf("text part:\n%s\nwant:\n%s", m.Text, want)
	}
	for _, s := range []string{`<html lang="de">`, `>Einladung ansehen</a>`, "Falls die Schaltfläche nicht funktioniert", "15. Dezember 2026 um 14:30 Uhr (UTC)"} {
		if !strings.Contains(m.HTML, s) {
			t.Errorf("HTML part lacks %q", s)
		}
	}
}

func TestInvitationInFrench(t *testing.T) {
	d := sample(Invitation)
	d.Reminder, d.Message, d.Roles = true, "Merci de confirmer.", nil
	m, err := Render(Invitation, "fr", d)
	if err != nil {
		t.Fatal(err)
	}
	if m.Subject != "Rappel\u00a0: Fabrikam vous invite à établir une relation de revendeur" {
		t.Errorf("subject %q", m.Subject)
	}
	for _, s := range []string{
		"Bonjour Northwind Traders,",
		"Petit rappel\u00a0: Fabrikam attend toujours votre réponse.",
		"Fabrikam vous invite à établir une relation de revendeur Microsoft Cloud Solution Provider avec Fabrikam et son fournisseur indirect Contoso Distribution.",
		"Merci de confirmer.\n\nConsultez l’invitation et répondez ici\u00a0: {{link}}",
		"valable jusqu’au 15 décembre 2026 à 14:30 (UTC).",
	} {
		if !strings.Contains(m.Text, s) {
			t.Errorf("text part lacks %q:\n%s", s, m.Text)
		}
	}
	if strings.Contains(m.Text, "administrateur") {
		t.Error("no delegated admin was asked")
	}
	for _, s := range []string{`<html lang="fr">`, `>Consulter l’invitation</a>`, "Message de Fabrikam"} {
		if !strings.Contains(m.HTML, s) {
			t.Errorf("HTML part lacks %q", s)
		}
	}
}

// TestPartnerTextIsEscapedInHTML: names, messages and reasons are the
// partner's; in the HTML part they are text, never markup. The text part
// carries them as written.
func TestPartnerTextIsEscapedInHTML(t *testing.T) {
	for _, kind := range Kinds {
		d := sample(kind)
		d.Reseller, d.Provider, d.Customer, d.Recipient = `Fab<b>rikam</b> & "Co"`, `<i>Contoso</i>`, `<u>North</u>`, `<s>Ann</s>`
		d.Message, d.Reason = `<script>alert(1)</script> {{link}}`, `<img src=x onerror=alert(1)>`
		m, err := Render(kind, "en", d)
		if err != nil {
			t.Fatal(err)
		}
		for _, raw := range []string{"<b>", "<i>", "<u>", "<s>", "<script>", "<img"} {
			if strings.Contains(m.HTML, raw) {
				t.Errorf("%s: %s reached the HTML part unescaped", kind, raw)
			}
		}
	}
	m, _ := Render(Invitation, "en", Data{Reseller: "A&B", Message: "<b>hi</b> {{link}}", ExpiresAt: expires})
	if !strings.Contains(m.HTML, "&lt;b&gt;hi&lt;/b&gt; {{link}}") || !strings.Contains(m.HTML, "A&amp;B invites you") {
		t.Errorf("escaped message or name missing:\n%s", m.HTML)
	}
	if !strings.Contains(m.Text, "<b>hi</b> {{link}}") {
		t.Errorf("the text part carries the message as written:\n%s", m.Text)
	}
}

// TestTheLinkGoesWhereThePartnerPutIt: at {{link}} in the message, else after it.
func TestTheLinkGoesWhereThePartnerPutIt(t *testing.T) {
	with, _ := Render(Invitation, "en", Data{Reseller: "F", Message: "Accept: {{link}} thanks", ExpiresAt: expires})
	if strings.Count(with.Text, LinkPlaceholder) != 1 || !strings.Contains(with.Text, "Accept: {{link}} thanks") {
		t.Errorf("the link belongs in the message only:\n%s", with.Text)
	}
	without, _ := Render(Invitation, "en", Data{Reseller: "F", Message: "Please accept.", ExpiresAt: expires})
	if !strings.Contains(without.Text, "Please accept.\n\nReview the invitation and answer here: {{link}}") {
		t.Errorf("the link follows the message:\n%s", without.Text)
	}
	none, _ := Render(Invitation, "en", Data{Reseller: "F", ExpiresAt: expires})
	if !strings.Contains(none.Text, "Review the invitation and answer here: {{link}}") || strings.Contains(none.Text, "Message from") {
		t.Errorf("no message, just the link:\n%s", none.Text)
	}
}

// TestNumbersComeFromTheData: waits and lengths are the configured values,
// not fixed in the texts.
func TestNumbersComeFromTheData(t *testing.T) {
	d := sample(EnrollmentReview)
	d.Stage, d.BusinessDays = StageEscalation, 3
	m, _ := Render(EnrollmentReview, "en", d)
	if m.Subject != "Escalation: enrollment waiting 3 business days: Fabrikam" || !strings.Contains(m.Text, "(3 business days)") {
		t.Errorf("escalation: %q\n%s", m.Subject, m.Text)
	}
	d = sample(DelegatedAdminNotice)
	d.ExtendDays, d.Days = 90, 1
	m, _ = Render(DelegatedAdminNotice, "en", d)
	if m.Subject != "Delegated admin access ends in 1 day" || !strings.Contains(m.Text, "extended automatically by 90 days") {
		t.Errorf("notice: %q\n%s", m.Subject, m.Text)
	}
	d = sample(Invitation)
	d.ExtendDays, d.DurationDays = 30, 1
	m, _ = Render(Invitation, "nl", d)
	if !strings.Contains(m.Text, "voor 1 dag.") || !strings.Contains(m.Text, "met 30 dagen verlengd") {
		t.Errorf("invitation:\n%s", m.Text)
	}
}

// TestControlCharactersNeverReachAMessage: a name with CR LF cannot add a
// header, and a bare CR or NUL never reaches a body.
func TestControlCharactersNeverReachAMessage(t *testing.T) {
	m, err := Render(Invitation, "en", Data{Reseller: "Fab\r\nBcc: victim@example.com\x00", Message: "a\rb\x07c", ExpiresAt: expires})
	if err != nil {
		t.Fatal(err)
	}
	if strings.ContainsAny(m.Subject, "\r\n\x00") || m.Subject != "Fab Bcc: victim@example.com invites you to a reseller relationship" {
		t.Errorf("subject %q", m.Subject)
	}
	for _, s := range []string{m.Text, m.HTML} {
		if strings.ContainsAny(s, "\r\x00\x07") {
			t.Errorf("a control character survived: %q", s)
		}
	}
}

func TestUnknownKind(t *testing.T) {
	if _, err := Render("no_such_kind", "en", Data{}); err == nil {
		t.Error("an unknown kind must fail")
	}
}
