// Package config is the fund service's configuration, read from the environment.
package config

import (
	"errors"
	"fmt"
	"time"

	libconfig "github.com/itss/techcommit/libs/config"
	"github.com/itss/techcommit/services/fund/internal/domain/window"
)

// Config is everything the fund service reads at start-up.
type Config struct {
	libconfig.Platform
	Fund Fund
}

// Fund holds the fund service's own settings.
type Fund struct {
	// WriteRate and WriteBurst bound each caller's writes (per replica).
	WriteRate  float64 `env:"FUND_WRITE_RATE" envDefault:"5"`
	WriteBurst int     `env:"FUND_WRITE_BURST" envDefault:"20"`
	// ReportSweepInterval is how often funded projects whose window ended are told
	// their report is due.
	ReportSweepInterval time.Duration `env:"FUND_REPORT_SWEEP_INTERVAL" envDefault:"1h"`
	// RoundSweepInterval is how often rounds whose closing time has passed are
	// recorded closed (and tc.fund.round.closed published): the most a close event lags.
	// The same sweep puts back a change of budget whose request stopped half way.
	RoundSweepInterval time.Duration `env:"FUND_ROUND_SWEEP_INTERVAL" envDefault:"1m"`
	// IdempotencyTTL is how long a stored response answers retries of its key (an
	// application created from a request sent twice); a week at most, since the
	// answer names the application's endorser.
	IdempotencyTTL time.Duration `env:"FUND_IDEMPOTENCY_TTL" envDefault:"24h"`
	// ContactEmail is where applicants write to ITSS: an answer that asks them to
	// have ITSS do something (record the organisation's nominated lead, say) gives
	// it. No default, for the reason notify's NOTIFY_CONTACT_EMAIL and the portal's
	// PORTAL_CONTACT_EMAIL have none: another environment's mailbox, or one nobody
	// reads, would take what applicants ask of ITSS.
	ContactEmail string `env:"FUND_CONTACT_EMAIL"`
}

// Ceilings of the sweeps: past them a round's close, a change stopped half way, or
// a report due would wait as long as anyone wrote (a year, once).
const (
	maxRoundSweep  = 10 * time.Minute
	maxReportSweep = 24 * time.Hour
)

// Default returns the configuration for the local stack, before the environment is
// read (platform.Main reads it over these and validates the result).
func Default() Config {
	return libconfig.Defaulted(func(c *Config) { c.Local(8084, 9084, "fund") })
}

// Validate reports every problem at once.
func (c Config) Validate() error {
	errs := []error{c.Platform.Validate()}
	if err := libconfig.RateProblem("FUND_WRITE_RATE", c.Fund.WriteRate, "FUND_WRITE_BURST", c.Fund.WriteBurst); err != nil {
		errs = append(errs, err)
	}
	if c.Fund.ReportSweepInterval < time.Second || c.Fund.ReportSweepInterval > maxReportSweep {
		errs = append(errs, fmt.Errorf("FUND_REPORT_SWEEP_INTERVAL %s must be between 1s and 24h: a funded project is told its report is due within it of its window's end", c.Fund.ReportSweepInterval))
	}
	if c.Fund.RoundSweepInterval < time.Second || c.Fund.RoundSweepInterval > maxRoundSweep {
		errs = append(errs, fmt.Errorf("FUND_ROUND_SWEEP_INTERVAL %s must be between 1s and 10m: a round is recorded closed, and a change whose request stopped half way put back, within it", c.Fund.RoundSweepInterval))
	}
	if c.Fund.IdempotencyTTL < time.Minute || c.Fund.IdempotencyTTL > 7*24*time.Hour {
		errs = append(errs, fmt.Errorf("FUND_IDEMPOTENCY_TTL %s must be between 1m and 168h (a week): stored answers name the people of an application", c.Fund.IdempotencyTTL))
	}
	if c.HTTP.RequestTimeout >= window.Grace {
		errs = append(errs, fmt.Errorf("HTTP_REQUEST_TIMEOUT must be under %s: a correction of a round's project window, or a submission, older than that is taken to have stopped", window.Grace))
	}
	if err := libconfig.CheckMailbox(c.Fund.ContactEmail); err != nil {
		errs = append(errs, fmt.Errorf("FUND_CONTACT_EMAIL %w (the address the fund's answers tell applicants to write to ITSS at)", err))
	}
	return errors.Join(errs...)
}
