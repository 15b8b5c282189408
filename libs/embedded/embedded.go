// Package embedded starts the suite's infrastructure inside the current process: a
// NATS server with JetStream and FerretDB (a MongoDB wire-protocol server on SQLite).
// `make run` and the tests use it, so that a machine with nothing installed runs the
// real thing; production points the same configuration keys at real servers.
package embedded

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"time"

	"github.com/FerretDB/FerretDB/ferretdb"
	"github.com/nats-io/nats-server/v2/server"
)

// NATS is a running embedded NATS server.
type NATS struct {
	Server *server.Server
	URL    string
}

// StartNATS starts NATS with JetStream storing under dir, listening on addr
// ("127.0.0.1:0" picks a free port).
func StartNATS(dir, addr string) (*NATS, error) {
	host, port, err := splitAddr(addr)
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return nil, fmt.Errorf("create nats dir: %w", err)
	}
	s, err := server.NewServer(&server.Options{
		ServerName: "tc-local",
		Host:       host,
		Port:       port,
		JetStream:  true,
		StoreDir:   dir,
		NoSigs:     true,
		NoLog:      true,
		MaxPayload: 4 << 20,
	})
	if err != nil {
		return nil, fmt.Errorf("create nats server: %w", err)
	}
	go s.Start()
	if !s.ReadyForConnections(10 * time.Second) {
		s.Shutdown()
		return nil, errors.New("nats server did not become ready within 10s")
	}
	return &NATS{Server: s, URL: s.ClientURL()}, nil
}

// Stop shuts the server down and waits for it.
func (n *NATS) Stop() {
	n.Server.Shutdown()
	n.Server.WaitForShutdown()
}

// Mongo is a running embedded FerretDB.
type Mongo struct {
	URI    string
	cancel context.CancelFunc
	done   chan struct{}
}

// StartFerretDB starts FerretDB with its SQLite files under dir, listening on addr
// ("127.0.0.1:0" picks a free port). FerretDB logs a great deal; its logs are dropped.
func StartFerretDB(dir, addr string) (*Mongo, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, fmt.Errorf("ferretdb dir: %w", err)
	}
	if err := os.MkdirAll(abs, 0o750); err != nil {
		return nil, fmt.Errorf("create ferretdb dir: %w", err)
	}
	if port := portOf(addr); port == "0" {
		// FerretDB reports the address it was given, so pick the free port ourselves.
		ln, err := net.Listen("tcp", addr)
		if err != nil {
			return nil, fmt.Errorf("find a free port: %w", err)
		}
		addr = ln.Addr().String()
		_ = ln.Close()
	}
	f, err := ferretdb.New(&ferretdb.Config{
		Listener: ferretdb.ListenerConfig{TCP: addr},
		Handler:  "sqlite",
		// WAL with synchronous=NORMAL: a commit no longer waits for the disk, and a
		// process that dies loses nothing committed (only a machine that loses power
		// may lose the last commits). (Taking the write lock when a transaction
		// begins, _txlock=immediate, drafted a fifth more a second in the fund's own
		// load test, but in the whole stack writers then sleep in SQLite's busy
		// handler, and the event latency's p99 went from 52-75 ms to 0.2-1.3 s.)
		// This is the development and test store; production runs MongoDB.
		SQLiteURL: "file:" + abs + "/?_pragma=synchronous(normal)",
		Logger:    slog.New(slog.DiscardHandler),
	})
	if err != nil {
		return nil, fmt.Errorf("create ferretdb: %w", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	m := &Mongo{URI: f.MongoDBURI(), cancel: cancel, done: make(chan struct{})}
	indexed := make(chan struct{})
	go func() {
		defer close(indexed)
		indexIDs(ctx, abs, 500*time.Millisecond, indexFile)
	}()
	go func() {
		defer close(m.done)
		_ = f.Run(ctx)
		<-indexed
	}()
	if err := waitTCP(addr, 10*time.Second); err != nil {
		m.Stop()
		return nil, err
	}
	return m, nil
}

// Stop shuts FerretDB down and waits for it.
func (m *Mongo) Stop() {
	m.cancel()
	<-m.done
}

func waitTCP(addr string, within time.Duration) error {
	deadline := time.Now().Add(within)
	for {
		c, err := net.DialTimeout("tcp", addr, 200*time.Millisecond)
		if err == nil {
			_ = c.Close()
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("ferretdb did not listen on %s within %s: %w", addr, within, err)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func splitAddr(addr string) (string, int, error) {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return "", 0, fmt.Errorf("address %q: %w", addr, err)
	}
	var p int
	if _, err := fmt.Sscanf(port, "%d", &p); err != nil {
		return "", 0, fmt.Errorf("address %q: bad port", addr)
	}
	if p == 0 {
		p = server.RANDOM_PORT
	}
	return host, p, nil
}

func portOf(addr string) string {
	_, port, err := net.SplitHostPort(addr)
	if err != nil {
		return ""
	}
	return port
}
