package api

import (
	"math"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/labstack/echo/v4"
	"golang.org/x/time/rate"

	"github.com/csp-onboarding/onboarding/config"
	"github.com/csp-onboarding/onboarding/secret"
)

// maxBuckets bounds each limiter's memory whatever the number of clients.
const maxBuckets = 50_000

// limiter keeps one token bucket per key (API key or client address) with
// bounded memory: a bucket idle long enough to be full again is dropped (a
// new one is the same), and past maxBuckets the idle ones go first, then any.
type limiter struct {
	mu      sync.Mutex
	limit   rate.Limit
	burst   int
	refill  time.Duration // time for an empty bucket to fill up
	max     int
	buckets map[string]*bucket
}

type bucket struct {
	l    *rate.Limiter
	seen time.Time
}

// newLimiter returns nil for a limit turned off.
func newLimiter(r config.Rate, maxKeys int) *limiter {
	if r.PerSecond <= 0 {
		return nil
	}
	burst := max(r.Burst, 1)
	return &limiter{limit: rate.Limit(r.PerSecond), burst: burst, max: maxKeys, buckets: map[string]*bucket{},
		refill: time.Duration(float64(burst) / r.PerSecond * float64(time.Second))}
}

// allow takes a token for key; when there is none it says how long until one.
func (l *limiter) allow(key string, now time.Time) (bool, time.Duration) {
	if l == nil {
		return true, 0
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	b, ok := l.buckets[key]
	if !ok {
		if len(l.buckets) >= l.max {
			l.evict(now)
		}
		b = &bucket{l: rate.NewLimiter(l.limit, l.burst)}
		l.buckets[key] = b
	}
	b.seen = now
	r := b.l.ReserveN(now, 1)
	if d := r.DelayFrom(now); d > 0 {
		r.CancelAt(now)
		return false, d
	}
	return true, 0
}

// evict drops the buckets that are full again; if none is, half of them (a
// client then starts afresh: memory comes first, and halving keeps the
// scans rare under a flood of new clients).
func (l *limiter) evict(now time.Time) {
	for k, b := range l.buckets {
		if now.Sub(b.seen) >= l.refill {
			delete(l.buckets, k)
		}
	}
	if len(l.buckets) < l.max {
		return
	}
	for k := range l.buckets {
		if len(l.buckets) < l.max/2 {
			break
		}
		delete(l.buckets, k)
	}
}

func (l *limiter) size() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.buckets)
}

// limits are the API's rate limits (config.RateLimits).
type limits struct {
	perKey, perAddr, linkPerAddr *limiter
}

func newLimits(c config.RateLimits) limits {
	return limits{perKey: newLimiter(c.PerKey, maxBuckets), perAddr: newLimiter(c.PerAddr, maxBuckets),
		linkPerAddr: newLimiter(c.LinkPerAddr, maxBuckets)}
}

type limitCheck struct {
	l   *limiter
	key string
}

// rateLimit answers 429 with Retry-After once a client is over its limit:
// per API key and per client address on /v1, and per client address on the
// customer-link answers (each a workflow update and an e-mail). Keys are
// bucketed by their hash, so no key is held in memory in clear.
func (s *Server) rateLimit(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		req := c.Request()
		path, now := req.URL.Path, time.Now()
		var checks []limitCheck
		switch {
		case strings.HasPrefix(path, "/v1/"):
			checks = append(checks, limitCheck{s.limits.perAddr, c.RealIP()})
			if token, ok := bearer(c); ok {
				checks = append(checks, limitCheck{s.limits.perKey, secret.Hash(token)})
			}
		case strings.HasPrefix(path, "/webhooks/"):
			// Inbound webhooks are unauthenticated until verified, and a
			// verification may fetch a certificate: the per-address limit.
			checks = append(checks, limitCheck{s.limits.perAddr, c.RealIP()})
		case req.Method == http.MethodPost && (strings.HasPrefix(path, "/i/") || strings.HasPrefix(path, "/c/")):
			checks = append(checks, limitCheck{s.limits.linkPerAddr, c.RealIP()})
		}
		for _, ch := range checks {
			if ok, wait := ch.l.allow(ch.key, now); !ok {
				p := problem(http.StatusTooManyRequests, CodeRateLimited, "")
				p.retryAfter = max(int(math.Ceil(wait.Seconds())), 1)
				p.Detail = "too many requests; retry in " + strconv.Itoa(p.retryAfter) + " s"
				return p
			}
		}
		return next(c)
	}
}
