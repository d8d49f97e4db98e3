package stack

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"

	toxiclient "github.com/Shopify/toxiproxy/v2/client"
	cerrdefs "github.com/containerd/errdefs"
	"github.com/moby/moby/client"
	"github.com/testcontainers/testcontainers-go"
	tclog "github.com/testcontainers/testcontainers-go/log"
	"github.com/testcontainers/testcontainers-go/network"
	"github.com/testcontainers/testcontainers-go/wait"
)

// Inside the docker stack's network.
const (
	redisAlias     = "redis"
	toxiproxyAlias = "toxiproxy"
	targetAlias    = "target"
	ctrRunDir      = "/run/ahsp"
	ctrPort        = "8000/tcp"
)

// Environment testcontainers needs here: no reaper image can be pulled, and
// without the host override it would dial the default gateway (an outside
// address) when it finds /.dockerenv.
var tcEnv = map[string]string{
	"TESTCONTAINERS_RYUK_DISABLED": "true",
	"TESTCONTAINERS_HOST_OVERRIDE": "127.0.0.1",
}

func ensureTestcontainersEnv(p progress) {
	for k, v := range tcEnv {
		if os.Getenv(k) == "" {
			_ = os.Setenv(k, v)
			p.printf("stack: %s unset; using %s", k, v)
		}
	}
}

// dockerClient connects to the engine the docker mode uses. Every use of
// testcontainers starts here, so its environment is set before it reads its
// configuration (once per process).
func dockerClient(ctx context.Context, p progress) (*testcontainers.DockerClient, error) {
	ensureTestcontainersEnv(p)
	if err := pingDocker(ctx); err != nil {
		return nil, fmt.Errorf("%w: no Docker engine at %s (%v): start dockerd, or use --stack local", ErrStart, DockerHost(), err)
	}
	// Our own progress lines say what happens; testcontainers' would repeat it noisily.
	tclog.SetDefault(tclog.NewNoopLogger())
	cli, err := testcontainers.NewDockerClientWithOpts(ctx)
	if err != nil {
		return nil, fmt.Errorf("%w: connect to Docker at %s: %v", ErrStart, DockerHost(), err)
	}
	return cli, nil
}

type dockerStack struct {
	spec    Spec
	runID   string
	cli     *testcontainers.DockerClient
	net     *testcontainers.DockerNetwork
	redis   *testcontainers.DockerContainer
	toxi    *testcontainers.DockerContainer
	target  *testcontainers.DockerContainer
	proxy   *remoteProxy
	mu      sync.Mutex
	once    sync.Once
	downErr error
}

