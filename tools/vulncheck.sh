#!/usr/bin/env bash
# Runs govulncheck over one built binary (or one module's source) against the offline
# database and fails on any vulnerability its code reaches, except those listed in
# tools/vulncheck-accepted.txt, each with the reason it is accepted (docs/SECURITY.md
# explains them). govulncheck itself has no way to accept a finding, so its JSON stream
# is read with gojq. A binary is what runs in production, and reading its symbols takes
# a second where analysing the module's source takes minutes.
#
#   tools/vulncheck.sh BIN_DIR BINARY_OR_MODULE_DIR
#
# With VULNCHECK_REACHED set to a file, each finding reached is appended to it, one id a
# line: make vulncheck fails on an accepted line that no binary reaches any more.
set -euo pipefail
bin=$1 target=$2
accepted="$(cd "$(dirname "$0")" && pwd)/vulncheck-accepted.txt"
out=$(mktemp)
trap 'rm -f "$out"' EXIT
if [ -f "$target" ]; then
  "$bin/govulncheck" -db "file://$bin/vulndb" -mode binary -format json "$target" > "$out"
  again="$bin/govulncheck -db file://$bin/vulndb -mode binary $target"
else
  (cd "$target" && "$bin/govulncheck" -db "file://$bin/vulndb" -format json ./...) > "$out"
  again="cd $target && $bin/govulncheck -db file://$bin/vulndb ./..."
fi
# A finding whose trace starts at a function is reached by the module's own code; one
# whose trace stops at a package or module is only imported or required.
reached=$("$bin/gojq" -r 'select(.finding != null and (.finding.trace[0].function // "") != "") | .finding.osv' "$out" | sort -u)
status=0
if [ -n "${VULNCHECK_REACHED:-}" ] && [ -n "$reached" ]; then
  printf '%s\n' $reached >> "$VULNCHECK_REACHED"
fi
for id in $reached; do
  if grep -q "^$id " "$accepted"; then
    echo "  $id reached, accepted: $(grep "^$id " "$accepted" | cut -d' ' -f2-)"
  else
    echo "  $id reached and not accepted: see '$again'" >&2
    status=1
  fi
done
exit $status
