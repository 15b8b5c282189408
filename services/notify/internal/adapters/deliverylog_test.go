package adapters

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"go.mongodb.org/mongo-driver/v2/bson"

	"github.com/itss/techcommit/libs/personal"
	"github.com/itss/techcommit/libs/testenv"
	"github.com/itss/techcommit/services/notify/internal/app"
	"github.com/itss/techcommit/services/notify/internal/mail"
)

// TestTheDeliveryLogReadsItsPageWhateverItsLength: a replica lists the delivery log
// (newest first, the next page, one organisation's, one status) and sweeps it for
// retries from memory, following other replicas' changes by _id and reading only the
// page's deliveries, so the reads cost the same with 60 deliveries as with 600, and
// none reads the log through.
func TestTheDeliveryLogReadsItsPageWhateverItsLength(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	base := time.Date(2026, 12, 3, 9, 0, 0, 0, time.UTC)
	cost := map[int][2]int{}
	var mu sync.Mutex
	t.Run("sizes", func(t *testing.T) {
		for _, size := range []int{60, 600} {
			t.Run(fmt.Sprint(size), func(t *testing.T) {
				t.Parallel()
				db, counted := testenv.MonitoredDB(t, "deliveries")
				writer, err := NewDeliveries(ctx, db)
				if err != nil {
					t.Fatal(err)
				}
				for i := range size {
					at := base.Add(time.Duration(i) * time.Minute)
					d := app.Delivery{Key: fmt.Sprintf("d%04d", i), OrganisationID: fmt.Sprintf("org-%d", i%6), Kind: "reminder",
						Status: app.StatusSending, Attempts: 1, CreatedAt: at, UpdatedAt: at}
					if ok, err := writer.Claim(ctx, d, 1); !ok || err != nil {
						t.Fatalf("claim %s: %v %v", d.Key, ok, err)
					}
					d.Status = app.StatusSent
					if err := writer.Record(ctx, d); err != nil {
						t.Fatal(err)
					}
				}
				reader, err := NewDeliveries(ctx, db) // another replica, or a restart
				if err != nil {
					t.Fatal(err)
				}
				// Two deliveries fail after the reader started.
				for _, i := range []int{3, 9} {
					at := base.Add(time.Duration(i) * time.Minute)
					if err := writer.Record(ctx, app.Delivery{Key: fmt.Sprintf("d%04d", i), OrganisationID: fmt.Sprintf("org-%d", i%6), Kind: "reminder",
						Status: app.StatusFailed, Attempts: 1, CreatedAt: at, UpdatedAt: base.Add(time.Hour * 24), NextAttemptAt: base}); err != nil {
						t.Fatal(err)
					}
				}
				keys := func(ds []app.Delivery) []string {
					var out []string
					for _, d := range ds {
						out = append(out, d.Key)
					}
					return out
				}

				before := counted.Now()
				page, next, err := reader.List(ctx, app.DeliveryQuery{Limit: 20})
				if err != nil {
					t.Fatal(err)
				}
				newest := fmt.Sprintf("d%04d", size-1)
				if len(page) != 20 || page[0].Key != newest || next == "" {
					t.Fatalf("first page: %d deliveries from %v, next %q; want 20 from %s", len(page), keys(page[:1]), next, newest)
				}
				second, _, err := reader.List(ctx, app.DeliveryQuery{Limit: 20, Cursor: next})
				if err != nil {
					t.Fatal(err)
				}
				if want := fmt.Sprintf("d%04d", size-21); second[0].Key != want {
					t.Errorf("second page starts at %s, want %s", second[0].Key, want)
				}
				org, _, err := reader.List(ctx, app.DeliveryQuery{Limit: 3, OrganisationID: "org-2"})
				if err != nil {
					t.Fatal(err)
				}
				if want := []string{fmt.Sprintf("d%04d", size-4), fmt.Sprintf("d%04d", size-10), fmt.Sprintf("d%04d", size-16)}; !slices.Equal(keys(org), want) {
					t.Errorf("org-2's newest: %v, want %v", keys(org), want)
				}
				failed, more, err := reader.List(ctx, app.DeliveryQuery{Limit: 20, Status: app.StatusFailed})
				if err != nil {
					t.Fatal(err)
				}
				if !slices.Equal(keys(failed), []string{"d0009", "d0003"}) || more != "" || failed[0].Status != app.StatusFailed {
					t.Errorf("failed: %v (next %q), want d0009 and d0003", keys(failed), more)
				}
				retry, err := reader.Retryable(ctx, base.Add(time.Hour), base, 100)
				if err != nil {
					t.Fatal(err)
				}
				if !slices.Equal(slices.Sorted(slices.Values(keys(retry))), []string{"d0003", "d0009"}) {
					t.Errorf("retryable: %v, want d0009 and d0003", keys(retry))
				}
				read := counted.Now().Sub(before)
				if read.Scans != 0 {
					t.Errorf("the lists read the delivery log through %d times, want none", read.Scans)
				}
				mu.Lock()
				cost[size] = [2]int{read.Finds, read.Docs}
				mu.Unlock()
			})
		}
	})
	t.Logf("reads of the lists (finds, documents): %v", cost)
	if cost[60] != cost[600] {
		t.Errorf("the lists cost %v reads with 60 deliveries and %v with 600, want the same", cost[60], cost[600])
	}
}