func upDocker(ctx context.Context, spec Spec, info Info) (*Stack, error) {
	p := progressOf(spec.Progress)
	cli, err := dockerClient(ctx, p)
	if err != nil {
		return nil, err
	}
	bin, how, err := ResolveTarget(ctx, spec.TargetBin, spec.Progress)
	if err != nil {
		return nil, err
	}
	info.TargetBin = bin
	p.printf("stack: target binary %s (%s)", bin, how)

	var buildTime time.Duration
	targetImg, d, err := ensureTargetImage(ctx, cli, bin, p)
	if err != nil {
		return nil, err
	}
	buildTime += d
	var redisImg, toxiImg string
	if spec.Cache == CacheRedis {
		if redisImg, info.RedisKind, d, err = ensureRedisImage(ctx, cli, p); err != nil {
			return nil, err
		}
		buildTime += d
		if toxiImg, d, err = ensureToxiproxyImage(ctx, cli, p); err != nil {
			return nil, err
		}
		buildTime += d
	}
	info.ImageBuildSeconds = buildTime.Seconds()
	if buildTime > 0 {
		p.printf("stack: images built in %.1fs", buildTime.Seconds())
	}

	labels := map[string]string{LabelKey: "1", LabelRun: info.RunID, LabelPID: strconv.Itoa(os.Getpid())}
	ds := &dockerStack{spec: spec, runID: info.RunID, cli: cli}
	s := &Stack{info: info, be: ds, creds: seededCredentials(spec.Seed, spec.SeedPassword)}
	if ds.net, err = network.New(ctx, network.WithLabels(labels)); err != nil {
		return s, fmt.Errorf("%w: create network: %v", ErrStart, err)
	}

	redisAddr := ""
	if spec.Cache == CacheRedis {
		opts := []testcontainers.ContainerCustomizer{
			network.WithNetwork([]string{redisAlias}, ds.net),
			testcontainers.WithLabels(labels),
			testcontainers.WithExposedPorts("6379/tcp"),
			testcontainers.WithWaitStrategy(wait.ForLog("Ready to accept connections").WithStartupTimeout(spec.StartTimeout)),
		}
		if redisImg == RedisAlpine {
			opts = append(opts, testcontainers.WithCmd("redis-server", "--save", "", "--appendonly", "no"))
		}
		// Redis and Toxiproxy do not depend on each other: start both at once.
		var redisErr, toxiErr error
		var wg sync.WaitGroup
		wg.Add(2)
		go func() {
			defer wg.Done()
			ds.redis, redisErr = testcontainers.Run(ctx, redisImg, opts...)
		}()
		go func() {
			defer wg.Done()
			ds.toxi, toxiErr = testcontainers.Run(ctx, toxiImg,
				network.WithNetwork([]string{toxiproxyAlias}, ds.net),
				testcontainers.WithLabels(labels),
				testcontainers.WithExposedPorts("8474/tcp"),
				testcontainers.WithWaitStrategy(wait.ForHTTP("/version").WithPort("8474/tcp").WithStartupTimeout(spec.StartTimeout)),
			)
		}()
		wg.Wait()
		if redisErr != nil {
			return s, fmt.Errorf("%w: start redis container: %v", ErrStart, redisErr)
		}
		if toxiErr != nil {
			return s, fmt.Errorf("%w: start toxiproxy container: %v", ErrStart, toxiErr)
		}
		if s.info.RedisAddr, err = ds.redis.PortEndpoint(ctx, "6379/tcp", ""); err != nil {
			return s, fmt.Errorf("%w: redis port: %v", ErrStart, err)
		}
		api, err := ds.toxi.PortEndpoint(ctx, "8474/tcp", "")
		if err != nil {
			return s, fmt.Errorf("%w: toxiproxy port: %v", ErrStart, err)
		}
		px, err := toxiclient.NewClient(api).CreateProxy("redis", "0.0.0.0:6380", redisAlias+":6379")
		if err != nil {
			return s, fmt.Errorf("%w: create toxiproxy proxy: %v", ErrStart, err)
		}
		ds.proxy = &remoteProxy{proxy: px}
		redisAddr = toxiproxyAlias + ":6380"
		p.printf("stack: redis (%s) at %s; the target reaches it through toxiproxy", s.info.RedisKind, s.info.RedisAddr)
	}

	cmd := append([]string{"serve", "--addr", "0.0.0.0:8000"}, targetArgs(spec, "/data/ahsp.db", redisAddr, ctrRunDir)...)
	ds.target, err = testcontainers.Run(ctx, targetImg,
		network.WithNetwork([]string{targetAlias}, ds.net),
		testcontainers.WithLabels(labels),
		testcontainers.WithExposedPorts(ctrPort),
		testcontainers.WithCmd(cmd...),
	)
	if err != nil {
		return s, fmt.Errorf("%w: start target container: %v", ErrStart, err)
	}
	exited := func() error {
		st, err := ds.target.State(ctx)
		if err == nil && !st.Running {
			return fmt.Errorf("container %s, exit code %d", st.Status, st.ExitCode)
		}
		return nil
	}
	ep, err := ds.target.PortEndpoint(ctx, ctrPort, "http")
	if err != nil {
		if xerr := exited(); xerr != nil {
			return s, fmt.Errorf("%w: target exited before it was ready (%v); last log lines:\n%s", ErrStart, xerr, lastLines(ds.logs(ctx), 20))
		}
		return s, fmt.Errorf("%w: target port: %v", ErrStart, err)
	}
	s.info.BaseURL = ep
	if err := waitReady(ctx, ep, spec.StartTimeout, exited, func() string { return ds.logs(ctx) }); err != nil {
		return s, err
	}
	s.info.BaseURL, s.info.Route = ds.route(ctx, ep)
	p.printf("stack: target reached at %s (%s)", s.info.BaseURL, s.info.Route)
	return s, nil
}

