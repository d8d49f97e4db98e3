package scenarios

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/ahsp-harness/harness/target/api"
	"github.com/ahsp-harness/harness/target/client"
)

// VU is a logged-in virtual user with what its requests need: headers
// (session cookie, CSRF) and the ids discovered in its project.
type VU struct {
	Index   int
	User    string
	Project int
	// Pekerjaan ids from the project's tree: all, custom-only and ref-only.
	Pekerjaan []int
	Custom    []int
	Ref       []int
	// HargaItems are ids from harga-items/list (fetched only when needed).
	HargaItems []int
	Header     http.Header
	Client     *client.Client
}

// LoginOptions tune how virtual users are set up.
type LoginOptions struct {
	// HTTPClient is used for login and discovery (nil: a default one).
	HTTPClient *http.Client
	// Discover fetches the project tree (and harga items when HargaItems is
	// set) so body templates can name real ids.
	Discover   bool
	HargaItems bool
	// Version is the URL family used for discovery.
	Version api.Version
	// Wait bounds how long a login waits out login throttling (a 429 or a
	// lockout page; 0: LoginWait); OnThrottle, when set, is told of each
	// throttled attempt before the wait.
	Wait       time.Duration
	OnThrottle func(user string, attempt int, err error)
}

// LoginUsers logs n virtual users in, round-robin over creds (a credential is
// reused when n exceeds them; each VU still has its own session). Logins run
// a few at a time: a real deployment's login limit must not see a stampede.
func LoginUsers(ctx context.Context, baseURL string, creds []client.Credential, n int, o LoginOptions) ([]*VU, error) {
	if len(creds) == 0 {
		return nil, fmt.Errorf("log in users: no credentials; give --user name:password or use a stack that seeds users")
	}
	if n <= 0 {
		n = 1
	}
	vus := make([]*VU, n)
	errs := make([]error, n)
	sem := make(chan struct{}, 4)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sem <- struct{}{}
			defer func() { <-sem }()
			vus[i], errs[i] = loginOne(ctx, baseURL, creds[i%len(creds)], i, i/len(creds), o)
		}()
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return nil, err
		}
	}
	return vus, nil
}

func loginOne(ctx context.Context, baseURL string, cred client.Credential, i, round int, o LoginOptions) (*VU, error) {
	var opts []client.Option
	if o.HTTPClient != nil {
		hc := *o.HTTPClient
		opts = append(opts, client.WithHTTPClient(&hc))
	}
	c, err := client.New(baseURL, opts...)
	if err != nil {
		return nil, err
	}
	if err := LoginWith(ctx, c, cred, o); err != nil {
		return nil, fmt.Errorf("log in virtual user %d as %q: %w", i+1, cred.User, err)
	}
	vu := &VU{Index: i, User: cred.User, Client: c, Header: c.Headers()}
	if len(cred.Projects) > 0 {
		vu.Project = cred.Projects[round%len(cred.Projects)]
	}
	if !o.Discover {
		return vu, nil
	}
	if vu.Project == 0 {
		return nil, fmt.Errorf("user %q has no project id: give the credential's projects (e.g. --project)", cred.User)
	}
	if err := Discover(ctx, vu, o); err != nil {
		return nil, err
	}
	return vu, nil
}

// Discover fills vu's ids from its project (the tree, and harga items when
// o.HargaItems) with its existing session: a user logged in without
// discovery gets its ids without a second login.
func Discover(ctx context.Context, vu *VU, o LoginOptions) error {
	if err := discoverTree(ctx, vu, o.Version); err != nil {
		return err
	}
	if o.HargaItems {
		return discoverHarga(ctx, vu, o.Version)
	}
	return nil
}

type treeDoc struct {
	Klasifikasi []struct {
		Sub []struct {
			Pekerjaan []struct {
				ID         int    `json:"id"`
				SourceType string `json:"source_type"`
			} `json:"pekerjaan"`
		} `json:"sub"`
	} `json:"klasifikasi"`
}

func discoverTree(ctx context.Context, vu *VU, v api.Version) error {
	op, _ := api.Lookup("list-pekerjaan.tree")
	path := op.URLPath(v, vu.Project, 0)
	resp, err := getRetry(ctx, vu.Client, path)
	if err != nil {
		return fmt.Errorf("discover tree of project %d: %w", vu.Project, err)
	}
	if resp.Status != http.StatusOK {
		return fmt.Errorf("discover tree of project %d: GET %s answered %d, want 200", vu.Project, path, resp.Status)
	}
	var doc struct {
		treeDoc
		Data *treeDoc `json:"data"` // v2 envelope
	}
	if err := resp.JSON(&doc); err != nil {
		return fmt.Errorf("discover tree of project %d: %w", vu.Project, err)
	}
	t := doc.treeDoc
	if doc.Data != nil {
		t = *doc.Data
	}
	for _, k := range t.Klasifikasi {
		for _, s := range k.Sub {
			for _, p := range s.Pekerjaan {
				vu.Pekerjaan = append(vu.Pekerjaan, p.ID)
				if p.SourceType == "custom" {
					vu.Custom = append(vu.Custom, p.ID)
				} else {
					vu.Ref = append(vu.Ref, p.ID)
				}
			}
		}
	}
	if len(vu.Pekerjaan) == 0 {
		return fmt.Errorf("discover tree of project %d: no pekerjaan found; seed the project first", vu.Project)
	}
	return nil
}

