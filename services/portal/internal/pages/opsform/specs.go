package opsform

import (
	"regexp"
	"slices"
)

// The console's forms, each field named as the service's API names it, so that
// the service's field errors land beside the right field.

var kinds = Opts("", "Select a kind", "signatory", "Signatory (employs technicians)", "supporter", "Supporter (backs the technical community)")

var sectors = Opts("", "Select a sector", "higher_education", "Higher education", "research_institute", "Research institute",
	"professional_body", "Professional body", "funder", "Funder", "learned_society", "Learned society", "network", "Network", "other", "Other")

// Enquiry is a new organisation's enquiry.
var Enquiry = Specs{
	{Name: "name", Label: "Organisation name", Type: Text, Required: true, Max: 200},
	{Name: "kind", Label: "Kind", Type: Choice, Required: true, Options: kinds},
	{Name: "sector", Label: "Sector", Type: Choice, Required: true, Options: sectors},
	{Name: "country", Label: "Country", Hint: "Two capital letters, like GB", Type: Text, Required: true,
		Pattern: regexp.MustCompile(`^[A-Z]{2}$`), Expect: "two capital letters, like GB"},
	{Name: "website", Label: "Website", Hint: "Starting https://", Type: URL, Required: true},
	{Name: "enquired_on", Label: "Enquiry received on", Hint: "Leave empty if the day is not known: no date is then recorded, and the meeting may be dated any day up to today.", Type: Date, NotFuture: true},
	{Name: "enquiry_contact.name", Label: "Contact's name", Type: Text, Required: true, Max: 200},
	{Name: "enquiry_contact.title", Label: "Contact's job title", Type: Text, Max: 200},
	{Name: "enquiry_contact.email", Label: "Contact's email address", Type: Email, Required: true},
}

// Details corrects what the enquiry recorded of the organisation itself: the
// enquiry's fields without the kind (which set the obligation clocks), the date and
// the contact.
var Details = Specs{Enquiry[0], Enquiry[2], Enquiry[3], Enquiry[4]}

// Meeting records ITSS's meeting with the organisation.
var Meeting = Specs{
	{Name: "held_on", Label: "Meeting held on", Type: Date, Required: true, NotFuture: true},
	{Name: "notes", Label: "Notes", Type: Area, Max: 4000},
}

// SignedForm records the signatory or supporter form, signed by the leader.
var SignedForm = Specs{
	{Name: "signed_on", Label: "Form signed on", Type: Date, Required: true, NotFuture: true},
	{Name: "leader.name", Label: "Leader's name", Hint: "The Vice-Chancellor, Director or equivalent who signed", Type: Text, Required: true, Max: 200},
	{Name: "leader.title", Label: "Leader's job title", Type: Text, Max: 200},
	{Name: "leader.email", Label: "Leader's email address", Type: Email, Required: true},
	{Name: "nominated_lead.name", Label: "Nominated lead's name", Type: Text, Required: true, Max: 200},
	{Name: "nominated_lead.title", Label: "Nominated lead's job title", Type: Text, Max: 200},
	{Name: "nominated_lead.email", Label: "Nominated lead's email address", Hint: "They sign in to the portal with this address", Type: Email, Required: true},
	{Name: "point_of_contact.name", Label: "Public point of contact", Hint: "A person or an office, as the directory should show it", Type: Text, Required: true, Max: 200},
	{Name: "point_of_contact.title", Label: "Point of contact's job title", Type: Text, Max: 200},
	{Name: "point_of_contact.email", Label: "Point of contact's email address", Type: Email},
	{Name: "plan_page", Label: "Technician Commitment webpage", Hint: "Starting https://", Type: URL},
}

// Contacts changes the organisation's contacts: the signed form's people and
// page, without its date.
var Contacts = SignedForm[1:]

// Announcement records the joint public announcement, and the record that withdrew
// which the organisation succeeds if it signed again.
var Announcement = Specs{
	{Name: "announced_on", Label: "Announced on", Hint: "The obligations' clocks start on this day.", Type: Date, Required: true},
	{Name: "succeeds", Label: "Succeeds the record that withdrew", Hint: "Only for an organisation that withdrew and has signed again: the identifier of its earlier record, as that record's page shows it, so that the fund's and the reviewers' rules hold the two as one. Leave empty otherwise.",
		Type: Text, Max: 64, Pattern: regexp.MustCompile(`^[A-Za-z0-9-]+$`), Expect: "an organisation's identifier, as its page shows it"},
}

// FundRoundWindow corrects a round's project window, open or closed: the funded
// projects' reports fall due a month after it ends.
var FundRoundWindow = Specs{
	{Name: "project_start", Label: "Projects start on", Hint: "No earlier than the round opens.", Type: Date, Required: true},
	{Name: "project_end", Label: "Projects end by", Hint: "After the round closes. Each funded project's report is due a month after this day.", Type: Date, Required: true},
}

