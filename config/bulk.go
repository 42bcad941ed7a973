package config

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Bulk configures bulk jobs.
type Bulk struct {
	// SendRate is how many rows a job starts a minute at most, so its
	// e-mails go out at a rate the relay accepts (BULK_SEND_RATE, e.g. "60/m" or "2/s").
	SendRate int
	// MaxInFlight is how many started rows may wait for their first e-mail
	// to go out (BULK_MAX_IN_FLIGHT); 0 means one minute's worth of SendRate.
	MaxInFlight int
	// RowsPerRun is how many rows a job's workflow starts before it
	// continues as new, bounding its history (BULK_ROWS_PER_RUN).
	RowsPerRun int
	// PollEvery is how often a job whose rows all started counts their
	// outcomes (BULK_POLL_EVERY).
	PollEvery time.Duration
}

func defaultBulk() Bulk {
	return Bulk{SendRate: 60, RowsPerRun: 250, PollEvery: time.Minute}
}

// InFlight is the effective in-flight limit.
func (b Bulk) InFlight() int {
	if b.MaxInFlight > 0 {
		return b.MaxInFlight
	}
	return max(1, b.SendRate)
}

// ParseSendRate reads "60/m", "2/s", "3600/h" or a bare number per minute.
func ParseSendRate(v string) (int, error) {
	v = strings.TrimSpace(v)
	num, unit, _ := strings.Cut(v, "/")
	n, err := strconv.ParseFloat(strings.TrimSpace(num), 64)
	if err != nil || n <= 0 {
		return 0, fmt.Errorf("BULK_SEND_RATE=%q must be a rate such as 60/m, 2/s or 3600/h", v)
	}
	switch strings.TrimSpace(unit) {
	case "", "m", "min":
	case "s":
		n *= 60
	case "h":
		n /= 60
	default:
		return 0, fmt.Errorf("BULK_SEND_RATE=%q must be a rate such as 60/m, 2/s or 3600/h", v)
	}
	return max(1, int(n)), nil
}

// fromLookup overlays the BULK_ variables.
func (b *Bulk) fromLookup(lookup func(string) (string, bool)) []string {
	var errs []string
	if v, ok := lookup("BULK_SEND_RATE"); ok && strings.TrimSpace(v) != "" {
		n, err := ParseSendRate(v)
		if err != nil {
			errs = append(errs, err.Error())
		}
		if err == nil {
			b.SendRate = n
		}
	}
	for _, f := range []struct {
		name string
		dst  *int
	}{{"BULK_MAX_IN_FLIGHT", &b.MaxInFlight}, {"BULK_ROWS_PER_RUN", &b.RowsPerRun}} {
		if v, ok := lookup(f.name); ok && strings.TrimSpace(v) != "" {
			n, err := strconv.Atoi(strings.TrimSpace(v))
			if err != nil || n < 1 {
				errs = append(errs, fmt.Sprintf("%s=%q must be a whole number, at least 1", f.name, v))
				continue
			}
			*f.dst = n
		}
	}
	if v, ok := lookup("BULK_POLL_EVERY"); ok && strings.TrimSpace(v) != "" {
		d, err := ParseDuration(strings.TrimSpace(v))
		if err != nil || d < time.Second {
			errs = append(errs, fmt.Sprintf("BULK_POLL_EVERY=%q must be a duration of at least 1s", v))
		} else {
			b.PollEvery = d
		}
	}
	return errs
}
