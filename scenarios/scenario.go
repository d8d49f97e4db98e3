// Package scenarios is the harness's load engine: authenticated virtual users
// drive a weighted mix of the app's operations through vegeta, in one of four
// shapes (burst, constant, step, concurrency), and the results are aggregated
// as they arrive into per-operation, per-status and per-worker metrics with
// mergeable latency histograms. Scenarios are YAML files; a catalog of
// built-ins ships embedded.
package scenarios

import (
	"fmt"
	"time"

	"github.com/ahsp-harness/harness/target/api"
)

// Kind is the shape of a scenario's load.
type Kind string

// Scenario kinds.
const (
	// Burst sends Requests requests as fast as Connections connections allow.
	Burst Kind = "burst"
	// Constant is the open model: Rate arrivals per second for Duration.
	Constant Kind = "constant"
	// Step raises the rate in Steps (a ramp in stairs).
	Step Kind = "step"
	// Concurrency is the closed model: Concurrency requests in flight for Duration.
	Concurrency Kind = "concurrency"
)

// Kinds lists every kind, for error messages.
var Kinds = []Kind{Burst, Constant, Step, Concurrency}

// Scenario is one load shape with its endpoint mix. YAML field names are the
// JSON ones.
type Scenario struct {
	Name        string `json:"name" yaml:"name"`
	Description string `json:"description,omitempty" yaml:"description"`
	Kind        Kind   `json:"kind" yaml:"kind"`
	// Users is the number of virtual users; each logs in once at setup.
	Users int `json:"users" yaml:"users"`
	// Version selects the URL family for the mix: legacy, v1 or v2.
	Version api.Version `json:"version" yaml:"version"`

	Requests    int           `json:"requests,omitempty" yaml:"requests"`       // burst
	Connections int           `json:"connections,omitempty" yaml:"connections"` // burst (default 16)
	Rate        int           `json:"rate,omitempty" yaml:"rate"`               // constant, per second
	Duration    time.Duration `json:"duration,omitempty" yaml:"duration"`       // constant, concurrency
	Steps       []StepSpec    `json:"steps,omitempty" yaml:"steps"`             // step
	Concurrency int           `json:"concurrency,omitempty" yaml:"concurrency"` // concurrency

	// MaxWorkers caps vegeta's workers (in-flight requests) in open-model kinds.
	MaxWorkers int `json:"max_workers" yaml:"max_workers"`
	// MaxConnections caps connections per host.
	MaxConnections int           `json:"max_connections" yaml:"max_connections"`
	Timeout        time.Duration `json:"timeout" yaml:"timeout"`

	Mix []MixEntry `json:"mix" yaml:"mix"`
}

// StepSpec is one stair of a step scenario.
type StepSpec struct {
	Rate     int           `json:"rate" yaml:"rate"`
	Duration time.Duration `json:"duration" yaml:"duration"`
}

// MixEntry is one operation of the mix with its weight and, for operations
// with a body, an optional body template (text/template over Vars).
type MixEntry struct {
	Op     string `json:"op" yaml:"op"`
	Weight int    `json:"weight" yaml:"weight"`
	Body   string `json:"body,omitempty" yaml:"body"`
	// Query is appended to the path (without the '?'), also a template.
	Query string `json:"query,omitempty" yaml:"query"`
}

// Defaults applied by Normalize when a field is zero.
const (
	DefaultUsers          = 1
	DefaultConnections    = 16
	DefaultMaxWorkers     = 64
	DefaultMaxConnections = 64
	DefaultTimeout        = 10 * time.Second
)

// Normalize fills defaults in place.
func (s *Scenario) Normalize() {
	if s.Users == 0 {
		s.Users = DefaultUsers
	}
	if s.Version == "" {
		s.Version = api.Legacy
	}
	if s.Connections == 0 {
		s.Connections = DefaultConnections
	}
	if s.MaxWorkers == 0 {
		s.MaxWorkers = DefaultMaxWorkers
	}
	if s.MaxConnections == 0 {
		s.MaxConnections = DefaultMaxConnections
	}
	if s.Timeout == 0 {
		s.Timeout = DefaultTimeout
	}
	for i := range s.Mix {
		if s.Mix[i].Weight == 0 {
			s.Mix[i].Weight = 1
		}
	}
}

// TotalDuration is the scheduled length of the load (zero for burst).
func (s *Scenario) TotalDuration() time.Duration {
	switch s.Kind {
	case Step:
		var d time.Duration
		for _, st := range s.Steps {
			d += st.Duration
		}
		return d
	case Burst:
		return 0
	}
	return s.Duration
}

// RequestedRate is the mean arrival rate the schedule asks for, per second;
// zero for burst and concurrency, which have no schedule.
func (s *Scenario) RequestedRate() float64 {
	switch s.Kind {
	case Constant:
		return float64(s.Rate)
	case Step:
		var hits float64
		for _, st := range s.Steps {
			hits += float64(st.Rate) * st.Duration.Seconds()
		}
		if d := s.TotalDuration().Seconds(); d > 0 {
			return hits / d
		}
	}
	return 0
}

// ScheduledHits is the number of requests the schedule asks for (-1 when the
// count is open, as in the concurrency kind).
func (s *Scenario) ScheduledHits() int {
	switch s.Kind {
	case Burst:
		return s.Requests
	case Constant:
		return int(float64(s.Rate) * s.Duration.Seconds())
	case Step:
		var hits float64
		for _, st := range s.Steps {
			hits += float64(st.Rate) * st.Duration.Seconds()
		}
		return int(hits)
	}
	return -1
}

// String is a one-line description of the shape.
func (s *Scenario) String() string {
	users := fmt.Sprintf("%d users", s.Users)
	if s.Users == 1 {
		users = "1 user"
	}
	switch s.Kind {
	case Burst:
		return fmt.Sprintf("%s: burst of %d requests over %d connections, %s", s.Name, s.Requests, s.Connections, users)
	case Constant:
		return fmt.Sprintf("%s: constant %d/s for %s, %s", s.Name, s.Rate, s.Duration, users)
	case Step:
		return fmt.Sprintf("%s: %d steps over %s (mean %.0f/s), %s", s.Name, len(s.Steps), s.TotalDuration(), s.RequestedRate(), users)
	case Concurrency:
		return fmt.Sprintf("%s: %d in flight for %s, %s", s.Name, s.Concurrency, s.Duration, users)
	}
	return s.Name
}
