package observability

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// The counters the checks read, as the reference target names them; a
// deployment exporting other names gets an inconclusive "not found".
const (
	hitsMetric       = "ahsp_rate_limit_hits_total"
	cacheErrorMetric = "ahsp_cache_errors_total"
	metricsPath      = "/metrics"
)

// sampleKey is one series: metric name and its labels in a stable order.
type series struct {
	name   string
	labels map[string]string
}

// scrape is one /metrics answer: every sample's value by series.
type scrape struct {
	samples []sampleValue
	status  int
}

type sampleValue struct {
	series
	value float64
}

var (
	sampleLine = regexp.MustCompile(`^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})?\s+([^\s]+)`)
	labelPair  = regexp.MustCompile(`([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"`)
)

// parseMetrics reads the Prometheus text format (the part the checks need).
func parseMetrics(r io.Reader) []sampleValue {
	var out []sampleValue
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 4<<20)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		m := sampleLine.FindStringSubmatch(line)
		if m == nil {
			continue
		}
		v, err := strconv.ParseFloat(m[4], 64)
		if err != nil {
			continue
		}
		s := sampleValue{series: series{name: m[1], labels: map[string]string{}}, value: v}
		for _, lp := range labelPair.FindAllStringSubmatch(m[3], -1) {
			s.labels[lp[1]] = strings.NewReplacer(`\"`, `"`, `\\`, `\`, `\n`, "\n").Replace(lp[2])
		}
		out = append(out, s)
	}
	return out
}

// sum adds the values of metric name whose labels include want.
func (s scrape) sum(name string, want map[string]string) float64 {
	var n float64
	for _, v := range s.samples {
		if v.name != name {
			continue
		}
		ok := true
		for k, x := range want {
			if v.labels[k] != x {
				ok = false
				break
			}
		}
		if ok {
			n += v.value
		}
	}
	return n
}

// has reports whether metric name appears at all (a HELP or TYPE line
// without samples counts as absent: the checks need its samples' labels).
func (s scrape) has(name string) bool {
	for _, v := range s.samples {
		if v.name == name {
			return true
		}
	}
	return false
}

// scrapeMetrics GETs /metrics anonymously.
func scrapeMetrics(ctx context.Context, base string) (scrape, error) {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, strings.TrimRight(base, "/")+metricsPath, nil)
	if err != nil {
		return scrape{}, err
	}
	req.Header.Set("User-Agent", "ahsp-harness-observability/1")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return scrape{}, fmt.Errorf("scrape %s: %w", metricsPath, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<20))
		return scrape{status: resp.StatusCode}, nil
	}
	return scrape{status: resp.StatusCode, samples: parseMetrics(io.LimitReader(resp.Body, 32<<20))}, nil
}

// settle scrapes until match says the counters are complete, or the bound
// passes: the target's workers publish their counters shortly after they
// change, so the first scrape may lag. It returns the last scrape.
func settle(ctx context.Context, base string, match func(scrape) bool) (scrape, int, error) {
	deadline := time.Now().Add(3 * time.Second)
	var last scrape
	for n := 1; ; n++ {
		s, err := scrapeMetrics(ctx, base)
		if err != nil {
			return last, n, err
		}
		last = s
		if match(s) || time.Now().After(deadline) || ctx.Err() != nil {
			return last, n, nil
		}
		select {
		case <-ctx.Done():
			return last, n, nil
		case <-time.After(150 * time.Millisecond):
		}
	}
}
