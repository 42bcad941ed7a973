package e2e

import (
	"context"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/require"

	"github.com/csp-onboarding/onboarding/config"
	"github.com/csp-onboarding/onboarding/emails"
)

// Screenshots of each page state land here (git-ignored) for people to look at.
const artifactsDir = "../test-artifacts"

// chromium finds Debian's Chromium; `make test` installs it with apt-get.
func chromium(t *testing.T) string {
	for _, name := range []string{"chromium", "chromium-browser", "/usr/bin/chromium"} {
		if path, err := exec.LookPath(name); err == nil {
			return path
		}
	}
	t.Skip("\n\n*** BROWSER TESTS SKIPPED: no Chromium on this machine. `make test` installs it (apt-get install chromium);\n*** install it by hand where apt is impossible, then run the tests again. ***\n")
	return ""
}

// newBrowser starts headless Chromium at phone width, with no network beyond loopback.
func newBrowser(t *testing.T) context.Context {
	t.Helper()
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(chromium(t)),
		chromedp.NoSandbox, chromedp.DisableGPU, chromedp.UserDataDir(t.TempDir()),
		chromedp.Flag("disable-background-networking", true), chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true), chromedp.Flag("disable-quic", true), chromedp.Flag("no-first-run", true),
		chromedp.WindowSize(390, 844),
	)
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelCtx := chromedp.NewContext(allocCtx)
	ctx, cancelTimeout := context.WithTimeout(ctx, 60*time.Second)
	t.Cleanup(func() { cancelTimeout(); cancelCtx(); cancelAlloc() })
	require.NoError(t, chromedp.Do(ctx, chromedp.EmulateViewport(390, 844)))
	return ctx
}

func screenshot(t *testing.T, ctx context.Context, name string) {
	t.Helper()
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	require.NoError(t, err)
	require.NoError(t, os.MkdirAll(artifactsDir, 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(artifactsDir, name+".png"), png, 0o644))
}

// pageChecks asserts what every customer page promises: a language, a
// phone-width layout without sideways scrolling, labelled buttons, and no
// asset from anywhere but this server.
func pageChecks(t *testing.T, ctx context.Context) {
	t.Helper()
	pageChecksIn(t, ctx, "en")
}

// pageChecksIn is pageChecks for a page in the language wantLang.
func pageChecksIn(t *testing.T, ctx context.Context, wantLang string) {
	t.Helper()
	lang, err := chromedp.Run(ctx, chromedp.Evaluate[string](`document.documentElement.lang`))
	require.NoError(t, err)
	check := func(expr string) bool {
		ok, err := chromedp.Run(ctx, chromedp.Evaluate[bool](expr))
		require.NoError(t, err)
		return ok
	}
	fitsPhone := check(`document.documentElement.scrollWidth <= window.innerWidth`)
	buttonsLabelled := check(`[...document.querySelectorAll('button')].every(b => b.innerText.trim().length > 0)`)
	sameOrigin := check(`performance.getEntriesByType('resource').every(e => e.name.startsWith(location.origin))`)
	require.Equal(t, wantLang, lang)
	require.True(t, fitsPhone, "the page fits a phone-width window")
	require.True(t, buttonsLabelled, "every button says what it does")
	require.True(t, sameOrigin, "no external assets")
}

// text reads an element's visible text.
func text(t *testing.T, ctx context.Context, css string) string {
	t.Helper()
	v, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(css)))
	require.NoError(t, err)
	return v
}

