package config

import (
	"fmt"
	"net/url"
	"strings"
	"time"
)

// PartnerCenter says where the Partner Center API is and whom the webhook
// receiver trusts (README "Partner Center webhooks").
type PartnerCenter struct {
	// APIURL is the Partner Center API base (PARTNER_CENTER_API_URL); the
	// process sets it to the simulator in MICROSOFT_MODE=simulated.
	APIURL string
	// WebhookCertHosts are the only hosts x-ms-certificate-url may name
	// (PARTNER_CENTER_WEBHOOK_CERT_HOSTS, comma separated). The default is
	// the host Microsoft's page shows; only the simulator and tests change it.
	WebhookCertHosts []string
	// WebhookMaxAge is how old an event's ResourceChangeUtcDate may be
	// (PARTNER_CENTER_WEBHOOK_MAX_AGE); older deliveries are refused as stale.
	WebhookMaxAge time.Duration
}

func defaultPartnerCenter() PartnerCenter {
	return PartnerCenter{APIURL: "https://api.partnercenter.microsoft.com",
		WebhookCertHosts: []string{"3psostorageacct.blob.core.windows.net"}, WebhookMaxAge: 24 * time.Hour}
}

func (p *PartnerCenter) fromLookup(lookup func(string) (string, bool)) []string {
	var errs []string
	if v, ok := lookup("PARTNER_CENTER_API_URL"); ok && strings.TrimSpace(v) != "" {
		u, err := url.Parse(strings.TrimSpace(v))
		if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
			errs = append(errs, fmt.Sprintf("PARTNER_CENTER_API_URL=%q must be an http(s) URL", v))
		} else {
			p.APIURL = strings.TrimRight(u.String(), "/")
		}
	}
	if v, ok := lookup("PARTNER_CENTER_WEBHOOK_CERT_HOSTS"); ok && strings.TrimSpace(v) != "" {
		var hosts []string
		for h := range strings.SplitSeq(v, ",") {
			h = strings.ToLower(strings.TrimSpace(h))
			if h == "" || strings.ContainsAny(h, "/@?# ") {
				errs = append(errs, fmt.Sprintf("PARTNER_CENTER_WEBHOOK_CERT_HOSTS=%q must be host names (host[:port]), comma separated", v))
				hosts = nil
				break
			}
			hosts = append(hosts, h)
		}
		if hosts != nil {
			p.WebhookCertHosts = hosts
		}
	}
	if v, ok := lookup("PARTNER_CENTER_WEBHOOK_MAX_AGE"); ok && strings.TrimSpace(v) != "" {
		d, err := ParseDuration(strings.TrimSpace(v))
		if err != nil || d <= 0 {
			errs = append(errs, fmt.Sprintf("PARTNER_CENTER_WEBHOOK_MAX_AGE=%q must be a positive duration (24h, 1d)", v))
		} else {
			p.WebhookMaxAge = d
		}
	}
	return errs
}
