# Process ids after a restore (shim/pids.c): a restored tree's programs
# hold its old ids, and the kernel, whose ids wrap at pid_max within
# minutes on a busy machine, may hand one of them to a new child.  A
# child made by fork is made again; one made by posix_spawn or vfork
# cannot be, so the shim uses up the kernel's next ids before them while
# an old id is among them.
# - cktree spawn (a parent and a sleeping child started by posix_spawn),
#   parked and restored as nobody; then the kernel is steered (as root,
#   through /proc/sys/kernel/ns_last_pid) to give the sleeper's old id to
#   the next child; the parent starts one by posix_spawn, then one by
#   vfork: each gets an id of its own and is waited for at once, and the
#   sleeper is still waited for by its pid.  Without the guard, the new
#   child got the sleeper's id, and waiting for it waited for the
#   sleeper (make linked before a compiler had written its object).
# sanitizers: yes
# parallel: no (a process another test starts meanwhile would take the
# steered id, and the case would not be tested)
. "$(dirname "$0")/lib.sh"
set +e
ckpt_progs HOST TREE SHIM GLR
LAST=/proc/sys/kernel/ns_last_pid
[ "$(id -u)" = 0 ] && [ -w "$LAST" ] && (cat "$LAST" > "$LAST") 2> /dev/null ||
    { echo "steering the kernel's next process id needs root and $LAST"; exit 77; }
cd "$T" || fail "no $T"
chmod 777 "$T"
unpriv_can -r "$SHIM" -a -x "$TREE"

unpriv "$HOST" -p "$SHIM" -r hold -w ready -i img -o run.out -- "$TREE" spawn > host.txt ||
    { cat host.txt; fail "checkpoint of cktree spawn"; }
grep -q '^SIGNAL 9$' host.txt || fail "cktree spawn with HOLD: $(grep -v '^START' host.txt)"
old=$(sed -n 's/^ready \([0-9]*\)$/\1/p' run.out)
[ -n "$old" ] || fail "no sleeper's pid: $(cat run.out)"
wait_until 5 sh -c "[ ! -e /proc/$old ]" || fail "the held sleeper $old was not reaped"
unpriv "$GLR" img > rest.out 2> rest.err & r=$!
# steer FILE: the kernel's next id is the sleeper's old one, then FILE
# tells the parent to start its child; builtins only until it has (half
# a second of a read that nothing answers), since a fork of this shell
# would take the id
exec 9< <(exec sleep 30)
steer() {
    echo $((old - 1)) > "$LAST"
    : > "$1"
    read -r -t 0.5 -u 9 _
}
sleep 0.5 # restored: the parent polls for go1
kill -0 $r 2> /dev/null || fail "glrestore ended: $(cat rest.err)"
steer go1
wait_until 10 grep -q '^posix_spawn' rest.out || fail "no posix_spawn line: $(cat rest.out rest.err)"
steer go2
# (the restored tree ends within seconds: a hang is named, with where
# each of its processes waits, not left to the suite's time limit)
if ! wait_until 60 sh -c "! kill -0 $r 2> /dev/null"; then
    ps -o pid,ppid,stat,wchan:24,args -p $r --ppid $r
    kill -9 $r
    fail "the restored tree did not end within 60 s: $(cat rest.out rest.err)"
fi
wait $r; rc=$?
[ $rc = 0 ] || fail "the restored parent exited $rc: $(cat rest.err)"
cat rest.out
grep -q '^posix_spawn: a pid of its own, waited for it by its pid in [0-9]* ms, status 0$' rest.out ||
    fail "posix_spawn's child after a restore: $(grep posix_spawn rest.out)"
grep -q '^vfork: a pid of its own, waited for it by its pid in [0-9]* ms, status 0$' rest.out ||
    fail "vfork's child after a restore: $(grep vfork rest.out)"
grep -q '^sleeper: waited for by its pid, status 0$' rest.out || fail "the sleeper: $(tail -1 rest.out)"
for k in posix_spawn vfork; do
    ms=$(sed -n "s/^$k: .* in \\([0-9]*\\) ms.*/\\1/p" rest.out)
    [ "$ms" -lt 2000 ] || fail "$k: waiting for a child that ends at once took $ms ms (the sleeper's?)"
done
say "children made by posix_spawn and vfork, the kernel steered to the sleeper's old id $old: ids of their own"
say "ok"
