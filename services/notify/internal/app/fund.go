package app

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/itss/techcommit/libs/civil"
	"github.com/itss/techcommit/libs/money"
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
	FundStepCorrected = "award-corrected" // the award's amount corrected by ITSS
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
	if err := a.dueNotMoved(ctx, kind, application, step); err != nil {
		return err
	}
	if kind == "fund-report-due" {
		// "Please send its short report by <day>": not after that day, when the chase
		// of an overdue report asks for it instead.
		if day, ok := strings.CutPrefix(step, reportDueStep); ok {
			day, _, _ = strings.Cut(day, dueMovesSep)
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
	case "fund-awarded": // "“…” is awarded £50"
		gone = []struct{ step, why string }{{FundStepCorrected, "ITSS corrected the award's amount since, and the correction's email gives the amount awarded"}}
	case KindFundAwardCorrected: // "it is £500, not the £50 we wrote before"
		if n, _ := correctionOf(step); n > 0 {
			gone = []struct{ step, why string }{{FundStepCorrection(n + 1), "ITSS corrected the award's amount again since, and the later correction's email gives the amount awarded"}}
		}
	case "fund-report-due", KindFundReportOverdue, KindFundReportDueMoved: // "Please send its short report by ...", "Please send it now", "now due by ..."
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

// The steps of the other emails about a report's day: the chase of an overdue report
// and the news that the day moved. Each, and the email asking for the report, ends
// with dueMovesSep and how many times the day had moved when it was written, once it
// has moved: a later attempt finds the day moved since (dueNotMoved).
const (
	reportOverdueStep = "overdue"
	reportMovedStep   = "moved-to@"
	dueMovesSep       = "@"
)

// KindFundReportDueMoved tells a funded project's applicant and lead that its report
// is due on another day: ITSS corrected the round's project window.
const KindFundReportDueMoved = "fund-report-due-moved"

// FundStepDueMoved is the step an application reaches each time its report's due day
// moves, numbered from 1 ("due-moved@1"): an email about the report written before
// is then no longer true.
func FundStepDueMoved(move int) string { return "due-moved" + dueMovesSep + strconv.Itoa(move) }

// reportStep is the step of a fund email about a report's day (none for the others).
func reportStep(kind string, due civil.Date, moves int) string {
	var step string
	switch kind {
	case "fund-report-due":
		if due.IsZero() {
			return ""
		}
		step = reportDueStep + due.String()
	case KindFundReportOverdue:
		step = reportOverdueStep // its day is in its words, and its cause
	case KindFundReportDueMoved:
		step = reportMovedStep + due.String()
	default:
		return ""
	}
	if moves > 0 {
		step += dueMovesSep + strconv.Itoa(moves)
	}
	return step
}

// dueMovedSince says the report's due day moved after the event about app was
// recorded (heard late, or out of order with the move): it asks for, or chases, the
// report by a day that no longer stands, and the move's email gave the new one.
func (a *App) dueMovedSince(ctx context.Context, app Application) (bool, error) {
	if a.fund == nil {
		return false, nil
	}
	return a.fund.Reached(ctx, app.ID, FundStepDueMoved(app.DueMoves+1))
}

// dueNotMoved reports, as an error no longer true, an email about a report's day
// written before the day moved again: it would ask for, chase or announce a day that
// no longer stands (the email of the later move says which does).
func (a *App) dueNotMoved(ctx context.Context, kind, application, step string) error {
	if a.fund == nil || reportStep(kind, civil.New(2000, 1, 1), 0) == "" || step == "" {
		return nil
	}
	// "due@<day>[@N]", "moved-to@<day>[@N]", "overdue[@N]": N follows the day, if any.
	parts := strings.Split(step, dueMovesSep)
	if kind != KindFundReportOverdue {
		parts = parts[min(1, len(parts)):]
	}
	moves := 0
	if len(parts) > 1 {
		var err error
		if moves, err = strconv.Atoi(parts[1]); err != nil {
			return nil // not a step this release wrote
		}
	}
	moved, err := a.fund.Reached(ctx, application, FundStepDueMoved(moves+1))
	if err != nil || !moved {
		return err
	}
	return noLongerTrue("the report's due day has moved since (ITSS corrected the project window), and the email saying so gives the new one")
}

// KindFundReportOverdue chases a funded project's report not in by its due day.
const KindFundReportOverdue = "fund-report-overdue"

// FundReportDue asks the applicant and the lead for a funded project's report, by its
// due day. Heard after that day (the fund's sweep, or notify, catching up after
// downtime), it would ask for the report by a day gone: it sends the chase of an
// overdue report instead, which says the report was due that day and is overdue, and
// which the fund's own overdue event then finds sent (FundReportOverdue).
func (a *App) FundReportDue(ctx context.Context, cause string, app Application, due civil.Date) error {
	if moved, err := a.dueMovedSince(ctx, app); err != nil || moved {
		return err
	}
	if a.today().After(due) {
		return a.FundReportOverdue(ctx, app, due)
	}
	return a.FundEmail(ctx, cause, "fund-report-due", app, "Technician Collaboration Fund: your project report is due by "+mail.Day(due),
		[]string{fmt.Sprintf("The project “%s” has ended. Please send its short report by %s; the attached calendar entry marks the date.", app.Title, mail.Day(due))},
		due)
}

// FundReportOverdue chases a funded project's report not in by its due day. The
// chase is one email per person and application, whichever event sends it first
// (the fund's overdue event, or its report-due event heard after the due day): its
// cause is the application's, not the event's, so that the delivery log's claim
// lets one through.
func (a *App) FundReportOverdue(ctx context.Context, app Application, due civil.Date) error {
	if moved, err := a.dueMovedSince(ctx, app); err != nil || moved {
		return err
	}
	cause := "report-overdue:" + app.ID
	if app.DueMoves > 0 {
		// A report overdue by a day its move set is chased anew, once for that day.
		cause += dueMovesSep + strconv.Itoa(app.DueMoves)
	}
	return a.FundEmail(ctx, cause, KindFundReportOverdue, app,
		"Technician Collaboration Fund: your project report is overdue — "+app.Title,
		[]string{fmt.Sprintf("The short report on the project “%s” was due by %s and has not reached ITSS. Please send it now: the fund takes it late.", app.Title, mail.Day(due)),
			"If something is holding it up, please tell ITSS."},
		civil.Date{})
}

// awardReportDue opens the award email's paragraph on its report, by which a later
// attempt finds it.
const awardReportDue = "A short report on the project is due by "

// What the award email, or a correction's, says instead of its report's day, sent
// once the report is in, or once the day has moved since it was written.
const (
	reportIsIn       = "Its report is in: thank you."
	windowMovedSince = "ITSS has since corrected the project's window, and with it the day its short report is due: the email saying so gives both."
)

// reportSince says whether the report on application is in, and whether its due day
// has moved since it had moved moves times (the award's, or a correction's, day no
// longer standing).
func (a *App) reportSince(ctx context.Context, application string, moves int) (reported, moved bool, err error) {
	if a.fund == nil {
		return false, false, nil
	}
	if reported, err = a.fund.Reached(ctx, application, FundStepReported); err != nil || reported {
		return reported, false, err
	}
	moved, err = a.fund.Reached(ctx, application, FundStepDueMoved(moves+1))
	return false, moved, err
}

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
// record of the award that no longer asks for the report (nor carries its date); sent
// again once the report's day moved, it no longer gives the window or the day the
// award had, nor their calendar entry.
func (a *App) awardAfterReport(ctx context.Context, d Delivery, application string) (Delivery, error) {
	if a.fund == nil || (d.Kind != "fund-awarded" && d.Kind != KindFundAwardCorrected) {
		return d, nil
	}
	// An award is made before its report's day ever moves; a correction may be made
	// after, and gives the day as it was moved then.
	_, moves := correctionOf(d.Step)
	reported, moved, err := a.reportSince(ctx, application, moves)
	if err != nil || !reported && !moved {
		return d, err
	}
	// Once its window was corrected the award's window and report day no longer
	// stand, nor its calendar entry: the email of the move gives them.
	instead := windowMovedSince
	if reported {
		instead = reportIsIn
	}
	i := slices.IndexFunc(d.Content.Paragraphs, func(p string) bool { return strings.HasPrefix(p, awardReportDue) || p == windowMovedSince })
	if i < 0 {
		return d, nil // written before the paragraph stood alone: sent as it was
	}
	c := d.Content
	c.Paragraphs = slices.Clone(c.Paragraphs)
	c.Paragraphs[i] = instead
	if !reported {
		for j, p := range c.Paragraphs {
			if before, _, ok := strings.Cut(p, " The project may start on "); ok {
				c.Paragraphs[j] = before
			}
		}
	}
	if len(d.Message.To) != 1 {
		d.Content, d.Message.ICS = c, nil
		return d, nil
	}
	return a.composedAgain(d, d.Message.To[0], d.Message.Subject, c, nil)
}

// ReportDueMove is a move of a funded project's report to another day, as the fund
// recorded it (ReportDueMovedV1).
type ReportDueMove struct {
	Move                                 int
	DueBefore, Due                       civil.Date
	ProjectStartBefore, ProjectEndBefore civil.Date
	ProjectStart, ProjectEnd             civil.Date
}

// FundReportDueMoved tells the applicant and the organisation's lead, once each for
// each move, that the report is due on another day, from what to what, and the
// project window it follows; its calendar entry moves the report's entry (the same
// UID, a higher SEQUENCE). The move is kept first, so that an email about the old day
// still to be sent (asking for the report, or chasing it) is no longer sent; one by
// the new day follows from the fund when that day comes.
func (a *App) FundReportDueMoved(ctx context.Context, app Application, m ReportDueMove) error {
	if err := a.FundProgressed(ctx, app.ID, FundStepDueMoved(m.Move)); err != nil {
		return err
	}
	if a.fund != nil {
		if reported, err := a.fund.Reached(ctx, app.ID, FundStepReported); err != nil || reported {
			return err // the report is in: its day means nothing to anyone now
		}
	}
	app.DueMoves = m.Move
	window := fmt.Sprintf("The project may start on %s and must end by %s", mail.Day(m.ProjectStart), mail.Day(m.ProjectEnd))
	if !m.ProjectStartBefore.IsZero() && !m.ProjectEndBefore.IsZero() {
		window += fmt.Sprintf(" (it said %s to %s)", mail.Day(m.ProjectStartBefore), mail.Day(m.ProjectEndBefore))
	}
	paras := []string{
		fmt.Sprintf("ITSS has corrected the project window of the fund round that funded “%s”. %s.", app.Title, window),
	}
	subject := "Technician Collaboration Fund: your project report is now due by " + mail.Day(m.Due) + " — " + app.Title
	if a.today().After(m.Due) {
		subject = "Technician Collaboration Fund: your project report was due by " + mail.Day(m.Due) + " — " + app.Title
		paras = append(paras, fmt.Sprintf("Its short report was due by %s, not %s as we said before. That day has passed: please send it now; the fund takes it late.", mail.Day(m.Due), mail.Day(m.DueBefore)))
	} else {
		paras = append(paras, fmt.Sprintf("Its short report is now due by %s, not %s as we said before; the attached calendar entry moves the date. Any reminder or chase sent for %s no longer stands.", mail.Day(m.Due), mail.Day(m.DueBefore), mail.Day(m.DueBefore)))
	}
	return a.FundEmail(ctx, "report-due-moved:"+app.ID+dueMovesSep+strconv.Itoa(m.Move), KindFundReportDueMoved, app, subject, paras, m.Due)
}

// KindFundAwardCorrected tells of an award's amount corrected by ITSS.
const KindFundAwardCorrected = "fund-award-corrected"

// FundStepCorrection is the step an application reaches with each correction of its
// award's amount, numbered from 1 ("award-corrected@1") as the fund counts them: the
// email of a correction before it, which gives an amount no longer awarded, is then
// no longer true. FundStepCorrected is reached too, by every correction.
func FundStepCorrection(n int) string { return FundStepCorrected + "@" + strconv.Itoa(n) }

// correctionStep opens the step of a correction's email (its Delivery.Step): the
// correction's number follows it, by which a later attempt finds a later correction,
// then, once the report's day has moved, dueMovesSep and how many times it had, by
// which a later attempt finds the day moved since.
const correctionStep = "correction@"

// stepOfCorrection is the step of the email of correction n, recorded after the
// report's day moved moves times: none for a correction the fund numbered not, nor
// counted the moves of (an event from a release before).
func stepOfCorrection(n, moves int) string {
	if n == 0 && moves == 0 {
		return ""
	}
	step := correctionStep + strconv.Itoa(n)
	if moves > 0 {
		step += dueMovesSep + strconv.Itoa(moves)
	}
	return step
}

// correctionOf is the number of the correction whose email has step, and how many
// times the report's day had moved when it was written: zero for what it does not
// say (an email of a correction the fund did not number or count the moves of).
func correctionOf(step string) (n, moves int) {
	v, ok := strings.CutPrefix(step, correctionStep)
	if !ok {
		return 0, 0
	}
	v, m, _ := strings.Cut(v, dueMovesSep)
	n, _ = strconv.Atoi(v)
	moves, _ = strconv.Atoi(m)
	return max(n, 0), max(moves, 0)
}

// AwardCorrection is a correction of an award's amount, as the fund recorded it
// (AwardCorrectedV1).
type AwardCorrection struct {
	// N counts the corrections of the application's award, from 1; zero for one
	// from a fund that did not count them, whose email is sent as it was written.
	N                  int
	FromPence, ToPence int64
	Reason             string
	// ReportDue is the day the report is still due on, and DueMoves how many times
	// it had moved when the correction was recorded (zero from a release before).
	ReportDue civil.Date
	DueMoves  int
}

// FundAwardCorrected tells the applicant, and the organisation's nominated lead in a
// copy (found and waited for as FundEmail finds them), that ITSS corrected the amount
// of an award typed wrong: from what to what in pounds, ITSS's reason, the report
// still due on its day, and whom to write to. Neither copy names the fund's id for
// the application, as the report's receipt does not; the lead's links to its page.
// The award email said the wrong sum: from now on it is not sent again
// (fundStillTrue), nor is the email of an earlier correction, nor is this one's once a
// later correction is heard; one heard after a later correction (out of order) is not
// sent, the later's email giving the amount awarded. A later attempt once the report
// is in says it is in, as the award email's does (awardAfterReport), and so does one
// heard once it is in; one heard, or sent again, once the report's day has moved since
// the correction no longer gives the day it had.
func (a *App) FundAwardCorrected(ctx context.Context, cause string, app Application, c AwardCorrection) error {
	// Kept before the emails go, so that the award email, and the email of an earlier
	// correction, retried from now on are not.
	if err := a.FundProgressed(ctx, app.ID, FundStepCorrected); err != nil {
		return err
	}
	if c.N > 0 {
		if err := a.FundProgressed(ctx, app.ID, FundStepCorrection(c.N)); err != nil {
			return err
		}
		if a.fund != nil {
			if later, err := a.fund.Reached(ctx, app.ID, FundStepCorrection(c.N+1)); err != nil || later {
				return err
			}
		}
	}
	from, to, reason, due := c.FromPence, c.ToPence, c.Reason, c.ReportDue
	reported, moved, err := a.reportSince(ctx, app.ID, c.DueMoves)
	if err != nil {
		return err
	}
	project := fmt.Sprintf("the project “%s”", app.Title)
	subject := "Technician Collaboration Fund: the amount awarded is corrected"
	if app.Title == "" {
		project = "the funded project"
	} else {
		subject += " — " + app.Title
	}
	paras := []string{
		fmt.Sprintf("ITSS has corrected the amount awarded to %s by the Technician Collaboration Fund: it is %s, not the %s we wrote before.", project, money.Pounds(to), money.Pounds(from)),
	}
	if r := strings.TrimSuffix(strings.TrimSpace(reason), "."); r != "" {
		paras = append(paras, "ITSS's reason: "+r+".")
	}
	switch {
	case reported:
		paras = append(paras, reportIsIn)
	case moved:
		paras = append(paras, windowMovedSince)
	case !due.IsZero():
		paras = append(paras, fmt.Sprintf("%s%s, as before; it reports what the grant of %s paid for.", awardReportDue, mail.Day(due), money.Pounds(to)))
	}
	write := "If the correction is not what you agreed with ITSS, or for anything about the award, please write to ITSS at " + a.cfg.Contact + "."
	e := Email{Cause: cause, Org: app.OrganisationID, Kind: KindFundAwardCorrected, Subject: subject, About: fundAbout(app.ID), Step: stepOfCorrection(c.N, c.DueMoves),
		Content: mail.Content{Paragraphs: append(slices.Clone(paras), write), Names: []string{app.Title}}}
	if err := a.Notify(ctx, e, Recipient{app.Applicant, RoleApplicant}); err != nil {
		return err
	}
	lead, _, err := a.fundLead(ctx, app.OrganisationID, KindFundAwardCorrected)
	if err != nil || lead.Email == "" {
		return err
	}
	e.Content = mail.Content{Paragraphs: append(slices.Clone(paras), write, "Read the application in the Technician Commitment portal:"),
		Action: a.applicationURL(app.ID), Names: []string{app.Title}}
	return a.Notify(ctx, e, Recipient{lead, RoleLead})
}
