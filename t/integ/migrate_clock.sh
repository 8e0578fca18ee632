# CLOCK_MONOTONIC and CLOCK_BOOTTIME go on across machines
# (checkpoint/vclock.h): peer c runs in a time namespace whose clocks
# are a day ahead of b's, as a machine booted a day earlier, and jobs
# that hold points in time on them move b>c>b>c>b:
# - ckclock (the project's own): sleeps to absolute deadlines counted
#   from its start, and waits for deadlines a moment ahead on a
#   CLOCK_MONOTONIC condition variable, a futex through syscall() (as
#   Rust's standard library does), sem_clockwait, an absolute timerfd and
#   an absolute POSIX timer; each wait ends in time (not before: a move
#   in the middle of one included), and the time the whole took, as both clocks
#   measure it, is seconds (it was a day: each move to c made every
#   deadline pass at once, and each move back made the job wait a day);
# - python's asyncio, whose loop schedules its timers on
#   time.monotonic(): a chain of call_later as undisturbed.
# Needs root (a time namespace); not against the sanitizers' build.
. "$(dirname "$0")/lib.sh"
GLX="$BUILD/glx"
set +e
moves_possible python3 unshare
need_root "a time namespace for peer c (unshare --time)"
ahead=86400
unshare --time --fork --monotonic $ahead --boottime $ahead true 2> /dev/null ||
    { echo "no time namespace here (unshare --time): $(unshare --time --fork true 2>&1)"; exit 77; }
start_peer a 0
start_peer b 1
PEER_PREFIX=(unshare --time --fork --kill-child --monotonic $ahead --boottime $ahead)
start_peer c 2
unset PEER_PREFIX
# the agent itself, which cleanup must end: unshare's child (an agent
# that drops its privileges loses the death signal --kill-child sets)
wait_until 10 pgrep -P "${PID[c]}" > /dev/null || fail "no glpeer under unshare"
PID[c_agent]=$(pgrep -P "${PID[c]}")
wait_until 30 all_alive 3 a b c || fail "no convergence"
export GLUNIX_RUNTIME_DIR="$T/a/run"
up_b=$(cut -d' ' -f1 /proc/uptime)
say "c's clocks are $ahead s ahead of b's (b's uptime $up_b s)"

moved_start ckclock ckclock "$BUILD/t/integ/ckclock" 14
move_n 4
moved_same ckclock

cat > "$T/aio.py" <<'PY'
import asyncio, time
async def main():
    loop = asyncio.get_running_loop()
    print("ready", flush=True)
    t0 = time.monotonic()
    for i in range(50):
        fut = loop.create_future()
        loop.call_later(0.1, fut.set_result, i)
        print("tick", await fut, flush=True)
    took = time.monotonic() - t0
    print("time.monotonic()", "went on" if 5 <= took < 65 else "jumped by %.0f s" % took)
asyncio.run(main())
PY
moved_start aio aio.py python3 "$T/aio.py"
move_n 4
moved_same aio
