package contracts

import (
	"fmt"
	"io"
	"net/http"
	"sort"
	"strings"
	"sync"
	"text/tabwriter"

	vegeta "github.com/tsenart/vegeta/v12/lib"

	"github.com/ahsp-harness/harness/check"
	"github.com/ahsp-harness/harness/target/api"
)

// Sampler validates a bounded sample of the responses a load run produces,
// so contract breaks that only appear under load (an HTML 500 page instead of
// the JSON 429 or 503) are caught. Observe is safe for concurrent use and
// cheap once the budget is spent.
type Sampler struct {
	set *Set
	// PerKey: the first PerKey responses of each operation/version/status are
	// validated, then one in Every.
	perKey, every, maxValidations, maxViolations int

	mu         sync.Mutex
	seen       map[sampleKey]int
	validated  int
	failed     int
	violations []SampleViolation
}

type sampleKey struct {
	op, version string
	status      int
}

// SamplerOption configures a Sampler.
type SamplerOption func(*Sampler)

// SamplePerKey validates the first n responses of each (operation, version, status).
func SamplePerKey(n int) SamplerOption { return func(s *Sampler) { s.perKey = n } }

// SampleEvery validates one in n responses after the first PerKey.
func SampleEvery(n int) SamplerOption { return func(s *Sampler) { s.every = max(n, 1) } }

// SampleMax caps the total number of validations.
func SampleMax(n int) SamplerOption { return func(s *Sampler) { s.maxValidations = n } }

// Defaults of a Sampler.
const (
	DefaultSamplePerKey    = 20
	DefaultSampleEvery     = 50
	DefaultSampleMax       = 2000
	DefaultSampleKeepFails = 50
)

// NewSampler returns a sampler validating against set (LoadEmbedded() for the
// built-in contracts).
func NewSampler(set *Set, opts ...SamplerOption) *Sampler {
	s := &Sampler{set: set, perKey: DefaultSamplePerKey, every: DefaultSampleEvery,
		maxValidations: DefaultSampleMax, maxViolations: DefaultSampleKeepFails,
		seen: map[sampleKey]int{}}
	for _, o := range opts {
		o(s)
	}
	return s
}

// SampleViolation is one sampled response that broke its contract.
type SampleViolation struct {
	Operation   string      `json:"operation"`
	Version     string      `json:"version"`
	Status      int         `json:"status"`
	ContentType string      `json:"content_type,omitempty"`
	Violations  []Violation `json:"violations"`
	Body        string      `json:"body,omitempty"` // start of the body
}

// SampleReport summarises what the sampler saw.
type SampleReport struct {
	Status    check.Status `json:"status"`
	Observed  int          `json:"observed"`
	Validated int          `json:"validated"`
	Failed    int          `json:"failed"`
	// ByStatus counts observed responses by "operation version status".
	ByStatus   map[string]int    `json:"by_status"`
	Violations []SampleViolation `json:"violations,omitempty"`
}

// Observe offers one response. op is an api operation name, v the URL family
// it was sent to (legacy and v1 are checked against the v1 contracts). Only
// the start of body is kept, and only when it broke its contract.
func (s *Sampler) Observe(op string, v api.Version, status int, h http.Header, body []byte) {
	version := string(v)
	if v == api.Legacy {
		version = string(api.V1)
	}
	k := sampleKey{op, version, status}
	s.mu.Lock()
	n := s.seen[k] + 1
	s.seen[k] = n
	take := s.validated < s.maxValidations && (n <= s.perKey || (n-s.perKey)%s.every == 0)
	if take {
		s.validated++
	}
	s.mu.Unlock()
	if !take {
		return
	}
	vs := CheckResponse(s.set, op, version, status, h, body)
	if len(vs) == 0 {
		return
	}
	sv := SampleViolation{Operation: op, Version: version, Status: status, ContentType: h.Get("Content-Type"), Violations: vs, Body: snippet(body)}
	s.mu.Lock()
	s.failed++
	if len(s.violations) < s.maxViolations {
		s.violations = append(s.violations, sv)
	}
	s.mu.Unlock()
}

// Report returns what has been observed so far. A sampler that validated
// nothing skips.
func (s *Sampler) Report() SampleReport {
	s.mu.Lock()
	defer s.mu.Unlock()
	r := SampleReport{Validated: s.validated, Failed: s.failed, ByStatus: map[string]int{},
		Violations: append([]SampleViolation(nil), s.violations...)}
	for k, n := range s.seen {
		r.ByStatus[fmt.Sprintf("%s %s %d", k.op, k.version, k.status)] = n
		r.Observed += n
	}
	switch {
	case s.failed > 0:
		r.Status = check.Fail
	case s.validated > 0:
		r.Status = check.Pass
	default:
		r.Status = check.Skip
	}
	return r
}

