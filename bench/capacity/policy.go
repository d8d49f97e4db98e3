package capacity

import (
	"encoding/json"
	"fmt"
	"math"
	"sort"
	"strings"

	"github.com/ahsp-harness/harness/scenarios"
	"github.com/ahsp-harness/harness/scenarios/scan"
	"github.com/ahsp-harness/harness/target/api"
)

// Policy is what a capacity run knows of the deployment's per-user rate
// limits, and where that came from. The limiter keys on user + operation
// (the app's rule), so a mix's rate is spread over users and operations.
type Policy struct {
	// Source says where Limits came from: "declared (--limits)", "the
	// high-limit profile the harness started", "observed in 429 answers",
	// or "unknown" (then 429s are still counted, and named per operation).
	Source string                     `json:"source"`
	Limits map[api.Category]api.Limit `json:"limits,omitempty"`
	// Operations the limits apply to; empty: every operation of a limited
	// category.
	Operations []string `json:"operations,omitempty"`
	// PerOp is every operation's limit and where it came from (declared,
	// discovered, 429 body); an entry here wins over Limits.
	PerOp []OpLimit `json:"per_operation,omitempty"`
}

// Where a per-operation limit came from.
const (
	FromDeclared   = "declared"
	FromDiscovered = "discovered"
	From429Body    = "429 body"
)

// States of an OpLimit (the scan discovery's words).
const (
	OpLimited    = scan.OpLimited
	OpUnlimited  = scan.OpUnlimited
	OpUnmeasured = scan.OpUnmeasured
)

// OpLimit is one operation's per-user limit as the run knows it.
type OpLimit struct {
	Operation string       `json:"operation"`
	Category  api.Category `json:"category"`
	// State is limited, unlimited (discovery reached its budget without a
	// 429) or unmeasured (nothing known: not treated as limited).
	State string    `json:"state"`
	Limit api.Limit `json:"limit"`
	// From is declared, discovered or 429 body; Detail says how (which
	// field of the 429, how many requests passed).
	From   string `json:"from,omitempty"`
	Detail string `json:"detail,omitempty"`
}

// Known reports whether the policy has limits to compute with.
func (p Policy) Known() bool { return len(p.Limits) > 0 || len(p.PerOp) > 0 }

// entry is op's per-operation entry, if any.
func (p Policy) entry(name string) (OpLimit, bool) {
	for _, e := range p.PerOp {
		if e.Operation == name {
			return e, true
		}
	}
	return OpLimit{}, false
}

