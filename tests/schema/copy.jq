# tests/schema/copy.jq: the copy a worker keyed by (relid, attnum) keeps,
# following docs/SCHEMA.md, rebuilt from a durable walbus-tap --attnums log.
#
#   jq -n -c --slurpfile resyncs RESYNC_FILE -f copy.jq LOG
#
# LOG: the tap's lines in stream order.  RESYNC_FILE: the re-syncs the test
# read from the database right after a DDL committed, one JSON object each:
#   {"relid": R, "on": "column_added" | "column_type_changed",
#    "attnum": N, "rows": {KEY: VALUE}}            a column
#   {"relid": R, "on": "key_changed" | "table_eligible_again",
#    "rows": {KEY: {ATTNUM: VALUE}}}               the whole table
# Each is applied at the first event of that relid (and attnum) not yet
# matched by another, as a worker applies its re-sync read at the event:
# a column only to the rows present in the copy then, a table replacing
# its rows.
# Output: {"copy": {RELID: {KEY: {ATTNUM: VALUE}}}, "unused": [re-syncs no
# event matched]}.

# Apply the first unused re-sync of relid $r matching $on (and $att): "col"
# sets one column of the rows the copy has, "table" replaces the rows.
def resync($r; $on; $att):
  (first(range(.rs | length) as $i
         | select(.rs[$i].relid == ($r | tonumber) and .rs[$i].on == $on
                  and ($att == null or .rs[$i].attnum == $att))
         | $i) // null) as $i
  | if $i == null then .
    else .rs[$i] as $s
      | .rs |= del(.[$i])
      | if $att == null then .copy[$r] = $s.rows
        else .copy[$r] |= ((. // {}) | with_entries(
               .key as $k
               | if $s.rows | has($k)
                 then .value[$att | tostring] = $s.rows[$k] else . end))
        end
    end;

def row_change($l; $r):
  if $l.kind == "insert" or $l.kind == "update" then
    (if $l.old_key != null then .copy[$r] |= ((. // {}) | del(.[$l.old_key | tostring]))
     else . end)
    | .copy[$r][$l.key | tostring] = $l.values
  elif $l.kind == "delete" then
    .copy[$r] |= ((. // {}) | del(.[$l.key | tostring]))
  elif $l.kind == "truncate" then
    .copy[$r] = {}
  else . end;

def schema_event($l; $r):
  if $l.event == "table_dropped" then
    .copy |= del(.[$r])
  elif $l.event == "table_seen" then
    .copy[$r] |= (. // {})
  else
    reduce $l.changes[] as $c (.;
      if $c.change == "column_dropped" then
        .copy[$r] |= ((. // {}) | map_values(del(.[$c.attnum | tostring])))
      elif $c.change == "column_added" then
        .copy[$r] |= ((. // {}) | map_values(.[$c.attnum | tostring] = null))
        | resync($r; "column_added"; $c.attnum)
      elif $c.change == "column_type_changed" then
        resync($r; "column_type_changed"; $c.attnum)
      elif $c.change == "key_changed" then
        resync($r; "key_changed"; null)
      else . end)
    | if $l.event == "table_eligible_again"
      then resync($r; "table_eligible_again"; null) else . end
  end;

reduce inputs as $l ({copy: {}, rs: $resyncs};
  ($l.relid | tostring) as $r
  | if $l.kind == "schema" then schema_event($l; $r)
    elif $l.relid != null then row_change($l; $r)
    else . end)
| {copy, unused: .rs}