func TestCustomerPagesInABrowser(t *testing.T) {
	ctx := newBrowser(t)
	p := startProduct(t)

	t.Run("invitation: open the link, read, accept", func(t *testing.T) {
		provider := p.createPartner("Browser Distribution", "indirect_provider", false)
		reseller := p.createPartner("Browser Reseller", "reseller", false)
		p.activePartnership(provider, reseller)
		inv := p.must(202, p.call("POST", "/v1/invitations", reseller.key, map[string]any{
			"provider_id": provider.id, "customer": map[string]any{"company_name": "Fourth Coffee", "email": "admin@fourthcoffee.example"},
			"message":         "Hello Fourth Coffee, please accept our invitation: {{link}}",
			"delegated_admin": map[string]any{"roles": []string{"Helpdesk Administrator"}, "duration_days": 90}}))
		mail, err := p.smtp.WaitFor("admin@fourthcoffee.example", "invites you", 20*time.Second)
		require.NoError(t, err)
		link := invitationLink.FindString(mail.Body)

		require.NoError(t, chromedp.Do(ctx, chromedp.Navigate(link), chromedp.WaitVisible(chromedp.CSS(`button.primary`))))
		heading, body := text(t, ctx, "h1"), text(t, ctx, "main")
		require.Contains(t, heading, "Browser Reseller invites you")
		require.Contains(t, body, "Browser Distribution")
		require.Contains(t, body, "Helpdesk Administrator for 90 days")
		screenshot(t, ctx, "invitation-open")
		pageChecks(t, ctx)

		require.NoError(t, chromedp.Do(ctx, chromedp.Click(chromedp.CSS(`button.primary`)), chromedp.WaitVisible(chromedp.CSS(`div[role=status]`))))
		require.Contains(t, text(t, ctx, "h1"), "invitation accepted")
		pageChecks(t, ctx)
		screenshot(t, ctx, "invitation-accepted")
		p.eventually("invitation completed", func() bool {
			return p.call("GET", "/v1/invitations/"+inv.str("id"), reseller.key, nil).str("status") == "completed"
		})

		require.NoError(t, chromedp.Do(ctx, chromedp.Navigate(link)))
		require.Contains(t, text(t, ctx, "h1"), "already answered")
		screenshot(t, ctx, "invitation-used")
	})

	t.Run("consent: open the link, read what is shared, consent", func(t *testing.T) {
		provider, reseller, customerID := p.directBillReseller("Browserbank")
		x := p.must(202, p.call("POST", "/v1/relationship-extensions", reseller.key, map[string]any{
			"customer_id": customerID, "provider_id": provider.id, "share_bill_to": true}))
		mail, err := p.smtp.WaitFor("admin@browserbank.example", "asks your consent", 20*time.Second)
		require.NoError(t, err)
		link := consentLink.FindString(mail.Body)

		require.NoError(t, chromedp.Do(ctx, chromedp.Navigate(link), chromedp.WaitVisible(chromedp.CSS(`button.primary`))))
		consent := text(t, ctx, "#consent-text")
		for _, want := range []string{"Browserbank Reseller", "Browserbank Distribution", "1 Main Street", "No admin rights are given"} {
			require.True(t, strings.Contains(consent, want), "the consent text names %q: %s", want, consent)
		}
		pageChecks(t, ctx)
		screenshot(t, ctx, "consent-open")
		require.NoError(t, chromedp.Do(ctx, chromedp.Click(chromedp.CSS(`button.primary`)), chromedp.WaitVisible(chromedp.CSS(`div[role=status]`))))
		require.Contains(t, text(t, ctx, "h1"), "consent given")
		screenshot(t, ctx, "consent-given")
		p.eventually("extension completed", func() bool {
			return p.call("GET", "/v1/relationship-extensions/"+x.str("id"), reseller.key, nil).str("status") == "completed"
		})
	})

	t.Run("API reference renders offline", func(t *testing.T) {
		require.NoError(t, chromedp.Do(ctx, chromedp.EmulateViewport(1280, 900), chromedp.Navigate(p.base+"/docs"),
			chromedp.WaitVisible(chromedp.CSS(`h1`))))
		require.Contains(t, text(t, ctx, "h1"), "CSP onboarding API")
		screenshot(t, ctx, "api-docs")
		require.NoError(t, chromedp.Do(ctx, chromedp.EmulateViewport(390, 844)))
	})

	t.Run("unknown link", func(t *testing.T) {
		require.NoError(t, chromedp.Do(ctx, chromedp.Navigate(p.base+"/i/this-link-was-never-issued-000000000")))
		require.Equal(t, "This link is not valid", text(t, ctx, "h1"))
		pageChecks(t, ctx)
		screenshot(t, ctx, "link-unknown")
	})

	t.Run("German: the invitation page and the e-mail's HTML part", func(t *testing.T) {
		provider := p.createPartner("Browser Vertrieb", "indirect_provider", false)
		reseller := p.createPartner("Browser Händler", "reseller", false)
		p.activePartnership(provider, reseller)
		p.must(202, p.call("POST", "/v1/invitations", reseller.key, map[string]any{
			"provider_id": provider.id, "locale": "de", "customer": map[string]any{"company_name": "Vierter Kaffee GmbH", "email": "admin@vierterkaffee.example"},
			"message": "Guten Tag, bitte nehmen Sie unsere Einladung an: {{link}}"}))
		mail, err := p.smtp.WaitFor("admin@vierterkaffee.example", "lädt Sie", 20*time.Second)
		require.NoError(t, err)
		link := invitationLink.FindString(mail.Body)
		require.NoError(t, chromedp.Do(ctx, chromedp.Navigate(link)))
		require.Equal(t, "Browser Händler lädt Sie zu einer Reseller-Beziehung ein", text(t, ctx, "h1"))
		pageChecksIn(t, ctx, "de")
		screenshot(t, ctx, "invitation-open-de")

		// The HTML part as a mail client shows it: fits a phone, loads nothing.
		m, err := emails.Render(emails.Invitation, "de", emails.Data{Recipient: "Vierter Kaffee GmbH", Reseller: "Browser Händler", Provider: "Browser Vertrieb",
			Message: "Guten Tag, bitte nehmen Sie unsere Einladung an: {{link}}", ExpiresAt: time.Now().Add(30 * 24 * time.Hour),
			Roles: []string{"Helpdesk Administrator", "User Administrator"}, DurationDays: 90, AutoExtend: true, ExtendDays: 180})
		require.NoError(t, err)
		html := strings.ReplaceAll(m.HTML, emails.LinkPlaceholder, link)
		require.NoError(t, chromedp.Do(ctx, chromedp.Navigate("data:text/html;charset=utf-8,"+url.PathEscape(html))))
		require.Equal(t, "Einladung ansehen", text(t, ctx, "a"))
		href, err := chromedp.Run(ctx, chromedp.Evaluate[string](`document.querySelector('a').href`))
		require.NoError(t, err)
		require.Equal(t, link, href, "the button is the personal link")
		pageChecksIn(t, ctx, "de")
		screenshot(t, ctx, "email-invitation-de")
	})
}