// EnvDockerRoute set to "port" keeps docker mode on the published port.
const EnvDockerRoute = "HARNESS_DOCKER_ROUTE"

// route picks how the harness reaches the target container: its address on
// the run's own network when the host can reach it (Linux with a local
// engine), else the published port. docker-proxy, which serves published
// ports on loopback, costs about as much CPU per request as the target:
// wrk got 26k/s through it and 60k/s straight to the container.
func (d *dockerStack) route(ctx context.Context, published string) (baseURL, how string) {
	how = "published port through docker-proxy"
	if os.Getenv(EnvDockerRoute) == "port" {
		return published, how + " (" + EnvDockerRoute + "=port)"
	}
	in, err := d.target.Inspect(ctx)
	if err != nil || in.NetworkSettings == nil {
		return published, how
	}
	ep := in.NetworkSettings.Networks[d.net.Name]
	if ep == nil || !ep.IPAddress.IsValid() {
		return published, how
	}
	direct := "http://" + net.JoinHostPort(ep.IPAddress.String(), strings.TrimSuffix(ctrPort, "/tcp"))
	hc := &http.Client{Timeout: 500 * time.Millisecond}
	resp, err := hc.Get(direct + ReadyPath)
	if err != nil {
		return published, how + " (the container's address is not reachable from here)"
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return published, how
	}
	return direct, "the container's address on the run's network, no docker-proxy; " + EnvDockerRoute + "=port for the published port"
}

func (d *dockerStack) control() (Control, error) { return d, nil }

func (d *dockerStack) seed(ctx context.Context, seed Seed, password string) error {
	code, out, err := d.target.Exec(ctx, []string{"/ahsp-target", "seed", "--db", "/data/ahsp.db",
		"--seed", fmt.Sprintf("users=%d,projects=%d", seed.Users, seed.Projects), "--seed-password", password})
	if err != nil {
		return fmt.Errorf("exec ahsp-target seed: %w", err)
	}
	if code != 0 {
		b, _ := io.ReadAll(out)
		return fmt.Errorf("ahsp-target seed exited %d: %s", code, lastLines(string(b), 20))
	}
	return nil
}

func (d *dockerStack) logs(ctx context.Context) string {
	if d.target == nil {
		return ""
	}
	rc, err := d.target.Logs(ctx)
	if err != nil {
		return fmt.Sprintf("(read target logs: %v)", err)
	}
	defer rc.Close()
	b, _ := io.ReadAll(io.LimitReader(rc, 16<<20))
	return lastLines(string(b), 500)
}

func (d *dockerStack) down(ctx context.Context) error {
	d.once.Do(func() {
		var errs []error
		for _, c := range []*testcontainers.DockerContainer{d.target, d.toxi, d.redis} {
			if c == nil {
				continue
			}
			if err := c.Terminate(ctx, testcontainers.StopTimeout(5*time.Second)); err != nil && !cerrdefs.IsNotFound(err) {
				errs = append(errs, fmt.Errorf("remove container %s: %w", shortID(c.GetContainerID()), err))
			}
		}
		if d.net != nil {
			if err := d.net.Remove(ctx); err != nil && !cerrdefs.IsNotFound(err) {
				errs = append(errs, fmt.Errorf("remove network %s: %w", d.net.Name, err))
			}
		}
		// Sweep by run label too: catches anything a failed start left unnamed.
		if _, err := removeLabeled(ctx, d.cli, LabelRun+"="+d.runID); err != nil {
			errs = append(errs, err)
		}
		d.downErr = errors.Join(errs...)
	})
	return d.downErr
}