// TestALogEntryKeepsItsEmailApart: the log holds what its lists show; the email's
// text, HTML, attachment and content are kept by the delivery's key beside it, and
// read back for a send (Get, Retryable), so a page of the log reads small documents.
func TestALogEntryKeepsItsEmailApart(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db, counted := testenv.MonitoredDB(t, "deliveries")
	d, err := NewDeliveries(ctx, db)
	if err != nil {
		t.Fatal(err)
	}
	at := time.Date(2026, 12, 3, 9, 0, 0, 0, time.UTC)
	del := app.Delivery{Key: "k1", OrganisationID: "o1", Kind: "reminder", Status: app.StatusSending, Attempts: 1, CreatedAt: at, UpdatedAt: at,
		Message: mail.Message{MessageID: "k1@tc", Subject: "Due", To: []mail.Person{{Name: "Lead", Email: "lead@example.ac.uk"}},
			Text: strings.Repeat("text ", 4000), HTML: strings.Repeat("<p>html</p>", 2000), ICS: []byte("BEGIN:VCALENDAR")},
		Content: mail.Content{Paragraphs: []string{"It is due."}, Action: "Submit"}}
	if ok, err := d.Claim(ctx, del, 1); !ok || err != nil {
		t.Fatalf("claim: %v %v", ok, err)
	}
	del.Status, del.NextAttemptAt = app.StatusFailed, at
	if err := d.Record(ctx, del); err != nil {
		t.Fatal(err)
	}
	// The outcome is the log entry's: the body, written with the claim, is not
	// written again (it was, on every email sent).
	if n := counted.Writes("delivery_bodies"); n != 1 {
		t.Errorf("a claim and its outcome wrote the body %d times, want 1", n)
	}
	raw, err := db.Collection("deliveries").FindOne(ctx, bson.D{{Key: "_id", Value: "k1"}}).Raw()
	if err != nil {
		t.Fatal(err)
	}
	if len(raw) > 1024 {
		t.Errorf("the log entry is %d bytes, want the email kept apart (under 1 KiB)", len(raw))
	}
	check := func(how string, got app.Delivery) {
		t.Helper()
		if got.Message.Text != del.Message.Text || got.Message.HTML != del.Message.HTML || string(got.Message.ICS) != "BEGIN:VCALENDAR" ||
			got.Content.Action != "Submit" || got.Message.Subject != "Due" || len(got.Message.To) != 1 {
			t.Errorf("%s: the email came back as subject %q, %d recipients, %d bytes of text, %d of HTML, ICS %q, action %q",
				how, got.Message.Subject, len(got.Message.To), len(got.Message.Text), len(got.Message.HTML), got.Message.ICS, got.Content.Action)
		}
	}
	got, ok, err := d.Get(ctx, "k1")
	if err != nil || !ok {
		t.Fatalf("get: %v %v", ok, err)
	}
	check("Get", got)
	retry, err := d.Retryable(ctx, at.Add(time.Hour), at.Add(-time.Hour), 10)
	if err != nil || len(retry) != 1 {
		t.Fatalf("retryable: %d, %v", len(retry), err)
	}
	check("Retryable", retry[0])
	page, _, err := d.List(ctx, app.DeliveryQuery{Limit: 10})
	if err != nil || len(page) != 1 || page[0].Message.Subject != "Due" {
		t.Fatalf("list: %+v, %v", page, err)
	}
	// A later attempt composed afresh keeps what it says.
	del.Message.Text, del.Content.Action = "Dear new lead", "Submit now"
	if err := d.PutBody(ctx, del); err != nil {
		t.Fatal(err)
	}
	if got, _, err := d.Get(ctx, "k1"); err != nil || got.Message.Text != "Dear new lead" || got.Content.Action != "Submit now" {
		t.Errorf("after PutBody the email reads %q, action %q (%v)", got.Message.Text, got.Content.Action, err)
	}
}

