// Package shard spreads one load scenario over N generator processes
// (machines, pods, CI jobs) and merges what they recorded into one result,
// so thresholds are judged on the whole load, not per shard. Splitting is
// deterministic: shard i of N always gets the same rate, users and
// credentials.
package shard

import (
	"errors"
	"fmt"
	"io"
	"sort"
	"strconv"
	"strings"

	vegeta "github.com/tsenart/vegeta/v12/lib"

	"github.com/ahsp-harness/harness/scenarios"
	"github.com/ahsp-harness/harness/target/client"
)

// Shard is one part of N; Index counts from 0, like a Kubernetes Indexed
// Job's JOB_COMPLETION_INDEX.
type Shard struct{ Index, Count int }

// Parse reads "i/N" with 0 <= i < N.
func Parse(s string) (Shard, error) {
	a, b, ok := strings.Cut(strings.TrimSpace(s), "/")
	i, err1 := strconv.Atoi(a)
	n, err2 := strconv.Atoi(b)
	if !ok || err1 != nil || err2 != nil || n < 1 || i < 0 || i >= n {
		return Shard{}, fmt.Errorf("shard %q: want i/N with 0 <= i < N, e.g. 0/4 (i is JOB_COMPLETION_INDEX in a Kubernetes Indexed Job)", s)
	}
	return Shard{Index: i, Count: n}, nil
}

func (s Shard) String() string { return fmt.Sprintf("%d/%d", s.Index, s.Count) }

// part is shard s's share of total: the remainder goes to the lowest
// indexes, so the parts always add up to total.
func (s Shard) part(total int) int {
	p := total / s.Count
	if s.Index < total%s.Count {
		p++
	}
	return p
}

// Apply gives sc this shard's share of the rate (every step), requests,
// concurrency and virtual users. It fails when a share would be zero: the
// shard would send nothing, so the load cannot be split that finely.
func (s Shard) Apply(sc *scenarios.Scenario) error {
	if s.Count <= 1 {
		return nil
	}
	sc.Normalize()
	check := func(field string, total int) (int, error) {
		p := s.part(total)
		if p == 0 {
			return 0, fmt.Errorf("shard %s of %s: %s %d cannot be split %d ways; use fewer shards", s, sc.Name, field, total, s.Count)
		}
		return p, nil
	}
	var err error
	if sc.Users, err = check("users", sc.Users); err != nil {
		return err
	}
	switch sc.Kind {
	case scenarios.Constant:
		sc.Rate, err = check("rate", sc.Rate)
	case scenarios.Step:
		for i := range sc.Steps {
			if sc.Steps[i].Rate, err = check(fmt.Sprintf("steps[%d].rate", i), sc.Steps[i].Rate); err != nil {
				break
			}
		}
	case scenarios.Burst:
		sc.Requests, err = check("requests", sc.Requests)
	case scenarios.Concurrency:
		sc.Concurrency, err = check("concurrency", sc.Concurrency)
	}
	return err
}

// Credentials keeps the credentials this shard owns (every Count-th from
// Index), so no two shards log the same user in and per-user rate limits
// see the same users as in one unsharded run.
func (s Shard) Credentials(creds []client.Credential) ([]client.Credential, error) {
	if s.Count <= 1 {
		return creds, nil
	}
	var out []client.Credential
	for i, c := range creds {
		if i%s.Count == s.Index {
			out = append(out, c)
		}
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("shard %s: %d credentials cannot be split %d ways; seed or give more users", s, len(creds), s.Count)
	}
	return out, nil
}

// Part is what one shard recorded: its results (load.json) and every raw
// result (vegeta's gob encoding, from --raw).
type Part struct {
	Name    string // the shard's folder, for errors
	Results []*scenarios.Result
	Raw     io.Reader
}

// Merge combines the shards' scenarios by name into one result each. The
// metrics are rebuilt from the raw results, so percentiles, per-endpoint
// and per-worker numbers are exact, not averages of averages.
func Merge(parts []Part) ([]*scenarios.Result, error) {
	if len(parts) == 0 {
		return nil, errors.New("merge: no shards given")
	}
	merged := map[string]*scenarios.Result{}
	metrics := map[string]*scenarios.Metrics{}
	shards := map[string]int{}
	var order []string
	for _, p := range parts {
		for _, r := range p.Results {
			m := merged[r.Scenario]
			if m == nil {
				c := *r
				c.Users, c.Scheduled, c.RequestedRate, c.MaxWorkers, c.MaxConnections = 0, 0, 0, 0, 0
				c.FellBehind, c.Interrupted, c.Note = false, false, ""
				m = &c
				merged[r.Scenario], metrics[r.Scenario] = m, scenarios.NewMetrics()
				order = append(order, r.Scenario)
			}
			m.Users += r.Users
			shards[r.Scenario]++
			if r.Scheduled >= 0 && m.Scheduled >= 0 {
				m.Scheduled += r.Scheduled
			} else {
				m.Scheduled = -1
			}
			m.RequestedRate += r.RequestedRate
			m.MaxWorkers += r.MaxWorkers
			m.MaxConnections += r.MaxConnections
			m.Interrupted = m.Interrupted || r.Interrupted
			if r.Started.Before(m.Started) {
				m.Started = r.Started
			}
			if r.Note != "" {
				m.Note = strings.TrimPrefix(m.Note+"; ", "; ") + p.Name + ": " + r.Note
			}
			m.FellBehind = m.FellBehind || r.FellBehind
		}
	}
	for _, p := range parts {
		if p.Raw == nil {
			return nil, fmt.Errorf("merge %s: no raw results (run each shard with --raw)", p.Name)
		}
		dec := vegeta.NewDecoder(p.Raw)
		for n := 0; ; n++ {
			var r vegeta.Result
			if err := dec.Decode(&r); err == io.EOF {
				break
			} else if err != nil {
				return nil, fmt.Errorf("merge %s: read raw result %d: %w", p.Name, n+1, err)
			}
			m := metrics[r.Attack]
			if m == nil {
				return nil, fmt.Errorf("merge %s: raw result of scenario %q that no shard's load.json lists", p.Name, r.Attack)
			}
			m.Add(&r)
		}
	}
	if len(order) == 0 {
		return nil, errors.New("merge: the shards hold no scenario results")
	}
	sort.Strings(order)
	out := make([]*scenarios.Result, 0, len(order))
	for _, name := range order {
		r, m := merged[name], metrics[name]
		r.Metrics = m.Summary()
		r.Sent, r.AchievedRate = m.Count(), r.Metrics.SendRate
		r.Shape = fmt.Sprintf("%s: %d shards merged, requested %.0f/s in total, %d users", name, shards[name], r.RequestedRate, r.Users)
		if r.RequestedRate > 0 && r.AchievedRate < scenarios.BehindThreshold*r.RequestedRate && !r.FellBehind {
			r.FellBehind = true
			r.Note = strings.TrimPrefix(r.Note+"; ", "; ") + fmt.Sprintf("merged: requested %.0f/s, achieved %.1f/s: the shards fell behind or did not start together", r.RequestedRate, r.AchievedRate)
		}
		out = append(out, r)
	}
	return out, nil
}
