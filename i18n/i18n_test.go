package i18n

import (
	"maps"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/BurntSushi/toml"
)

// keys reads a catalogue's message ids and, for counted messages, their forms.
func keys(t *testing.T, lang string) map[string][]string {
	t.Helper()
	raw, err := catalogues.ReadFile("active." + lang + ".toml")
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := toml.Unmarshal(raw, &m); err != nil {
		t.Fatalf("%s: %v", lang, err)
	}
	out := map[string][]string{}
	for k, v := range m {
		switch v := v.(type) {
		case string:
			if strings.TrimSpace(v) == "" {
				t.Errorf("%s: %s is empty", lang, k)
			}
			out[k] = nil
		case map[string]any:
			out[k] = slices.Sorted(maps.Keys(v))
		default:
			t.Errorf("%s: %s is a %T", lang, k, v)
		}
	}
	return out
}

// TestEveryKeyInEveryLanguage: each catalogue has exactly English's keys
// (none missing, none English lacks), counted ones with one and other.
func TestEveryKeyInEveryLanguage(t *testing.T) {
	en := keys(t, "en")
	if len(en) < 50 {
		t.Fatalf("the English catalogue has only %d keys", len(en))
	}
	for _, lang := range Supported[1:] {
		other := keys(t, lang)
		for k, forms := range en {
			got, ok := other[k]
			if !ok {
				t.Errorf("%s lacks %s", lang, k)
				continue
			}
			if forms != nil && !slices.Equal(got, forms) {
				t.Errorf("%s: %s has forms %v, English %v", lang, k, got, forms)
			}
		}
		for k := range other {
			if _, ok := en[k]; !ok {
				t.Errorf("%s has %s, which English lacks", lang, k)
			}
		}
	}
}

// TestEveryKeyLocalizesInItsOwnLanguage: no key falls back to English and
// every placeholder a message uses is filled.
func TestEveryKeyLocalizesInItsOwnLanguage(t *testing.T) {
	data := map[string]any{"Name": "N", "Reseller": "R", "Provider": "P", "Company": "C", "Subject": "S", "ExpiresAt": "E",
		"Roles": "X", "Duration": "D", "Extend": "F", "Date": "d", "Time": "t", "Month": "m", "Day": 1, "Year": 2026, "Items": "a, b", "Last": "c", "UPN": "u@example.com"}
	for _, lang := range Supported {
		z := For(lang)
		for k, forms := range keys(t, lang) {
			var s string
			var err error
			if forms != nil {
				s, err = z.N(k, 2)
			} else {
				s, err = z.T(k, data)
			}
			if err != nil || strings.Contains(s, "<no value>") {
				t.Errorf("%s %s: %q %v", lang, k, s, err)
			}
		}
	}
}

func TestDates(t *testing.T) {
	at := time.Date(2026, 12, 15, 14, 30, 0, 0, time.UTC)
	for lang, want := range map[string]string{
		"en": "December 15, 2026", "de": "15. Dezember 2026", "fr": "15 décembre 2026",
		"es": "15 de diciembre de 2026", "nl": "15 december 2026",
	} {
		got, err := For(lang).Date(at)
		if err != nil || got != want {
			t.Errorf("%s: %q %v, want %q", lang, got, err, want)
		}
	}
	got, _ := For("de").DateTime(at)
	if got != "15. Dezember 2026 um 14:30 Uhr (UTC)" {
		t.Errorf("de date and time: %q", got)
	}
	if got, _ := For("fr").N("days", 1); got != "1 jour" {
		t.Errorf("fr one day: %q", got)
	}
	if got, _ := For("nl").N("days", 180); got != "180 dagen" {
		t.Errorf("nl 180 days: %q", got)
	}
	if got, _ := For("es").List([]string{"A", "B", "C"}); got != "A, B y C" {
		t.Errorf("es list: %q", got)
	}
}

func TestChoosingALanguage(t *testing.T) {
	if Choose("", "fr") != "fr" || Choose("de", "fr") != "de" || Choose("it", "") != Default || Choose() != Default {
		t.Error("Choose takes the first supported candidate, else English")
	}
	for header, want := range map[string]string{
		"de-CH,de;q=0.9,en;q=0.5": "de", "fr-BE": "fr", "nl-NL,nl;q=0.9": "nl", "es-MX": "es",
		"it-IT": "en", "": "en", "garbage;;": "en", "pt-BR,es;q=0.5": "es",
	} {
		if got := FromAcceptLanguage(header); got != want {
			t.Errorf("%q: %s, want %s", header, got, want)
		}
	}
	if For("xx").Lang() != Default || For("nl").Lang() != "nl" {
		t.Error("For falls back to English only for a language we lack")
	}
}

func TestMissingKeyIsAnError(t *testing.T) {
	if _, err := For("de").T("no_such_key", nil); err == nil {
		t.Error("a missing key must be an error, not a silent fallback")
	}
	if got := For("de").Text("no_such_key"); got != "no_such_key" {
		t.Errorf("Text shows a missing key as itself, got %q", got)
	}
}
