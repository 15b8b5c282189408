//go:build ignore

// Gen writes one file per event type of the contracts it is built with: the payload
// with every field set, as that version of the code encodes it. A release runs it in
// a worktree of the released commit, so that TestReleasedEventsDecode holds every
// later version to what that release's producers write and its consumers read:
//
//	git worktree add /tmp/released <release commit>
//	cp libs/events/testdata/released/gen.go /tmp/released/libs/events/testdata/released/
//	(cd /tmp/released && go run ./libs/events/testdata/released/gen.go -out $PWD/libs/events/testdata/released)
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"log"
	"os"
	"path/filepath"
	"reflect"
	"time"

	"github.com/itss/techcommit/libs/events"
)

func main() {
	out := flag.String("out", ".", "directory to write <event type>.json into")
	flag.Parse()
	for _, c := range events.Contracts() {
		v := reflect.New(reflect.TypeOf(c.Zero)).Elem()
		fill(v, c.Type)
		b, err := json.MarshalIndent(v.Interface(), "", "  ")
		if err != nil {
			log.Fatalf("%s: %v", c.Type, err)
		}
		if err := os.WriteFile(filepath.Join(*out, c.Type+".json"), append(b, '\n'), 0o600); err != nil {
			log.Fatal(err)
		}
	}
}

var instant = time.Date(2026, 12, 3, 9, 30, 0, 0, time.UTC)

// fill sets every field of v, so that the file shows each one as it is encoded: a
// string names its field, a number is 7, a bool true, a slice one element.
func fill(v reflect.Value, name string) {
	if v.Type() == reflect.TypeOf(time.Time{}) {
		v.Set(reflect.ValueOf(instant))
		return
	}
	switch v.Kind() {
	case reflect.String:
		v.SetString(name)
	case reflect.Bool:
		v.SetBool(true)
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		v.SetInt(7)
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		v.SetUint(7)
	case reflect.Float32, reflect.Float64:
		v.SetFloat(7)
	case reflect.Pointer:
		v.Set(reflect.New(v.Type().Elem()))
		fill(v.Elem(), name)
	case reflect.Slice:
		s := reflect.MakeSlice(v.Type(), 1, 1)
		fill(s.Index(0), name)
		v.Set(s)
	case reflect.Map:
		m := reflect.MakeMap(v.Type())
		k, e := reflect.New(v.Type().Key()).Elem(), reflect.New(v.Type().Elem()).Elem()
		fill(k, name+"-key")
		fill(e, name)
		m.SetMapIndex(k, e)
		v.Set(m)
	case reflect.Struct:
		for i := range v.NumField() {
			if f := v.Type().Field(i); f.IsExported() {
				fill(v.Field(i), f.Name)
			}
		}
	default:
		panic(fmt.Sprintf("%s: cannot fill a %s", name, v.Kind()))
	}
}
