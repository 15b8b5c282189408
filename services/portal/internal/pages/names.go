package pages

// isolated is a name set apart from the words around it in a message built as plain
// text (where a template would use bdi): between the Unicode first-strong isolate
// and its pop, so that a name written right to left (Arabic, which the services take)
// neither reorders the sentence it sits in nor is reordered by it.
func isolated(name string) string { return "\u2068" + name + "\u2069" }
