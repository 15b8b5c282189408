package platform

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// mainConfig is a service's configuration as Main reads it: defaults, the
// environment over them, then its Validate.
type mainConfig struct {
	Name  string `env:"TC_MAIN_TEST_NAME"`
	Where string `env:"TC_MAIN_TEST_WHERE" envDefault:"tag"`
}

func (c mainConfig) Validate() error {
	if c.Name == "" {
		return errors.New("TC_MAIN_TEST_NAME must be set")
	}
	return nil
}

// served records what Main did with a started service.
type served struct {
	calls *[]string
	cfg   mainConfig
}

func (s served) Run(context.Context) error {
	*s.calls = append(*s.calls, "run "+s.cfg.Name+" "+s.cfg.Where)
	return nil
}

// commanded is a started service with operations commands, as a Platform is.
type commanded struct{ served }

func (s commanded) Command(_ context.Context, args []string) error {
	*s.calls = append(*s.calls, "command "+strings.Join(args, " "))
	return nil
}

type mainOptions struct{ set bool }

// TestMainReadsStartsAndRuns: Main reads the environment over the service's
// defaults and validates it before starting anything, refusing with the validation's
// own words; starts the service with zero options; serves with no arguments; hands
// arguments to a service with operations commands, and refuses them for one without;
// and always cleans up what it started.
func TestMainReadsStartsAndRuns(t *testing.T) {
	defaults := func() mainConfig { return mainConfig{Where: "default"} }
	for _, tt := range []struct {
		name      string
		env       map[string]string
		args      []string
		commander bool
		want      []string
		err       string
	}{
		{"invalid", map[string]string{}, nil, false, nil, "configuration: TC_MAIN_TEST_NAME must be set"},
		{"serve", map[string]string{"TC_MAIN_TEST_NAME": "fund"}, nil, false, []string{"start", "run fund default", "cleanup"}, ""},
		{"environment over defaults", map[string]string{"TC_MAIN_TEST_NAME": "fund", "TC_MAIN_TEST_WHERE": "env"}, nil, false, []string{"start", "run fund env", "cleanup"}, ""},
		{"command", map[string]string{"TC_MAIN_TEST_NAME": "fund"}, []string{"rebuild-projections"}, true, []string{"start", "command rebuild-projections", "cleanup"}, ""},
		{"serve a commander", map[string]string{"TC_MAIN_TEST_NAME": "fund"}, nil, true, []string{"start", "command ", "cleanup"}, ""},
		{"no commands", map[string]string{"TC_MAIN_TEST_NAME": "portal"}, []string{"rebuild-projections"}, false, []string{"start", "cleanup"}, `unknown command "rebuild-projections"`},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Setenv("TC_MAIN_TEST_NAME", "")
			t.Setenv("TC_MAIN_TEST_WHERE", "")
			for k, v := range tt.env {
				t.Setenv(k, v)
			}
			var calls []string
			start := func(_ context.Context, cfg mainConfig, opts mainOptions) (Runner, func(), error) {
				if opts.set {
					t.Error("started with options set, want their zero value")
				}
				calls = append(calls, "start")
				s := served{calls: &calls, cfg: cfg}
				if tt.commander {
					return commanded{s}, func() { calls = append(calls, "cleanup") }, nil
				}
				return s, func() { calls = append(calls, "cleanup") }, nil
			}
			err := run(context.Background(), tt.args, defaults, start)
			if (err == nil) != (tt.err == "") || (err != nil && !strings.Contains(err.Error(), tt.err)) {
				t.Errorf("run = %v, want an error containing %q", err, tt.err)
			}
			if diff := cmp.Diff(tt.want, calls); diff != "" {
				t.Errorf("calls (-want +got):\n%s", diff)
			}
		})
	}
}