// FundRoundBudget changes a round's budget, open or closed: awards are decided once a
// round has closed, and a budget recorded too low would refuse them.
var FundRoundBudget = Specs{
	{Name: "budget", API: "budget_pence", Label: "Budget in pounds", Hint: "The round's whole budget, the awards made included. It may be raised, or lowered to no less than the awards made.", Type: Money, Required: true},
}

// MeetingCorrection corrects the day of the meeting, recorded wrong: the form's and
// the announcement's days may not precede it.
var MeetingCorrection = Specs{
	{Name: "held_on", Label: "Meeting held on", Hint: "The day ITSS in fact met the organisation: not after the form was signed.", Type: Date, Required: true, NotFuture: true},
}

// FormCorrection corrects the day the form was signed, recorded wrong: the
// announcement's day may not precede it.
var FormCorrection = Specs{
	{Name: "signed_on", Label: "Form signed on", Hint: "The day the form was in fact signed: not after the announcement.", Type: Date, Required: true, NotFuture: true},
}

// AnnouncementCorrection corrects the date of the announcement, recorded wrong, and
// with it the first obligation's window and due date.
var AnnouncementCorrection = Specs{
	{Name: "announced_on", Label: "Announced on", Hint: "The day the announcement was in fact made, or is planned for. The first obligation's window and due date move with it.", Type: Date, Required: true},
}

// Succession records, after the announcement, the record that withdrew which the
// organisation succeeds: its announcement did not name it.
var Succession = Specs{
	{Name: "succeeds", Label: "Succeeds the record that withdrew", Hint: "The identifier of the earlier record of this organisation, which withdrew and has signed again as this one, as that record's page shows it, so that the fund's and the reviewers' rules hold the two as one. Once recorded it cannot be changed.",
		Type: Text, Required: true, Max: 64, Pattern: regexp.MustCompile(`^[A-Za-z0-9-]+$`), Expect: "an organisation's identifier, as its page shows it"},
}

// Withdrawal records that the organisation withdrew or was withdrawn.
var Withdrawal = Specs{
	{Name: "withdrawn_on", Label: "Withdrawn on", Type: Date, Required: true, NotFuture: true},
	{Name: "initiated_by", Label: "Who asked", Type: Choice, Required: true,
		Options: Opts("", "Select who asked", "organisation", "The organisation", "itss", "ITSS")},
	{Name: "reason", Label: "Reason", Type: Text, Required: true, Max: 2000},
}

var themes = Opts("visibility", "Visibility", "recognition", "Recognition", "career_development", "Career development", "sustainability", "Sustainability")

// FundRound is a Collaboration Fund round's terms: the form that corrects them
// (OpenFundRound opens a round with them).
var FundRound = Specs{
	{Name: "name", Label: "Name", Hint: "For example, Technician Collaboration Fund 2027", Type: Text, Required: true, Max: 200},
	{Name: "opens", Label: "Opens", Hint: "London time.", Type: Moment, Required: true},
	{Name: "closes", Label: "Closes", Hint: "London time.", Type: Moment, Required: true},
	{Name: "budget", API: "budget_pence", Label: "Budget in pounds", Type: Money, Required: true},
	{Name: "min_award", API: "min_award_pence", Label: "Smallest award in pounds", Type: Money, Required: true},
	{Name: "max_award", API: "max_award_pence", Label: "Largest award in pounds", Type: Money, Required: true},
	{Name: "project_start", Label: "Projects start on", Type: Date, Required: true},
	{Name: "project_end", Label: "Projects end by", Type: Date, Required: true},
	{Name: "themes", Label: "Themes", Type: Multiple, Required: true, Options: themes},
}

// OpenFundRound opens a Collaboration Fund round: its terms, as FundRound has them,
// and whether organisations funded in the previous round may apply.
//
// The field is the exception, "let them apply", left unticked: a round then excludes
// the previous round's grantees, as the fund does when it is not told (its default)
// and as every round the console opened before the field did.
var OpenFundRound = slices.Concat(FundRound, Specs{
	{Name: "previously_funded_may_apply", API: "exclude_previously_funded", Label: "Let organisations funded in the previous round apply", Type: Flag, Opposite: true,
		Hint: "Left unticked, an organisation funded in the previous round (the one that closed last before this one) cannot apply to this round or be awarded from it."},
})

// The choices of UpcomingFundRound's field on the previous round's grantees.
const (
	PreviouslyFundedExcluded = "excluded"
	PreviouslyFundedMayApply = "may_apply"
)