func shortID(id string) string {
	if len(id) > 12 {
		return id[:12]
	}
	return id
}

// removeLabeled force-removes containers, then networks, carrying label
// (key=value), and returns what it removed.
func removeLabeled(ctx context.Context, cli client.APIClient, label string) ([]string, error) {
	f := client.Filters{}.Add("label", label)
	var removed []string
	var errs []error
	cs, err := cli.ContainerList(ctx, client.ContainerListOptions{All: true, Filters: f})
	if err != nil {
		return nil, fmt.Errorf("list containers: %w", err)
	}
	for _, c := range cs.Items {
		if liveOwner(c.Labels) {
			continue
		}
		if _, err := cli.ContainerRemove(ctx, c.ID, client.ContainerRemoveOptions{Force: true, RemoveVolumes: true}); err != nil {
			errs = append(errs, fmt.Errorf("remove container %s: %w", shortID(c.ID), err))
			continue
		}
		removed = append(removed, "container "+shortID(c.ID)+" ("+c.Image+")")
	}
	ns, err := cli.NetworkList(ctx, client.NetworkListOptions{Filters: f})
	if err != nil {
		return removed, fmt.Errorf("list networks: %w", err)
	}
	for _, n := range ns.Items {
		if liveOwner(n.Labels) {
			continue
		}
		if _, err := cli.NetworkRemove(ctx, n.ID, client.NetworkRemoveOptions{}); err != nil {
			errs = append(errs, fmt.Errorf("remove network %s: %w", n.Name, err))
			continue
		}
		removed = append(removed, "network "+n.Name)
	}
	return removed, errors.Join(errs...)
}

// liveOwner reports whether the harness process that labelled a resource is
// another live process on this host: its stack is not a leftover.
func liveOwner(labels map[string]string) bool {
	pid, err := strconv.Atoi(labels[LabelPID])
	return err == nil && pid != os.Getpid() && processAlive(pid)
}

// Leftovers lists containers and networks carrying label (key or key=value).
func dockerLeftovers(ctx context.Context, cli client.APIClient, label string) ([]string, error) {
	f := client.Filters{}.Add("label", label)
	var out []string
	cs, err := cli.ContainerList(ctx, client.ContainerListOptions{All: true, Filters: f})
	if err != nil {
		return nil, fmt.Errorf("list containers: %w", err)
	}
	for _, c := range cs.Items {
		out = append(out, "container "+shortID(c.ID))
	}
	ns, err := cli.NetworkList(ctx, client.NetworkListOptions{Filters: f})
	if err != nil {
		return nil, fmt.Errorf("list networks: %w", err)
	}
	for _, n := range ns.Items {
		out = append(out, "network "+n.Name)
	}
	return out, nil
}

func (d *dockerStack) Workers(ctx context.Context) ([]Worker, error) {
	var out []Worker
	for i := 1; i <= d.spec.Workers; i++ {
		rc, err := d.target.CopyFileFromContainer(ctx, fmt.Sprintf("%s/worker-%d.pid", ctrRunDir, i))
		if err != nil {
			continue // restarting
		}
		b, _ := io.ReadAll(rc)
		rc.Close()
		pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
		if err != nil {
			continue
		}
		out = append(out, Worker{Index: i, PID: pid, ID: fmt.Sprintf("%d-%d", i, pid)})
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("no worker pid files in the target container's %s", ctrRunDir)
	}
	return out, nil
}

func (d *dockerStack) KillWorker(ctx context.Context, index int) error {
	if index < 1 || index > d.spec.Workers {
		return fmt.Errorf("kill worker %d: want an index in 1..%d", index, d.spec.Workers)
	}
	code, out, err := d.target.Exec(ctx, []string{"/ahsp-target", "kill-worker", "--run-dir", ctrRunDir, "--index", strconv.Itoa(index), "--signal", "KILL"})
	if err != nil {
		return fmt.Errorf("kill worker %d: exec: %w", index, err)
	}
	if code != 0 {
		b, _ := io.ReadAll(out)
		return fmt.Errorf("kill worker %d: ahsp-target kill-worker exited %d: %s", index, code, strings.TrimSpace(string(b)))
	}
	return nil
}

