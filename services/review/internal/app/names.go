package app

import (
	"sync"
	"time"
)

// nameFor is how long a replica answers with an organisation's name as it read it:
// its own writes of the organisation drop it at once, another replica's within this.
const nameFor = time.Minute

// namesMax bounds what the replica keeps: past it, the names are read again.
const namesMax = 4096

// names holds organisations' names as currentName last read them, so that a
// reviewer's assignments, and the answers to accepting and reviewing, name each
// organisation without a read of the organisations read model each time (issue 22:
// a page's cost follows the page). Names change only when ITSS corrects them.
type names struct {
	mu  sync.Mutex
	gen uint64 // counts drops: a read begun before one is not kept
	m   map[string]cachedName
}

type cachedName struct {
	name string // "" when the read model held none
	at   time.Time
}

// get returns the name held for org, if read within nameFor of now, and the
// generation a read begun now is kept under (see put).
func (n *names) get(org string, now time.Time) (name string, ok bool, gen uint64) {
	n.mu.Lock()
	defer n.mu.Unlock()
	c, ok := n.m[org]
	if ok && now.Sub(c.at) < nameFor && !now.Before(c.at) {
		return c.name, true, n.gen
	}
	return "", false, n.gen
}

// put keeps the name read for org at `at`, unless a drop came since the read began
// (gen): it may have read the name the drop replaced.
func (n *names) put(org, name string, at time.Time, gen uint64) {
	n.mu.Lock()
	defer n.mu.Unlock()
	if gen != n.gen {
		return
	}
	if n.m == nil || len(n.m) >= namesMax {
		n.m = map[string]cachedName{}
	}
	n.m[org] = cachedName{name: name, at: at}
}

// drop forgets org's name, as this replica writes the organisation.
func (n *names) drop(org string) {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.gen++
	delete(n.m, org)
}
