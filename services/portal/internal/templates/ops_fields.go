package templates

// OpsField is one form control with its label and the problem beside it, for the
// shared "opsfield" template in ops_fields.partial, so that every console form renders
// its errors the same way (message above the control, aria-describedby, aria-invalid).
type OpsField struct {
	Name, Label, Hint, Value, Type string
	Error                          string
	Options                        []OpsOption
}

// OpsOption is one choice of a select or a set of checkboxes.
type OpsOption struct {
	Value, Text string
	Selected    bool
}