// TestARetryTakenOverMeanwhileIsNotRetriedAgain: between another replica's record
// of its claim in the log and its change reaching this replica's copy, the copy
// still shows the delivery stale; the sweep must go by what the log says, or two
// replicas send it (seen racing in TestAnEmailClaimedByAReplicaThatDiedIsSentOnceAfterItsLease).
func TestARetryTakenOverMeanwhileIsNotRetriedAgain(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db, _ := testenv.MonitoredDB(t, "deliveries")
	d, err := NewDeliveries(ctx, db)
	if err != nil {
		t.Fatal(err)
	}
	at := time.Date(2026, 12, 3, 9, 0, 0, 0, time.UTC)
	stale := app.Delivery{Key: "k", OrganisationID: "o", Kind: "reminder", Status: app.StatusSending, Attempts: 1, CreatedAt: at, UpdatedAt: at}
	if ok, err := d.Claim(ctx, stale, 1); !ok || err != nil {
		t.Fatalf("claim: %v %v", ok, err)
	}
	// Another replica took it over a minute later: its record is in the log, its
	// change not yet.
	taken, _ := toDeliveryDoc(app.Delivery{Key: "k", OrganisationID: "o", Kind: "reminder", Status: app.StatusSending, Attempts: 2, CreatedAt: at, UpdatedAt: at.Add(2 * time.Minute)})
	if _, err := db.Collection("deliveries").ReplaceOne(ctx, bson.D{{Key: "_id", Value: "k"}}, taken); err != nil {
		t.Fatal(err)
	}
	retry, err := d.Retryable(ctx, at.Add(2*time.Minute), at.Add(time.Minute), 10)
	if err != nil {
		t.Fatal(err)
	}
	if len(retry) != 0 {
		t.Errorf("retryable: %+v, want nothing (attempt 2 is under way)", retry)
	}
}

