package stack

import (
	"archive/tar"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"runtime/debug"
	"sort"
	"strings"
	"time"

	"github.com/moby/moby/client"
)

// Image names. Tags are content hashes, so an unchanged input reuses the
// image built by an earlier run and a changed one gets a new image.
const (
	targetRepo    = "ahsp-harness/target"
	redisRepo     = "ahsp-harness/redis"
	toxiproxyRepo = "ahsp-harness/toxiproxy"
	// RedisAlpine is used when present locally; it is never pulled.
	RedisAlpine = "redis:7-alpine"
)

// tarEntry is one file or directory of a build context.
type tarEntry struct {
	name string // path inside the context, no leading slash
	mode int64
	dir  bool
	data []byte
	path string // host file to copy when data is nil
}

// buildContext writes entries to a tar archive (the whole build context).
func buildContext(entries []tarEntry) (*bytes.Buffer, error) {
	buf := &bytes.Buffer{}
	tw := tar.NewWriter(buf)
	for _, e := range entries {
		if e.dir {
			if err := tw.WriteHeader(&tar.Header{Name: e.name + "/", Mode: e.mode, Typeflag: tar.TypeDir}); err != nil {
				return nil, err
			}
			continue
		}
		data := e.data
		if data == nil {
			b, err := os.ReadFile(e.path)
			if err != nil {
				return nil, fmt.Errorf("read %s for image: %w", e.path, err)
			}
			data = b
		}
		if err := tw.WriteHeader(&tar.Header{Name: e.name, Mode: e.mode, Size: int64(len(data)), Typeflag: tar.TypeReg}); err != nil {
			return nil, err
		}
		if _, err := tw.Write(data); err != nil {
			return nil, err
		}
	}
	return buf, tw.Close()
}

func imageExists(ctx context.Context, cli client.APIClient, ref string) bool {
	_, err := cli.ImageInspect(ctx, ref)
	return err == nil
}

// buildImage builds ctxTar (which holds a Dockerfile) as tag, never pulling.
func buildImage(ctx context.Context, cli client.APIClient, tag string, ctxTar io.Reader) error {
	res, err := cli.ImageBuild(ctx, ctxTar, client.ImageBuildOptions{
		Tags: []string{tag}, Remove: true, ForceRemove: true, PullParent: false,
		Labels: map[string]string{LabelKey: "1"},
	})
	if err != nil {
		return fmt.Errorf("build image %s: %w", tag, err)
	}
	defer res.Body.Close()
	dec := json.NewDecoder(res.Body)
	var log strings.Builder
	for {
		var m struct {
			Stream string `json:"stream"`
			Error  string `json:"error"`
		}
		if err := dec.Decode(&m); errors.Is(err, io.EOF) {
			break
		} else if err != nil {
			return fmt.Errorf("build image %s: read build output: %w", tag, err)
		}
		log.WriteString(m.Stream)
		if m.Error != "" {
			return fmt.Errorf("build image %s: %s\n%s", tag, m.Error, lastLines(log.String(), 20))
		}
	}
	if !imageExists(ctx, cli, tag) {
		return fmt.Errorf("build image %s: build finished but the image is missing:\n%s", tag, lastLines(log.String(), 20))
	}
	return nil
}

func shortHash(parts ...[]byte) string {
	h := sha256.New()
	for _, p := range parts {
		fmt.Fprintf(h, "%d:", len(p))
		h.Write(p)
	}
	return hex.EncodeToString(h.Sum(nil))[:16]
}

// ensureTargetImage builds FROM scratch with the static target binary.
func ensureTargetImage(ctx context.Context, cli client.APIClient, bin string, p progress) (tag string, built time.Duration, err error) {
	static, err := isStatic(bin)
	if err != nil {
		return "", 0, err
	}
	if !static {
		return "", 0, fmt.Errorf("%w: %s is dynamically linked; docker mode needs a static binary (CGO_ENABLED=0 go build ./target/cmd/ahsp-target)", ErrStart, bin)
	}
	data, err := os.ReadFile(bin)
	if err != nil {
		return "", 0, fmt.Errorf("read target binary: %w", err)
	}
	dockerfile := []byte("FROM scratch\nCOPY root/ /\nENTRYPOINT [\"/ahsp-target\"]\nCMD [\"serve\"]\n")
	tag = targetRepo + ":" + shortHash(dockerfile, data)
	if imageExists(ctx, cli, tag) {
		p.printf("stack: reusing image %s", tag)
		return tag, 0, nil
	}
	start := time.Now()
	p.printf("stack: building image %s FROM scratch (%d MB static binary)", tag, len(data)>>20)
	tr, err := buildContext([]tarEntry{
		{name: "Dockerfile", mode: 0o644, data: dockerfile},
		{name: "root", mode: 0o755, dir: true},
		{name: "root/tmp", mode: 0o1777, dir: true},
		{name: "root/data", mode: 0o755, dir: true},
		{name: "root/run", mode: 0o755, dir: true},
		{name: "root/run/ahsp", mode: 0o755, dir: true},
		{name: "root/ahsp-target", mode: 0o755, data: data},
	})
	if err != nil {
		return "", 0, err
	}
	if err := buildImage(ctx, cli, tag, tr); err != nil {
		return "", 0, fmt.Errorf("%w: %v", ErrStart, err)
	}
	pruneTargetImages(ctx, cli, tag)
	return tag, time.Since(start), nil
}

