// Command asyncapi writes the AsyncAPI document of the suite's events (`make generate`).
package main

import (
	"flag"
	"fmt"
	"os"

	"github.com/itss/techcommit/libs/events/asyncapi"
)

func main() {
	src := flag.String("src", "events", "the events package's source directory")
	out := flag.String("out", "../docs/asyncapi.json", "where to write the document")
	flag.Parse()
	doc, err := asyncapi.Document(*src)
	if err == nil {
		err = os.WriteFile(*out, doc, 0o600)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "asyncapi:", err)
		os.Exit(1)
	}
}
