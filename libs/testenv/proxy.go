package testenv

import (
	"net"
	"net/url"
	"sync"
	"testing"
)

// Proxy is a TCP proxy a test puts between a service and a dependency, so that it can
// make the dependency unreachable and bring it back without touching the dependency
// itself (the shared FerretDB, which other tests of the binary are using).
type Proxy struct {
	// Addr is the address to connect to instead of the dependency's.
	Addr string

	target string
	ln     net.Listener

	mu      sync.Mutex
	flowing *sync.Cond // signalled when stalled becomes false
	cut     bool
	stalled bool
	conns   map[net.Conn]struct{}
	wg      sync.WaitGroup
}

// NewProxy forwards a local address to target until the test ends.
func NewProxy(tb testing.TB, target string) *Proxy {
	tb.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatalf("proxy listen: %v", err)
	}
	p := &Proxy{Addr: ln.Addr().String(), target: target, ln: ln, conns: map[net.Conn]struct{}{}}
	p.flowing = sync.NewCond(&p.mu)
	p.wg.Add(1)
	go p.accept()
	tb.Cleanup(func() {
		_ = ln.Close()
		p.Cut()
		p.Restore() // wakes the stalled copies, which find their connections closed
		p.wg.Wait()
	})
	return p
}

// MongoProxy puts a proxy in front of the test MongoDB and returns it with the URI
// that reaches the database through it.
func MongoProxy(tb testing.TB) (*Proxy, string) {
	tb.Helper()
	u, err := url.Parse(MongoURI(tb))
	if err != nil || u.Host == "" || u.Scheme != "mongodb" {
		tb.Fatalf("cannot proxy the mongo URI %q: want one mongodb:// host", MongoURI(tb))
	}
	p := NewProxy(tb, u.Host)
	u.Host = p.Addr
	q := u.Query()
	q.Set("directConnection", "true") // a replica set member would otherwise send the driver to its own address
	u.RawQuery = q.Encode()
	return p, u.String()
}

// Cut makes the dependency unreachable: every open connection is closed and new ones
// are closed as soon as they are accepted, as a server that went away does.
func (p *Proxy) Cut() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.cut = true
	for c := range p.conns {
		_ = c.Close()
	}
}

// Stall makes the dependency unreachable the hard way, as a network partition does:
// connections stay open, new ones are accepted, and nothing passes either way, so a
// client finds out only by its own time limits.
func (p *Proxy) Stall() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.stalled = true
}

// Restore lets connections through again, after Cut or Stall. Connections stalled
// across the outage are closed with what they held, as after a partition long enough
// for TCP to give up, so that a request the client was refused never lands late.
func (p *Proxy) Restore() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.stalled {
		for c := range p.conns {
			_ = c.Close()
		}
	}
	p.cut, p.stalled = false, false
	p.flowing.Broadcast()
}

// waitFlowing blocks while the proxy is stalled.
func (p *Proxy) waitFlowing() {
	p.mu.Lock()
	defer p.mu.Unlock()
	for p.stalled {
		p.flowing.Wait()
	}
}

func (p *Proxy) accept() {
	defer p.wg.Done()
	for {
		client, err := p.ln.Accept()
		if err != nil {
			return // the listener is closed: the test is over
		}
		p.wg.Add(1)
		go func() {
			defer p.wg.Done()
			p.forward(client)
		}()
	}
}

// forward copies bytes both ways between client and a new connection to the target,
// until either side closes or the proxy is cut.
func (p *Proxy) forward(client net.Conn) {
	defer client.Close()
	if !p.track(client) {
		return
	}
	defer p.untrack(client)
	server, err := net.Dial("tcp", p.target)
	if err != nil {
		return
	}
	defer server.Close()
	if !p.track(server) {
		return
	}
	defer p.untrack(server)
	done := make(chan struct{}, 2)
	pipe := func(dst, src net.Conn) {
		defer func() { done <- struct{}{} }()
		buf := make([]byte, 32<<10)
		for {
			n, err := src.Read(buf)
			if n > 0 {
				p.waitFlowing()
				if _, err := dst.Write(buf[:n]); err != nil {
					return
				}
			}
			if err != nil {
				return
			}
		}
	}
	go pipe(server, client)
	go pipe(client, server)
	<-done
	// One direction ended: close both so the other ends too.
	_ = client.Close()
	_ = server.Close()
	<-done
}

// track records an open connection, or refuses it while the proxy is cut.
func (p *Proxy) track(c net.Conn) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.cut {
		return false
	}
	p.conns[c] = struct{}{}
	return true
}

func (p *Proxy) untrack(c net.Conn) {
	p.mu.Lock()
	defer p.mu.Unlock()
	delete(p.conns, c)
}
