package app

import (
	"testing"
	"unicode/utf8"
)

// A sentence that begins with a person's name begins with its first letter in
// capitals, whatever the script: the head of institution's overdue email once read
// "\ufffd\ufffdmilie Laurent submits it" for a lead named émilie (or Émilie) Laurent.
func TestUpperKeepsANameThatStartsWithAnAccentedLetter(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{
		"émilie Laurent":                 "Émilie Laurent",
		"Émilie Laurent":                 "Émilie Laurent",
		"łukasz Nowak":                   "Łukasz Nowak",
		"øyvind Berg":                    "Øyvind Berg",
		"its nominated lead, Sam Patel,": "Its nominated lead, Sam Patel,",
		"":                               "",
	} {
		got := upper(in)
		if got != want || !utf8.ValidString(got) {
			t.Errorf("upper(%q) = %q, want %q", in, got, want)
		}
	}
}