// MICROSOFT_MODE=simulated in a browser: the customer's administrator signs
// in with (simulated) Microsoft, accepts on our page, follows "Accept at
// Microsoft" to the admin center, accepts as the tenant's Global
// Administrator, and the invitation completes.
func TestMicrosoftAcceptanceInABrowser(t *testing.T) {
	ctx := newBrowser(t)
	p := startProductWith(t, func(c *config.Config) {
		c.Microsoft.Mode = config.MicrosoftSimulated
		c.Timing.PartnerCenterFirstPoll = time.Second
	})
	provider := p.createPartner("Browser Distribution", "indirect_provider", false)
	reseller := p.createPartner("Browser Reseller", "reseller", false)
	p.activePartnership(provider, reseller)
	p.microsoftPartner(reseller, "44444444-4444-4444-8444-444444444444")
	p.microsoftPartner(provider, "55555555-5555-4555-8555-555555555555")
	inv := p.must(202, p.call("POST", "/v1/invitations", reseller.key, map[string]any{
		"provider_id": provider.id, "customer": map[string]any{"company_name": "Fourth Coffee", "email": "admin@fourthcoffee.example"}}))
	mail, err := p.smtp.WaitFor("admin@fourthcoffee.example", "invites you", 20*time.Second)
	require.NoError(t, err)
	link := invitationLink.FindString(mail.Body)

	// Accept needs an administrator signed in with Microsoft: the page offers that first.
	require.NoError(t, chromedp.Do(ctx, chromedp.Navigate(link), chromedp.WaitVisible(chromedp.CSS(`a.primary`))))
	require.Equal(t, "Sign in with Microsoft to accept", text(t, ctx, "a.primary"))
	require.Contains(t, text(t, ctx, "main"), "Only an administrator of your organization's Microsoft 365 tenant can accept")
	pageChecks(t, ctx)
	screenshot(t, ctx, "microsoft-signin-needed")
	require.NoError(t, chromedp.Do(ctx, chromedp.Click(chromedp.CSS(`a.primary`)), chromedp.WaitVisible(chromedp.CSS(`input[name=login_hint]`))))
	hint, err := chromedp.Run(ctx, chromedp.Evaluate[string](`document.querySelector('input[name=login_hint]').value`))
	require.NoError(t, err)
	require.Equal(t, "admin@fourthcoffee.example", hint, "Microsoft's sign-in is pre-filled with the invited address")
	screenshot(t, ctx, "microsoft-signin-simulated")
	require.NoError(t, chromedp.Do(ctx, chromedp.SendKeys(chromedp.CSS(`input[name=display_name]`), "Ada Admin"),
		chromedp.Click(chromedp.CSS(`button[type=submit]`)), chromedp.WaitVisible(chromedp.CSS(`button.primary`))))
	require.Contains(t, text(t, ctx, "main"), "Signed in as Ada Admin (admin@fourthcoffee.example).")
	pageChecks(t, ctx)
	screenshot(t, ctx, "microsoft-signed-in")
	require.NoError(t, chromedp.Do(ctx, chromedp.Click(chromedp.CSS(`button.primary`)), chromedp.WaitVisible(chromedp.CSS(`div[role=status]`))))
	require.Contains(t, text(t, ctx, "h1"), "invitation accepted")
	require.Contains(t, text(t, ctx, "main"), "accepts the reseller relationship in the Microsoft 365 admin center")
	require.Equal(t, "Accept at Microsoft", text(t, ctx, "a.primary"))
	pageChecks(t, ctx)
	screenshot(t, ctx, "microsoft-accepted-on-our-page")

	require.NoError(t, chromedp.Do(ctx, chromedp.Click(chromedp.CSS(`a.primary`)), chromedp.WaitVisible(chromedp.CSS(`input[name=tenant]`))))
	require.Contains(t, text(t, ctx, "h1"), "Accept the partner's invitation")
	screenshot(t, ctx, "microsoft-admin-center-simulated")
	require.NoError(t, chromedp.Do(ctx, chromedp.SendKeys(chromedp.CSS(`input[name=tenant]`), "fourthcoffee.example"),
		chromedp.Click(chromedp.CSS(`button[type=submit]`)), chromedp.WaitNotPresent(chromedp.CSS(`input[name=tenant]`))))
	require.Equal(t, "Relationship accepted", text(t, ctx, "h1"))
	screenshot(t, ctx, "microsoft-admin-center-accepted")
	p.eventually("invitation completed", func() bool {
		return p.call("GET", "/v1/invitations/"+inv.str("id"), reseller.key, nil).str("status") == "completed"
	})
}
