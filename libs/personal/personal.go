// Package personal lets an append-only event store forget a person
// (crypto-shredding). Each person gets a key of their own, kept in a collection by a
// random id; the personal fields of events (a name, a job title, an email) are stored
// encrypted under that key; erasing the person deletes the key, and from then on
// every copy of those fields, in the event store, its backups and anything made from
// them, reads as erased. The events themselves are never rewritten: the store stays
// append-only, and its unique index on (aggregate id, version) stays the only
// concurrency guard. See docs/PRIVACY.md for why this and not events without
// personal data.
//
// A person is known by their email address, as given (compared lower-cased and
// trimmed); the collection holds only a digest of it, and loses that with the key.
// Someone named without an address gets a key of their own that no address reaches.
//
// Keys are written once (an insert under a unique index, the write FerretDB applies
// atomically) and deleted once: no read-modify-write, as DESIGN.md requires. Each
// key's address digest is also the _id of a document naming the key (the key's
// subject entry), so that a person is found by their address with a lookup by _id:
// on the embedded store a filter on the digest reads every key.
package personal

import (
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"

	"github.com/itss/techcommit/libs/clock"
	"github.com/itss/techcommit/libs/store"
)

// prefix starts every sealed value: "pd1:<person id>:<base64 of nonce and ciphertext>".
const prefix = "pd1:"

// ErrNoSuchPerson says no key is held for an address: the suite names no one by it,
// or the person was erased already.
var ErrNoSuchPerson = errors.New("no person is held under that address")

// Keys is the store of per-person keys.
type Keys struct {
	coll *mongo.Collection
	// subjectsColl holds a subjectDoc per key reached by an address.
	subjectsColl *mongo.Collection
	clock        clock.Clock

	mu       sync.RWMutex
	cache    map[string]cached // person id -> key
	subjects map[string]string // address digest -> person id
	// forgotten counts the keys this replica dropped (erasures): whatever was opened
	// under an older count may hold a person since erased (see SealedStore.opened).
	forgotten atomic.Int64
}

// cacheFor is how long a replica keeps a key in memory. Every command reads the keys
// of the people it names, and a contended organisation's commands retry; reading
// each key from the database every time made them miss their deadline. A replica
// other than the one that erased a person goes on opening their values for at most
// this long (the one that erased forgets at once).
const cacheFor = time.Minute

type cached struct {
	key []byte
	at  time.Time
}

type keyDoc struct {
	ID      string    `bson:"_id"`     // the person id, in sealed values
	Subject string    `bson:"subject"` // digest of the address, or a random one
	Key     []byte    `bson:"key"`
	Created time.Time `bson:"created_at"`
}

// subjectDoc says which key an address digest reaches: its _id is the digest.
type subjectDoc struct {
	ID     string `bson:"_id"`
	Person string `bson:"person"`
}

// KeysCollection is the collection every service keeps its people's keys in.
const KeysCollection = "person_keys"

// subjectsBuilt is the _id of the document, among the subject entries, that says every
// key made before the entries were kept has its entry.
const subjectsBuilt = "built-v1"

// NewKeys opens the key store in collection name, with its unique index on the
// address digest (so that two commands naming one new person make one key).
func NewKeys(ctx context.Context, db *mongo.Database, name string, clk clock.Clock) (*Keys, error) {
	if db == nil || name == "" || clk == nil {
		return nil, errors.New("personal: database, collection name and clock are required")
	}
	coll := db.Collection(name)
	if err := store.CreateIndexes(ctx, coll, []mongo.IndexModel{
		{Keys: bson.D{{Key: "subject", Value: 1}}, Options: options.Index().SetUnique(true)},
	}); err != nil {
		return nil, fmt.Errorf("create person key index: %w", store.Classify(err))
	}
	k := &Keys{coll: coll, subjectsColl: db.Collection(name + "_subjects"), clock: clk, cache: map[string]cached{}, subjects: map[string]string{}}
	if err := k.buildSubjects(ctx); err != nil {
		return nil, err
	}
	return k, nil
}

// buildSubjects gives every key made before the subject entries were kept its entry,
// once (one read of every key), then notes that it did. A key an earlier version
// makes later, during a rolling upgrade, is found when making it again is refused
// (For), and given its entry then.
func (k *Keys) buildSubjects(ctx context.Context) error {
	var built subjectDoc
	if ok, err := store.FindByID(ctx, k.subjectsColl, subjectsBuilt, &built); err != nil || ok {
		return err
	}
	cur, err := k.coll.Find(ctx, bson.D{})
	if err != nil {
		return fmt.Errorf("read person keys: %w", store.Classify(err))
	}
	var docs []keyDoc
	if err := cur.All(ctx, &docs); err != nil {
		return fmt.Errorf("read person keys: %w", store.Classify(err))
	}
	for _, d := range docs {
		if err := k.enter(ctx, d.Subject, d.ID); err != nil {
			return err
		}
	}
	if _, err := k.subjectsColl.InsertOne(ctx, subjectDoc{ID: subjectsBuilt}); err != nil && !mongo.IsDuplicateKeyError(err) {
		return fmt.Errorf("note the person keys' subject entries: %w", store.Classify(err))
	}
	return nil
}