// UpcomingFundRound corrects a round that has not opened yet: its terms, as FundRound
// has them, and whether organisations funded in the previous round may apply, which
// the fund lets change only until the round opens. An open round's correction
// (FundRound) has no such field, and keeps the round's own choice.
//
// The field is a choice, always sent, rather than OpenFundRound's box (sent only
// when ticked): a form sent without it is then a form that did not offer it, and
// changes nothing of the round's choice.
var UpcomingFundRound = slices.Concat(FundRound, Specs{
	{Name: "previously_funded", API: "exclude_previously_funded", Label: "Organisations funded in the previous round", Type: Choice, Required: true,
		Options: Opts(PreviouslyFundedExcluded, "Cannot apply to this round", PreviouslyFundedMayApply, "May apply to this round"),
		Hint:    "The previous round is the one that closed last before this one. This can change only until the round opens."},
})

// Award is an award's amount.
var Award = Specs{
	{Name: "amount", API: "amount_pence", Label: "Amount in pounds", Type: Money, Required: true},
}

// AwardCorrection corrects an award's amount typed wrong, with ITSS's reason, which
// the applicant and the organisation's nominated lead are told. Its names are its
// own: the page that shows it may show the award's form too.
var AwardCorrection = Specs{
	{Name: "corrected_amount", API: "amount_pence", Label: "Corrected amount in pounds", Hint: "The amount the award should have been: within the round's limits and no more than requested.", Type: Money, Required: true},
	{Name: "correction_reason", API: "reason", Label: "Why it is corrected", Hint: "The applicant and the organisation's nominated lead are emailed this, with the amount before and after.", Type: Text, Required: true, Max: 2000},
}

// Decline is a decline's feedback to the applicant.
var Decline = Specs{
	{Name: "feedback", Label: "Feedback for the applicant", Hint: "Applicants who are not funded are offered feedback", Type: Area, Required: true, Max: 8000},
}

// ReviewRound opens a review round.
var ReviewRound = Specs{
	{Name: "name", Label: "Name", Hint: "For example, Review round spring 2027", Type: Text, Required: true, Max: 200},
	{Name: "review_deadline", Label: "Reviews due by", Hint: "London time.", Type: Moment, Required: true},
	{Name: "reviewers_per_submission", Label: "Reviewers per submission", Hint: "Leave empty for the service's usual number.", Type: Number, Least: 1, Most: 5},
}

// orgID is an organisation's identifier as the review service's API takes it.
var orgID = regexp.MustCompile(`^[A-Za-z0-9_.-]{1,64}$`)

// Reviewer is a member of the reviewer pool.
var Reviewer = Specs{
	// The identifier is kept after the reviewer is erased at their request: it must
	// name no one (the review service refuses an address).
	{Name: "reviewer_id", Label: "Reviewer identifier", Hint: "Letters, digits, dots, - and _, naming no one (it is kept after the reviewer is erased at their request), like rev-0142; it cannot be changed later.", Type: Text, Required: true, Max: 64,
		Pattern: regexp.MustCompile(`^[A-Za-z0-9_.-]+$`), Expect: "letters, digits, dots, - and _ only, without spaces, like rev-0142"},
	{Name: "name", Label: "Name", Type: Text, Required: true, Max: 200},
	{Name: "email", Label: "Email address", Hint: "They sign in to the portal with this address.", Type: Email, Required: true},
	{Name: "organisation_id", Label: "Organisation identifier", Hint: "Where they work, an announced signatory: \"Add a reviewer from this organisation\" on its page fills this in. They never review it.", Type: Text, Required: true, Max: 64,
		Pattern: orgID, Expect: "an organisation's identifier, as its page shows it"},
	{Name: "themes", Label: "Themes they know well", Type: Multiple, Options: themes},
	{Name: "trained", Label: "Trained as a reviewer", Type: Flag},
	{Name: "capacity", Label: "Most submissions a round", Hint: "From 0 to 20.", Type: Number, Required: true, Least: 0, Most: 20},
	{Name: "conflicts", Label: "Declared conflicts", Hint: "Identifiers of organisations they must not review, one a line, as each organisation's page shows it.", Type: Lines,
		Pattern: orgID, Expect: "organisations' identifiers, one a line, as each organisation's page shows it"},
}

// Moderation is the reason for returning or withholding a review.
var Moderation = Specs{
	{Name: "reason", Label: "Reason", Type: Text, Required: true, Max: 2000},
}

// Feedback is the consolidated feedback released to the organisation.
var Feedback = Specs{
	{Name: "feedback", Label: "Consolidated feedback", Hint: "Anonymised: it goes to the organisation with the scores per theme.", Type: Area, Required: true, Max: 20000},
}

// CloseReviewRound is the reason, if any, for closing a round.
var CloseReviewRound = Specs{
	{Name: "reason", Label: "Reason for closing", Type: Text, Max: 2000},
}

// CloseFundRound is why a fund round is closed before its closing time: the
// closure records it, and an early close cannot be undone.
var CloseFundRound = Specs{
	{Name: "reason", Label: "Reason for closing", Hint: "Recorded with the closure, for the audit trail.", Type: Area, Required: true, Max: 2000},
}
