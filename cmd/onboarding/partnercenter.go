package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/csp-onboarding/onboarding/activities"
	"github.com/csp-onboarding/onboarding/app"
	"github.com/csp-onboarding/onboarding/config"
	"github.com/csp-onboarding/onboarding/microsoft/partnercenter"
	"github.com/csp-onboarding/onboarding/secret"
	"github.com/csp-onboarding/onboarding/store"
)

const partnerCenterUsage = `Usage:
  onboarding partner-center register-webhooks --partner <id> [--url <webhook URL>]
      register our webhook (default: ONBOARDING_PUBLIC_BASE_URL + /webhooks/partner-center) and the events
      the product acts on with Partner Center, with the partner's Microsoft connection
  onboarding partner-center validate --partner <id> [--wait 60s]
      ask Partner Center to post its validation event (test-created) to the registered webhook, and show
      each delivery attempt Partner Center reports

See README "Partner Center webhooks".
`

// pcCommand runs the partner-center subcommands over an open store.
type pcCommand struct {
	cfg    config.Config
	st     *store.Store
	keys   *secret.Keyring
	logger *slog.Logger
	out    io.Writer
	// httpClient carries Partner Center and token calls (tests: the simulator's).
	httpClient *http.Client
	poll       time.Duration
}

func runPartnerCenter(ctx context.Context, cfg config.Config, logger *slog.Logger, args []string, out io.Writer) error {
	if len(args) == 0 || args[0] == "help" || args[0] == "-h" || args[0] == "--help" {
		fmt.Fprint(out, partnerCenterUsage)
		return nil
	}
	if cfg.Microsoft.Mode == config.MicrosoftSimulated && cfg.PartnerCenter.APIURL == config.Default().PartnerCenter.APIURL {
		return errors.New("MICROSOFT_MODE=simulated: the simulator lives inside the `onboarding dev` process; set PARTNER_CENTER_API_URL and MICROSOFT_LOGIN_URL " +
			"to the address its start log gives (…/partnercenter and the base), or use MICROSOFT_MODE=live")
	}
	keys, err := app.Secrets(cfg)
	if err != nil {
		return err
	}
	st, err := app.OpenStore(ctx, cfg, logger, false)
	if err != nil {
		return err
	}
	defer st.Close()
	return (&pcCommand{cfg: cfg, st: st, keys: keys, logger: logger, out: out, poll: 2 * time.Second}).run(ctx, args)
}

func (p *pcCommand) run(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("partner-center "+args[0], flag.ContinueOnError)
	fs.SetOutput(p.out)
	partner := fs.String("partner", "", "the partner (id) whose Microsoft connection calls Partner Center")
	switch args[0] {
	case "register-webhooks":
		webhookURL := fs.String("url", p.cfg.PublicBaseURL+"/webhooks/partner-center", "the webhook URL Partner Center posts to (https in live mode)")
		if err := fs.Parse(args[1:]); err != nil {
			return err
		}
		client, err := p.client(ctx, *partner)
		if err != nil {
			return err
		}
		if p.cfg.Microsoft.Mode == config.MicrosoftLive && !strings.HasPrefix(*webhookURL, "https://") {
			return fmt.Errorf("the webhook URL %q must be https: Partner Center posts only to a public https endpoint", *webhookURL)
		}
		reg, err := client.Register(ctx, *webhookURL, partnercenter.RegisteredEvents)
		if err != nil {
			return err
		}
		fmt.Fprintf(p.out, "Registered %s for %d events (subscriber %s):\n  %s\n", reg.WebhookURL, len(reg.WebhookEvents), reg.SubscriberID,
			strings.Join(reg.WebhookEvents, "\n  "))
		return nil
	case "validate":
		wait := fs.Duration("wait", time.Minute, "how long to wait for Partner Center's delivery report")
		if err := fs.Parse(args[1:]); err != nil {
			return err
		}
		client, err := p.client(ctx, *partner)
		if err != nil {
			return err
		}
		id, err := client.SendValidationEvent(ctx)
		if err != nil {
			return err
		}
		fmt.Fprintf(p.out, "Validation event sent (correlation id %s); waiting up to %s for its delivery\n", id, *wait)
		deadline := time.Now().Add(*wait)
		for {
			v, err := client.ValidationEvent(ctx, id)
			if err != nil {
				return err
			}
			if v.Status == "completed" || !time.Now().Before(deadline) {
				fmt.Fprintf(p.out, "Status %s, callback %s\n", v.Status, v.CallbackURL)
				ok := false
				for _, r := range v.Results {
					fmt.Fprintf(p.out, "  %s %s %s\n", r.DateTimeUtc, r.ResponseCode, r.ResponseMessage)
					ok = ok || r.ResponseCode == "OK"
				}
				if !ok {
					return fmt.Errorf("the validation event was not delivered to %s (Partner Center reports status %s)", v.CallbackURL, v.Status)
				}
				return nil
			}
			select {
			case <-ctx.Done():
				return ctx.Err()
			case <-time.After(p.poll):
			}
		}
	default:
		return fmt.Errorf("unknown partner-center command %q\n\n%s", args[0], partnerCenterUsage)
	}
}

// client is a Partner Center client with the partner's app registration
// (its Microsoft connection, whose secret is opened here and never printed).
func (p *pcCommand) client(ctx context.Context, partnerID string) (*partnercenter.Client, error) {
	if partnerID == "" {
		return nil, errors.New("--partner <id> is required")
	}
	c, err := p.st.MicrosoftConnection(ctx, partnerID)
	if errors.Is(err, store.ErrNotFound) {
		return nil, fmt.Errorf("partner %s has no Microsoft connection (PUT /v1/me/microsoft-connection)", partnerID)
	}
	if err != nil {
		return nil, err
	}
	cred, err := activities.OpenMicrosoftCredential(p.keys, c, time.Now())
	if err != nil {
		return nil, err
	}
	return partnercenter.NewClient(ctx, partnercenter.Config{APIURL: p.cfg.PartnerCenter.APIURL, LoginURL: p.cfg.Microsoft.LoginURL,
		TenantID: c.TenantID, ClientID: c.ClientID, ClientSecret: cred.ClientSecret, Certificate: cred.Certificate,
		HTTPClient: p.httpClient, Logger: p.logger}), nil
}
