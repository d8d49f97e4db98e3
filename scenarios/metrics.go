package scenarios

import (
	"encoding/base64"
	"fmt"
	"math"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"time"

	hdr "github.com/HdrHistogram/hdrhistogram-go"
	vegeta "github.com/tsenart/vegeta/v12/lib"

	"github.com/ahsp-harness/harness/target/api"
)

// Latencies are recorded in microseconds from 1 µs to 5 min with 3
// significant digits: about 140 KB per histogram, whatever the request count.
const (
	histMin     = 1
	histMax     = int64(5 * time.Minute / time.Microsecond)
	histSigFigs = 3
	// maxSeriesSeconds bounds the time series (one point per second).
	maxSeriesSeconds = 24 * 3600
)

func newHist() *hdr.Histogram { return hdr.New(histMin, histMax, histSigFigs) }

// Latency summarises a histogram in milliseconds.
type Latency struct {
	Min  float64 `json:"min_ms"`
	Mean float64 `json:"mean_ms"`
	P50  float64 `json:"p50_ms"`
	P90  float64 `json:"p90_ms"`
	P95  float64 `json:"p95_ms"`
	P99  float64 `json:"p99_ms"`
	Max  float64 `json:"max_ms"`
}

func summarize(h *hdr.Histogram) Latency {
	if h.TotalCount() == 0 {
		return Latency{}
	}
	ms := func(us int64) float64 { return math.Round(float64(us)) / 1000 }
	return Latency{
		Min:  ms(h.Min()),
		Mean: math.Round(h.Mean()) / 1000,
		P50:  ms(h.ValueAtQuantile(50)),
		P90:  ms(h.ValueAtQuantile(90)),
		P95:  ms(h.ValueAtQuantile(95)),
		P99:  ms(h.ValueAtQuantile(99)),
		Max:  ms(h.Max()),
	}
}

// Stats are the metrics of one slice of the results (all, one operation,
// one worker).
type Stats struct {
	Requests int64 `json:"requests"`
	// OK counts 2xx answers; Errors counts transport errors, 4xx/5xx and
	// redirects to the login page (a lost session).
	OK         int64            `json:"ok"`
	Errors     int64            `json:"errors"`
	Throughput float64          `json:"throughput_per_s"`
	Latency    Latency          `json:"latency"`
	BytesIn    uint64           `json:"bytes_in"`
	BytesOut   uint64           `json:"bytes_out"`
	Status     map[string]int64 `json:"status"`
	// Histogram is the latency histogram (µs) in HdrHistogram's compressed
	// V2 encoding, base64: decode and merge it to combine runs.
	Histogram string `json:"histogram,omitempty"`
}

// Point is one second of the time series.
type Point struct {
	Second   int     `json:"second"`
	Requests int64   `json:"requests"`
	Errors   int64   `json:"errors"`
	P95      float64 `json:"p95_ms"`
}

type acc struct {
	requests, ok, errors int64
	bytesIn, bytesOut    uint64
	codes                [600]int64    // per status code below 600 (0: no answer)
	status               map[int]int64 // any other code
	hist                 *hdr.Histogram
}

func newAcc() *acc { return &acc{status: map[int]int64{}, hist: newHist()} }

func (a *acc) add(code int, failed bool, lat time.Duration, in, out uint64) {
	a.requests++
	if code >= 200 && code < 300 && !failed {
		a.ok++
	}
	if failed {
		a.errors++
	}
	a.bytesIn += in
	a.bytesOut += out
	if code >= 0 && code < len(a.codes) {
		a.codes[code]++
	} else {
		a.status[code]++
	}
	us := lat.Microseconds()
	if us < histMin {
		us = histMin
	}
	if us > histMax {
		us = histMax
	}
	_ = a.hist.RecordValue(us) // in range by construction
}

func (a *acc) merge(b *acc) {
	a.requests += b.requests
	a.ok += b.ok
	a.errors += b.errors
	a.bytesIn += b.bytesIn
	a.bytesOut += b.bytesOut
	for k, v := range b.codes {
		if v != 0 {
			a.codes[k] += v
		}
	}
	for k, v := range b.status {
		a.status[k] += v
	}
	a.hist.Merge(b.hist)
}

func (a *acc) stats(elapsed time.Duration, withHist bool) *Stats {
	s := &Stats{
		Requests: a.requests, OK: a.ok, Errors: a.errors,
		Latency: summarize(a.hist), BytesIn: a.bytesIn, BytesOut: a.bytesOut,
		Status: map[string]int64{},
	}
	if elapsed > 0 {
		s.Throughput = math.Round(float64(a.requests)/elapsed.Seconds()*100) / 100
	}
	for k, v := range a.codes {
		if v != 0 {
			s.Status[strconv.Itoa(k)] = v
		}
	}
	for k, v := range a.status {
		s.Status[strconv.Itoa(k)] = v
	}
	if withHist && a.requests > 0 {
		if b, err := a.hist.Encode(hdr.V2CompressedEncodingCookieBase); err == nil {
			s.Histogram = base64.StdEncoding.EncodeToString(b)
		}
	}
	return s
}

