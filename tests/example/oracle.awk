# What the example worker's applied.log must be, from test_decoding's
# output (pg_logical_slot_peek_changes' data column): one "KIND TABLE KEY"
# line per change of public.items and public.notes, whose key column "id"
# comes first.  An update that changed the key prints "old-key: ...
# new-tuple: ...": the key is the new one.  Quotes around a key (uuid) are
# dropped; a truncate's key is "-".  Other lines (begin, commit, messages,
# other tables) are skipped.
/^table public\.(items|notes): (INSERT|UPDATE|DELETE|TRUNCATE):/ {
    table = $2
    sub(/:$/, "", table)
    kind = substr($3, 1, 1)
    if (kind == "T") {
        print "T", table, "-"
        next
    }
    line = $0
    at = index(line, " new-tuple: ")
    if (at > 0)
        line = substr(line, at)
    if (!match(line, / id\[[a-z]+\]:[^ ]+/)) {
        print "oracle.awk: no key in: " $0 > "/dev/stderr"
        exit 1
    }
    key = substr(line, RSTART, RLENGTH)
    sub(/^ id\[[a-z]+\]:/, "", key)
    gsub(/'/, "", key)
    print kind, table, key
}
