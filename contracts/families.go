package contracts

import (
	"context"
	"fmt"
	"strings"

	"github.com/ahsp-harness/harness/check"
	"github.com/ahsp-harness/harness/target/api"
)

// Family is one URL family of the project APIs as the deployment answered it.
type Family struct {
	Version  string       `json:"version"`
	Deployed bool         `json:"deployed"`
	Status   check.Status `json:"status"`
	// Probe is the one request that decided it and what came back.
	Probe      string `json:"probe"`
	ProbeCode  int    `json:"probe_status"`
	Reason     string `json:"reason"`
	Deprecated string `json:"deprecation,omitempty"`
}

// discover probes each family once with a read of the user's own project:
// an owned project answering 404 means the family is not deployed. The
// legacy family is the baseline: without it nothing else runs.
func (r *runner) discover(ctx context.Context) []Family {
	var out []Family
	for _, v := range api.Versions {
		step := "family." + string(v)
		op, _ := api.Lookup(planned(step).Operation)
		path := op.URLPath(v, r.pid, 0)
		f := Family{Version: string(v), Probe: "GET " + path}
		resp, err := r.do(ctx, op.Method, path, nil)
		switch {
		case err != nil:
			f.Status, f.Reason = check.Error, "probe failed: "+err.Error()
		case resp.Status == 200 && isJSON(resp.Header):
			f.ProbeCode, f.Deployed, f.Status = resp.Status, true, check.Pass
			f.Reason = fmt.Sprintf("deployed (%s answered 200 JSON)", f.Probe)
		case resp.Status == 404:
			f.ProbeCode, f.Status = resp.Status, check.Skip
			f.Reason = fmt.Sprintf("not deployed (%s answered 404 for the user's own project)", f.Probe)
		default:
			f.ProbeCode, f.Status = resp.Status, check.Error
			f.Reason = fmt.Sprintf("undecided: %s answered %d %s (%s)", f.Probe, resp.Status, resp.Header.Get("Content-Type"), snippet(resp.Body))
		}
		if v == api.Legacy && !f.Deployed && f.Status == check.Skip {
			// The baseline must answer: its absence is an error, not a skip.
			f.Status = check.Error
		}
		out = append(out, f)
	}
	return out
}

func familyDeployed(fs []Family, v api.Version) bool {
	for _, f := range fs {
		if f.Version == string(v) {
			return f.Deployed
		}
	}
	return false
}

// DeprecationPolicy says what a missing or malformed Deprecation, Sunset or
// Link rel="deprecation" header on a legacy or v1 response means once a
// successor family (v2) is deployed.
type DeprecationPolicy string

// Deprecation policies (harness.yaml contracts.deprecation).
const (
	DeprecationRequired DeprecationPolicy = "required" // a violation: the response fails
	DeprecationAdvisory DeprecationPolicy = "advisory" // reported, never failing (default)
	DeprecationOff      DeprecationPolicy = "off"      // not checked
)

// ParseDeprecationPolicy checks a policy name.
func ParseDeprecationPolicy(s string) (DeprecationPolicy, error) {
	switch p := DeprecationPolicy(strings.TrimSpace(s)); p {
	case "":
		return DeprecationAdvisory, nil
	case DeprecationRequired, DeprecationAdvisory, DeprecationOff:
		return p, nil
	}
	return "", fmt.Errorf("deprecation policy %q: want required, advisory or off", s)
}

// splitHeaderViolations separates the deprecation headers' violations from
// the others (Retry-After).
func splitHeaderViolations(vs []Violation) (deprecation, other []Violation) {
	for _, v := range vs {
		if v.Where == "header" && (v.InstancePath == "Deprecation" || v.InstancePath == "Sunset" || v.InstancePath == "Link") {
			deprecation = append(deprecation, v)
		} else {
			other = append(other, v)
		}
	}
	return deprecation, other
}