func discoverHarga(ctx context.Context, vu *VU, v api.Version) error {
	op, _ := api.Lookup("harga-items.list")
	path := op.URLPath(v, vu.Project, 0)
	resp, err := getRetry(ctx, vu.Client, path)
	if err != nil {
		return fmt.Errorf("discover harga items of project %d: %w", vu.Project, err)
	}
	var doc struct {
		Items []struct {
			ID int `json:"id"`
		} `json:"items"`
		Data *struct {
			Items []struct {
				ID int `json:"id"`
			} `json:"items"`
		} `json:"data"`
	}
	if err := json.Unmarshal(resp.Body, &doc); err != nil || resp.Status != http.StatusOK {
		return fmt.Errorf("discover harga items of project %d: GET %s answered %d", vu.Project, path, resp.Status)
	}
	items := doc.Items
	if doc.Data != nil {
		items = doc.Data.Items
	}
	for _, it := range items {
		vu.HargaItems = append(vu.HargaItems, it.ID)
	}
	if len(vu.HargaItems) == 0 {
		return fmt.Errorf("discover harga items of project %d: none found", vu.Project)
	}
	return nil
}

// LoginWait bounds how long Login waits out the deployment's login rate
// limit (per client IP, so every harness login shares it).
var LoginWait = 90 * time.Second

// Login logs c in as cred, waiting and retrying while the login limit
// answers 429 (the limit is per client IP and the harness logs in many users
// from one address) or 503 (a fail-closed limiter whose cache is briefly
// unavailable).
func Login(ctx context.Context, c *client.Client, cred client.Credential) error {
	return LoginWith(ctx, c, cred, LoginOptions{})
}

// LoginWith is Login with o's wait bound and throttle callback. A lockout
// page (200, the form again with a lockout error) is throttling too: the
// client reports it as a 429 (client.ErrLoginThrottled).
func LoginWith(ctx context.Context, c *client.Client, cred client.Credential, o LoginOptions) error {
	b := client.Backoff{Wait: 500 * time.Millisecond, Max: 8 * time.Second, Within: cmp.Or(o.Wait, LoginWait),
		Retry: client.OnStatus(http.StatusTooManyRequests, http.StatusServiceUnavailable)}
	if o.OnThrottle != nil {
		b.OnRetry = func(attempt int, err error) { o.OnThrottle(cred.User, attempt, err) }
	}
	return client.Retry(ctx, b, func(ctx context.Context) error { return c.Login(ctx, cred.User, cred.Password) })
}

// SessionBounces bounds how often a setup read is sent again when it was
// redirected to the login page: where sessions live in one worker's memory,
// a request that lands on another worker bounces, and the next may not.
const SessionBounces = 24

// getRetry GETs path, retrying a few times on 429 and 503 (setup reads must
// not fail because a fail-closed limiter's cache was briefly slow) and at
// once on a bounce to the login page.
func getRetry(ctx context.Context, c *client.Client, path string) (*client.Response, error) {
	var resp *client.Response
	err := client.Retry(ctx, client.Backoff{Tries: 5, Wait: 200 * time.Millisecond, Max: 3200 * time.Millisecond,
		Retry: client.OnStatus(http.StatusTooManyRequests, http.StatusServiceUnavailable)},
		func(ctx context.Context) error {
			var err error
			for bounces := 0; ; bounces++ {
				if resp, err = c.Do(ctx, http.MethodGet, path, nil); err != nil {
					return err
				}
				if resp.Status != http.StatusFound || !strings.Contains(resp.Header.Get("Location"), api.LoginPath) || bounces >= SessionBounces {
					break
				}
			}
			if resp.Status == http.StatusServiceUnavailable || resp.Status == http.StatusTooManyRequests {
				return client.StatusErrorf(resp.Status, "GET %s: status %d", path, resp.Status)
			}
			return nil
		})
	if client.StatusOf(err) != 0 && ctx.Err() == nil {
		return resp, nil // the tries ran out: the caller judges the last answer
	}
	return resp, err
}
