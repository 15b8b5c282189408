package deploy

import (
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/labels"
	"sigs.k8s.io/kustomize/kyaml/filesys"
	"sigs.k8s.io/yaml"
)

// overlayPatch is one entry of a kustomization's patches.
type overlayPatch struct {
	Path   string `json:"path,omitempty"`
	Patch  string `json:"patch,omitempty"`
	Target *struct {
		Group         string `json:"group,omitempty"`
		Version       string `json:"version,omitempty"`
		Kind          string `json:"kind,omitempty"`
		Name          string `json:"name,omitempty"`
		Namespace     string `json:"namespace,omitempty"`
		LabelSelector string `json:"labelSelector,omitempty"`
	} `json:"target,omitempty"`
}

type jsonOp struct {
	Op   string `json:"op"`
	Path string `json:"path"`
}

// diskToMemory copies k8s/ into an in-memory file system, so a test can change a
// kustomization without touching the files on disk.
func diskToMemory(t testing.TB) filesys.FileSystem {
	t.Helper()
	mem := filesys.MakeFsInMemory()
	err := filepath.WalkDir("k8s", func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		data, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		return mem.WriteFile(path, data)
	})
	if err != nil {
		t.Fatal(err)
	}
	return mem
}

// objectsByID renders dir and returns each object as a map, keyed by kind and name with
// a generator's hash suffix removed (so a ConfigMap keeps its key when its data changes).
func objectsByID(t testing.TB, fsys filesys.FileSystem, dir string) map[string]map[string]any {
	t.Helper()
	out := map[string]map[string]any{}
	for _, r := range build(t, fsys, dir).Resources() {
		m, err := r.Map()
		if err != nil {
			t.Fatal(err)
		}
		out[r.GetKind()+"/"+hashSuffix.ReplaceAllString(r.GetName(), "")] = m
	}
	return out
}

// hashSuffix is the suffix Kustomize's generators append: ten characters of an alphabet without
// vowels (so that no word, such as "-commitment", looks like one).
var hashSuffix = regexp.MustCompile(`-[24-9bcdfghkmt]{10}$`)

// TestEveryOverlayPatchMatchesAndChangesWhatItSays renders each overlay with and without
// each of its patches. A patch must select at least one object, change every object it
// selects, and (for JSON patches) replace or remove only what the object already has:
// a patch that matches nothing, or quietly adds keys to objects it was not written for,
// fails here.
func TestEveryOverlayPatchMatchesAndChangesWhatItSays(t *testing.T) {
	for _, o := range overlays {
		dir := filepath.Join("k8s", "overlays", o)
		raw, err := os.ReadFile(filepath.Join(dir, "kustomization.yaml"))
		if err != nil {
			t.Fatal(err)
		}
		var k map[string]any
		if err := yaml.Unmarshal(raw, &k); err != nil {
			t.Fatal(err)
		}
		var kz struct {
			Patches []overlayPatch `json:"patches"`
		}
		if err := yaml.Unmarshal(raw, &kz); err != nil {
			t.Fatal(err)
		}
		for i, p := range kz.Patches {
			where := o + " patch " + strconv.Itoa(i)
			if p.Target == nil {
				t.Errorf("%s has no target; name what it patches", where)
				continue
			}
			mem := diskToMemory(t)
			with := objectsByID(t, mem, dir)
			patches := k["patches"].([]any)
			without := map[string]any{}
			for key, v := range k {
				without[key] = v
			}
			without["patches"] = append(append([]any{}, patches[:i]...), patches[i+1:]...)
			data, err := yaml.Marshal(without)
			if err != nil {
				t.Fatal(err)
			}
			if err := mem.WriteFile(filepath.Join(dir, "kustomization.yaml"), data); err != nil {
				t.Fatal(err)
			}
			before := objectsByID(t, mem, dir)

			body := p.Patch
			if p.Path != "" {
				b, err := os.ReadFile(filepath.Join(dir, p.Path))
				if err != nil {
					t.Fatal(err)
				}
				body = string(b)
			}
			var ops []jsonOp
			_ = yaml.Unmarshal([]byte(body), &ops) // a strategic-merge patch is not a list

			matched := 0
			for id, obj := range before {
				if !selects(t, p, obj) {
					continue
				}
				matched++
				if reflect.DeepEqual(obj, with[id]) {
					t.Errorf("%s selects %s but does not change it", where, id)
				}
				for _, op := range ops {
					if (op.Op == "replace" || op.Op == "remove" || op.Op == "test") && !pointerExists(obj, op.Path) {
						t.Errorf("%s: %s %s on %s, which has no such field: the patch adds to an object it was not written for", where, op.Op, op.Path, id)
					}
				}
			}
			if matched == 0 {
				t.Errorf("%s (target %+v) matches no object", where, *p.Target)
			}
		}
	}
}

// selects applies a patch target as Kustomize does: kind and group exactly, the name
// and namespace as anchored regular expressions, the labels as a selector.
func selects(t testing.TB, p overlayPatch, obj map[string]any) bool {
	t.Helper()
	tg := p.Target
	kind, _ := obj["kind"].(string)
	apiVersion, _ := obj["apiVersion"].(string)
	meta, _ := obj["metadata"].(map[string]any)
	name, _ := meta["name"].(string)
	if tg.Kind != "" && tg.Kind != kind {
		return false
	}
	if tg.Group != "" && !strings.HasPrefix(apiVersion, tg.Group+"/") {
		return false
	}
	if tg.Name != "" && !regexp.MustCompile("^(?:"+tg.Name+")$").MatchString(name) {
		return false
	}
	if tg.LabelSelector != "" {
		sel, err := labels.Parse(tg.LabelSelector)
		if err != nil {
			t.Fatalf("label selector %q: %v", tg.LabelSelector, err)
		}
		set := labels.Set{}
		if ls, ok := meta["labels"].(map[string]any); ok {
			for k, v := range ls {
				set[k], _ = v.(string)
			}
		}
		if !sel.Matches(set) {
			return false
		}
	}
	return true
}

// pointerExists resolves an RFC 6901 JSON pointer in obj.
func pointerExists(obj any, pointer string) bool {
	if pointer == "" {
		return true
	}
	cur := obj
	for _, tok := range strings.Split(strings.TrimPrefix(pointer, "/"), "/") {
		tok = strings.ReplaceAll(strings.ReplaceAll(tok, "~1", "/"), "~0", "~")
		switch v := cur.(type) {
		case map[string]any:
			next, ok := v[tok]
			if !ok {
				return false
			}
			cur = next
		case []any:
			i, err := strconv.Atoi(tok)
			if err != nil || i < 0 || i >= len(v) {
				return false
			}
			cur = v[i]
		default:
			return false
		}
	}
	return true
}
