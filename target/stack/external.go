package stack

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/ahsp-harness/harness/target/client"
)

// upExternal checks that the deployment answers and wraps it; nothing is
// started, so Down does nothing, and Control, Logs and CPUTime run the
// configured hooks.
func upExternal(ctx context.Context, spec Spec, info Info) (*Stack, error) {
	base := strings.TrimRight(spec.TargetURL, "/")
	if spec.PathPrefix != "" {
		base += "/" + strings.Trim(spec.PathPrefix, "/")
	}
	info.BaseURL = base
	info.Workers = 0
	info.Cache, info.Limiter, info.FailurePolicy, info.SessionStore, info.Limits = "unknown", "unknown", "unknown", "unknown", ""
	info.Defects, info.RedisTimeoutMS = nil, 0
	h := &hooks{cmds: spec.Hooks, timeout: spec.HookTimeout, progress: progressOf(spec.Progress),
		env: []string{"HARNESS_TARGET_URL=" + base}}
	if h.cmds == nil {
		h.cmds = map[string]string{}
	}
	info.Hooks = h.names()
	s := &Stack{info: info, creds: spec.Credentials, be: &externalStack{h: h}}
	hc := &http.Client{Timeout: 5 * time.Second, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, base+ReadyPath, nil)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrInvalidSpec, err)
	}
	resp, err := hc.Do(req)
	if err != nil {
		return nil, fmt.Errorf("%w: GET %s%s: %v (check --target-url and that the deployment is running)", ErrUnreachable, base, ReadyPath, err)
	}
	resp.Body.Close()
	if resp.StatusCode >= 500 {
		return nil, fmt.Errorf("%w: GET %s%s answered %d", ErrUnreachable, base, ReadyPath, resp.StatusCode)
	}
	progressOf(spec.Progress).printf("stack: external target %s answered %s with %d; %d credential(s)", base, ReadyPath, resp.StatusCode, len(spec.Credentials))
	return s, nil
}

// ParseUser reads "name:password" (password may contain ':'), or "name"
// alone, taking the password from fallback (e.g. $HARNESS_PASSWORD).
func ParseUser(s, fallback string) (client.Credential, error) {
	name, pw, ok := strings.Cut(s, ":")
	name = strings.TrimSpace(name)
	if !ok {
		pw = fallback
	}
	if name == "" {
		return client.Credential{}, fmt.Errorf("user %q: want name:password", s)
	}
	if pw == "" {
		return client.Credential{}, fmt.Errorf("user %q has no password: write name:password or set HARNESS_PASSWORD", name)
	}
	return client.Credential{User: name, Password: pw}, nil
}

// ReadUsersFile reads credentials, one per line: "name:password [project,...]
// [scratch]". Blank lines and lines starting with # are skipped; a line with
// a name only takes the password from fallback; the word "scratch" declares
// the line's projects disposable (checks may write to them).
func ReadUsersFile(path, fallback string) ([]client.Credential, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("open users file: %w", err)
	}
	defer f.Close()
	return parseUsers(f, path, fallback)
}

func parseUsers(r io.Reader, name, fallback string) ([]client.Credential, error) {
	var out []client.Credential
	sc := bufio.NewScanner(r)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		fields := strings.Fields(line)
		c, err := ParseUser(fields[0], fallback)
		if err != nil {
			return nil, fmt.Errorf("%s:%d: %w", name, n, err)
		}
		scratch := false
		for _, f := range fields[1:] {
			if f == "scratch" {
				scratch = true
				continue
			}
			for _, p := range strings.Split(f, ",") {
				if p == "" {
					continue
				}
				id, err := strconv.Atoi(p)
				if err != nil || id < 1 {
					return nil, fmt.Errorf("%s:%d: project id %q: want a positive integer", name, n, p)
				}
				c.Projects = append(c.Projects, id)
			}
		}
		if scratch {
			if len(c.Projects) == 0 {
				return nil, fmt.Errorf("%s:%d: scratch without projects: list the disposable projects before it (name:password 12,13 scratch)", name, n)
			}
			c.Scratch = append([]int(nil), c.Projects...)
		}
		out = append(out, c)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("read %s: %w", name, err)
	}
	return out, nil
}
