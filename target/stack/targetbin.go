package stack

import (
	"bytes"
	"context"
	"debug/elf"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
)

const (
	modulePath = "github.com/ahsp-harness/harness"
	targetPkg  = modulePath + "/target/cmd/ahsp-target"
	// EnvTargetBin names the target binary when Spec.TargetBin is empty.
	EnvTargetBin = "HARNESS_TARGET_BIN"
)

// ResolveTarget finds the ahsp-target binary: bin if set, then
// $HARNESS_TARGET_BIN, then ahsp-target next to the running executable, else
// it builds the binary from this module's source (CGO_ENABLED=0) into the
// user cache dir. how says which one was used.
func ResolveTarget(ctx context.Context, bin string, progress io.Writer) (path, how string, err error) {
	p := progressOf(progress)
	if bin != "" {
		return checkBin(bin, "--target-bin")
	}
	if env := os.Getenv(EnvTargetBin); env != "" {
		return checkBin(env, "$"+EnvTargetBin)
	}
	if exe, err := os.Executable(); err == nil {
		cand := filepath.Join(filepath.Dir(exe), "ahsp-target")
		if st, err := os.Stat(cand); err == nil && !st.IsDir() {
			return cand, "next to " + filepath.Base(exe), nil
		}
	}
	out, err := cacheFile("bin", "ahsp-target")
	if err != nil {
		return "", "", err
	}
	buildMu.Lock()
	defer buildMu.Unlock()
	if built[targetPkg] {
		return out, "built from source (this process)", nil
	}
	p.printf("stack: no ahsp-target binary given (--target-bin, $%s, or next to the harness); building it from source into %s", EnvTargetBin, out)
	if err := goBuild(ctx, targetPkg, out); err != nil {
		return "", "", err
	}
	built[targetPkg] = true
	return out, "built from source", nil
}

var (
	buildMu sync.Mutex
	built   = map[string]bool{}
)

func checkBin(path, from string) (string, string, error) {
	st, err := os.Stat(path)
	if err != nil {
		return "", "", fmt.Errorf("%w: target binary from %s: %v", ErrInvalidSpec, from, err)
	}
	if st.IsDir() || st.Mode()&0o111 == 0 {
		return "", "", fmt.Errorf("%w: target binary %s (from %s) is not an executable file", ErrInvalidSpec, path, from)
	}
	abs, _ := filepath.Abs(path)
	return abs, from, nil
}

// isStatic reports whether an ELF binary has no dynamic loader, as a FROM
// scratch image needs.
func isStatic(path string) (bool, error) {
	f, err := elf.Open(path)
	if err != nil {
		return false, fmt.Errorf("read %s: %w", path, err)
	}
	defer f.Close()
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP {
			return false, nil
		}
	}
	return true, nil
}

// goBuild builds pkg statically from the module's source tree into out.
func goBuild(ctx context.Context, pkg, out string) error {
	root, err := moduleRoot()
	if err != nil {
		return err
	}
	goBin, err := exec.LookPath("go")
	if err != nil {
		goBin = filepath.Join(runtime.GOROOT(), "bin", "go")
	}
	// Build beside out and rename: other harness processes may be running
	// the old binary or building the same one right now.
	tmp, err := os.CreateTemp(filepath.Dir(out), filepath.Base(out)+".build-*")
	if err != nil {
		return fmt.Errorf("%w: build %s: %v", ErrStart, pkg, err)
	}
	tmp.Close()
	defer os.Remove(tmp.Name())
	cmd := exec.CommandContext(ctx, goBin, "build", "-trimpath", "-o", tmp.Name(), pkg)
	cmd.Dir = root
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOFLAGS=-mod=mod")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("%w: build %s: %v\n%s", ErrStart, pkg, err, strings.TrimSpace(stderr.String()))
	}
	if err := os.Rename(tmp.Name(), out); err != nil {
		return fmt.Errorf("%w: build %s: %v", ErrStart, pkg, err)
	}
	return nil
}

// moduleRoot finds this module's source tree from the working directory up.
func moduleRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		b, err := os.ReadFile(filepath.Join(dir, "go.mod"))
		if err == nil && bytes.HasPrefix(bytes.TrimSpace(b), []byte("module "+modulePath)) {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("ahsp-target not found and no source tree to build it from: pass --target-bin, set $" + EnvTargetBin + ", put ahsp-target next to the harness binary, or run inside the harness repository")
		}
		dir = parent
	}
}

// cacheFile returns a path under the harness cache dir, creating its directory.
func cacheFile(parts ...string) (string, error) {
	base, err := os.UserCacheDir()
	if err != nil {
		base = os.TempDir()
	}
	p := filepath.Join(append([]string{base, "ahsp-harness"}, parts...)...)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		return "", fmt.Errorf("create cache dir: %w", err)
	}
	return p, nil
}
