# tests/backfill/lines.jq: walbus-tap lines (a log, half-written last line
# and all) to the tab-separated input of tests/backfill/copy.awk: kind, key,
# old key, values (compact, in the tap's column order), commit_lsn, pos.  Only changes and
# reads (backfill and schema events have no row).
#
#   jq -R -r -f tests/backfill/lines.jq LOG
fromjson? // empty
| select(.kind | IN("insert", "update", "delete", "truncate", "read"))
| [.kind, (.key // "" | tostring), (.old_key // "" | tostring),
   (if .values == null then "" else .values | tojson end),
   .commit_lsn, (.pos | tostring)]
| join("\t")
