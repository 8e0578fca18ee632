# glx -t: an interactive shell on another node, driven through tmux as a
# person would: line editing, window size, Ctrl-C, exit status, and the
# local terminal given back as it was.
. "$(dirname "$0")/lib.sh"
command -v tmux >/dev/null || { echo "needs tmux"; exit 77; }
GLX="$BUILD/glx"
sock="gltest$$"
EXTRA_CLEANUP="tmux -L $sock kill-server 2>/dev/null"
start_peer a 0
start_peer b 1
wait_until 30 all_alive 2 a b || fail "no convergence"
has_estimates() { [ "$(status a | jq '[.members[] | select(.resources != null)] | length')" = 2 ]; }
wait_until 10 has_estimates || fail "estimates missing"

tm() { tmux -L "$sock" "$@"; }
screen() { tm capture-pane -p -t t; }
shows() { screen | grep -q -- "$1"; }
tm new-session -d -s t -x 100 -y 30 \
    "stty -a > $T/stty.before; GLUNIX_RUNTIME_DIR=$T/a/run $GLX -t -w b bash --norc --noprofile; echo \$? > $T/rc; stty -a > $T/stty.after; sleep 30"
wait_until 10 shows 'bash' || { screen; fail "no prompt"; }
tm send-keys -t t 'echo "node=$GLUNIX_NODE tty=$(tty)"' Enter
wait_until 20 shows 'node=b tty=/dev/pts/' || { screen; fail "not a terminal on b"; }
# line editing: a mistake, rubbed out
tm send-keys -t t 'echo abx' BSpace 'c-ok' Enter
wait_until 20 shows '^abc-ok' || { screen; fail "line editing"; }
# the window size travels, and changes of it
tm send-keys -t t 'stty size' Enter
wait_until 20 shows '^30 100' || { screen; fail "window size"; }
tm resize-window -t t -x 120 -y 40
sleep 0.5
tm send-keys -t t 'stty size' Enter
wait_until 20 shows '^40 120' || { screen; fail "window size change"; }
# Ctrl-C interrupts the remote command, not the session
tm send-keys -t t 'sleep 100' Enter
sleep 1
tm send-keys -t t C-c
tm send-keys -t t 'echo "after-$((40+2))"' Enter
wait_until 20 shows '^after-42' || { screen; fail "Ctrl-C"; }
say "tty, line editing, window size and Ctrl-C work"
# its terminal is b's: the job is not moved, and says so at once
gpid=$(gpid_of "bash --norc")
res=$("$GLPEER" migrate "$gpid" --runtime-dir "$T/a/run" 2>&1) && fail "the terminal job moved: $res"
[ "$res" = "glpeer migrate: refused: $gpid runs on a terminal (glx -t), which does not move with it" ] ||
    fail "migrate of a terminal job: $res"
wait_until 10 sh -c "'$GLPEER' ps -v --runtime-dir '$T/a/run' | grep -A2 'bash --norc' | grep -q 'can move: it runs on a terminal'" ||
    fail "ps -v of a terminal job: $("$GLPEER" ps -v --runtime-dir "$T/a/run")"
# nor checkpointed to a file: a restart would give it pipes, not a terminal
res=$("$GLPEER" checkpoint "$gpid" "$T/tty.img" --runtime-dir "$T/a/run" 2>&1) && fail "the terminal job was checkpointed: $res"
[ "$res" = "glpeer checkpoint: refused: it runs on a terminal (glx -t), which a restart cannot give back" ] ||
    fail "checkpoint of a terminal job: $res"
[ ! -e "$T/tty.img" ] || fail "a refused checkpoint left $T/tty.img"
tm send-keys -t t 'echo "still-$((40+3))"' Enter
wait_until 20 shows '^still-43' || { screen; fail "the shell after the refused move"; }
say "a move and a checkpoint to a file of the terminal job refused: $res"
tm send-keys -t t 'exit 3' Enter
wait_until 20 test -s "$T/rc" || { screen; fail "glx did not end"; }
[ "$(cat "$T/rc")" = 3 ] || fail "exit status $(cat "$T/rc"), expected 3"
wait_until 20 test -s "$T/stty.after" || fail "no terminal settings after"
# (the first line holds the window size, which the test itself changed)
diff <(tail -n +2 "$T/stty.before") <(tail -n +2 "$T/stty.after") > "$T/stty.diff" \
    || fail "terminal not restored: $(cat "$T/stty.diff")"
grep -q ' icanon' "$T/stty.after" && grep -q ' echo ' "$T/stty.after" || fail "terminal left raw"
say "exit status 3, terminal restored"
