# Gangs: glx -n's processes are coscheduled.  A gang alone is never
# stopped; two gangs that compete for the same peers take turns, never
# running at once on a peer (their processes' timestamps say so); a
# --no-gang job runs through every slice; when the node of a gang's
# leader is SIGKILLed, another peer leads it with a higher term, and no
# process is left stopped: all finish once told to.
. "$(dirname "$0")/lib.sh"
GLX="$BUILD/glx"
set +e
write_conf "sched" "    gang_slice = 100ms"
names=(a b c d)
for i in "${!names[@]}"; do start_peer "${names[$i]}" "$i"; done
wait_until 30 all_alive 4 "${names[@]}" || fail "no convergence"
export GLUNIX_RUNTIME_DIR="$T/d/run"   # d is every job's home, and runs none of them
method=$(status a | jq -r '.gangs.stop')
say "gang processes are stopped by: $method"

# The worker: spins, writing a wall-clock timestamp about every
# millisecond, until the stop file appears.  Its pid goes first, so
# that the test can end it whatever happens to its peer.
cat > "$T/worker" <<'EOF'
#!/bin/bash
f=$1.$GLUNIX_NODE.$GLUNIX_RANK
exec 3> "$f"
echo "pid $$" >&3
while [ ! -e "$2" ]; do
    for ((i = 0; i < 200; i++)); do :; done
    echo "$EPOCHREALTIME" >&3
done
EOF
chmod +x "$T/worker"
EXTRA_CLEANUP='touch "$T/stop"; for f in "$T"/out/*; do [ -f "$f" ] || continue; p=$(awk "NR == 1 { print \$2 }" "$f"); kill -CONT -"$p" 2>/dev/null; kill -9 -"$p" 2>/dev/null; done'
mkdir "$T/out"

# gang G of this glx on this peer, as status JSON says it: "run", "stop" or
# "uncoordinated" (the last decision), or "" while it is not there
decision() { status "$1" | jq -r --arg g "$2" '.gangs.local[] | select(.gang == $g) | .decision'; }
gang_of() {  # gang_of TAG: the gang id of the worker files tagged TAG
    "$GLPEER" ps --json --runtime-dir "$T/d/run" |
        jq -r --arg t "$T/out/$1" '.jobs[] | select(.command | contains($t)) | .gang.id // empty' | head -1
}
coordinated() {  # coordinated GANG PEERS...: every peer follows the matrix for it
    local g=$1; shift
    for p in "$@"; do case "$(decision "$p" "$g")" in run | stop) ;; *) return 1 ;; esac; done
}
stops() { status "$1" | jq '.gangs.stops'; }
n_gangs() {  # n_gangs N: ps shows N gangs
    [ "$("$GLPEER" ps --json --runtime-dir "$T/d/run" | jq -r '.jobs[].gang.id // empty' | sort -u | wc -l)" = "$1" ]
}
finished() {  # finished PID: our child PID has exited (a zombie, or gone)
    local s
    s=$(awk '{ print $3 }' "/proc/$1/stat" 2> /dev/null)
    [ -z "$s" ] || [ "$s" = Z ]
}

# 1. A gang alone: placed, coordinated, and never stopped.
"$GLX" -n 4 -w a,b "$T/worker" "$T/out/g1" "$T/stop" 2> "$T/g1.err" & g1=$!
wait_until 20 n_gangs 1 ||
    fail "the gang does not show in ps: $("$GLPEER" ps --runtime-dir "$T/d/run")"
G1=$(gang_of g1)
wait_until 20 coordinated "$G1" a b || fail "gang $G1 not coordinated: a $(decision a "$G1"), b $(decision b "$G1")"
sleep 1
[ "$(stops a)" = 0 ] && [ "$(stops b)" = 0 ] || fail "a gang alone was stopped: a $(stops a), b $(stops b)"
row=$(status a | jq -r --arg g "$G1" '.gangs.local[] | select(.gang == $g) | .row')
leader=$(status a | jq -r --arg g "$G1" '.gangs.local[] | select(.gang == $g) | .leader')
say "gang $G1 alone: row $row, leader $leader, never stopped"

# 2. A second gang on the same peers (2 processes a peer each, 2 slots a
# peer): another row.  The two take turns; a --no-gang job runs through.
"$GLX" -n 4 -w a,b "$T/worker" "$T/out/g2" "$T/stop" 2> "$T/g2.err" & g2=$!
"$GLX" -n 2 -w a,b --no-gang "$T/worker" "$T/out/free" "$T/stop" 2> "$T/free.err" & gf=$!
wait_until 20 n_gangs 2 ||
    fail "the second gang does not show in ps"
G2=$(gang_of g2)
wait_until 20 coordinated "$G2" a b || fail "gang $G2 not coordinated: a $(decision a "$G2"), b $(decision b "$G2")"
rows=$(status a | jq '.gangs.rows')
[ "$rows" = 2 ] || fail "two competing gangs use $rows rows: $(status a | jq -c '.gangs.matrix')"
"$GLPEER" ps --json --runtime-dir "$T/d/run" | jq -e --arg t "$T/out/free" \
    '[.jobs[] | select(.command | contains($t)) | select(.gang == null)] | length == 2' > /dev/null ||
    fail "the --no-gang job shows a gang: $("$GLPEER" ps --runtime-dir "$T/d/run")"
