package templates

// Field is one form control with its label and the problem beside it, for the
// shared "field" template in fields.partial, so that every console form renders
// its errors the same way (message above the control, aria-describedby, focus on
// the first field with a problem).
type Field struct {
	Name, Label, Hint, Value, Type string
	Error                          string
	Focus                          bool
	Options                        []Option
}

// Option is one choice of a select or a set of checkboxes.
type Option struct {
	Value, Text string
	Selected    bool
}
