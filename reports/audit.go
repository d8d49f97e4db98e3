package reports

import (
	"fmt"
	"strings"
	"time"
)

// The security and observability sections (packages security and
// observability): one case per check, its findings and evidence as detail.

func auditDetail(findings, evidence []string) string {
	var b strings.Builder
	for _, f := range findings {
		b.WriteString("finding: " + f + "\n")
	}
	for _, e := range evidence {
		b.WriteString(e + "\n")
	}
	return strings.TrimRight(b.String(), "\n")
}

func auditMessage(reason string, findings []string) string {
	if len(findings) == 0 {
		return reason
	}
	msg := findings[0]
	if len(findings) > 1 {
		msg += fmt.Sprintf(" (and %d more)", len(findings)-1)
	}
	return msg
}

func securitySection(r *Run) SectionResult {
	s := r.Security
	if s == nil {
		return SectionResult{}
	}
	out := SectionResult{Ran: true, Status: s.Status, Reason: s.Reason}
	for _, c := range s.Checks {
		out.Cases = append(out.Cases, Case{Suite: "security", Name: c.Name, Status: c.Status,
			Message: auditMessage(c.Reason, c.Findings), Detail: auditDetail(c.Findings, c.Evidence),
			Duration: time.Duration(c.DurationMS * float64(time.Millisecond)), Anchor: "security-" + c.Name})
	}
	return out
}

func observabilitySection(r *Run) SectionResult {
	o := r.Observability
	if o == nil {
		return SectionResult{}
	}
	out := SectionResult{Ran: true, Status: o.Status, Reason: o.Reason}
	for _, c := range o.Checks {
		out.Cases = append(out.Cases, Case{Suite: "observability", Name: c.Name, Status: c.Status,
			Message: auditMessage(c.Reason, c.Findings), Detail: auditDetail(c.Findings, c.Evidence),
			Duration: time.Duration(c.DurationMS * float64(time.Millisecond)), Anchor: "observability-" + c.Name})
	}
	return out
}