// CheckResponse checks one response against the contract of op in version
// ("v1" or "v2"): the status must be declared, the media type must match and
// a JSON body must satisfy the schema. Headers of the status (429
// Retry-After, v1 deprecation headers) are checked too.
func CheckResponse(set *Set, op, version string, status int, h http.Header, body []byte) []Violation {
	e, ok := set.Response(version, op, status)
	if !ok {
		return []Violation{{Where: "status", InstancePath: fmt.Sprint(status),
			Message: fmt.Sprintf("status %d is not in the %s contract of %s (declared: %v; content type %q, body %s)",
				status, version, op, set.Statuses(version, op), h.Get("Content-Type"), snippet(body))}}
	}
	var out []Violation
	ct := h.Get("Content-Type")
	switch {
	case !e.Allows(ct):
		out = append(out, Violation{Where: "header", InstancePath: "Content-Type", SchemaPath: e.File,
			Message: fmt.Sprintf("content type %q, want %s (body %s)", ct, strings.Join(e.MediaTypes, " or "), snippet(body))})
		if e.JSON() && len(e.MediaTypes) == 1 {
			out = append(out, e.ValidateBody(body)...)
		}
	case e.Allows(JSONMediaType) && isJSONType(ct):
		out = append(out, e.ValidateBody(body)...)
	}
	out = append(out, CheckHeaders(version, status, h)...)
	return out
}

func isJSONType(ct string) bool {
	mt, _, _ := strings.Cut(ct, ";")
	return strings.EqualFold(strings.TrimSpace(mt), JSONMediaType)
}

// RenderSample writes a sampler report.
func RenderSample(w io.Writer, r SampleReport) {
	fmt.Fprintf(w, "sampled under load: %s, %d observed, %d validated, %d broke their contract\n",
		strings.ToUpper(string(r.Status)), r.Observed, r.Validated, r.Failed)
	keys := sortedKeys(r.ByStatus)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	for _, k := range keys {
		fmt.Fprintf(tw, "  %s\t%d\n", k, r.ByStatus[k])
	}
	tw.Flush()
	// The same break repeats under load: one block per distinct break.
	type group struct {
		head  string
		lines []string
		n     int
	}
	var groups []*group
	byKey := map[string]*group{}
	for _, v := range r.Violations {
		head := fmt.Sprintf("%s %s %d (%s)", v.Version, v.Operation, v.Status, v.ContentType)
		var lines []string
		for _, x := range v.Violations {
			lines = append(lines, x.String())
		}
		k := head + "\n" + strings.Join(lines, "\n")
		g := byKey[k]
		if g == nil {
			g = &group{head: head, lines: lines}
			byKey[k] = g
			groups = append(groups, g)
		}
		g.n++
	}
	sort.SliceStable(groups, func(i, j int) bool { return groups[i].head < groups[j].head })
	for _, g := range groups {
		fmt.Fprintf(w, "  %s, %d sampled:\n", g.head, g.n)
		for _, l := range g.lines {
			fmt.Fprintf(w, "    - %s\n", l)
		}
	}
}

// ObserveURL is Observe for callers that know only the request (a load
// generator's result): the operation and version are read from the URL's
// path. Calls outside the project APIs are ignored.
func (s *Sampler) ObserveURL(method, rawURL string, status int, h http.Header, body []byte) {
	op, v, ok := Classify(method, rawURL)
	if !ok {
		return
	}
	s.Observe(op, v, status, h, body)
}

// Classify finds the operation and URL family of a project API request
// ("/detail_project/api/v2/project/3/detail-ahsp/17/save/"). A full URL or
// a path below a mount prefix works too (api.Match).
func Classify(method, rawURL string) (op string, v api.Version, ok bool) {
	o, v, ok := api.Match(method, rawURL)
	return o.Name, v, ok
}

// ObserveVegeta offers one vegeta result (the scenarios engine's
// Options.OnResult): OnResult: sampler.ObserveVegeta. Transport errors
// (code 0) carry no response and are left to the load metrics.
func (s *Sampler) ObserveVegeta(r *vegeta.Result) {
	if r == nil || r.Code == 0 {
		return
	}
	s.ObserveURL(r.Method, r.URL, int(r.Code), r.Headers, r.Body)
}