// enter writes the subject entry of key id. An entry left by a key since erased is
// replaced; an address without a digest (a person named without one) gets none.
func (k *Keys) enter(ctx context.Context, sub, id string) error {
	if strings.HasPrefix(sub, "anon-") {
		return nil
	}
	if err := store.Replace(ctx, k.subjectsColl, sub, subjectDoc{ID: sub, Person: id}); err != nil {
		return fmt.Errorf("store the subject of person key: %w", store.Classify(err))
	}
	return nil
}

// bySubject reads the key an address digest reaches: through its subject entry, by
// _id. Without an entry, or with one whose key is gone, there is no key, unless
// orRead says to look further: then it reads the keys by digest (a key made without
// its entry, by an earlier version or by a replica stopped between the two writes),
// and enters what it finds.
func (k *Keys) bySubject(ctx context.Context, sub string, orRead bool) (keyDoc, bool, error) {
	var e subjectDoc
	var d keyDoc
	if ok, err := store.FindByID(ctx, k.subjectsColl, sub, &e); err != nil {
		return d, false, fmt.Errorf("find person key: %w", err)
	} else if ok && e.Person != "" {
		if ok, err := store.FindByID(ctx, k.coll, e.Person, &d); err != nil {
			return d, false, fmt.Errorf("find person key: %w", err)
		} else if ok && d.Subject == sub {
			return d, true, nil
		}
	}
	if !orRead {
		return d, false, nil
	}
	err := k.coll.FindOne(ctx, bson.D{{Key: "subject", Value: sub}}).Decode(&d)
	if errors.Is(err, mongo.ErrNoDocuments) {
		return d, false, nil
	}
	if err != nil {
		return d, false, fmt.Errorf("find person key: %w", store.Classify(err))
	}
	return d, true, k.enter(ctx, sub, d.ID)
}

// Normalise is the form addresses are compared in.
func Normalise(email string) string { return strings.ToLower(strings.TrimSpace(email)) }

// SameName says two names are one person's as the suite reads a lead named again at
// another address (a correction of their address, not a hand-over): the same words,
// whatever their case or the spaces around and between them. The portal's contacts
// page, its revocation of API tokens and notify's emails all read it so.
func SameName(a, b string) bool {
	a, b = strings.Join(strings.Fields(a), " "), strings.Join(strings.Fields(b), " ")
	return a != "" && strings.EqualFold(a, b)
}

// subject is what the key store keeps of an address: a digest, so that it can be
// found by the address and shows no one the address.
func subject(email string) string {
	sum := sha256.Sum256([]byte("tc-person-v1\x00" + Normalise(email)))
	return hex.EncodeToString(sum[:])
}

// For returns the id and key of the person with this address, making them on first
// use; an empty address makes a new person every time.
func (k *Keys) For(ctx context.Context, email string) (string, []byte, error) {
	if Normalise(email) == "" {
		return k.create(ctx, "anon-"+rand.Text())
	}
	sub := subject(email)
	k.mu.RLock()
	id, ok := k.subjects[sub]
	k.mu.RUnlock()
	if ok {
		if key, ok := k.cached(id); ok {
			return id, key, nil
		}
	}
	for try := range 3 {
		// The first try trusts the subject entries; after a refused make, the key is
		// there without its entry, and the keys are read by digest.
		d, ok, err := k.bySubject(ctx, sub, try > 0)
		if err != nil {
			return "", nil, err
		}
		if ok {
			k.remember(d.ID, d.Key)
			k.mu.Lock()
			k.subjects[sub] = d.ID
			k.mu.Unlock()
			return d.ID, d.Key, nil
		}
		id, key, err := k.create(ctx, sub)
		if err == nil {
			k.mu.Lock()
			k.subjects[sub] = id
			k.mu.Unlock()
		}
		if err == nil || !errors.Is(err, errTaken) {
			return id, key, err
		}
		// Another command made this person's key first: read it.
	}
	return "", nil, errors.New("find person key: it keeps changing")
}

var errTaken = errors.New("person key taken")