from=$EPOCHREALTIME
sleep 3
to=$EPOCHREALTIME
[ "$(stops a)" -gt 0 ] && [ "$(stops b)" -gt 0 ] || fail "no process was stopped: a $(stops a), b $(stops b)"
# On each peer, the timestamps of both gangs in [from, to], in time order,
# fall in blocks of one gang: about one block a slice (30 in 3 s).  Gangs
# running at once would interleave their stamps every millisecond or so.
# The --no-gang job's stamps fall within blocks of both gangs.
for p in a b; do
    read -r blocks g1n g2n free1 free2 < <(
        for g in g1 g2 free; do
            for f in "$T/out/$g".$p.*; do awk -v g=$g 'NR > 1 { print $1, g }' "$f"; done
        done | awk -v a="$from" -v b="$to" '$1 >= a && $1 <= b' | sort -n |
        awk 'BEGIN { last = ""; blocks = 0 }
             $2 == "free" { if (last == "g1") f1[n] = 1; if (last == "g2") f2[n] = 1; next }
             { c[$2]++; if ($2 != last) { blocks++; n++; last = $2; seen[n] = $2 } }
             END { for (i = 1; i <= n; i++) { if (seen[i] == "g1") { t1++; k1 += f1[i] } else { t2++; k2 += f2[i] } }
                   printf "%d %d %d %d %d\n", blocks, c["g1"], c["g2"], (t1 ? 100 * k1 / t1 : 0), (t2 ? 100 * k2 / t2 : 0) }')
    say "peer $p: $blocks blocks of one gang in 3 s ($g1n and $g2n stamps); the --no-gang job ran in $free1 % of g1's blocks and $free2 % of g2's"
    [ "$g1n" -gt 100 ] && [ "$g2n" -gt 100 ] || fail "peer $p: a gang hardly ran ($g1n, $g2n stamps)"
    [ "$blocks" -ge 6 ] || fail "peer $p: the gangs did not take turns ($blocks blocks)"
    [ "$blocks" -le 80 ] || fail "peer $p: the gangs ran at the same time ($blocks blocks of one gang in 3 s)"
    [ "$free1" -ge 50 ] && [ "$free2" -ge 50 ] || fail "peer $p: the --no-gang job did not run through the slices ($free1 %, $free2 %)"
done
touch "$T/stop"
for j in $g1 $g2 $gf; do
    wait $j; rc=$?
    [ "$rc" = 0 ] || fail "a glx exited $rc: $(cat "$T"/*.err)"
done
rm -f "$T/stop" "$T"/out/*
say "two gangs took turns, never at once on a peer; the --no-gang job ran in every slice"

# 3. The leader's node dies.  Two gangs on a, b and c; the first's
# leader is SIGKILLed: the other two elect a new one with a higher term,
# and the gang's processes there, stopped or not at that moment, finish.
"$GLX" -n 3 -w a,b,c --keep-going "$T/worker" "$T/out/k1" "$T/stop" 2> "$T/k1.err" & k1=$!
"$GLX" -n 6 -w a,b,c --keep-going "$T/worker" "$T/out/k2" "$T/stop" 2> "$T/k2.err" & k2=$!
wait_until 20 n_gangs 2 ||
    fail "the two gangs do not show in ps"
K1=$(gang_of k1)
wait_until 20 coordinated "$K1" a b c || fail "gang $K1 not coordinated"
leader_of() { status "$1" | jq -r --arg g "$2" '.gangs.local[] | select(.gang == $g) | "\(.leader) \(.term)"'; }
read -r old term < <(leader_of a "$K1")
case "$old" in a | b | c) ;; *) fail "gang $K1 has no leader: '$old'" ;; esac
survivors=()
for p in a b c; do [ "$p" != "$old" ] && survivors+=("$p"); done
sleep 1
kill -9 "${PID[$old]}"
start=$(date +%s%N)
took_over() {
    for p in "${survivors[@]}"; do
        read -r l t < <(leader_of "$p" "$K1")
        [ -n "$l" ] && [ "$l" != "$old" ] && [ "$l" != null ] && [ "${t:-0}" -gt "$term" ] || return 1
    done
}
wait_until 40 took_over || fail "no new leader for $K1 after $old died: $(for p in "${survivors[@]}"; do echo -n "$p: $(leader_of "$p" "$K1"); "; done)"
read -r new nterm < <(leader_of "${survivors[0]}" "$K1")
say "leader $old (term $term) SIGKILLed: $new leads $K1 with term $nterm after $(elapsed_since "$start") s"
grep -q "gang $K1: uncoordinated: leader $old lost\|gang $K1: leader for term $nterm" "$T/${survivors[0]}.log" "$T/${survivors[1]}.log" ||
    fail "the survivors' logs say nothing of the new leader"
sleep 1
touch "$T/stop"
# the ranks on the survivors finish (a stopped one never would); the dead
# node's are lost (122), which --keep-going lets pass
for j in $k1 $k2; do
    wait_until 30 finished "$j" || fail "a gang's processes did not finish after its leader died: $(cat "$T"/k*.err)"
done
for p in "${survivors[@]}"; do
    for f in "$T"/out/k*.$p.*; do
        pid=$(awk 'NR == 1 { print $2 }' "$f")
        ! kill -0 "$pid" 2> /dev/null || fail "process $pid on $p still runs"
    done
done
say "after its leader's node died, every gang process on the survivors finished"
