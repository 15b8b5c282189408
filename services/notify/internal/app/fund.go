package app

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/itss/techcommit/libs/civil"
	"github.com/itss/techcommit/services/notify/internal/mail"
)

// The steps of an application after it was made that notify keeps, so that a later
// attempt of a fund email does not say what was overtaken since: the receipt that
// says ITSS will write with the decision, once it has; the email asking for the
// report, once the report is in.
const (
	FundStepDecided   = "decided" // awarded or declined
	FundStepWithdrawn = "withdrawn"
	FundStepReported  = "reported"
)

// FundProgress keeps which of those steps each application reached. A step is kept
// once, by inserting it: nothing is ever changed, so writers do not contend.
type FundProgress interface {
	Reach(ctx context.Context, application, step string) error
	Reached(ctx context.Context, application, step string) (bool, error)
}

// UseFundProgress gives the app where it keeps the steps applications reached.
// Without it (the app's own tests) a fund email is sent again as it was written.
func (a *App) UseFundProgress(p FundProgress) error {
	if p == nil {
		return errors.New("app: the record of applications' progress is nil")
	}
	a.fund = p
	return nil
}

// FundProgressed records that an application reached step.
func (a *App) FundProgressed(ctx context.Context, application, step string) error {
	if a.fund == nil || application == "" {
		return nil
	}
	return a.fund.Reach(ctx, application, step)
}

// fundAbout is what a fund email is about: its application.
func fundAbout(application string) string { return "application:" + application }

// fundStillTrue reports, as an error no longer true, a fund email overtaken by a
// step its application reached since it was written.
func (a *App) fundStillTrue(ctx context.Context, kind, application, step string) error {
	if kind == "fund-report-due" {
		// "Please send its short report by <day>": not after that day, when the chase
		// of an overdue report asks for it instead.
		if day, ok := strings.CutPrefix(step, reportDueStep); ok {
			if due, err := civil.Parse(day); err == nil && a.today().After(due) {
				return noLongerTrue("the report was due by %s, which has passed; the chase of an overdue report asks for it", mail.Day(due))
			}
		}
	}
	if a.fund == nil {
		return nil
	}
	var gone []struct{ step, why string }
	switch kind {
	case "fund-received": // "ITSS will assess it after the round closes and write with the decision"
		gone = []struct{ step, why string }{
			{FundStepDecided, "the application is decided, and the decision's email says so"},
			{FundStepWithdrawn, "the application is withdrawn, and will not be assessed"},
		}
	case "fund-report-due", KindFundReportOverdue: // "Please send its short report by ...", "Please send it now"
		gone = []struct{ step, why string }{{FundStepReported, "the report on the project is in"}}
	}
	for _, g := range gone {
		reached, err := a.fund.Reached(ctx, application, g.step)
		if err != nil {
			return err
		}
		if reached {
			return noLongerTrue("%s", g.why)
		}
	}
	return nil
}

// reportDueStep opens the step of the email asking for a report (its Delivery.Step):
// the report's due day follows it, by which a later attempt finds it.
const reportDueStep = "due@"

// KindFundReportOverdue chases a funded project's report not in by its due day.
const KindFundReportOverdue = "fund-report-overdue"

// FundReportDue asks the applicant and the lead for a funded project's report, by its
// due day. Heard after that day (the fund's sweep, or notify, catching up after
// downtime), it would ask for the report by a day gone: it sends the chase of an
// overdue report instead, which says the report was due that day and is overdue, and
// which the fund's own overdue event then finds sent (FundReportOverdue).
func (a *App) FundReportDue(ctx context.Context, cause string, app Application, due civil.Date) error {
	if a.today().After(due) {
		return a.FundReportOverdue(ctx, app, due)
	}
	return a.FundEmail(ctx, cause, "fund-report-due", app, "Technician Collaboration Fund: your project report is due by "+mail.Day(due),
		[]string{fmt.Sprintf("The project “%s” has ended. Please send its short report by %s; the attached calendar entry marks the date.", app.Title, mail.Day(due))},
		due, false)
}

// FundReportOverdue chases a funded project's report not in by its due day. The
// chase is one email per person and application, whichever event sends it first
// (the fund's overdue event, or its report-due event heard after the due day): its
// cause is the application's, not the event's, so that the delivery log's claim
// lets one through.
func (a *App) FundReportOverdue(ctx context.Context, app Application, due civil.Date) error {
	return a.FundEmail(ctx, "report-overdue:"+app.ID, KindFundReportOverdue, app,
		"Technician Collaboration Fund: your project report is overdue — "+app.Title,
		[]string{fmt.Sprintf("The short report on the project “%s” was due by %s and has not reached ITSS. Please send it now: the fund takes it late.", app.Title, mail.Day(due)),
			"If something is holding it up, please tell ITSS."},
		civil.Date{}, false)
}

// awardReportDue opens the award email's paragraph on its report, by which a later
// attempt finds it.
const awardReportDue = "A short report on the project is due by "

// AwardWindow is what the award email says of the project's window, after the
// award: when the project may start and by when it must end. An award from before the
// fund said the window (an older event) says nothing of it.
func AwardWindow(start, end civil.Date) string {
	if start.IsZero() || end.IsZero() {
		return ""
	}
	return fmt.Sprintf(" The project may start on %s and must end by %s.", mail.Day(start), mail.Day(end))
}

// AwardReportDue is the award email's paragraph on its report.
func AwardReportDue(due civil.Date) string {
	return fmt.Sprintf("%s%s; the attached calendar entry marks the date.", awardReportDue, mail.Day(due))
}

// awardAfterReport writes the award email, sent again once the report is in, as a
// record of the award that no longer asks for the report (nor carries its date).
func (a *App) awardAfterReport(ctx context.Context, d Delivery, application string) (Delivery, error) {
	if a.fund == nil || d.Kind != "fund-awarded" {
		return d, nil
	}
	reported, err := a.fund.Reached(ctx, application, FundStepReported)
	if err != nil || !reported {
		return d, err
	}
	i := slices.IndexFunc(d.Content.Paragraphs, func(p string) bool { return strings.HasPrefix(p, awardReportDue) })
	if i < 0 {
		return d, nil // written before the paragraph stood alone: sent as it was
	}
	c := d.Content
	c.Paragraphs = slices.Clone(c.Paragraphs)
	c.Paragraphs[i] = "Its report is in: thank you."
	if len(d.Message.To) != 1 {
		d.Content, d.Message.ICS = c, nil
		return d, nil
	}
	return a.composedAgain(d, d.Message.To[0], d.Message.Subject, c, nil, d.Message.Optional)
}
