package observability

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"regexp"
	"strings"
	"time"

	"github.com/ahsp-harness/harness/check"
	"github.com/ahsp-harness/harness/target/stack/stackinfo"
)

// hitLine says a log line is about a limit hit (not, say, an access log
// line that happens to carry the same user agent).
var hitLine = regexp.MustCompile(`(?i)rate.?limit|throttl|too many requests|limit (hit|exceeded)`)

var ipLiteral = regexp.MustCompile(`\b\d{1,3}(\.\d{1,3}){3}\b|\[?[0-9a-fA-F:]*::[0-9a-fA-F:]*\]?`)

// logLine is one line, decoded when it is JSON.
type logLine struct {
	raw    string
	fields map[string]any
}

func parseLogLines(text string) []logLine {
	var out []logLine
	for _, l := range strings.Split(text, "\n") {
		l = strings.TrimSpace(l)
		if l == "" {
			continue
		}
		ll := logLine{raw: l}
		if i := strings.IndexByte(l, '{'); i >= 0 {
			var m map[string]any
			if json.Unmarshal([]byte(l[i:]), &m) == nil {
				ll.fields = m
			}
		}
		out = append(out, ll)
	}
	return out
}

// field returns the first non-empty of the named fields as text.
func (l logLine) field(names ...string) string {
	for _, n := range names {
		if v, ok := l.fields[n]; ok && v != nil {
			s := strings.TrimSpace(fmt.Sprint(v))
			if s != "" && s != "0" && s != "None" && s != "AnonymousUser" && s != "<nil>" {
				return s
			}
		}
	}
	return ""
}

// missing lists what a limit-hit line lacks of user, operation and client IP
// (the user agent is how the line was found).
func (l logLine) missing(user, op, path string) []string {
	var out []string
	if l.fields != nil {
		if l.field("user", "username", "user_id", "uid") == "" {
			out = append(out, "user")
		}
		if o := l.field("operation", "endpoint", "view", "path", "route"); o == "" {
			out = append(out, "operation")
		}
		if ip := l.field("ip", "client_ip", "remote_addr", "remote_ip"); net.ParseIP(strings.Trim(ip, "[]")) == nil {
			out = append(out, "client IP")
		}
		return out
	}
	if !strings.Contains(l.raw, user) && !regexp.MustCompile(`(?i)user(_?id|name)?[=:]\s*"?[^\s",]+`).MatchString(l.raw) {
		out = append(out, "user")
	}
	if !strings.Contains(l.raw, op) && !strings.Contains(l.raw, path) {
		out = append(out, "operation")
	}
	if !ipLiteral.MatchString(l.raw) {
		out = append(out, "client IP")
	}
	return out
}

// judgeLogs checks that each 429 of the burst was logged once, with user,
// operation, client IP and user agent, and that no allowed request was.
func (o *observer) judgeLogs(ctx context.Context, res *Result, total int) {
	text, err := o.readLogs(ctx)
	if errors.Is(err, stackinfo.ErrUnsupported) {
		res.Status, res.Reason = check.Skip, "the deployment's logs cannot be read: "+err.Error()
		return
	}
	if err != nil {
		res.Status, res.Reason = check.Error, "read the logs: "+err.Error()
		return
	}
	if total == 0 {
		res.Status, res.Reason = check.Inconclusive, "the burst caused no 429, so there was nothing to log"
		return
	}
	lines := parseLogLines(text)
	byUA := map[string][]logLine{}
	for _, l := range lines {
		i := strings.Index(l.raw, uaPrefix+"/")
		if i < 0 || !hitLine.MatchString(l.raw) {
			continue
		}
		ua := l.raw[i:]
		if j := strings.IndexAny(ua, "\" \t,}"); j >= 0 {
			ua = ua[:j]
		}
		byUA[ua] = append(byUA[ua], l)
	}
	perOp := map[string]int{}
	missing, double, extra, incomplete := 0, 0, 0, 0
	for _, s := range o.sent {
		got := byUA[s.ua]
		switch {
		case !s.limited && len(got) > 0:
			extra++
			if extra <= 3 {
				res.findf("%s: a request answered %d was logged as a limit hit: %s", s.op.Name, s.status, clip(got[0].raw))
			}
		case s.limited && len(got) == 0:
			missing++
			if missing <= 3 {
				res.findf("%s: a 429 (user agent %s) has no limit-hit log line", s.op.Name, s.ua)
			}
		case s.limited && len(got) > 1:
			double++
			if double <= 3 {
				res.findf("%s: a 429 was logged %d times", s.op.Name, len(got))
			}
		}
		if s.limited && len(got) > 0 {
			perOp[s.op.Name]++
			path := s.op.URLPath("legacy", o.cred.Projects[0], 1)
			if m := got[0].missing(o.cred.User, s.op.Name, path); len(m) > 0 {
				incomplete++
				if incomplete <= 3 {
					res.findf("%s: the limit-hit line lacks %s: %s", s.op.Name, strings.Join(m, ", "), clip(got[0].raw))
				}
			}
		}
	}
	for i, h := range o.rep.Hits {
		o.rep.Hits[i].Logged = perOp[h.Operation]
	}
	res.notef("%d log lines read, %d 429s caused, %d logged once, %d missing, %d logged more than once, %d lines incomplete, %d allowed requests logged as hits",
		len(lines), total, total-missing-double, missing, double, incomplete, extra)
	if len(lines) == 0 {
		res.Status, res.Reason = check.Inconclusive, "the logs were empty"
	}
}

// readLogs reads the logs until every 429 of the burst shows (a
// deployment writes its log lines a little after it answers), within a
// bound; the last read is judged either way.
func (o *observer) readLogs(ctx context.Context) (string, error) {
	deadline := time.Now().Add(3 * time.Second)
	for {
		text, err := o.t.ReadLogs(ctx)
		if err != nil || time.Now().After(deadline) || ctx.Err() != nil {
			return text, err
		}
		found := true
		for _, s := range o.sent {
			if s.limited && !strings.Contains(text, s.ua) {
				found = false
				break
			}
		}
		if found {
			return text, nil
		}
		time.Sleep(200 * time.Millisecond)
	}
}

func clip(s string) string {
	if len(s) > 200 {
		return s[:197] + "..."
	}
	return s
}