// seriesBuckets is a tiny log-scale histogram (10% wide buckets) per second,
// so the series stays small for long runs.
type seriesPoint struct {
	requests, errors int64
	buckets          [200]uint32
}

const seriesBase = 1.1

func seriesBucket(us int64) int {
	if us < 1 {
		us = 1
	}
	b := int(math.Log(float64(us)) / math.Log(seriesBase))
	return min(b, 199)
}

func (p *seriesPoint) p95() float64 {
	if p.requests == 0 {
		return 0
	}
	want := int64(math.Ceil(float64(p.requests) * 0.95))
	var seen int64
	for i, c := range p.buckets {
		seen += int64(c)
		if seen >= want {
			return math.Round(math.Pow(seriesBase, float64(i+1))) / 1000
		}
	}
	return 0
}

// Metrics aggregates results as they arrive: memory depends on the number of
// operations, workers and seconds, never on the number of requests. It is
// not safe for concurrent use; one goroutine feeds it.
type Metrics struct {
	total    *acc
	ops      map[string]*acc
	workers  map[string]*acc
	errs     map[string]int64
	series   []*seriesPoint
	first    time.Time // earliest request start
	last     time.Time // latest request start
	lastEnd  time.Time // latest response end
	matchOps func(path string) string
	opOf     map[string]string // URL -> operation, for the URLs seen last
	// The last result's URL, operation and worker with their accumulators:
	// consecutive results mostly share them, and a string comparison costs
	// less than hashing it into a map.
	lastURL, lastOp, lastWorker string
	lastOpAcc, lastWorkerAcc    *acc
}

// maxOpURLs bounds Metrics.opOf: a mix with more distinct URLs than this
// (ids in paths) starts it afresh rather than growing.
const maxOpURLs = 4096

// NewMetrics returns an empty aggregator.
func NewMetrics() *Metrics {
	return &Metrics{total: newAcc(), ops: map[string]*acc{}, workers: map[string]*acc{}, errs: map[string]int64{}, matchOps: OperationOf, opOf: map[string]string{}}
}

// Count is the number of results added.
func (m *Metrics) Count() int64 { return m.total.requests }

// ErrorCount is the number of failed results added.
func (m *Metrics) ErrorCount() int64 { return m.total.errors }

// Add records one vegeta result.
func (m *Metrics) Add(r *vegeta.Result) {
	code := int(r.Code)
	kind := ErrorKind(r)
	failed := kind != ""
	if failed {
		m.errs[kind]++
	}
	m.total.add(code, failed, r.Latency, r.BytesIn, r.BytesOut)
	if r.URL != m.lastURL || m.lastOpAcc == nil {
		op, ok := m.opOf[r.URL]
		if !ok {
			op = m.matchOps(urlPath(r.URL))
			if len(m.opOf) >= maxOpURLs {
				clear(m.opOf)
			}
			m.opOf[r.URL] = op
		}
		if op != m.lastOp || m.lastOpAcc == nil {
			m.lastOp, m.lastOpAcc = op, accFor(m.ops, op)
		}
		m.lastURL = r.URL
	}
	m.lastOpAcc.add(code, failed, r.Latency, r.BytesIn, r.BytesOut)
	if w := workerOf(r.Headers); w != "" {
		if w != m.lastWorker || m.lastWorkerAcc == nil {
			m.lastWorker, m.lastWorkerAcc = w, accFor(m.workers, w)
		}
		m.lastWorkerAcc.add(code, failed, r.Latency, r.BytesIn, r.BytesOut)
	}
	if m.first.IsZero() || r.Timestamp.Before(m.first) {
		m.first = r.Timestamp
	}
	if r.Timestamp.After(m.last) {
		m.last = r.Timestamp
	}
	if e := r.End(); e.After(m.lastEnd) {
		m.lastEnd = e
	}
	sec := int(r.Timestamp.Sub(m.first) / time.Second)
	if sec >= 0 && sec < maxSeriesSeconds {
		for len(m.series) <= sec {
			m.series = append(m.series, &seriesPoint{})
		}
		p := m.series[sec]
		p.requests++
		if failed {
			p.errors++
		}
		p.buckets[seriesBucket(r.Latency.Microseconds())]++
	}
}

// accFor is k's accumulator in accs, a new one the first time.
func accFor(accs map[string]*acc, k string) *acc {
	a := accs[k]
	if a == nil {
		a = newAcc()
		accs[k] = a
	}
	return a
}

// workerOf is r.Headers.Get(api.WorkerHeader) without canonicalizing a
// name that is canonical already.
func workerOf(h http.Header) string {
	if v := h[api.WorkerHeader]; len(v) > 0 {
		return v[0]
	}
	return ""
}