// pruneTargetImages removes target images of earlier binaries, so rebuilding
// the target does not pile up 30 MB images. Only images older than an hour
// go (another harness may be about to start one it just built), and never
// forcibly: an image a container uses stays.
func pruneTargetImages(ctx context.Context, cli client.APIClient, keep string) {
	imgs, err := cli.ImageList(ctx, client.ImageListOptions{Filters: client.Filters{}.Add("reference", targetRepo)})
	if err != nil {
		return
	}
	for _, im := range imgs.Items {
		if time.Since(time.Unix(im.Created, 0)) < time.Hour {
			continue
		}
		for _, tag := range im.RepoTags {
			if tag != keep {
				_, _ = cli.ImageRemove(ctx, tag, client.ImageRemoveOptions{})
			}
		}
	}
}

var lddPath = regexp.MustCompile(`(/[^\s]+)\s+\(0x`)

// ensureRedisImage uses redis:7-alpine when it is present locally, else
// builds FROM scratch from the host's redis-server and the libraries ldd lists.
func ensureRedisImage(ctx context.Context, cli client.APIClient, p progress) (ref, kind string, built time.Duration, err error) {
	if imageExists(ctx, cli, RedisAlpine) {
		return RedisAlpine, RedisAlpine + " image", 0, nil
	}
	server, err := exec.LookPath("redis-server")
	if err != nil {
		return "", "", 0, fmt.Errorf("%w: no %s image locally and no redis-server on this host to build one from (apt-get install redis-server, or docker load a redis image)", ErrStart, RedisAlpine)
	}
	real, err := filepath.EvalSymlinks(server)
	if err != nil {
		return "", "", 0, fmt.Errorf("resolve %s: %w", server, err)
	}
	version := redisVersion(ctx, server)
	kind = "scratch image from host redis-server " + version
	out, err := exec.CommandContext(ctx, "ldd", real).Output()
	if err != nil {
		return "", "", 0, fmt.Errorf("%w: ldd %s: %v", ErrStart, real, err)
	}
	libs := map[string]bool{}
	for _, m := range lddPath.FindAllStringSubmatch(string(out), -1) {
		libs[m[1]] = true
	}
	entries := []tarEntry{{name: "root/usr/bin/redis-server", mode: 0o755, path: real}}
	dirs := map[string]bool{"root/usr/bin": true}
	for lib := range libs {
		entries = append(entries, tarEntry{name: "root" + lib, mode: 0o755, path: lib})
		for d := filepath.Dir("root" + lib); d != "root" && d != "."; d = filepath.Dir(d) {
			dirs[d] = true
		}
	}
	for d := filepath.Dir("root/usr/bin"); d != "root"; d = filepath.Dir(d) {
		dirs[d] = true
	}
	dirs["root"], dirs["root/tmp"], dirs["root/data"] = true, true, true
	var dirEntries []tarEntry
	for d := range dirs {
		mode := int64(0o755)
		if d == "root/tmp" {
			mode = 0o1777
		}
		dirEntries = append(dirEntries, tarEntry{name: d, mode: mode, dir: true})
	}
	sort.Slice(dirEntries, func(i, j int) bool { return dirEntries[i].name < dirEntries[j].name })
	sort.Slice(entries, func(i, j int) bool { return entries[i].name < entries[j].name })
	dockerfile := []byte("FROM scratch\nCOPY root/ /\nWORKDIR /data\nENTRYPOINT [\"/usr/bin/redis-server\"]\n" +
		"CMD [\"--bind\",\"0.0.0.0\",\"--protected-mode\",\"no\",\"--save\",\"\",\"--appendonly\",\"no\"]\n")
	hashParts := [][]byte{dockerfile}
	for i := range entries {
		b, err := os.ReadFile(entries[i].path)
		if err != nil {
			return "", "", 0, fmt.Errorf("read %s: %w", entries[i].path, err)
		}
		entries[i].data = b
		hashParts = append(hashParts, []byte(entries[i].name), b)
	}
	all := append(append([]tarEntry{{name: "Dockerfile", mode: 0o644, data: dockerfile}}, dirEntries...), entries...)
	ref = redisRepo + ":" + version + "-" + shortHash(hashParts...)
	if imageExists(ctx, cli, ref) {
		p.printf("stack: reusing image %s", ref)
		return ref, kind, 0, nil
	}
	start := time.Now()
	p.printf("stack: no %s image here; building %s FROM scratch from %s and %d libraries", RedisAlpine, ref, real, len(libs))
	tr, err := buildContext(all)
	if err != nil {
		return "", "", 0, err
	}
	if err := buildImage(ctx, cli, ref, tr); err != nil {
		return "", "", 0, fmt.Errorf("%w: %v", ErrStart, err)
	}
	return ref, kind, time.Since(start), nil
}

