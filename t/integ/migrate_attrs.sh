# What the kernel keeps per thread, moved with it, or the move refused:
# - a job started under setarch -R, nice -n 7, chrt --idle and setpriv
#   --no-new-privs (a background job, as users start them), which drops
#   CAP_NET_RAW, moved b>c>b: on each node every thread has nice 7,
#   SCHED_IDLE, no_new_privs, ADDR_NO_RANDOMIZE and its capabilities (a
#   restored thread used to run at the agent's nice 0, SCHED_OTHER, free
#   to gain privileges through a set-user-ID program, and with every
#   capability of root's restorer), and the output is as undisturbed;
# - a thread of the job at nice 5 and the others at 0: each its own;
# - a process under a seccomp filter (ckseccomp, the project's own):
#   refused with the reason, it runs on (the kernel gives a filter back
#   only to a privileged reader; restored, it would be outside its
#   sandbox).
# Not against the sanitizers' build (glrestore there carries their
# runtime, as integ/migrate).
. "$(dirname "$0")/lib.sh"
GLX="$BUILD/glx"
set +e
moves_possible python3 chrt setpriv nice
start_abc

# attrs PID: "nice policy nnp caps personality" of each of the
# process's threads, sorted
attrs() {
    local t
    for t in /proc/"$1"/task/*; do
        echo "$(awk '{ print $19 }' "$t/stat") $(chrt -p "${t##*/}" | awk -F': ' 'NR == 1 { print $2 }')" \
            "$(awk '/^NoNewPrivs:/ { print $2 }' "$t/status")" \
            "$(awk '/^CapEff:/ { print $2 }' "$t/status")" "$(cat "$t/personality")"
    done | sort | uniq -c | tr -s ' ' | tr '\n' ';'
}
# the job's process on the node it is on: the newest python3 running
# KEY (the one restored last, not the one a move just ended)
job_pid() { pgrep -n -f "(^|/)python3 $T/$1"; }
# settled KEY WANT: the job's threads are as WANT within 5 s (a move
# ends once the restored process's memory is in place, a moment before
# its threads are made and set: glrestore(8)); got is what they are
settled() {
    got=$(attrs "$(job_pid "$1")")
    [ "$got" = "$2" ]
}

cat > "$T/bg.py" <<'PY'
import ctypes, os, threading, time
# without CAP_NET_RAW, effective and permitted (root's job: the
# restorer has them all), as a program that drops what it does not need
class Head(ctypes.Structure):
    _fields_ = [("version", ctypes.c_uint32), ("pid", ctypes.c_int)]
class Data(ctypes.Structure):
    _fields_ = [("eff", ctypes.c_uint32), ("perm", ctypes.c_uint32), ("inh", ctypes.c_uint32)]
libc = ctypes.CDLL(None, use_errno=True)
head, data = Head(0x20080522, 0), (Data * 2)()
if os.getuid() == 0 and libc.capget(ctypes.byref(head), data) == 0:
    data[0].eff &= ~(1 << 13)
    data[0].perm &= ~(1 << 13)
    libc.capset(ctypes.byref(head), data)
def worker():
    while True:
        time.sleep(0.05)
threading.Thread(target=worker, daemon=True).start()
for i in range(60):
    print(i, sum(range(i * 1000)), flush=True)
    time.sleep(0.1)
PY
# a container's seccomp profile may refuse a personality or SCHED_IDLE:
# then that part is left out, and said so
pre=() persona=00000000
if setarch "$(uname -m)" -R true 2> /dev/null; then
    pre=(setarch "$(uname -m)" -R) persona=00040000
else
    say "setarch -R is refused here (a container's seccomp profile?): no personality to move"
fi
policy=SCHED_OTHER
if chrt --idle 0 true 2> /dev/null; then
    pre+=(chrt --idle 0) policy=SCHED_IDLE
else
    say "chrt --idle is refused here: no policy to move"
fi
moved_start bg bg.py "${pre[@]}" nice -n 7 setpriv --no-new-privs python3 "$T/bg.py"
want=$(attrs "$(job_pid bg.py)")
case $want in *" 7 $policy 1 "*" $persona;"*) ;;
    *) fail "undisturbed, the job's threads are not nice 7, $policy, no_new_privs, personality $persona: $want" ;; esac
if [ "$(id -u)" = 0 ]; then
    cap=$(echo "$want" | awk -F'; *' '{ split($1, f, " "); print f[5] }')
    [ $(( 0x$cap & 0x2000 )) = 0 ] && [ $(( 0x$cap )) != 0 ] || fail "undisturbed, CAP_NET_RAW was not dropped: $want"
else
    say "not root: no capabilities to drop and move"
fi
for m in 1 2 3; do
    to=$(other_node "$gpid")
    res=$("$GLPEER" migrate "$gpid" "$to" --runtime-dir "$T/c/run" 2>&1) || fail "migrate $gpid $to: $res"
    wait_until 5 settled bg.py "$want" || fail "moved to $to, the threads are '$got', not '$want'"
    say "move $m to $to: every thread as before ($got)"
    sleep 0.3
done
moved_same bg

# one thread at nice 5, the others at 0
cat > "$T/mixed.py" <<'PY'
import os, threading, time
def worker():
    os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), 5)
    while True:
        time.sleep(0.05)
threading.Thread(target=worker, daemon=True).start()
for i in range(40):
    print(i, flush=True)
    time.sleep(0.1)
PY
moved_start mixed mixed.py python3 "$T/mixed.py"
sleep 0.3
want=$(attrs "$(job_pid mixed.py)")
case $want in *" 1 0 SCHED_OTHER 0 "*) ;; *) fail "undisturbed, no thread at nice 0: $want" ;; esac
case $want in *" 1 5 SCHED_OTHER 0 "*) ;; *) fail "undisturbed, no thread at nice 5: $want" ;; esac
res=$("$GLPEER" migrate "$gpid" c --runtime-dir "$T/c/run" 2>&1) || fail "migrate $gpid c: $res"
wait_until 5 settled mixed.py "$want" || fail "moved, the threads are '$got', not '$want'"
say "one thread at nice 5 and one at 0, moved: $got"
moved_same mixed

# a seccomp filter: refused, and the job runs on
if "$BUILD/t/integ/ckseccomp" 1 > /dev/null 2>&1; then
    moved_start sc ckseccomp "$BUILD/t/integ/ckseccomp" 30
    res=$("$GLPEER" migrate "$gpid" c --runtime-dir "$T/c/run" 2>&1) && fail "a job under a seccomp filter moved: $res"
    echo "$res" | grep -q "seccomp filter" || fail "the refusal does not say why: $res"
    moved_same sc
    say "a job under a seccomp filter stays: $res"
else
    say "a seccomp filter cannot be installed here: no seccomp refusal to see"
fi
echo "PASS migrate_attrs: nice, scheduling, no_new_privs, capabilities and personality moved with each thread; seccomp refused"