// limitOf is op's per-user limit, if the policy limits it.
func (p Policy) limitOf(op api.Operation) (api.Limit, bool) {
	if e, ok := p.entry(op.Name); ok {
		if e.State == OpLimited && e.Limit.Requests > 0 && e.Limit.WindowSeconds > 0 {
			return e.Limit, true
		}
		return api.Limit{}, false
	}
	l, ok := p.Limits[op.Category]
	if !ok || l.Requests <= 0 || l.WindowSeconds <= 0 {
		return api.Limit{}, false
	}
	if len(p.Operations) > 0 && !contains(p.Operations, op.Name) {
		return api.Limit{}, false
	}
	return l, true
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

// LimitMargin is the share of a per-user limit a capacity run lets one user
// use: arrivals are not perfectly even, windows need not align with the
// run, and a non-atomic limiter counts a little early.
const LimitMargin = 0.8

// Users says whether the users driving a mix are enough for the rates the
// search tries, under the policy.
type Users struct {
	// Given is the number of virtual users; Distinct the accounts among
	// them (per-user limits count per account).
	Given    int `json:"given"`
	Distinct int `json:"distinct"`
	// SupportedRate is the highest rate of the mix the distinct users may
	// send with every operation within LimitMargin of its limit (-1: the
	// policy is unknown; 0: no operation of the mix is limited).
	SupportedRate float64 `json:"supported_rate_per_s"`
	// Binding is the operation whose limit binds first.
	Binding string `json:"binding_op,omitempty"`
	// Needed is how many distinct users the search's maximum rate needs.
	Needed int `json:"needed_for_max_rate"`
	// TooFew: SupportedRate is below the search's maximum.
	TooFew bool   `json:"too_few"`
	Note   string `json:"note"`
}

// MixShares is each operation's share of a scenario's requests (0..1).
func MixShares(sc *scenarios.Scenario) map[string]float64 {
	total := 0
	for _, e := range sc.Mix {
		total += max(e.Weight, 1)
	}
	out := map[string]float64{}
	for _, e := range sc.Mix {
		out[e.Op] += float64(max(e.Weight, 1)) / float64(total)
	}
	return out
}

// CheckUsers computes Users for a mix driven by given virtual users over
// distinct accounts up to maxRate requests per second.
//
// One user sends op at rate × share(op) / distinct per second; the policy
// allows it limit/window. So the users support
//
//	rate ≤ distinct × LimitMargin × limit / window / share(op)
//
// for every limited op, and maxRate needs
//
//	users ≥ maxRate × share(op) × window / (LimitMargin × limit).
func CheckUsers(sc *scenarios.Scenario, p Policy, given, distinct, maxRate int) Users {
	u := Users{Given: given, Distinct: distinct, SupportedRate: -1}
	if !p.Known() {
		u.Note = fmt.Sprintf("the deployment's limits are %s: give --limits or --policy (or let discovery run) to check that %d user(s) are enough; 429s are counted apart from errors and named per operation", orUnknown(p.Source), distinct)
		return u
	}
	u.SupportedRate = 0
	shares := MixShares(sc)
	ops := make([]string, 0, len(shares))
	for name := range shares {
		ops = append(ops, name)
	}
	sort.Strings(ops)
	for _, name := range ops {
		op, ok := api.Lookup(name)
		if !ok {
			continue
		}
		l, limited := p.limitOf(op)
		if !limited {
			continue
		}
		perUser := LimitMargin * float64(l.Requests) / float64(l.WindowSeconds)
		r := float64(distinct) * perUser / shares[name]
		if u.SupportedRate == 0 || r < u.SupportedRate {
			u.SupportedRate, u.Binding = math.Floor(r*10)/10, name
		}
		u.Needed = max(u.Needed, int(math.Ceil(float64(maxRate)*shares[name]/perUser)))
	}
	switch {
	case u.SupportedRate == 0:
		u.Note = fmt.Sprintf("no operation of %s is limited under the %s policy: per-user limits cannot distort the measurement", sc.Name, p.Source)
	case u.SupportedRate < float64(maxRate):
		u.TooFew = true
		op, _ := api.Lookup(u.Binding)
		l, _ := p.limitOf(op)
		u.Note = fmt.Sprintf("too few users: %d distinct user(s) may send at most %.1f/s of %s before %s (%d per %d s per user, %s policy) answers 429; "+
			"to measure up to %d/s give at least %d users (--user or --users-file)",
			distinct, u.SupportedRate, sc.Name, u.Binding, l.Requests, l.WindowSeconds, p.Source, maxRate, u.Needed)
	default:
		u.Note = fmt.Sprintf("%d distinct user(s) may send up to %.1f/s of %s under the %s policy (binding: %s), above the search's maximum %d/s",
			distinct, u.SupportedRate, sc.Name, p.Source, u.Binding, maxRate)
	}
	if given > distinct {
		u.Note += fmt.Sprintf("; %d virtual users share %d account(s), and limits count per account", given, distinct)
	}
	return u
}

func orUnknown(s string) string {
	if s == "" {
		return "unknown"
	}
	return s
}

// Observed is a limit read from a 429 answer (the app's body carries
// details.max_requests and details.window_seconds; others may send
// X-RateLimit-Limit). Operation is where it was seen.
type Observed struct {
	Operation string    `json:"operation"`
	Category  string    `json:"category,omitempty"`
	Limit     api.Limit `json:"limit"`
	Count     int64     `json:"count"`
}

// parse429 reads the limit a 429 body states, if any.
func parse429(body []byte) (api.Limit, string, bool) {
	var doc struct {
		Details struct {
			Max      int    `json:"max_requests"`
			Window   int    `json:"window_seconds"`
			Category string `json:"category"`
		} `json:"details"`
		Error struct {
			Details struct {
				Max      int    `json:"max_requests"`
				Window   int    `json:"window_seconds"`
				Category string `json:"category"`
			} `json:"details"`
		} `json:"error"`
	}
	if json.Unmarshal(body, &doc) != nil {
		return api.Limit{}, "", false
	}
	d := doc.Details
	if d.Max == 0 {
		d = doc.Error.Details
	}
	if d.Max <= 0 || d.Window <= 0 {
		return api.Limit{}, "", false
	}
	return api.Limit{Requests: d.Max, WindowSeconds: d.Window}, strings.TrimSpace(d.Category), true
}