const toxiproxyModule = "github.com/Shopify/toxiproxy/v2"

// ensureToxiproxyImage builds the Toxiproxy server statically from the module
// this harness depends on, into a scratch image tagged by its version.
func ensureToxiproxyImage(ctx context.Context, cli client.APIClient, p progress) (ref string, built time.Duration, err error) {
	version := "unknown"
	if bi, ok := debug.ReadBuildInfo(); ok {
		for _, d := range bi.Deps {
			if d.Path == toxiproxyModule {
				version = d.Version
			}
		}
	}
	if version == "unknown" || version == "" {
		version = goModVersion(toxiproxyModule)
	}
	ref = toxiproxyRepo + ":" + version + "-" + runtime.GOARCH
	if version != "unknown" && imageExists(ctx, cli, ref) {
		p.printf("stack: reusing image %s", ref)
		return ref, 0, nil
	}
	start := time.Now()
	dir, err := os.MkdirTemp("", "ahsp-toxiproxy-")
	if err != nil {
		return "", 0, err
	}
	defer os.RemoveAll(dir)
	bin, how, err := toxiproxyBinary(ctx, dir, version)
	if err != nil {
		return "", 0, err
	}
	p.printf("stack: building image %s FROM scratch (toxiproxy server %s)", ref, how)
	dockerfile := []byte("FROM scratch\nCOPY toxiproxy-server /toxiproxy-server\nENTRYPOINT [\"/toxiproxy-server\"]\nCMD [\"-host\",\"0.0.0.0\",\"-port\",\"8474\"]\n")
	tr, err := buildContext([]tarEntry{
		{name: "Dockerfile", mode: 0o644, data: dockerfile},
		{name: "toxiproxy-server", mode: 0o755, path: bin},
	})
	if err != nil {
		return "", 0, err
	}
	if err := buildImage(ctx, cli, ref, tr); err != nil {
		return "", 0, fmt.Errorf("%w: %v", ErrStart, err)
	}
	return ref, time.Since(start), nil
}

// toxiproxyBinary finds or builds a static toxiproxy server: toxiproxy-server
// next to the running executable, else go build in this module's source
// tree, else go install of the pinned version (from the module cache).
func toxiproxyBinary(ctx context.Context, dir, version string) (path, how string, err error) {
	if exe, err := os.Executable(); err == nil {
		cand := filepath.Join(filepath.Dir(exe), "toxiproxy-server")
		if ok, err := isStatic(cand); err == nil && ok {
			return cand, "from " + cand, nil
		}
	}
	bin := filepath.Join(dir, "toxiproxy-server")
	if _, err := moduleRoot(); err == nil {
		return bin, "built from source with go build", goBuild(ctx, toxiproxyModule+"/cmd/server", bin)
	}
	if version == "unknown" {
		return "", "", fmt.Errorf("%w: no toxiproxy-server next to the harness and no source tree to build it from", ErrStart)
	}
	goBin, err := exec.LookPath("go")
	if err != nil {
		return "", "", fmt.Errorf("%w: need toxiproxy-server next to the harness (make build puts it there) or a Go toolchain to build it", ErrStart)
	}
	cmd := exec.CommandContext(ctx, goBin, "install", "-trimpath", toxiproxyModule+"/cmd/server@"+version)
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOBIN="+dir)
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", "", fmt.Errorf("%w: go install toxiproxy server %s: %v\n%s", ErrStart, version, err, out)
	}
	return filepath.Join(dir, "server"), "built with go install " + version, nil
}

// goModVersion reads a requirement's version from this module's go.mod (test
// binaries carry no dependency list in their build info).
func goModVersion(module string) string {
	root, err := moduleRoot()
	if err != nil {
		return "unknown"
	}
	b, err := os.ReadFile(filepath.Join(root, "go.mod"))
	if err != nil {
		return "unknown"
	}
	for _, line := range strings.Split(string(b), "\n") {
		f := strings.Fields(line)
		if len(f) >= 2 && f[0] == module {
			return f[1]
		}
		if len(f) >= 3 && f[0] == "require" && f[1] == module {
			return f[2]
		}
	}
	return "unknown"
}
