// Package webhooks sends partners' outbound webhooks: it signs messages with
// the Standard Webhooks scheme, drains the webhook_deliveries outbox with
// retries, and connects only to public addresses unless told otherwise.
package webhooks

import (
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"syscall"
	"time"
)

// ErrForbiddenTarget is returned when a webhook URL resolves to an address
// the product must not reach from inside its network (SSRF).
var ErrForbiddenTarget = errors.New("webhook target is a loopback, private, link-local or metadata address")

// forbidden lists what a partner-supplied URL must never reach: besides the
// standard classes, carrier-grade NAT, the benchmark range and the cloud
// metadata addresses (169.254.169.254 is link-local; fd00:ec2::254 is ULA).
var forbidden = []netip.Prefix{
	netip.MustParsePrefix("0.0.0.0/8"),
	netip.MustParsePrefix("100.64.0.0/10"),
	netip.MustParsePrefix("192.0.0.0/24"),
	netip.MustParsePrefix("198.18.0.0/15"),
	netip.MustParsePrefix("240.0.0.0/4"),
	netip.MustParsePrefix("64:ff9b::/96"), // NAT64 could reach IPv4 private space
}

// Forbidden tells whether an address is refused as a webhook target.
func Forbidden(a netip.Addr) bool {
	a = a.Unmap()
	if a.IsLoopback() || a.IsPrivate() || a.IsLinkLocalUnicast() || a.IsLinkLocalMulticast() ||
		a.IsMulticast() || a.IsUnspecified() || a.IsInterfaceLocalMulticast() {
		return true
	}
	for _, p := range forbidden {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// refusePrivate is a net.Dialer.Control: it runs after name resolution, on
// the very address about to be connected, so DNS rebinding cannot slip a
// private address past a check made earlier.
func refusePrivate(network, address string, _ syscall.RawConn) error {
	ap, err := netip.ParseAddrPort(address)
	if err != nil {
		return fmt.Errorf("%w: %s", ErrForbiddenTarget, address)
	}
	if Forbidden(ap.Addr()) {
		return fmt.Errorf("%w: %s", ErrForbiddenTarget, ap.Addr())
	}
	return nil
}

// NewHTTPClient is the client deliveries go through: a total timeout per
// attempt, no redirects followed (a 3xx is an answer, and a failure), no
// proxy from the environment (it would bypass the address check), and unless
// allowPrivate the connect-time refusal of internal addresses.
func NewHTTPClient(timeout time.Duration, allowPrivate bool) *http.Client {
	dialer := &net.Dialer{Timeout: timeout, KeepAlive: 30 * time.Second}
	if !allowPrivate {
		dialer.Control = refusePrivate
	}
	transport := &http.Transport{
		DialContext:           dialer.DialContext,
		ForceAttemptHTTP2:     true,
		MaxIdleConns:          100,
		MaxIdleConnsPerHost:   4,
		IdleConnTimeout:       90 * time.Second,
		TLSHandshakeTimeout:   timeout,
		ResponseHeaderTimeout: timeout,
	}
	return &http.Client{
		Timeout:   timeout,
		Transport: transport,
		CheckRedirect: func(*http.Request, []*http.Request) error {
			return http.ErrUseLastResponse
		},
	}
}
