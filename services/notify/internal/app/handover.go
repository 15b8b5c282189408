package app

import (
	"context"
	"fmt"
	"strings"

	"github.com/itss/techcommit/services/notify/internal/mail"
)

// The emails of a hand-over of the nominated lead: to the lead named, and to the lead
// before them.
const (
	KindLeadNamed    = "lead-named"
	KindLeadReplaced = "lead-replaced"
)

// Roles of the hand-over's emails. Neither is RoleLead: a later attempt goes to the
// person it was written to, not to whoever leads by then (to whom it would be
// untrue).
const (
	RoleLeadNamed  = "lead-named"
	RoleLeadBefore = "lead-before"
)

// handOver tells the lead now named that they lead the organisation, and the lead
// before them (if one was recorded and was not erased) that the role passed on, by
// name and address: an address mistyped in the portal cuts the organisation off,
// and the person who typed it is the one to notice. Each email is keyed by the event
// that changed the lead (cause), so a redelivery sends neither again.
func (a *App) handOver(ctx context.Context, cause string, o Organisation, before mail.Person) error {
	if !o.Announced || o.Withdrawn || o.Lead.Email == "" || strings.EqualFold(before.Email, o.Lead.Email) {
		return nil
	}
	tellBefore := before.Email != ""
	if tellBefore {
		gone, err := a.anyErased(ctx, []mail.Person{before})
		if err != nil {
			return err
		}
		tellBefore = gone == ""
	}
	link := a.obligationURL(o.ID)
	named := []string{fmt.Sprintf("You are now %s's nominated lead for the Technician Commitment.", o.Name)}
	if tellBefore {
		named[0] = fmt.Sprintf("You are now %s's nominated lead for the Technician Commitment, in place of %s.", o.Name, before.Name)
	}
	named = append(named,
		fmt.Sprintf("As the nominated lead you receive the Technician Commitment's deadline reminders for %s, and you sign in to the Technician Commitment portal with this address, %s, to see its obligations, submit them and read the feedback on them.", o.Name, o.Lead.Email))
	if next := a.nextObligation(o); next != "" {
		named = append(named, next)
	}
	if tellBefore {
		named = append(named, fmt.Sprintf("%s, the previous nominated lead, is being told by email that the role has passed to you.", upper(before.Name)))
	}
	named = append(named, "Sign in, and see what is due, in the Technician Commitment portal:")
	err := a.Notify(ctx, Email{Cause: cause, Org: o.ID, Kind: KindLeadNamed,
		Subject: fmt.Sprintf("Technician Commitment: you are now %s's nominated lead", o.Name),
		Content: mail.Content{Paragraphs: named, Action: link}}, Recipient{o.Lead, RoleLeadNamed})
	if err != nil || !tellBefore {
		return err
	}
	return a.Notify(ctx, Email{Cause: cause, Org: o.ID, Kind: KindLeadReplaced,
		Subject: fmt.Sprintf("Technician Commitment: %s's nominated lead is now %s", o.Name, o.Lead.Name),
		Content: mail.Content{Paragraphs: []string{
			fmt.Sprintf("%s's nominated lead for the Technician Commitment is now %s, at %s, in place of you.", o.Name, o.Lead.Name, o.Lead.Email),
			fmt.Sprintf("The deadline reminders for %s now go to them, and they sign in to the Technician Commitment portal for it; you no longer do. We have emailed them to tell them.", o.Name),
			"If this was not meant, or that address is not theirs, please tell ITSS.",
		}}}, Recipient{before, RoleLeadBefore})
}

// nextObligation says what the organisation owes next and when it is due, where
// notify knows it.
func (a *App) nextObligation(o Organisation) string {
	ob := o.Obligation
	if ob == nil || ob.Met {
		return ""
	}
	today := a.today()
	switch {
	case today.After(ob.Due):
		return fmt.Sprintf("%s's next obligation is %s, which was due on %s and is overdue.", o.Name, obligationInWords(ob), mail.Day(ob.Due))
	case ob.WindowOpens.After(today):
		return fmt.Sprintf("%s's next obligation is %s, due on %s. Submissions open on %s.", o.Name, obligationInWords(ob), mail.Day(ob.Due), mail.Day(ob.WindowOpens))
	}
	return fmt.Sprintf("%s's next obligation is %s, due on %s. Submissions are open now.", o.Name, obligationInWords(ob), mail.Day(ob.Due))
}
