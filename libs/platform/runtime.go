package platform

import (
	"os"
	"runtime/debug"
	"strconv"
	"strings"
)

// gcPercent is the services' default GOGC. The default of 100 collects garbage as
// soon as the heap doubles, which for a service whose live heap is a few MiB means
// collecting many times a second under load: a tenth of a draft's CPU went to it.
// 200 trades a few MiB more heap for that, and the memory limit below keeps the
// trade safe.
const gcPercent = 200

// memoryShare is the part of the container's memory limit the Go heap may use before
// the collector works harder to stay under it; the rest is for stacks, buffers and
// what the runtime does not count.
const memoryShare = 0.9

// TuneRuntime sets the garbage collector for a service process: GOGC 200, and a soft
// memory limit of 90% of the container's memory limit (cgroup v2 or v1), so that under
// pressure the service collects harder instead of being killed for running out. GOGC
// or GOMEMLIMIT set in the environment win. Service mains call it first thing.
func TuneRuntime() {
	if os.Getenv("GOGC") == "" {
		debug.SetGCPercent(gcPercent)
	}
	if os.Getenv("GOMEMLIMIT") == "" {
		if limit, ok := containerMemoryLimit(os.ReadFile); ok {
			debug.SetMemoryLimit(int64(float64(limit) * memoryShare))
		}
	}
}

// containerMemoryLimit reads the memory limit of the process's cgroup, if it has one.
func containerMemoryLimit(read func(string) ([]byte, error)) (int64, bool) {
	for _, path := range []string{"/sys/fs/cgroup/memory.max", "/sys/fs/cgroup/memory/memory.limit_in_bytes"} {
		data, err := read(path)
		if err != nil {
			continue
		}
		v := strings.TrimSpace(string(data))
		if v == "max" {
			return 0, false
		}
		n, err := strconv.ParseInt(v, 10, 64)
		// cgroup v1 says "no limit" with a number near the largest int64.
		if err != nil || n <= 0 || n >= 1<<62 {
			return 0, false
		}
		return n, true
	}
	return 0, false
}
