// Package emails renders every e-mail the workflows send from the embedded
// templates in templates/: per message kind a text/template file (its subject
// and text part) and an html/template file (its HTML part). Customer-facing
// kinds are in the customer's language (package i18n); partner-facing ones
// are in English.
//
// Rendering is a pure function of (kind, locale, data): the SendEmail
// activity calls it, so workflow code never reads a file or runs a template.
// The personal link stays the placeholder {{link}} in both parts; delivery
// puts the real link in its place.
package emails

import (
	"bytes"
	"embed"
	"fmt"
	htmltemplate "html/template"
	"strings"
	texttemplate "text/template"
	"time"
	"unicode"

	"github.com/csp-onboarding/onboarding/i18n"
)

// LinkPlaceholder is where the personal link goes (activities.LinkPlaceholder).
const LinkPlaceholder = "{{link}}"

// Kind names one message: its template files are templates/<kind>.txt and .html.
type Kind string

// The message kinds.
const (
	Invitation            Kind = "invitation"              // to the customer: invitation, reminder, resend
	ConsentRequest        Kind = "consent_request"         // to the customer: consent request and reminders
	PartnershipInvitation Kind = "partnership_invitation"  // to the reseller
	PartnershipAccepted   Kind = "partnership_accepted"    // to the provider
	EnrollmentReview      Kind = "enrollment_review"       // to the operators: review, reminder, escalation
	EnrollmentDecision    Kind = "enrollment_decision"     // to the reseller
	TenantRequest         Kind = "tenant_request"          // to the provider, and its reminders
	TenantRequestExpired  Kind = "tenant_request_expired"  // to the reseller
	TenantRequestRejected Kind = "tenant_request_rejected" // to the reseller
	RelationshipCreated   Kind = "relationship_created"    // to both partners
	DelegatedAdminNotice  Kind = "delegated_admin_notice"  // to the reseller, days before the end
	DelegatedAdminExpired Kind = "delegated_admin_expired" // to the reseller
	// DelegatedAdminApproval: to the customer, Microsoft's approval link
	// (the link's place holds it) and its reminders.
	DelegatedAdminApproval Kind = "delegated_admin_approval"
	// ResellerRelationshipAcceptance: to the customer, Microsoft's link to
	// accept the reseller relationship (the link's place holds it), reminders.
	ResellerRelationshipAcceptance Kind = "reseller_relationship_acceptance"
	// PartnerCenterTask: to the reseller, the steps of an extension in
	// Partner Center (the link's place holds Partner Center's address).
	PartnerCenterTask Kind = "partner_center_task"
)

// Kinds are all message kinds; CustomerKinds are those in the customer's language.
var (
	Kinds         = []Kind{Invitation, ConsentRequest, PartnershipInvitation, PartnershipAccepted, EnrollmentReview, EnrollmentDecision, TenantRequest, TenantRequestExpired, TenantRequestRejected, RelationshipCreated, DelegatedAdminNotice, DelegatedAdminExpired, DelegatedAdminApproval, ResellerRelationshipAcceptance, PartnerCenterTask}
	CustomerKinds = []Kind{Invitation, ConsentRequest, DelegatedAdminApproval, ResellerRelationshipAcceptance}
)

// Enrollment review stages.
const (
	StageReview     = "review"
	StageReminder   = "reminder"
	StageEscalation = "escalation"
)

// Data is what a template may show; each kind uses some of it. It travels
// in the SendEmail activity's input, so it holds plain values only.
type Data struct {
	Recipient    string    `json:",omitempty"` // name in the greeting: the customer's company or the partner
	Reminder     bool      `json:",omitempty"` // a reminder of an earlier e-mail
	Reseller     string    `json:",omitempty"`
	Provider     string    `json:",omitempty"`
	Partner      string    `json:",omitempty"` // the enrolling partner
	PartnerID    string    `json:",omitempty"`
	Customer     string    `json:",omitempty"` // the customer's company name, or its ID when it has none
	CustomerID   string    `json:",omitempty"`
	Message      string    `json:",omitempty"` // the partner's own text, sent as written
	ExpiresAt    time.Time `json:",omitempty"` // when the link or the request ends
	EndsAt       time.Time `json:",omitempty"` // when delegated admin access ends
	Roles        []string  `json:",omitempty"`
	DurationDays int       `json:",omitempty"`
	AutoExtend   bool      `json:",omitempty"`
	ExtendDays   int       `json:",omitempty"` // an auto-extension's length
	Days         int       `json:",omitempty"` // days left before EndsAt
	BusinessDays int       `json:",omitempty"` // an enrollment review's escalation, in business days
	ID           string    `json:",omitempty"` // the partnership, request or relationship
	Domain       string    `json:",omitempty"`
	Reason       string    `json:",omitempty"`
	Stage        string    `json:",omitempty"` // enrollment review: StageReview, StageReminder or StageEscalation
	Approved     bool      `json:",omitempty"`
}

// Message is a rendered e-mail (mail.Message's Subject, Text and HTML).
type Message struct {
	Subject string
	Text    string
	HTML    string
}

//go:embed templates/*.txt templates/*.html
var files embed.FS

type kindTemplates struct {
	text *texttemplate.Template // defines "subject" and "text"
	html *htmltemplate.Template // layout.html with the kind's "body"
}

var templates = map[Kind]kindTemplates{}

