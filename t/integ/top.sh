# glpeer top: batch frames list every member and the jobs running on the
# node; on a terminal (tmux, 80x24, as over ssh) it draws without
# wrapping, redraws on a window change, quits on q, SIGTERM and the
# agent's death, and gives the terminal back as it found it each time.
# sanitizers: yes
. "$(dirname "$0")/lib.sh"
command -v tmux >/dev/null || { echo "needs tmux"; exit 77; }
GLX="$BUILD/glx"
sock="gltop$$"
EXTRA_CLEANUP="tmux -L $sock kill-server 2>/dev/null"
names=(a b c)
for i in "${!names[@]}"; do start_peer "${names[$i]}" "$i"; done
wait_until 30 all_alive 3 "${names[@]}" || fail "no convergence"
has_estimates() { [ "$(status b | jq '[.members[] | select(.resources != null)] | length')" = 3 ]; }
wait_until 10 has_estimates || fail "estimates missing"

# a job homed on a, running on b, whose command line is wider than 80
# columns; the sleep's length is unique to this run
nap="31.$$"
pad=$(printf 'x%.0s' $(seq 120))
# (without spaces past the sleep's length: tmux drops a row's trailing
# blanks, and a space at the cut would shorten the row it captures)
"$GLX" --runtime-dir "$T/a/run" -w b sh -c "sleep $nap;:$pad" > /dev/null 2>&1 &
job=$!
EXTRA_CLEANUP="$EXTRA_CLEANUP; kill $job 2>/dev/null"
top_b() { "$GLPEER" top --runtime-dir "$T/b/run" "$@"; }
shows_job() { top_b -b -n 1 | grep -q "sleep $nap"; }
wait_until 10 shows_job || fail "b's top does not show the job: $(top_b -b -n 1)"

# batch mode: plain frames, every member, the job with its home
top_b -b -n 2 -d 0.2 > "$T/batch" || fail "top -b exited $?"
[ "$(grep -c '^glpeer top - ' "$T/batch")" = 2 ] || fail "not 2 frames: $(cat "$T/batch")"
for n in a c; do
    grep -Eq "^$n +alive +(idle|busy|unavail)" "$T/batch" || fail "no line for $n: $(cat "$T/batch")"
done
grep -Eq '^b \* +alive' "$T/batch" || fail "b is not marked as this node: $(cat "$T/batch")"
grep -Eq "^a-[0-9]+-[0-9]+ +[^ ]+ +a +[0-9]+ +[0-9]+s +sh -c sleep $nap" "$T/batch" \
    || fail "no line for the job homed on a: $(cat "$T/batch")"
grep -q "^JOBS ON b: 1" "$T/batch" || fail "job count: $(cat "$T/batch")"
LC_ALL=C grep -q $'\033' "$T/batch" && fail "terminal control in batch output"
out=$(top_b -b -d 0 2>&1) && fail "-d 0 accepted"
echo "$out" | grep -q -- "-d '0'" || fail "-d 0: $out"
say "batch: every member, the job on b homed on a"

# on a terminal, 80x24
tm() { tmux -L "$sock" "$@"; }
screen() { tm capture-pane -p -t "$1"; }
shows() { screen "$1" | grep -q -- "$2"; }
run_top() {  # run_top SESSION: top on b in a fresh 80x24 terminal
    tm new-session -d -s "$1" -x 80 -y 24 \
        "stty -a > $T/$1.before; bash -c 'echo \$\$ > $T/$1.pid; exec $GLPEER top -d 0.2 --runtime-dir $T/b/run' 2> $T/$1.err; echo \$? > $T/$1.rc; stty -a > $T/$1.after; sleep 60"
    wait_until 10 shows "$1" "sleep $nap" || { screen "$1"; fail "$1: top did not draw"; }
}
restored() {  # restored SESSION: top ended and the terminal is as it was
    wait_until 10 test -s "$T/$1.after" || { screen "$1"; fail "$1: top did not end"; }
    diff <(tail -n +2 "$T/$1.before") <(tail -n +2 "$T/$1.after") > "$T/$1.diff" \
        || fail "$1: terminal not restored: $(cat "$T/$1.diff")"
    grep -q ' icanon' "$T/$1.after" && grep -q ' echo ' "$T/$1.after" || fail "$1: terminal left raw"
}
joblen() { screen "$1" | grep "sleep $nap" | awk '{ print length($0) }'; }

run_top s1
screen s1 > "$T/s1.screen"
grep -q '^glpeer top - ' "$T/s1.screen" || fail "no header at the top: $(cat "$T/s1.screen")"
[ "$(joblen s1)" = 80 ] || fail "the job's line is not cut at 80 columns: $(cat "$T/s1.screen")"
grep -q '^xxx' "$T/s1.screen" && fail "a line wrapped: $(cat "$T/s1.screen")"
tm resize-window -t s1 -x 100 -y 30
wait_until 10 bash -c '[ "$(tmux -L "$0" capture-pane -p -t s1 | grep "sleep $1" | awk "{ print length(\$0) }")" = 100 ]' \
    "$sock" "$nap" || { screen s1; fail "no redraw at 100 columns"; }
# a window shorter than the frame: the last row says what did not fit
tm resize-window -t s1 -x 80 -y 8
wait_until 10 shows s1 '^([0-9]* more lines)$' || { screen s1; fail "no note of the rows cut"; }
[ "$(screen s1 | grep -c .)" -le 8 ] || { screen s1; fail "more rows than the window"; }
tm send-keys -t s1 q
restored s1
[ "$(cat "$T/s1.rc")" = 0 ] || fail "q: exit status $(cat "$T/s1.rc")"
say "80x24: drawn, cut, redrawn on window changes; q quits, terminal restored"

run_top s2
kill -TERM "$(cat "$T/s2.pid")"
restored s2
[ "$(cat "$T/s2.rc")" = 143 ] || fail "SIGTERM: exit status $(cat "$T/s2.rc")"
say "SIGTERM: terminal restored, status 143"

run_top s3
kill -9 "${PID[b]}"
restored s3
[ "$(cat "$T/s3.rc")" = 1 ] || fail "agent gone: exit status $(cat "$T/s3.rc")"
grep -q "the agent (pid ${PID[b]}) is gone" "$T/s3.err" || fail "agent gone: $(cat "$T/s3.err")"
say "a killed agent: top says so, exits 1, terminal restored"