// Entries logged before bodies were kept apart hold the body themselves: dropping
// the bodies of settled deliveries clears it from them too, and leaves alone those
// not yet settled or settled after the cut-off.
func TestDropBodiesClearsBodiesKeptInTheLog(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	_, db := testenv.Mongo(t)
	at := time.Date(2026, 12, 3, 9, 0, 0, 0, time.UTC)
	legacy := func(id, status string, updated time.Time) bson.D {
		return bson.D{{Key: "_id", Value: id}, {Key: "organisation_id", Value: "org-1"}, {Key: "kind", Value: "reminder"},
			{Key: "status", Value: status}, {Key: "attempts", Value: 1}, {Key: "created_at", Value: at}, {Key: "updated_at", Value: updated},
			{Key: "message", Value: bson.D{{Key: "subject", Value: "Due soon"}, {Key: "text", Value: "Dear Ada Lovelace"},
				{Key: "html", Value: "<p>Dear Ada Lovelace</p>"}, {Key: "ics", Value: []byte("BEGIN:VCALENDAR")}}},
			{Key: "content", Value: bson.D{{Key: "paragraphs", Value: bson.A{"Dear Ada Lovelace"}}}}}
	}
	if _, err := db.Collection("deliveries").InsertMany(ctx, []any{
		legacy("old-sent", app.StatusSent, at), legacy("old-gave-up", "gave_up", at),
		legacy("old-failed", app.StatusFailed, at), legacy("new-sent", app.StatusSent, at.Add(time.Hour)),
	}); err != nil {
		t.Fatal(err)
	}
	d, err := NewDeliveries(ctx, db)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := d.DropBodies(ctx, at.Add(time.Minute)); err != nil {
		t.Fatal(err)
	}
	for id, kept := range map[string]bool{"old-sent": false, "old-gave-up": false, "old-failed": true, "new-sent": true} {
		got, ok, err := d.Get(ctx, id)
		if err != nil || !ok {
			t.Fatalf("get %s: %v %v", id, ok, err)
		}
		has := got.Message.Text != "" || got.Message.HTML != "" || len(got.Message.ICS) > 0 || len(got.Content.Paragraphs) > 0
		if has != kept || got.Message.Subject != "Due soon" {
			t.Errorf("%s: body kept %v (subject %q), want kept %v and the subject", id, has, got.Message.Subject, kept)
		}
	}
}

// Forgetting the recipients of settled deliveries blanks who they went to and the
// relay's last refusal (which quotes the address) in entries settled by the
// cut-off, sent or given up, and leaves alone those not settled or settled after it.
func TestForgetRecipientsBlanksSettledEntriesUpToTheCutOff(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	_, db := testenv.Mongo(t)
	at := time.Date(2026, 12, 3, 9, 0, 0, 0, time.UTC)
	entry := func(id, status string, updated time.Time) bson.D {
		return bson.D{{Key: "_id", Value: id}, {Key: "organisation_id", Value: "org-1"}, {Key: "kind", Value: "reminder"},
			{Key: "status", Value: status}, {Key: "attempts", Value: 6}, {Key: "created_at", Value: at}, {Key: "updated_at", Value: updated},
			{Key: "last_error", Value: "550 5.1.1 <ada@exampleton.ac.uk>: Recipient address rejected"},
			{Key: "message", Value: bson.D{{Key: "subject", Value: "Due soon"},
				{Key: "to", Value: bson.A{bson.D{{Key: "name", Value: "Ada Lovelace"}, {Key: "email", Value: "ada@exampleton.ac.uk"}}}}}}}
	}
	if _, err := db.Collection("deliveries").InsertMany(ctx, []any{
		entry("old-sent", app.StatusSent, at), entry("old-gave-up", "gave_up", at),
		entry("old-failed", app.StatusFailed, at), entry("new-sent", app.StatusSent, at.Add(time.Hour)),
	}); err != nil {
		t.Fatal(err)
	}
	d, err := NewDeliveries(ctx, db)
	if err != nil {
		t.Fatal(err)
	}
	for range 2 { // a second sweep finds nothing more to do
		if _, err := d.ForgetRecipients(ctx, at.Add(time.Minute)); err != nil {
			t.Fatal(err)
		}
	}
	for id, kept := range map[string]bool{"old-sent": false, "old-gave-up": false, "old-failed": true, "new-sent": true} {
		got, ok, err := d.Get(ctx, id)
		if err != nil || !ok {
			t.Fatalf("get %s: %v %v", id, ok, err)
		}
		named := len(got.Message.To) > 0 || strings.Contains(got.LastError, "ada@")
		if named != kept || got.Message.Subject != "Due soon" || got.Attempts != 6 {
			t.Errorf("%s: recipient kept %v (%+v, %q), want kept %v, and the subject and attempts", id, named, got.Message.To, got.LastError, kept)
		}
	}
}

