package platform

import (
	"io/fs"
	"testing"
)

func TestContainerMemoryLimit(t *testing.T) {
	const v2, v1 = "/sys/fs/cgroup/memory.max", "/sys/fs/cgroup/memory/memory.limit_in_bytes"
	cases := []struct {
		name  string
		files map[string]string
		want  int64
		ok    bool
	}{
		{"cgroup v2 with a limit", map[string]string{v2: "268435456\n"}, 268435456, true},
		{"cgroup v2 without one", map[string]string{v2: "max\n"}, 0, false},
		{"cgroup v1 with a limit", map[string]string{v1: "402653184\n"}, 402653184, true},
		{"cgroup v1 without one", map[string]string{v1: "9223372036854771712\n"}, 0, false},
		{"no cgroup files", map[string]string{}, 0, false},
		{"garbage", map[string]string{v2: "lots"}, 0, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, ok := containerMemoryLimit(func(path string) ([]byte, error) {
				if s, found := c.files[path]; found {
					return []byte(s), nil
				}
				return nil, fs.ErrNotExist
			})
			if got != c.want || ok != c.ok {
				t.Errorf("got %d, %v; want %d, %v", got, ok, c.want, c.ok)
			}
		})
	}
}
