# glx -t: an interactive shell on another node, driven through tmux as a
# person would: line editing, window size, Ctrl-C, exit status, and the
# local terminal given back as it was; the shell moved to another node
# and back (with the command it waits for), on a new terminal there.
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
# the shell moves to a, on a new terminal there: the same shell, its
# line editing, window size and Ctrl-C (what it runs now runs on a)
gpid=$(gpid_of "bash --norc")
wait_until 10 sh -c "'$GLPEER' ps -v --runtime-dir '$T/a/run' | grep -A2 'bash --norc' | grep -q 'can move: yes'" ||
    fail "ps -v of a terminal job: $("$GLPEER" ps -v --runtime-dir "$T/a/run")"
tm send-keys -t t 'x=kept-$((6*7))' Enter
res=$("$GLPEER" migrate "$gpid" a --runtime-dir "$T/a/run" 2>&1) || fail "migrate of the terminal job: $res"
[ "$(node_of "$gpid")" = a ] || fail "after '$res' ps says $gpid is on $(node_of "$gpid")"
tm send-keys -t t 'echo "moved=$x tty=$(tty)"' Enter
wait_until 20 shows '^moved=kept-42 tty=/dev/pts/' || { screen; fail "the shell after its move"; }
tm send-keys -t t 'echo ayx' BSpace 'z-ok' Enter
wait_until 20 shows '^ayz-ok' || { screen; fail "line editing after the move"; }
tm send-keys -t t 'stty size' Enter
wait_until 20 shows '^40 120' || { screen; fail "window size after the move"; }
say "the shell moved to a ($res): its variables, line editing and window size with it"
# a shell and the command it waits for (a tree, the command in the
# foreground group) move together; Ctrl-C then interrupts the command
tm send-keys -t t 'sleep 100' Enter
sleeping() {
    local p
    for p in $(pgrep -fx 'sleep 100'); do
        [ "$(cat "/proc/$(awk '{ print $4 }' "/proc/$p/stat")/comm")" = bash ] && return 0
    done 2>/dev/null
    return 1
}
wait_until 10 sleeping ||
    { screen; fail "no sleep under the shell"; }
res=$("$GLPEER" migrate "$gpid" b --runtime-dir "$T/a/run" 2>&1) || fail "migrate of the shell and its sleep: $res"
[ "$(node_of "$gpid")" = b ] || fail "after '$res' ps says $gpid is on $(node_of "$gpid")"
sleep 0.5
tm send-keys -t t C-c
tm send-keys -t t 'echo "slept-$?"' Enter
wait_until 20 shows '^slept-130' || { screen; fail "Ctrl-C of the moved sleep"; }
tm send-keys -t t 'echo "back-$((40+3))"' Enter
wait_until 20 shows '^back-43' || { screen; fail "the shell after the tree's move"; }
say "the shell and its sleep moved back to b ($res); Ctrl-C interrupted the sleep"
# a checkpoint to a file stays refused: a restart would give it pipes
res=$("$GLPEER" checkpoint "$gpid" "$T/tty.img" --runtime-dir "$T/a/run" 2>&1) && fail "the terminal job was checkpointed: $res"
[ "$res" = "glpeer checkpoint: refused: it runs on a terminal (glx -t), which a restart cannot give back" ] ||
    fail "checkpoint of a terminal job: $res"
[ ! -e "$T/tty.img" ] || fail "a refused checkpoint left $T/tty.img"
tm send-keys -t t 'echo "still-$((40+4))"' Enter
wait_until 20 shows '^still-44' || { screen; fail "the shell after the refused checkpoint"; }
say "a checkpoint to a file of the terminal job refused: $res"
tm send-keys -t t 'exit 3' Enter
wait_until 20 test -s "$T/rc" || { screen; fail "glx did not end"; }
[ "$(cat "$T/rc")" = 3 ] || fail "exit status $(cat "$T/rc"), expected 3"
wait_until 20 test -s "$T/stty.after" || fail "no terminal settings after"
# (the first line holds the window size, which the test itself changed)
diff <(tail -n +2 "$T/stty.before") <(tail -n +2 "$T/stty.after") > "$T/stty.diff" \
    || fail "terminal not restored: $(cat "$T/stty.diff")"
grep -q ' icanon' "$T/stty.after" && grep -q ' echo ' "$T/stty.after" || fail "terminal left raw"
say "exit status 3, terminal restored"
