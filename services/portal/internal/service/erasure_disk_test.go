package service

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/itss/techcommit/libs/bus"
	"github.com/itss/techcommit/libs/events"
	"github.com/itss/techcommit/libs/personal"
	"github.com/itss/techcommit/libs/testenv"
)

// An erasure deleted the person's sign-in link requests from the portal's stream
// (each names them, with the link) by marking them deleted: the stream no longer
// served them, but their bytes stayed in the stream's files on disk until the block
// was compacted or expired, readable by anyone reading the NATS volume or a copy of
// it. They are now overwritten, as the other services' erasures overwrite theirs
// (bus.ForgetAggregate).
func TestAnErasureOverwritesTheSigninRequestsOnDisk(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	env := testenv.NewEnv(t)
	if _, err := bus.EnsureStream(ctx, env.JS, bus.PortalStream(1)); err != nil {
		t.Fatal(err)
	}
	erased, kept := "erin.ondisk@exampleton.ac.uk", "kim.stays@exampleton.ac.uk"
	for i, email := range []string{erased, kept} {
		p := events.SigninLinkRequestedV1{Email: email, Name: "Someone", Link: "https://portal.example.org/signin/x", ExpiresAt: time.Now().Add(15 * time.Minute)}
		data, _ := json.Marshal(p)
		e := events.Envelope{ID: fmt.Sprintf("link-disk-%d", i), Source: "/tc/portal", Type: p.EventType(), AggregateType: "signin", AggregateID: fmt.Sprintf("p-%d", i), Version: 1, Time: time.Now(), Data: data}
		if _, err := env.JS.PublishMsg(ctx, bus.Message(e)); err != nil {
			t.Fatal(err)
		}
	}
	dir := env.NATS.Server.StoreDir()
	onDisk := func(s string) bool {
		found := false
		_ = filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
			if err != nil || d.IsDir() {
				return nil
			}
			b, err := os.ReadFile(path)
			if err == nil && bytes.Contains(b, []byte(s)) {
				found = true
			}
			return nil
		})
		return found
	}
	testenv.Eventually(t, 10*time.Second, func() error {
		if !onDisk(erased) || !onDisk(kept) {
			return fmt.Errorf("the requests are not on disk yet")
		}
		return nil
	})

	if err := forgetSigninRequests(ctx, env.JS, personal.Subject(erased)); err != nil {
		t.Fatal(err)
	}
	testenv.Eventually(t, 10*time.Second, func() error {
		if onDisk(erased) {
			return fmt.Errorf("the erased person's sign-in request is still in the stream's files on disk")
		}
		return nil
	})
	if !onDisk(kept) {
		t.Error("another person's sign-in request was removed too")
	}
}
