package pages

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	openapi_types "github.com/oapi-codegen/runtime/types"

	"github.com/itss/techcommit/libs/personal"
	notifyapi "github.com/itss/techcommit/services/notify/api"
)

// An email resent after its recipient's role passed to someone else (a reviewer's
// corrected address, a new nominated lead) goes to them, and notify's log keeps whom
// it went to before (earlier): the console's log showed only the latest sending, so
// that the suite had told the first person, and when, was lost from it. Each row now
// gives the earlier sendings too, an erased person as erased.
func TestADeliveryRowGivesWhomAResendWentToBefore(t *testing.T) {
	t.Parallel()
	person := func(name, email string) notifyapi.Person {
		e := openapi_types.Email(email)
		return notifyapi.Person{Name: &name, Email: &e}
	}
	erased := true
	first := time.Date(2027, 4, 1, 9, 0, 0, 0, time.UTC)
	second := time.Date(2027, 4, 2, 10, 30, 0, 0, time.UTC)
	earlier := []struct {
		SentAt time.Time          `json:"sent_at"`
		To     []notifyapi.Person `json:"to"`
	}{
		{SentAt: first, To: []notifyapi.Person{person("Rita Reviewer", "rita@old.example")}},
		{SentAt: first.Add(time.Hour), To: []notifyapi.Person{{Erased: &erased}}},
	}
	row := opsDeliveryRowOf(notifyapi.Delivery{Kind: notifyapi.ReviewAssigned, To: []notifyapi.Person{person("Rita Reviewer", "rita@new.example")},
		SentAt: &second, Earlier: &earlier})
	want := opsDeliveryRow{To: []opsRecipient{{Name: "Rita Reviewer", Email: "rita@new.example"}}, Sent: longTime(second), Earlier: []opsSending{
		{To: []opsRecipient{{Name: "Rita Reviewer", Email: "rita@old.example"}}, Sent: longTime(first)},
		{To: []opsRecipient{{Name: personal.ErasedName}}, Sent: longTime(first.Add(time.Hour))}}}
	got := opsDeliveryRow{To: row.To, Sent: row.Sent, Earlier: row.Earlier}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("the row's recipients (-want +got):\n%s", d)
	}
}