// TestTwoDeliveriesOfOneMillisecondAreListedAlikeByEveryReplica: the store keeps times
// to the millisecond. A replica that made two deliveries within one millisecond, and
// one that read them back (another replica, or a restart), list them in one order.
// A fresh-clone CI's erasure test found the live list and the rebuilt one apart when
// the writer's list held the times to the nanosecond.
func TestTwoDeliveriesOfOneMillisecondAreListedAlikeByEveryReplica(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	_, db := testenv.Mongo(t)
	writer, err := NewDeliveries(ctx, db)
	if err != nil {
		t.Fatal(err)
	}
	ms := time.Date(2026, 12, 7, 0, 5, 0, 0, time.UTC)
	// "b" is the later within the millisecond; "a" the first by id.
	for _, d := range []struct {
		key string
		at  time.Time
	}{{"a", ms.Add(100 * time.Microsecond)}, {"b", ms.Add(900 * time.Microsecond)}} {
		del := app.Delivery{Key: d.key, OrganisationID: "org-1", Kind: "reminder", Status: app.StatusSending, Attempts: 1, CreatedAt: d.at, UpdatedAt: d.at}
		if ok, err := writer.Claim(ctx, del, 1); !ok || err != nil {
			t.Fatalf("claim %s: %v %v", d.key, ok, err)
		}
	}
	reader, err := NewDeliveries(ctx, db)
	if err != nil {
		t.Fatal(err)
	}
	keys := func(s *Deliveries) []string {
		page, _, err := s.List(ctx, app.DeliveryQuery{Limit: 10})
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, d := range page {
			out = append(out, d.Key)
		}
		return out
	}
	if w, r := keys(writer), keys(reader); !slices.Equal(w, r) {
		t.Errorf("the replica that made them lists %v, the one that read them back %v: want one order", w, r)
	}
}

// TestForgetRecipientsLeavesNoAddressInTheEntry: once the log's retention has passed,
// the privacy notice says the log no longer says whom an email went to. An entry keeps
// its subject, and the email telling a lead's earlier address of its correction gives
// the new address in its subject; an email naming a person besides its recipient (a
// hand-over's) keeps the digest of their address, by which subject access lists it.
// Neither may outlast the retention.
func TestForgetRecipientsLeavesNoAddressInTheEntry(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	_, db := testenv.Mongo(t)
	at := time.Date(2026, 12, 3, 9, 0, 0, 0, time.UTC)
	mentioned := personal.Subject("ada@exampleton.ac.uk")
	if _, err := db.Collection("deliveries").InsertOne(ctx, bson.D{{Key: "_id", Value: "replaced"}, {Key: "organisation_id", Value: "org-1"},
		{Key: "kind", Value: "lead-replaced"}, {Key: "status", Value: app.StatusSent}, {Key: "attempts", Value: 1},
		{Key: "created_at", Value: at}, {Key: "updated_at", Value: at}, {Key: "mentions", Value: bson.A{mentioned}},
		{Key: "message", Value: bson.D{{Key: "subject", Value: "Technician Commitment: your address as Exampleton's nominated lead is now ada.new@exampleton.ac.uk"},
			{Key: "to", Value: bson.A{bson.D{{Key: "name", Value: "Ada Lovelace"}, {Key: "email", Value: "ada@exampleton.ac.uk"}}}}}}}); err != nil {
		t.Fatal(err)
	}
	d, err := NewDeliveries(ctx, db)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := d.ForgetRecipients(ctx, at.Add(time.Minute)); err != nil {
		t.Fatal(err)
	}
	var raw bson.M
	if err := db.Collection("deliveries").FindOne(ctx, bson.D{{Key: "_id", Value: "replaced"}}).Decode(&raw); err != nil {
		t.Fatal(err)
	}
	text := fmt.Sprint(raw)
	if strings.Contains(text, "@") || strings.Contains(text, mentioned) {
		t.Errorf("after the log's retention the entry still names a person: %v", text)
	}
	got, _, err := d.Get(ctx, "replaced")
	if err != nil {
		t.Fatal(err)
	}
	if want := "Technician Commitment: your address as Exampleton's nominated lead is now [email]"; got.Message.Subject != want {
		t.Errorf("subject %q, want %q", got.Message.Subject, want)
	}
}