func (k *Keys) create(ctx context.Context, sub string) (string, []byte, error) {
	d := keyDoc{ID: "psn-" + rand.Text(), Subject: sub, Key: make([]byte, 32), Created: k.clock.Now()}
	if _, err := rand.Read(d.Key); err != nil {
		return "", nil, fmt.Errorf("make person key: %w", err)
	}
	if _, err := k.coll.InsertOne(ctx, d); err != nil {
		if mongo.IsDuplicateKeyError(err) {
			return "", nil, errTaken
		}
		return "", nil, fmt.Errorf("store person key: %w", store.Classify(err))
	}
	// Stopped here, the key is without its entry: For finds it when making it again
	// is refused.
	if err := k.enter(ctx, sub, d.ID); err != nil {
		return "", nil, err
	}
	k.remember(d.ID, d.Key)
	return d.ID, d.Key, nil
}

func (k *Keys) remember(id string, key []byte) {
	k.mu.Lock()
	k.cache[id] = cached{key: key, at: time.Now()}
	k.mu.Unlock()
}

// cached returns a key this replica read less than cacheFor ago.
func (k *Keys) cached(id string) ([]byte, bool) {
	k.mu.RLock()
	c, ok := k.cache[id]
	k.mu.RUnlock()
	if !ok || time.Since(c.at) > cacheFor {
		return nil, false
	}
	return c.key, true
}

// Preload reads up to limit people's keys into memory (one read of the key
// collection), so that the first requests after a start open the people of the
// aggregates preloaded with them without a read per person: after a restart, a
// request naming four people read four keys, and the next read none. They are held
// as any key read is, for cacheFor from now, so an erasure by another replica is
// seen as soon as it would be otherwise. It is for a service's start, before it
// consumes erasures: an erasure by this replica while it reads could be undone in
// memory (for cacheFor) by the key it read just before.
func (k *Keys) Preload(ctx context.Context, limit int) error {
	if limit <= 0 {
		return nil
	}
	cur, err := k.coll.Find(ctx, bson.D{}, options.Find().SetLimit(int64(limit)))
	if err != nil {
		return fmt.Errorf("preload person keys: %w", store.Classify(err))
	}
	var docs []keyDoc
	if err := cur.All(ctx, &docs); err != nil {
		return fmt.Errorf("preload person keys: %w", store.Classify(err))
	}
	now := time.Now()
	k.mu.Lock()
	defer k.mu.Unlock()
	for _, d := range docs {
		k.cache[d.ID] = cached{key: d.Key, at: now}
		k.subjects[d.Subject] = d.ID
	}
	return nil
}

// key returns a person's key by id, or false once they are erased.
func (k *Keys) key(ctx context.Context, id string) ([]byte, bool, error) {
	if key, ok := k.cached(id); ok {
		return key, true, nil
	}
	var d keyDoc
	err := k.coll.FindOne(ctx, bson.D{{Key: "_id", Value: id}}).Decode(&d)
	if errors.Is(err, mongo.ErrNoDocuments) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, fmt.Errorf("read person key: %w", store.Classify(err))
	}
	k.remember(d.ID, d.Key)
	return d.Key, true, nil
}

// Lookup returns the id of the person with this address, without making one.
func (k *Keys) Lookup(ctx context.Context, email string) (string, error) {
	return k.LookupSubject(ctx, subject(email))
}

// Erase deletes the person's key: every value sealed under it is unreadable from
// now on, wherever it was copied. Another replica may hold the key in memory for up
// to a minute (cacheFor).
func (k *Keys) Erase(ctx context.Context, id string) error {
	var d keyDoc
	ok, err := store.FindByID(ctx, k.coll, id, &d)
	if err != nil {
		return fmt.Errorf("erase person key: %w", err)
	}
	if !ok {
		d = keyDoc{ID: id} // gone already: nothing says which entry was its
	}
	return k.erase(ctx, d)
}

// erase deletes key d, then its subject entry: the entry goes with the key, and with
// it the last digest of the address; one a new key of the same address replaced
// meanwhile is that key's, and stays.
func (k *Keys) erase(ctx context.Context, d keyDoc) error {
	if _, err := k.coll.DeleteOne(ctx, bson.D{{Key: "_id", Value: d.ID}}); err != nil {
		return fmt.Errorf("erase person key: %w", store.Classify(err))
	}
	k.ForgetCached(d.ID)
	if d.Subject == "" {
		return nil
	}
	var e subjectDoc
	if found, err := store.FindByID(ctx, k.subjectsColl, d.Subject, &e); err != nil {
		return fmt.Errorf("erase person key: %w", err)
	} else if found && e.Person == d.ID {
		if _, err := k.subjectsColl.DeleteOne(ctx, bson.D{{Key: "_id", Value: d.Subject}}); err != nil {
			return fmt.Errorf("erase person key: %w", store.Classify(err))
		}
	}
	return nil
}

