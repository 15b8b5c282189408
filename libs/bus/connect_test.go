package bus_test

import (
	"strings"
	"testing"

	"github.com/itss/techcommit/libs/bus"
	"github.com/itss/techcommit/libs/config"
)

// TestAConnectionRefusedQuotesNoPassword: the error of a connection refused goes to
// the log at start-up, and NATS_URL may carry the service's user and password.
// The client's own error quotes the address it could not read; neither may show
// the password, and the servers are still named.
func TestAConnectionRefusedQuotesNoPassword(t *testing.T) {
	t.Parallel()
	for _, url := range []string{
		"nats://tc-fund:s3cret@127.0.0.1:notaport",
		"nats://tc-fund:s3%zzcret@127.0.0.1:4222",
		"tls://tc-fund:s3cret@nats-0:4222,tls://tc-fund:s3cret@nats-1:port",
	} {
		nc, _, err := bus.Connect(config.NATS{URL: url}, "test")
		if err == nil {
			nc.Close()
			t.Errorf("Connect(%s) = nil error, want it refused", url)
			continue
		}
		if strings.Contains(err.Error(), "s3") {
			t.Errorf("Connect(%s): the error quotes the password: %v", url, err)
		}
		if !strings.Contains(err.Error(), "nats") || !strings.Contains(err.Error(), "(user and password hidden)@") {
			t.Errorf("Connect(%s): %v, want the address named with its user and password hidden", url, err)
		}
	}
}
