package scan

import "context"

// Discover maps the deployment's rate-limit policy alone, as a scan does
// before its probes (no probe runs): for callers that size load by it, such
// as capacity. Writes carry the probes' unparseable body, so nothing is
// stored; the users it logs in (PolicyMap.Users, taken from t's credentials
// in order) have spent their quota of every limited operation for a window.
func Discover(ctx context.Context, t Target, cfg Config) (*PolicyMap, error) {
	s, err := newScanner(t, cfg)
	if err != nil {
		return nil, err
	}
	return s.discover(ctx)
}