// ForgetCached drops a key from this replica's memory.
func (k *Keys) ForgetCached(id string) {
	k.mu.Lock()
	delete(k.cache, id)
	for sub, pid := range k.subjects {
		if pid == id {
			delete(k.subjects, sub)
		}
	}
	k.mu.Unlock()
	k.forgotten.Add(1)
}

// Seal encrypts value under the key of person id. The empty value stays empty (it
// says nothing about anyone).
func Seal(id string, key []byte, value string) (string, error) {
	if value == "" {
		return "", nil
	}
	aead, err := newAEAD(key)
	if err != nil {
		return "", err
	}
	return sealWith(aead, id, value)
}

// sealWith is Seal with the person's cipher made already (a person's name, title and
// address are sealed under one key).
func sealWith(aead cipher.AEAD, id, value string) (string, error) {
	if value == "" {
		return "", nil
	}
	nonce := make([]byte, aead.NonceSize())
	if _, err := rand.Read(nonce); err != nil {
		return "", fmt.Errorf("seal: %w", err)
	}
	// The person id is authenticated with the value, so a value cannot be moved
	// under another person's id.
	out := aead.Seal(nonce, nonce, []byte(value), []byte(id))
	return prefix + id + ":" + base64.RawStdEncoding.EncodeToString(out), nil
}

// IsSealed reports whether s is a sealed value.
func IsSealed(s string) bool { return strings.HasPrefix(s, prefix) }

// PersonOf returns the person id a sealed value is sealed for.
func PersonOf(s string) (string, bool) {
	if !IsSealed(s) {
		return "", false
	}
	id, _, ok := strings.Cut(strings.TrimPrefix(s, prefix), ":")
	return id, ok
}

// Open decrypts a sealed value. A value that is not sealed (written before sealing
// began) is returned as it is; one whose person is erased returns erased true.
func (k *Keys) Open(ctx context.Context, s string) (value string, erased bool, err error) {
	if !IsSealed(s) {
		return s, false, nil
	}
	id, body, ok := strings.Cut(strings.TrimPrefix(s, prefix), ":")
	if !ok {
		return "", false, errors.New("open: malformed sealed value")
	}
	key, ok, err := k.key(ctx, id)
	if err != nil {
		return "", false, err
	}
	if !ok {
		return "", true, nil
	}
	raw, err := base64.RawStdEncoding.DecodeString(body)
	if err != nil {
		return "", false, fmt.Errorf("open: %w", err)
	}
	aead, err := newAEAD(key)
	if err != nil {
		return "", false, err
	}
	if len(raw) < aead.NonceSize() {
		return "", false, errors.New("open: sealed value too short")
	}
	plain, err := aead.Open(nil, raw[:aead.NonceSize()], raw[aead.NonceSize():], []byte(id))
	if err != nil {
		return "", false, fmt.Errorf("open: %w", err)
	}
	return string(plain), false, nil
}

func newAEAD(key []byte) (cipher.AEAD, error) {
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, fmt.Errorf("person key: %w", err)
	}
	return cipher.NewGCM(block)
}

// Subject is what the suite says of an address when it must name a person without
// showing them: the digest the key store keeps. An erasure announced to other
// services carries it (events.PersonErasedV1), and each service finds by it the key,
// or the records, of the address it holds.
func Subject(email string) string { return subject(email) }

// EraseSubject deletes the key of the person whose address has this digest, and
// returns their person id; found is false when no key is held for it (the service
// never named them, or erased them already).
func (k *Keys) EraseSubject(ctx context.Context, sub string) (id string, found bool, err error) {
	d, ok, err := k.bySubject(ctx, sub, true)
	if err != nil || !ok {
		return "", false, err
	}
	return d.ID, true, k.erase(ctx, d) // d is the key as read: no second read of it
}

// LookupSubject returns the id of the person whose address has this digest.
func (k *Keys) LookupSubject(ctx context.Context, sub string) (string, error) {
	d, ok, err := k.bySubject(ctx, sub, true)
	if err != nil {
		return "", err
	}
	if !ok {
		return "", ErrNoSuchPerson
	}
	return d.ID, nil
}

// ErasedName and ErasedEmail stand, in an API answer whose contract requires a name
// and an address, for a person erased at their request: the suite holds neither any
// more. The .invalid domain is reserved never to exist (RFC 2606), so nothing can be
// sent to it. A later version of a contract should say erased instead.
const (
	ErasedName  = "Erased at their request"
	ErasedEmail = "erased@erased.invalid"
)