func (d *dockerStack) redisID() (string, error) {
	if d.redis == nil {
		return "", ErrNoCache
	}
	return d.redis.GetContainerID(), nil
}

func (d *dockerStack) StopCache(ctx context.Context) error {
	id, err := d.redisID()
	if err != nil {
		return err
	}
	timeout := 5
	if _, err := d.cli.ContainerStop(ctx, id, client.ContainerStopOptions{Timeout: &timeout}); err != nil {
		return fmt.Errorf("stop redis container: %w", err)
	}
	return nil
}

func (d *dockerStack) StartCache(ctx context.Context) error {
	id, err := d.redisID()
	if err != nil {
		return err
	}
	if _, err := d.cli.ContainerStart(ctx, id, client.ContainerStartOptions{}); err != nil {
		return fmt.Errorf("start redis container: %w", err)
	}
	// Ready when it answers through its mapped port (which may have changed).
	deadline := time.Now().Add(10 * time.Second)
	for {
		addr, err := d.redis.PortEndpoint(ctx, "6379/tcp", "")
		if err == nil && pingRedis(addr) == nil {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("redis container did not answer PING within 10s of start")
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
	}
}

func (d *dockerStack) PauseCache(ctx context.Context) error {
	id, err := d.redisID()
	if err != nil {
		return err
	}
	if _, err := d.cli.ContainerPause(ctx, id, client.ContainerPauseOptions{}); err != nil {
		return fmt.Errorf("pause redis container: %w", err)
	}
	return nil
}

func (d *dockerStack) ResumeCache(ctx context.Context) error {
	id, err := d.redisID()
	if err != nil {
		return err
	}
	if _, err := d.cli.ContainerUnpause(ctx, id, client.ContainerUnpauseOptions{}); err != nil {
		return fmt.Errorf("resume redis container: %w", err)
	}
	return nil
}

func (d *dockerStack) AddCacheLatency(ctx context.Context, dur time.Duration) (func(context.Context) error, error) {
	if d.proxy == nil {
		return nil, ErrNoCache
	}
	return d.proxy.addLatency(ctx, dur)
}

// DownAll removes what any harness left behind: containers and networks
// labelled ahsp-harness (when a Docker engine answers) and local runs whose
// harness process is gone. It returns what it removed.
func DownAll(ctx context.Context) ([]string, error) { return downLeftovers(ctx, "") }

// DownRun removes what the stack with runID left behind (after its harness
// process died): its labelled containers and networks, or its local run.
func DownRun(ctx context.Context, runID string) ([]string, error) {
	if runID == "" {
		return nil, errors.New("down run: empty run id")
	}
	return downLeftovers(ctx, runID)
}

func downLeftovers(ctx context.Context, runID string) ([]string, error) {
	removed, err := downLocalLeftovers(ctx, runID)
	errs := []error{err}
	if pingDocker(ctx) == nil {
		cli, err := dockerClient(ctx, progress{})
		if err != nil {
			errs = append(errs, err)
		} else {
			label := LabelKey
			if runID != "" {
				label = LabelRun + "=" + runID
			}
			r, err := removeLabeled(ctx, cli, label)
			removed = append(removed, r...)
			errs = append(errs, err)
		}
	}
	return removed, errors.Join(errs...)
}

// Leftovers lists what DownAll would remove from Docker for label (LabelKey,
// or LabelRun+"="+id for one run); an empty list means clean.
func Leftovers(ctx context.Context, label string) ([]string, error) {
	cli, err := dockerClient(ctx, progress{})
	if err != nil {
		return nil, err
	}
	return dockerLeftovers(ctx, cli, label)
}
