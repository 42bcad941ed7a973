// Package i18n holds the customer's languages: the message catalogues
// (active.<lang>.toml, embedded) and the lookups the e-mails and the customer
// pages use. go-i18n reads the catalogues; golang.org/x/text/language matches
// an Accept-Language header to the languages we have.
package i18n

import (
	"embed"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/BurntSushi/toml"
	goi18n "github.com/nicksnyder/go-i18n/v2/i18n"
	"golang.org/x/text/language"
)

// Default is the language of a customer whose partner chose none.
const Default = "en"

// Supported are the languages we have a catalogue for, Default first. Keep in
// step with the locale enum in api/openapi.yaml.
var Supported = []string{"en", "de", "fr", "es", "nl"}

//go:embed active.*.toml
var catalogues embed.FS

var (
	bundle  *goi18n.Bundle
	matcher language.Matcher
)

func init() {
	bundle = goi18n.NewBundle(language.English)
	bundle.RegisterUnmarshalFunc("toml", toml.Unmarshal)
	tags := make([]language.Tag, 0, len(Supported))
	for _, l := range Supported {
		if _, err := bundle.LoadMessageFileFS(catalogues, "active."+l+".toml"); err != nil {
			panic(fmt.Sprintf("i18n: catalogue %s: %v", l, err))
		}
		tags = append(tags, language.MustParse(l))
	}
	matcher = language.NewMatcher(tags)
}

// Valid reports whether locale is one of Supported (exactly, lower case).
func Valid(locale string) bool {
	for _, l := range Supported {
		if l == locale {
			return true
		}
	}
	return false
}

// Choose is the first valid locale of the candidates (the onboarding's own,
// then the partner's), else Default.
func Choose(candidates ...string) string {
	for _, c := range candidates {
		if Valid(c) {
			return c
		}
	}
	return Default
}

// FromAcceptLanguage matches a browser's Accept-Language header to a
// supported language, else Default.
func FromAcceptLanguage(header string) string {
	tags, _, err := language.ParseAcceptLanguage(header)
	if err != nil || len(tags) == 0 {
		return Default
	}
	_, i, conf := matcher.Match(tags...)
	if conf == language.No {
		return Default
	}
	return Supported[i]
}

// Localizer translates into one language. It never falls back silently: a
// key missing from the language's catalogue is an error, so a test rendering
// every text in every language finds it.
type Localizer struct {
	lang string
	l    *goi18n.Localizer
}

// For is the localizer of a locale; an unknown locale gets Default.
func For(locale string) *Localizer {
	lang := Choose(locale)
	return &Localizer{lang: lang, l: goi18n.NewLocalizer(bundle, lang)}
}

// Lang is the localizer's language, as in Supported (and in HTML lang attributes).
func (z *Localizer) Lang() string { return z.lang }

// T is the message id filled with data (a map or struct; nil for none).
func (z *Localizer) T(id string, data any) (string, error) {
	return z.localize(&goi18n.LocalizeConfig{MessageID: id, TemplateData: data})
}

// N is a counted message (its one/other forms) with {{.Count}} set to n.
func (z *Localizer) N(id string, n int) (string, error) {
	return z.localize(&goi18n.LocalizeConfig{MessageID: id, PluralCount: n, TemplateData: map[string]any{"Count": n}})
}

func (z *Localizer) localize(cfg *goi18n.LocalizeConfig) (string, error) {
	s, tag, err := z.l.LocalizeWithTag(cfg)
	if err != nil {
		return "", fmt.Errorf("i18n %s: %w", z.lang, err)
	}
	if tag != language.MustParse(z.lang) {
		return "", fmt.Errorf("i18n %s: message %q missing", z.lang, cfg.MessageID)
	}
	return s, nil
}

// MustT is T for texts the tests prove exist in every catalogue: a missing
// key shows as the key itself rather than failing a customer's page.
func (z *Localizer) MustT(id string, data any) string {
	s, err := z.T(id, data)
	if err != nil {
		return id
	}
	return s
}

// Date is a calendar date the way the language writes it, in UTC:
// "December 15, 2026", "15. Dezember 2026", "15 décembre 2026".
func (z *Localizer) Date(t time.Time) (string, error) {
	t = t.UTC()
	month, err := z.T("month_"+strconv.Itoa(int(t.Month())), nil)
	if err != nil {
		return "", err
	}
	return z.T("date", map[string]any{"Day": t.Day(), "Month": month, "Year": t.Year()})
}

// DateTime is a date and time of day in UTC: "December 15, 2026 at 14:30 UTC".
func (z *Localizer) DateTime(t time.Time) (string, error) {
	date, err := z.Date(t)
	if err != nil {
		return "", err
	}
	return z.T("date_time", map[string]any{"Date": date, "Time": t.UTC().Format("15:04")})
}

// List joins items the way the language lists them: "a, b and c".
func (z *Localizer) List(items []string) (string, error) {
	switch len(items) {
	case 0:
		return "", nil
	case 1:
		return items[0], nil
	}
	return z.T("list", map[string]any{"Items": strings.Join(items[:len(items)-1], ", "), "Last": items[len(items)-1]})
}

// Text is MustT for templates: {{.L.Text "key" "Name" value …}}.
func (z *Localizer) Text(id string, kv ...any) string {
	data := make(map[string]any, len(kv)/2)
	for i := 0; i+1 < len(kv); i += 2 {
		data[fmt.Sprint(kv[i])] = kv[i+1]
	}
	return z.MustT(id, data)
}

// Days is "n days" in the language ("1 Tag", "90 jours").
func (z *Localizer) Days(n int) string {
	s, err := z.N("days", n)
	if err != nil {
		return strconv.Itoa(n)
	}
	return s
}