// Merge adds everything other recorded (e.g. from another generator process).
// Series are aligned on each one's first request.
func (m *Metrics) Merge(other *Metrics) {
	m.total.merge(other.total)
	for k, v := range other.ops {
		accFor(m.ops, k).merge(v)
	}
	for k, v := range other.workers {
		accFor(m.workers, k).merge(v)
	}
	for k, v := range other.errs {
		m.errs[k] += v
	}
	for i, p := range other.series {
		for len(m.series) <= i {
			m.series = append(m.series, &seriesPoint{})
		}
		q := m.series[i]
		q.requests += p.requests
		q.errors += p.errors
		for j := range q.buckets {
			q.buckets[j] += p.buckets[j]
		}
	}
	if m.first.IsZero() || (!other.first.IsZero() && other.first.Before(m.first)) {
		m.first = other.first
	}
	if other.last.After(m.last) {
		m.last = other.last
	}
	if other.lastEnd.After(m.lastEnd) {
		m.lastEnd = other.lastEnd
	}
}

// Summary is the finished metrics of one run.
type Summary struct {
	Total      *Stats            `json:"total"`
	Operations map[string]*Stats `json:"operations"`
	Workers    map[string]*Stats `json:"workers,omitempty"`
	Errors     map[string]int64  `json:"errors,omitempty"`
	Series     []Point           `json:"series"`
	// Elapsed is from the first request's start to the last response's end.
	ElapsedSeconds float64 `json:"elapsed_s"`
	// SendRate is requests per second between the first and last request
	// start, the achieved arrival rate.
	SendRate float64 `json:"send_rate_per_s"`
}

// Summary computes the finished metrics.
func (m *Metrics) Summary() Summary {
	elapsed := m.lastEnd.Sub(m.first)
	s := Summary{
		Total:          m.total.stats(elapsed, true),
		Operations:     map[string]*Stats{},
		Workers:        map[string]*Stats{},
		Errors:         map[string]int64{},
		ElapsedSeconds: math.Round(elapsed.Seconds()*1000) / 1000,
	}
	for k, v := range m.ops {
		s.Operations[k] = v.stats(elapsed, false)
	}
	for k, v := range m.workers {
		s.Workers[k] = v.stats(elapsed, false)
	}
	for k, v := range m.errs {
		s.Errors[k] = v
	}
	if span := m.last.Sub(m.first); span > 0 && m.total.requests > 1 {
		s.SendRate = math.Round(float64(m.total.requests-1)/span.Seconds()*100) / 100
	}
	for i, p := range m.series {
		s.Series = append(s.Series, Point{Second: i, Requests: p.requests, Errors: p.errors, P95: p.p95()})
	}
	return s
}

// DecodeHistogram turns a Stats.Histogram back into a mergeable histogram.
func DecodeHistogram(s string) (*hdr.Histogram, error) {
	b, err := base64.StdEncoding.DecodeString(s)
	if err != nil {
		return nil, fmt.Errorf("decode histogram: %w", err)
	}
	h, err := hdr.Decode(b)
	if err != nil {
		return nil, fmt.Errorf("decode histogram: %w", err)
	}
	return h, nil
}

// ErrorKind classifies a result: "" when it succeeded, else a short kind
// ("timeout", "connection refused", "http 429", "redirect to login", ...).
func ErrorKind(r *vegeta.Result) string {
	if r.Code == 0 {
		e := strings.ToLower(r.Error)
		switch {
		case e == "":
			return "no response"
		case strings.Contains(e, "timeout") || strings.Contains(e, "deadline exceeded"):
			return "timeout"
		case strings.Contains(e, "connection refused"):
			return "connection refused"
		case strings.Contains(e, "reset by peer"):
			return "connection reset"
		case strings.Contains(e, "eof"):
			return "connection closed (eof)"
		}
		return "transport error"
	}
	if r.Code >= 400 {
		return "http " + strconv.Itoa(int(r.Code))
	}
	if r.Code >= 300 && strings.Contains(r.Headers.Get("Location"), api.LoginPath) {
		return "redirect to login"
	}
	return ""
}

// OperationOf names the app operation a request path belongs to, in any URL
// family (api.Match); other paths are named by themselves ("/health/"), and a
// project API path of no known operation is "other".
func OperationOf(path string) string {
	_, _, rest, ok := api.SplitProjectPath(path)
	if !ok {
		return path
	}
	if op, ok := api.OperationAt("", rest); ok {
		return op.Name
	}
	return "other"
}

func urlPath(u string) string {
	if i := strings.Index(u, "://"); i >= 0 {
		u = u[i+3:]
		if j := strings.IndexByte(u, '/'); j >= 0 {
			u = u[j:]
		} else {
			u = "/"
		}
	}
	if i := strings.IndexAny(u, "?#"); i >= 0 {
		u = u[:i]
	}
	return u
}

// sortedKeys returns map keys in order, for stable printing.
func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
