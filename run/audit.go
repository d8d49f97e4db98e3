package run

import (
	"context"

	"github.com/ahsp-harness/harness/observability"
	"github.com/ahsp-harness/harness/reports"
	"github.com/ahsp-harness/harness/security"
	"github.com/ahsp-harness/harness/target/client"
	"github.com/ahsp-harness/harness/target/stack"
)

// noScratch is why writing checks hold back on an external deployment: the
// harness has no way yet to know which projects are scratch.
const noScratch = "external deployment: writing checks write only to scratch projects, and the users declare none (users file: scratch: [ids])"

// SecurityConfig is the security phase's config for a stack: writes only
// where the harness owns the target.
func SecurityConfig(info stack.Info, base security.Config) security.Config {
	cfg := base
	if info.Mode == stack.ModeExternal {
		cfg.Writes, cfg.WriteReason = false, noScratch
	} else {
		cfg.Writes = true
	}
	return cfg
}

// SecurityPhase runs the HTTP security checks on three users of its own
// (an attacker, a victim, one for hostile input); they write only to those
// users' first projects, and on an external deployment not at all.
func SecurityPhase() Phase {
	return Phase{
		Name:  "security",
		Users: func(*Options) Need { return Need{Min: 2, Max: 3} },
		Run: func(ctx context.Context, e *Env, r *reports.Run) error {
			cfg := SecurityConfig(e.Info(), e.Options.Security)
			e.fromRun(&cfg.Progress, &cfg.Limits)
			rep, err := security.Run(ctx, e, cfg)
			r.Security = rep
			return err
		},
		Logins: func(_ *Options, users []client.Credential) ([]string, int) { return userNames(users, 3), 0 },
	}
}

// ObservabilityPhase causes 429s as a user of its own and checks /metrics
// and the logs; it stops the cache when the stack can (the e2e phase after
// it settles first).
func ObservabilityPhase() Phase {
	return Phase{
		Name:  "observability",
		Users: func(*Options) Need { return Need{Min: 1, Max: 1} },
		Run: func(ctx context.Context, e *Env, r *reports.Run) error {
			cfg := e.Options.Observability
			e.fromRun(&cfg.Progress, &cfg.Limits)
			rep, err := observability.Run(ctx, e, cfg)
			r.Observability = rep
			return err
		},
		// It logs in the last of its users.
		Logins: func(_ *Options, users []client.Credential) ([]string, int) {
			if len(users) == 0 {
				return nil, 0
			}
			return userNames(users[len(users)-1:], 1), 0
		},
	}
}
