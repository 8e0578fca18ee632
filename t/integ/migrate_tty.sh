# A job on a terminal (glx -t) moves like any other: an interactive
# program of the project's own (t/integ/cktty.c) that set its terminal's
# modes itself is moved mid-run by glpeer migrate, then by its host's
# owner coming back; after each move it is still on a terminal with the
# modes it set and glx's window size, the lines typed after the move
# reach it (and /dev/tty, which it holds open, is the new terminal), its
# output reaches the user's terminal, a window-size change
# arrives, ^C typed through the terminal interrupts it, and glx exits
# with its status.  script(1) gives glx its terminal; the test types
# into script's input, a FIFO held open, as a person would.
. "$(dirname "$0")/lib.sh"
GLX="$BUILD/glx"
CKTTY="$BUILD/t/integ/cktty"
command -v script >/dev/null || { echo "needs script(1)"; exit 77; }
[ -x "$BUILD/glrestore" ] || { echo "glrestore is not built: moves not tested"; exit 77; }
[ -x "$CKTTY" ] || fail "no $CKTTY"
names=(a b c)
# c's owner has a terminal (touched: they type) and comes back once
touch -d '1 hour ago' "$T/tty-c"
start_peer a 0
start_peer b 1
start_peer c 2 --set "idle/activity=$T/tty-c" --set idle/owner_idle_min=2s \
    --set sched/owner_grace=1s
wait_until 30 all_alive 3 "${names[@]}" || fail "no convergence"
has_estimates() { [ "$(status a | jq '[.members[] | select(.resources != null)] | length')" = 3 ]; }
wait_until 10 has_estimates || fail "estimates missing"
export GLUNIX_RUNTIME_DIR="$T/a/run"

# the user's terminal: script's, 33 x 77; what the user types goes into
# the FIFO, kept open here so that script never reads its end
mkfifo "$T/keys"
exec 3<> "$T/keys"
script -qfec "stty rows 33 cols 77; $GLX -t -w b $CKTTY; echo \$? > $T/rc" "$T/tty.out" \
    < "$T/keys" > /dev/null 2>&1 &
type_keys() { printf "$1" >&3; }
shows() { tr -d '\r' < "$T/tty.out" | grep -q -- "$1"; }
screen() { tr -d '\r' < "$T/tty.out" | tail -5; }
wait_until 20 shows '^ready pid=[0-9]* tty=1 modes=1 devtty=1' || fail "cktty did not start: $(screen)"
gpid=$(gpid_of cktty)
[ -n "$gpid" ] && [ "$(node_of "$gpid")" = b ] || fail "cktty is not on b: $("$GLPEER" ps --runtime-dir "$T/a/run")"
type_keys 'one\n'
wait_until 20 shows "^1 pid=[0-9]* 'one' tty=1 modes=1 devtty=1 size=33x77$" || fail "the first line: $(screen)"
say "cktty runs on b on a terminal, its modes set, 33x77"

# moved by glpeer migrate: still on a terminal, its modes and size kept
res=$("$GLPEER" migrate "$gpid" c --runtime-dir "$T/a/run" 2>&1) || fail "migrate to c: $res"
[ "$(node_of "$gpid")" = c ] || fail "after '$res' ps says $gpid is on $(node_of "$gpid")"
type_keys 'two\n'
wait_until 20 shows "^2 pid=[0-9]* 'two' tty=1 modes=1 devtty=1 size=33x77$" || fail "after the move: $(screen)"
say "moved to c ($res): input after the move reached it, on a terminal with its modes and size"

# the user's window changes: glx hears SIGWINCH, the new terminal takes it
glx_pid=$(pgrep -f "^$GLX -t -w b $CKTTY" | head -1)
[ -n "$glx_pid" ] || fail "no glx process"
stty -F "$(readlink "/proc/$glx_pid/fd/0")" rows 40 cols 90
kill -WINCH "$glx_pid"
sleep 0.5
type_keys 'three\n'
wait_until 20 shows "^3 pid=[0-9]* 'three' tty=1 modes=1 devtty=1 size=40x90$" || fail "window size after the move: $(screen)"
say "a window-size change after the move arrived: 40x90"

# c's owner comes back: the terminal job is moved, not stopped
sleep 0.5
typing() { touch -a "$T/tty-c"; n=$(node_of "$gpid"); [ -n "$n" ] && [ "$n" != c ]; }
wait_until 20 typing || fail "the terminal job was not moved off c when its owner came back: $("$GLPEER" ps --runtime-dir "$T/a/run")"
[ "$(awk '{ print $3 }' "/proc/$(pgrep -f "^$CKTTY" | head -1)/stat")" != T ] || fail "the moved job is stopped"
type_keys 'four\n'
wait_until 20 shows "^4 pid=[0-9]* 'four' tty=1 modes=1 devtty=1 size=40x90$" || fail "after the eviction: $(screen)"
say "c's owner came back: moved to $(node_of "$gpid"), on a terminal with its modes and size"

# ^C through the terminal interrupts it; glx exits with its status
type_keys '\003'
wait_until 20 shows '^interrupted after 4 lines' || fail "^C did not interrupt it: $(screen)"
wait_until 20 test -s "$T/rc" || fail "glx did not end: $(screen)"
[ "$(cat "$T/rc")" = 3 ] || fail "glx exited $(cat "$T/rc"), cktty's status is 3"
tr -d '\r' < "$T/tty.out" | grep -c "^[0-9] pid=" | grep -qx 4 || fail "lines doubled or lost: $(tr -d '\r' < "$T/tty.out")"
say "^C interrupted it after two moves; glx exited 3, its status"
