package capacity

import (
	"encoding/json"
	"fmt"
	"os"
	"slices"
	"strings"

	"github.com/ahsp-harness/harness/scenarios/scan"
	"github.com/ahsp-harness/harness/target/api"
)

// DeclaredPolicy is the policy of --limits: every operation of a declared
// category is limited by it.
func DeclaredPolicy(source string, limits map[api.Category]api.Limit) Policy {
	p := Policy{Source: source, Limits: limits}
	for _, op := range api.Operations {
		e := OpLimit{Operation: op.Name, Category: op.Category, State: OpUnmeasured}
		if l, ok := limits[op.Category]; ok && l.Requests > 0 && l.WindowSeconds > 0 {
			e.State, e.Limit, e.From, e.Detail = OpLimited, l, FromDeclared, source
		}
		p.PerOp = append(p.PerOp, e)
	}
	return p
}

// PolicyFromMap builds the policy from a policy map (discovered now, or
// saved by a scan or run) of the legacy family, over declared limits (nil:
// none): per operation, what the map measured (limited or unlimited) wins;
// an operation it could not measure keeps its declared category limit,
// else stays unmeasured, which is not treated as limited.
func PolicyFromMap(source string, m *scan.PolicyMap, declared map[api.Category]api.Limit, declaredSrc string) (Policy, error) {
	if m == nil || len(m.Ops) == 0 {
		return Policy{}, fmt.Errorf("%s: the policy map lists no operation", source)
	}
	p := Policy{Source: source}
	measured := 0
	for _, op := range api.Operations {
		e := OpLimit{Operation: op.Name, Category: op.Category, State: OpUnmeasured}
		d, ok := m.Lookup(op.Name, api.Legacy)
		switch {
		case ok && d.State == scan.OpLimited && d.Limit > 0 && d.WindowSeconds > 0:
			e.State, e.From = OpLimited, FromDiscovered
			e.Limit = api.Limit{Requests: d.Limit, WindowSeconds: d.WindowSeconds}
			e.Detail = fmt.Sprintf("limit from %s, window from %s", d.LimitFrom, d.WindowFrom)
			measured++
		case ok && d.State == scan.OpUnlimited:
			e.State, e.From = OpUnlimited, FromDiscovered
			e.Detail = d.Note
			measured++
		case ok:
			e.Detail = strings.TrimSpace(d.State + ": " + d.Note)
		default:
			e.Detail = "not in the policy map"
		}
		if e.State == OpUnmeasured {
			if l, ok := declared[op.Category]; ok && l.Requests > 0 && l.WindowSeconds > 0 {
				e.State, e.Limit, e.From = OpLimited, l, FromDeclared
				e.Detail = strings.TrimSpace(declaredSrc + "; the map: " + e.Detail)
			}
		}
		p.PerOp = append(p.PerOp, e)
	}
	if measured == 0 {
		return Policy{}, fmt.Errorf("%s: the policy map measured no operation of the legacy family (every one unmeasured or not deployed)", source)
	}
	p.derive()
	return p, nil
}

// derive sets Limits and Operations from PerOp, for the per-category
// tuning: a category's limit is its tightest operation's.
func (p *Policy) derive() {
	p.Limits, p.Operations = map[api.Category]api.Limit{}, nil
	for _, e := range p.PerOp {
		if e.State != OpLimited || e.Limit.Requests <= 0 || e.Limit.WindowSeconds <= 0 {
			continue
		}
		p.Operations = append(p.Operations, e.Operation)
		cur, ok := p.Limits[e.Category]
		if !ok || float64(e.Limit.Requests)/float64(e.Limit.WindowSeconds) < float64(cur.Requests)/float64(cur.WindowSeconds) {
			p.Limits[e.Category] = e.Limit
		}
	}
}

// WithObserved adds what the run's 429 answers stated: an operation the
// policy did not know as limited, or knew with another limit, takes the
// stated one (from "429 body"). It reports whether anything changed.
func (p Policy) WithObserved(obs []Observed) (Policy, bool) {
	if len(obs) == 0 {
		return p, false
	}
	out := p
	out.PerOp = slices.Clone(p.PerOp)
	if len(out.PerOp) == 0 && len(p.Limits) > 0 {
		out = DeclaredPolicy(p.Source, p.Limits)
		out.Source = p.Source
		if len(p.Operations) > 0 {
			for i, e := range out.PerOp {
				if e.State == OpLimited && !contains(p.Operations, e.Operation) {
					out.PerOp[i] = OpLimit{Operation: e.Operation, Category: e.Category, State: OpUnmeasured}
				}
			}
		}
	}
	changed := false
	for _, ob := range obs {
		op, ok := api.Lookup(ob.Operation)
		if !ok {
			continue
		}
		i := slices.IndexFunc(out.PerOp, func(e OpLimit) bool { return e.Operation == op.Name })
		if i < 0 {
			out.PerOp = append(out.PerOp, OpLimit{Operation: op.Name, Category: op.Category, State: OpUnmeasured})
			i = len(out.PerOp) - 1
		}
		e := out.PerOp[i]
		if e.State == OpLimited && (ob.Limit.Requests == 0 || ob.Limit == e.Limit) {
			continue
		}
		before := fmt.Sprintf("was %s", e.State)
		if e.State == OpLimited {
			before = fmt.Sprintf("was %d/%d s (%s)", e.Limit.Requests, e.Limit.WindowSeconds, e.From)
		}
		e.State, e.From = OpLimited, From429Body
		e.Limit = ob.Limit
		if ob.Limit.Requests > 0 {
			e.Detail = fmt.Sprintf("%d answer(s) 429 during the ramp stated %d per %d s; %s", ob.Count, ob.Limit.Requests, ob.Limit.WindowSeconds, before)
		} else {
			e.Detail = fmt.Sprintf("%d answer(s) 429 during the ramp, no limit stated; %s", ob.Count, before)
		}
		out.PerOp[i] = e
		changed = true
	}
	if changed {
		out.derive()
		if !strings.Contains(out.Source, "429 answers") {
			out.Source += " + limits stated by 429 answers"
		}
	}
	return out, changed
}

// LoadPolicyMap reads the policy map of a saved scan report (harness scan
// --json), run summary (summary.json, whose scan section holds it) or
// capacity report whose discovery ran (capacity.json, or its summary.json).
func LoadPolicyMap(path string) (*scan.PolicyMap, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var doc struct {
		PolicyMap *scan.PolicyMap `json:"policy_map"`
		Scan      *struct {
			PolicyMap *scan.PolicyMap `json:"policy_map"`
		} `json:"scan"`
		Discovery *Discovery `json:"discovery"`
		Capacity  *struct {
			Discovery *Discovery `json:"discovery"`
		} `json:"capacity"`
	}
	if err := json.Unmarshal(b, &doc); err != nil {
		return nil, fmt.Errorf("%s: not JSON: %v", path, err)
	}
	m := doc.PolicyMap
	if m == nil && doc.Scan != nil {
		m = doc.Scan.PolicyMap
	}
	if m == nil && doc.Discovery != nil {
		m = doc.Discovery.Map
	}
	if m == nil && doc.Capacity != nil && doc.Capacity.Discovery != nil {
		m = doc.Capacity.Discovery.Map
	}
	if m == nil {
		return nil, fmt.Errorf("%s: no policy map in it (want the JSON of harness scan --json, a run's summary.json, or a capacity.json whose policy discovery ran)", path)
	}
	return m, nil
}
