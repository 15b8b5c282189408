package config

import "strconv"

// Defaulted returns a service's configuration before the environment is read: C's
// fields from their envDefault tags, then local's changes (the service's own
// listeners and database on the local stack). The tags are constants, so a failure
// is a bug that any test starting the service catches: it panics.
func Defaulted[C any](local func(*C)) C {
	var c C
	if err := Defaults(&c); err != nil {
		panic(err)
	}
	if local != nil {
		local(&c)
	}
	return c
}

// Local sets where a service on the local stack listens, its API on port and its
// admin listener on adminPort (both on 127.0.0.1, reached from this machine alone),
// and the name of its own database.
func (p *Platform) Local(port, adminPort int, database string) {
	p.HTTP.Addr = "127.0.0.1:" + strconv.Itoa(port)
	p.HTTP.AdminAddr = "127.0.0.1:" + strconv.Itoa(adminPort)
	p.Mongo.Database = database
}
