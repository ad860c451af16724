# tests/backfill/copy.awk: the copy of one table a durable worker keeps,
# rebuilt from its walbus-tap log, and whether any read it applied was stale.
#
#   jq -r -f tests/backfill/lines.jq LOG | awk -F '\t' -f tests/backfill/copy.awk
#
# Input: the worker's changes and reads of one table (one relid), in the
# order it printed them (repeats after a restart included), as lines.jq
# writes them: kind, key, old key, values (compact JSON), commit_lsn, pos;
# tab-separated.  (jq 1.6 updates a big object in a
# reduce in quadratic time, hence awk for the reduction.)
#
# Applied as docs/BACKFILL.md says: insert, update and read are upserts by
# key (an update with an old key first removes the old key), delete
# removes, truncate empties.
#
# A read is the row's state at its position in the stream
# (docs/PROTOCOL.md §E9), so when a read of key k comes:
#   - if the copy holds k (from a change or an earlier read), the read must
#     carry exactly the values the copy holds: a read older than a change
#     applied before it would differ ("stale");
#   - if the stream deleted k (or moved it away by a key change) and did
#     not bring it back, no read of k may come ("resurrected");
#   - else the copy has never seen k ("unknown": normal for a table the
#     stream knew nothing of, wrong for one already loaded).
#
# Output: one line of counts, as JSON:
#   {"lines": N, "reads": N, "checked": N (reads of a key the copy held),
#    "after_change": N (... whose row came from a change), "unknown": N,
#    "stale": N, "resurrected": N, "updates_of_key": N, "deletes": N,
#    "examples": [up to 10 offending reads]}
# then the copy's rows, one values object per line (unsorted).

function example(what, had) {
    if (nex < 10)
        ex[++nex] = sprintf("{\"what\":\"%s\",\"commit_lsn\":\"%s\",\"pos\":%s,\"key\":\"%s\",\"read\":%s,\"copy_had\":%s}",
                            what, $5, $6, $2, $4, had == "" ? "null" : had)
}

{ lines++ }

$1 == "insert" || $1 == "update" {
    if ($3 != "" && $3 != $2) {
        delete copy[$3]
        delete changed[$3]
        gone[$3] = 1
        updates_of_key++
    }
    copy[$2] = $4
    changed[$2] = 1
    delete gone[$2]
    next
}

$1 == "delete" {
    delete copy[$2]
    delete changed[$2]
    gone[$2] = 1
    deletes++
    next
}

$1 == "truncate" {
    split("", copy)
    split("", changed)
    split("", gone)
    next
}

$1 == "read" {
    reads++
    if ($2 in copy) {
        checked++
        if ($2 in changed)
            after_change++
        if (copy[$2] != $4) {
            stale++
            example("stale", copy[$2])
        }
    } else if ($2 in gone) {
        resurrected++
        example("resurrected", "")
    } else
        unknown++
    copy[$2] = $4
    delete changed[$2]
}

END {
    exs = ""
    for (i = 1; i <= nex; i++)
        exs = exs (i > 1 ? "," : "") ex[i]
    printf "{\"lines\":%d,\"reads\":%d,\"checked\":%d,\"after_change\":%d,\"unknown\":%d,\"stale\":%d,\"resurrected\":%d,\"updates_of_key\":%d,\"deletes\":%d,\"examples\":[%s]}\n",
        lines, reads, checked, after_change, unknown, stale, resurrected, updates_of_key, deletes, exs
    for (k in copy)
        print copy[k]
}
