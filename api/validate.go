package api

import (
	"fmt"
	"net/mail"
	"regexp"
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"
)

// fieldErrors collects validation failures.
type fieldErrors []FieldError

func (f *fieldErrors) add(field, msg string) { *f = append(*f, FieldError{Field: field, Message: msg}) }

func (f fieldErrors) err() error {
	if len(f) == 0 {
		return nil
	}
	return validationProblem(f)
}

func (f *fieldErrors) requireEmail(field, v string) {
	if strings.TrimSpace(v) == "" {
		f.add(field, "is required")
		return
	}
	if !validEmail(v) {
		f.add(field, "must be an e-mail address such as admin@contoso.com")
	}
}

func validEmail(v string) bool {
	if len(v) > 254 {
		return false
	}
	addr, err := mail.ParseAddress(v)
	if err != nil || addr.Address != v || addr.Name != "" {
		return false
	}
	at := strings.LastIndexByte(v, '@')
	return at > 0 && strings.Contains(v[at+1:], ".")
}

func hasControl(s string, allowNewlines bool) bool {
	for _, r := range s {
		if r == '\n' || r == '\r' || r == '\t' {
			if allowNewlines {
				continue
			}
			return true
		}
		if unicode.IsControl(r) || r == utf8.RuneError {
			return true
		}
	}
	return false
}

// Free text from partners reaches customers' e-mails and pages, where the
// only link must be ours. What looks like a link is judged by its shape, not
// by a list of top-level domains: mail clients auto-link far more than any
// list holds.
var (
	markupPattern = regexp.MustCompile(`<\s*[a-zA-Z!/?]|&[a-zA-Z]+;|&#[0-9]+;|&#[xX][0-9a-fA-F]+;|\]\(`)
	// Each pattern is applied to one word, lower-cased, after NFKC and with
	// every dot look-alike turned into ".".
	linkShapes = []*regexp.Regexp{
		regexp.MustCompile(`//|\\\\`),                                        // scheme-relative and UNC paths
		regexp.MustCompile(`(^|[^\p{L}\p{N}])www\.`),                         // www.anything
		regexp.MustCompile(`\p{L}[\p{L}\p{N}+.\-]*:[^\s)]`),                  // any scheme: http:, mailto:, javascript:, data:
		regexp.MustCompile(`[0-9]{1,3}\.[0-9]{1,3}\.[0-9]{1,3}\.[0-9]{1,3}`), // a bare IPv4 address
		regexp.MustCompile(`\[[0-9a-f:.]*:[0-9a-f:.]*\]`),                    // a bracketed IPv6 address
		regexp.MustCompile(`[\p{L}\p{N}_\-]\.\p{L}[\p{L}\p{N}\-]+`),          // label.label with a TLD-shaped tail, any TLD
		regexp.MustCompile(`[\p{L}\p{N}][?#][\p{L}\p{N}]`),                   // host?query, host#fragment
		regexp.MustCompile(`%[0-9a-f]{2}`),                                   // percent-encoded characters
	}
	// dotLikes are characters mail clients or browsers may treat as a dot.
	dotLikes = strings.NewReplacer("\u3002", ".", "\uff0e", ".", "\uff61", ".", "\u2024", ".", "\ufe52", ".", "\u2e3c", ".", "\u0701", ".", "\u0702", ".")
	// wordEdges are stripped from a word before an e-mail address is
	// recognized in it (sentence punctuation and brackets).
	wordEdges = `.,;:!?()"'[]<>`
)

// MaxMessageLength bounds the partner's e-mail text.
const MaxMessageLength = 2000

// textRules says what a free-text field may hold.
type textRules struct {
	required  bool
	max       int  // in characters
	multiline bool // newlines and tabs allowed (a message, a reason)
	link      bool // the {{link}} placeholder allowed, as a word of its own
	emails    bool // e-mail addresses allowed as words
}

// checkText is the one check of every partner-supplied text that can reach a
// customer or another partner: bounded, plain, no control or invisible
// formatting characters, no markup, no link but ours, no placeholder but
// {{link}} where it is allowed.
func (f *fieldErrors) checkText(field, v string, r textRules) {
	switch {
	case strings.TrimSpace(v) == "":
		if r.required {
			f.add(field, "is required")
		}
	case utf8.RuneCountInString(v) > r.max:
		f.add(field, fmt.Sprintf("must be at most %d characters of plain text", r.max))
	case hasControl(v, r.multiline) || hasBareCR(v) || hasInvisible(v):
		f.add(field, "must be plain text without control or invisible formatting characters")
	case markupPattern.MatchString(v):
		f.add(field, "must be plain text: HTML, markdown links and entities are not allowed")
	default:
		if msg := wordProblem(v, r); msg != "" {
			f.add(field, msg)
		}
	}
}

// wordProblem looks at each word of a text for links and placeholders.
func wordProblem(v string, r textRules) string {
	for _, word := range strings.Fields(v) {
		if r.link && word == linkPlaceholder {
			continue
		}
		if strings.Contains(word, "{{") || strings.Contains(word, "}}") {
			if r.link {
				return "the only placeholder allowed is {{link}}, as a word of its own (spaces or line breaks around it)"
			}
			return "must not contain placeholders such as {{…}}"
		}
		if r.emails && validEmail(strings.Trim(word, wordEdges)) {
			continue
		}
		if looksLikeLink(word) {
			if r.link {
				return "must not contain links or web addresses; the personal link is added for you (place it with {{link}})"
			}
			return "must not contain links or web addresses"
		}
	}
	return ""
}

// looksLikeLink tells whether one word has the shape of a URL or host name.
func looksLikeLink(word string) bool {
	w := strings.ToLower(dotLikes.Replace(norm.NFKC.String(word)))
	for _, p := range linkShapes {
		if p.MatchString(w) {
			return true
		}
	}
	return false
}

// linkPlaceholder is where a message places the personal link.
const linkPlaceholder = "{{link}}"

// hasBareCR: a CR not followed by LF could end an SMTP DATA section early
// on a lenient relay.
func hasBareCR(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] == '\r' && (i+1 == len(s) || s[i+1] != '\n') {
			return true
		}
	}
	return false
}

// hasInvisible finds formatting characters (zero-width joiners, bidi
// overrides, soft hyphens…) that can hide a link's shape or reorder text.
func hasInvisible(s string) bool {
	for _, r := range s {
		if unicode.Is(unicode.Cf, r) {
			return true
		}
	}
	return false
}

// validateMessage: a partner's message to its customer is plain text,
// bounded, without markup and without a link but the personal one
// (docs/domain.md, "Partner text in customer e-mails").
func validateMessage(f *fieldErrors, msg string) {
	f.checkText("message", msg, textRules{max: MaxMessageLength, multiline: true, link: true, emails: true})
}

// requireName checks a required one-line name (a company, a person, a city).
func (f *fieldErrors) requireName(field, v string, max int) {
	f.checkText(field, v, textRules{required: true, max: max})
}