func init() {
	for _, k := range Kinds {
		name := string(k)
		text := texttemplate.Must(texttemplate.New(name).Funcs(textFuncs(i18n.For(i18n.Default))).ParseFS(files, "templates/"+name+".txt"))
		html := htmltemplate.Must(htmltemplate.New(name).Funcs(htmlFuncs(i18n.For(i18n.Default))).ParseFS(files, "templates/layout.html", "templates/"+name+".html"))
		templates[k] = kindTemplates{text: text, html: html}
	}
}

// IsCustomerKind reports whether a kind is written in the customer's language.
func IsCustomerKind(k Kind) bool {
	for _, c := range CustomerKinds {
		if c == k {
			return true
		}
	}
	return false
}

// Render builds the e-mail of a kind. Customer-facing kinds are in locale
// (an unknown or empty one gets English); the others are English.
func Render(kind Kind, locale string, d Data) (Message, error) {
	tt, ok := templates[kind]
	if !ok {
		return Message{}, fmt.Errorf("no e-mail template %q", kind)
	}
	if !IsCustomerKind(kind) {
		locale = i18n.Default
	}
	z := i18n.For(locale)
	text, err := tt.text.Clone()
	if err != nil {
		return Message{}, err
	}
	text.Funcs(textFuncs(z))
	var subject, body bytes.Buffer
	if err := text.ExecuteTemplate(&subject, "subject", d); err != nil {
		return Message{}, fmt.Errorf("e-mail %s (%s) subject: %w", kind, z.Lang(), err)
	}
	if err := text.ExecuteTemplate(&body, "text", d); err != nil {
		return Message{}, fmt.Errorf("e-mail %s (%s) text: %w", kind, z.Lang(), err)
	}
	html, err := tt.html.Clone()
	if err != nil {
		return Message{}, err
	}
	html.Funcs(htmlFuncs(z))
	m := Message{Subject: headerLine(subject.String()), Text: cleanBody(body.String())}
	var out bytes.Buffer
	if err := html.ExecuteTemplate(&out, "layout", htmlView{Data: d, Subject: m.Subject, Lang: z.Lang()}); err != nil {
		return Message{}, fmt.Errorf("e-mail %s (%s) html: %w", kind, z.Lang(), err)
	}
	m.HTML = cleanBody(out.String())
	return m, nil
}

type htmlView struct {
	Data
	Subject string
	Lang    string
}

// commonFuncs are the template functions both parts share; z translates.
func commonFuncs(z *i18n.Localizer) map[string]any {
	return map[string]any{
		// t "key" "Name" value …: the message with its placeholders filled.
		"t": func(id string, kv ...any) (string, error) {
			if len(kv)%2 != 0 {
				return "", fmt.Errorf("t %s: odd number of arguments", id)
			}
			data := map[string]any{}
			for i := 0; i < len(kv); i += 2 {
				data[fmt.Sprint(kv[i])] = kv[i+1]
			}
			return z.T(id, data)
		},
		"days":     func(n int) (string, error) { return z.N("days", n) },
		"date":     z.Date,
		"datetime": z.DateTime,
		"list":     z.List,
		"link":     func() string { return LinkPlaceholder },
		"hasLink":  func(s string) bool { return strings.Contains(s, LinkPlaceholder) },
		"trim":     strings.TrimSpace,
		// English dates for the partner-facing kinds.
		"enDate": func(t time.Time) string { return t.UTC().Format("2 January 2006") },
		"enDateTime": func(t time.Time) string {
			return t.UTC().Format("2 January 2006 15:04") + " UTC"
		},
		"enDay": func(t time.Time) string { return t.UTC().Format("Monday 2 January 2006") },
		"plural": func(n int, one, other string) string {
			if n == 1 {
				return one
			}
			return other
		},
	}
}

func textFuncs(z *i18n.Localizer) texttemplate.FuncMap { return commonFuncs(z) }

func htmlFuncs(z *i18n.Localizer) htmltemplate.FuncMap {
	f := htmltemplate.FuncMap(commonFuncs(z))
	// href is the link attribute, written whole: html/template would
	// percent-encode the braces of {{link}} inside a URL attribute.
	f["href"] = func() htmltemplate.HTMLAttr { return htmltemplate.HTMLAttr(`href="` + LinkPlaceholder + `"`) }
	f["lang"] = func() string { return z.Lang() }
	return f
}

// headerLine makes a subject one line: control characters (CR, LF, tabs,
// NUL…) become spaces, runs of spaces one. No-break spaces stay (French
// puts one before a colon).
func headerLine(s string) string {
	s = strings.Map(func(r rune) rune {
		if unicode.IsControl(r) {
			return ' '
		}
		return r
	}, s)
	return strings.Join(strings.FieldsFunc(s, func(r rune) bool { return r == ' ' }), " ")
}

// cleanBody drops control characters other than newlines and tabs (a bare
// CR would end a line for some mail software and not others) and trims
// trailing spaces and blank runs left by the templates' conditionals.
func cleanBody(s string) string {
	s = strings.ReplaceAll(s, "\r\n", "\n")
	s = strings.Map(func(r rune) rune {
		if r == '\n' || r == '\t' {
			return r
		}
		if unicode.IsControl(r) {
			return -1
		}
		return r
	}, s)
	lines := strings.Split(s, "\n")
	out := make([]string, 0, len(lines))
	blank := 0
	for _, l := range lines {
		l = strings.TrimRight(l, " \t")
		if l == "" {
			blank++
			if blank > 1 {
				continue
			}
		} else {
			blank = 0
		}
		out = append(out, l)
	}
	return strings.TrimSpace(strings.Join(out, "\n")) + "\n"
}
