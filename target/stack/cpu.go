package stack

import (
	"context"
	"encoding/json"
	"os"
	"strconv"
	"strings"

	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/client"
)

// CPUTime reads the stack's CPU counters (Unmeasured in external mode).
func (s *Stack) CPUTime(ctx context.Context) CPUTime {
	if s == nil || s.be == nil {
		return Unmeasured
	}
	return s.be.cpuTime(ctx)
}

func (l *localStack) cpuTime(ctx context.Context) CPUTime {
	out := Unmeasured
	pids := []int{l.cmd.Process.Pid}
	if ws, err := l.Workers(ctx); err == nil && len(ws) == l.spec.Workers {
		for _, w := range ws {
			pids = append(pids, w.PID)
		}
		out.Target = procCPU(pids)
	}
	if r, ok := l.redis.(*redisProc); ok {
		if pid := r.pid(); pid > 0 {
			out.Cache = procCPU([]int{pid})
		}
	}
	return out
}

func (r *redisProc) pid() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.cmd == nil || r.cmd.Process == nil {
		return 0
	}
	return r.cmd.Process.Pid
}

func (d *dockerStack) cpuTime(ctx context.Context) CPUTime {
	out := Unmeasured
	if d.target != nil {
		out.Target = containerCPU(ctx, d.cli.Client, d.target.GetContainerID())
	}
	if d.redis != nil {
		out.Cache = containerCPU(ctx, d.cli.Client, d.redis.GetContainerID())
	}
	return out
}

// containerCPU is a container's cgroup CPU time in seconds from one stats
// sample (no streaming, no one-second pre-sample), or -1.
func containerCPU(ctx context.Context, cli *client.Client, id string) float64 {
	res, err := cli.ContainerStats(ctx, id, client.ContainerStatsOptions{})
	if err != nil {
		return -1
	}
	defer res.Body.Close()
	var st container.StatsResponse
	if err := json.NewDecoder(res.Body).Decode(&st); err != nil || st.CPUStats.CPUUsage.TotalUsage == 0 {
		return -1
	}
	return float64(st.CPUStats.CPUUsage.TotalUsage) / 1e9
}

// clockTicks is USER_HZ, 100 on every Linux this runs on.
const clockTicks = 100

// procCPU sums utime+stime of pids from /proc/<pid>/stat in seconds; -1 when
// one cannot be read (it exited, or this is not Linux).
func procCPU(pids []int) float64 {
	var total float64
	for _, pid := range pids {
		b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
		if err != nil {
			return -1
		}
		// Fields after the command name (which may hold spaces) start at ")".
		i := strings.LastIndexByte(string(b), ')')
		if i < 0 {
			return -1
		}
		f := strings.Fields(string(b)[i+1:])
		if len(f) < 13 {
			return -1
		}
		ut, err1 := strconv.ParseFloat(f[11], 64)
		stt, err2 := strconv.ParseFloat(f[12], 64)
		if err1 != nil || err2 != nil {
			return -1
		}
		total += (ut + stt) / clockTicks
	}
	return total
}
