# Programs a user runs, not the project's own, moved while they run
# (glx -w b, then glpeer migrate b>c>a>b), each compared with an
# undisturbed run: the same output byte for byte and the same status.
# - python3: a computation with hashlib and a dict over a pool of
#   threads fed through queues, printing its progress, with ssl loaded
#   (its own libcrypto and libssl beside the shim); its images sealed
#   by the jobs' writers, none of their bytes read by an agent
#   (glpeer status: counters.images);
# - a bash script: a loop of subshells, seq | awk | sort, while read,
#   and a reader whose writer is gone with bytes still in its pipe;
# - a bash script writing one file through two descriptors of one open
#   file (4>&3), and its child through its inherited copy: moved while
#   each writes, the file as undisturbed;
# - python3 reading a directory of 3000 entries (os.scandir), moved
#   twice in the middle: every entry once, as undisturbed; one of 20
#   restarted from a checkpoint (glx --restart), and refused once the
#   directory is another of the same size and time;
# - bash reading a here-document longer than a pipe (a deleted file):
#   moved twice while it reads, every line once;
# - python3 writing a file through a shared mapping (mmap): moved three
#   times, the file as undisturbed; a checkpoint it would go on after
#   (glpeer checkpoint) refused with the reason;
# - awk (executed by sh) whose system() starts a sh after a move: moved
#   again while that sh runs (libc spawns it past the exec wrappers);
# - make -j2 of a small C project, moved b>c>a with compiles in flight
#   (make, the recipes' cc, cc1, as): the same commands, the program
#   links and runs;
# - python3 ending as soon as it is restored, moved to its home: the
#   move ends all the same;
# - ckcv: pthreads parked on a mutex, condition variables and a timed
#   wait, exiting 3;
# - python3 with an eventfd, a timerfd's clock read through an epoll
#   of its own: moved b>c>a like the others; tail -f (an inotify
#   instance, its file open) moved three times, following its file;
#   tail -F (which watches the directory too) refused with the reason,
#   it runs on;
# - python3 holding a lock (lockf), and python3 reading
#   /proc/self/status through one descriptor: refused with the reason,
#   each runs on; python3 taking a lock for 20 ms of every 100: moved
#   (a lock is asked again about for a second before it is the answer);
# - python3 writing a file and appending to another: checkpointed to a
#   file and restarted after the job ended (glx --restart), then run
#   with glx --checkpoint-every while its host dies (agent and job
#   SIGKILLed): the files, cut back to their sizes at the checkpoint,
#   end as an undisturbed run's, the output too.
# Not against the sanitizers' build (glrestore there carries their
# runtime, as integ/migrate).
. "$(dirname "$0")/lib.sh"
GLX="$BUILD/glx"
set +e
moves_possible python3 bash awk sort md5sum
# failure detection shortened for the host that dies (as recover.sh)
write_conf "gossip" "    probe_interval = 500ms" "    probe_timeout = 300ms" \
    "sched" "    checkpoint_memory = 256M"
start_abc


# ---- python3: hashlib, a dict, threads and queues -----------------------------------------
cat > "$T/pool.py" <<'PY'
import hashlib, queue, ssl, sys, threading, time
ctx = ssl.create_default_context()
todo, done = queue.Queue(), queue.Queue()
def work():
    seen = {}
    while True:
        i = todo.get()
        if i is None:
            return
        h = str(i).encode()
        for j in range(3000):
            h = hashlib.sha256(h).digest()
            seen[h[:3]] = j
        done.put((i, h.hex()[:16], len(seen)))
pool = [threading.Thread(target=work) for _ in range(2)]
for t in pool:
    t.start()
for i in range(40):
    todo.put(i)
got = {}
for n in range(40):
    i, h, _ = done.get()
    got[i] = h
    print("result", n, flush=True)
    time.sleep(0.03)
for t in pool:
    todo.put(None)
for t in pool:
    t.join()
print(hashlib.sha256(repr(sorted(got.items())).encode()).hexdigest())
sys.exit(5)
PY
moved_start pool pool.py python3 "$T/pool.py"
move_at "$gpid" c 5
move_at "$gpid" a 15
move_at "$gpid" b 25
moved_same pool
# three old hosts (b, c, a): each job's writer sealed the image onto the
# move's own link, and no agent read a byte of it
if grep -qw aes /proc/cpuinfo && grep -qw pclmulqdq /proc/cpuinfo; then
    for n in a b c; do
        r=$(status $n | jq -c .counters.images)
        [ "$(jq .bytes_read <<< "$r")" = 0 ] && [ "$(jq .writer_sealed <<< "$r")" -ge 1 ] ||
            fail "$n: the move's image passed its agent: $r"
    done
    say "the images went from the jobs' writers to the restorers: no agent read them ($n: $r)"
fi

# ---- bash: subshells, pipelines, while read; a reader outliving its writer ---------------
cat > "$T/script.sh" <<'SH'
for i in $(seq 1 30); do
    ( echo "sub $i" )
    seq 1 500 | awk -v k="$i" '{ s += $1 * k } END { print s }' | sort
    echo "$i $((i * i))" | while read -r a b; do echo "read $a $b"; done
    sleep 0.05
done
# seq is done long before its reader looks: its pipe has bytes and no writer
seq 1 3000 | { while [ ! -e "$1" ]; do sleep 0.05; done; md5sum; }
exit 4
SH
touch "$T/go"
moved_start script script.sh bash "$T/script.sh" "$T/go"
rm -f "$T/go"
move_at "$gpid" c 20
move_at "$gpid" a 60
wait_until 30 more_lines "$out" 90 || fail "the script wrote $(lines "$out") lines, not 90"
sleep 0.3 # in its last pipeline, seq ended
move_at "$gpid" b 90
touch "$T/go"
moved_same script

# ---- one open file, two descriptors: 4>&3 in the shell, 3 inherited by its child -----------
# Descriptors that share an open file description share its offset: each
# opened again apart, the one writing after the other writes over it.
cat > "$T/shared.sh" <<'SH'
exec 3> "$1" 4>&3
for i in $(seq 1 20); do echo "a $i" >&3; echo "b $i" >&4; echo "$i"; sleep 0.04; done
sh -c 'for i in $(seq 21 40); do echo "child $i" >&3; echo "$i"; sleep 0.04; done'
for i in $(seq 41 60); do echo "a $i" >&3; echo "b $i" >&4; echo "$i"; sleep 0.04; done
cat "$1"
SH
moved_start shared shared.sh bash "$T/shared.sh" "$T/shared.dat"
move_at "$gpid" c 10 # the shell alone: 3 and 4 in one process
move_at "$gpid" a 30 # its child writing on 3, the shell waiting
moved_same shared

# ---- a directory being read (tar -c, find, du): its position moves -------------------------
# libc holds the entries one getdents64 gave; the kernel's position is
# where the next goes on, a cookie of the file system's (a hash on ext4),
# set again with lseek on the new node once the entry found there is
# the one the checkpoint found.
mkdir "$T/many"
python3 -c 'import os, sys
for i in range(3000):
    open(os.path.join(sys.argv[1], "entry-%04d-%s" % (i, "x" * 40)), "w").close()' "$T/many"
cat > "$T/dir.py" <<'PY'
import os, sys, time
n = 0
with os.scandir(sys.argv[1]) as it:
    for e in it:
        n += 1
        if n % 50 == 0:
            print(n, e.name, flush=True)
            time.sleep(0.02)
print("entries", n)
PY
moved_start dir dir.py python3 "$T/dir.py" "$T/many"
move_at "$gpid" c 10
move_at "$gpid" a 30
moved_same dir
# a directory of 20 entries, all read at once (its position: the end),
# restarted from a checkpoint: the same entries from there on; then from
# the same image once the directory is another, of other names (its size
# and time as they were): refused, its position names no entry there now
for d in few other; do
    mkdir "$T/$d"
    python3 -c 'import os, sys
for i in range(20):
    open(os.path.join(sys.argv[1], sys.argv[2] % i), "w").close()' "$T/$d" "$d-%04d"
done
cat > "$T/few.py" <<'PY'
import os, sys, time
with os.scandir(sys.argv[1]) as it:
    for e in it:
        print(e.name, flush=True)
        time.sleep(0.05)
PY
moved_start few few.py python3 "$T/few.py" "$T/few"
wait_until 30 more_lines "$out" 5 || fail "few.py wrote $(lines "$out") lines, not 5"
res=$("$GLPEER" checkpoint "$gpid" "$T/few.img" --runtime-dir "$T/a/run" 2>&1) || fail "checkpoint of few.py: $res"
moved_same few
"$GLX" -w b --restart "$T/few.img" > "$T/fewrs.out" 2> "$T/fewrs.err"; rc=$?
first=$(head -1 "$T/fewrs.out")
at=$(grep -n -x -F "$first" "$T/few.ref" | cut -d: -f1)
[ $rc = 0 ] && [ -n "$at" ] && tail -n +"$at" "$T/few.ref" | cmp -s - "$T/fewrs.out" ||
    fail "glx --restart of few.py: rc $rc, from '$first': $(cat "$T/fewrs.err")"
[ "$(stat -c %s "$T/few")" = "$(stat -c %s "$T/other")" ] || fail "two directories of 20 entries differ in size"
mv "$T/few" "$T/few.was" && mv "$T/other" "$T/few" && touch -r "$T/few.was" "$T/few"
"$GLX" -w b --restart "$T/few.img" > "$T/fewrs.out" 2> "$T/fewrs.err" &&
    fail "few.py restarted in another directory: $(cat "$T/fewrs.out")"
grep -q "directory being read $T/few is not the same here (its entry at" "$T/fewrs.err" ||
    fail "few.py's restart in another directory does not say why: $(cat "$T/fewrs.err")"
say "few.py restarted from line $at; in another directory refused: $(tail -1 "$T/fewrs.err")"

# ---- a here-document longer than a pipe: bash reads it from a deleted file ----------------
# No name reaches the file: its bytes move in the image, made again as
# a memfd read from where it was.
cat > "$T/heredoc.sh" <<'SH'
n=0
while read -r a b; do
    n=$((n + 1))
    [ $((n % 40)) = 0 ] && { echo "$n $a $b"; sleep 0.02; }
done <<EOF
$(seq -f "line-%g $(printf '%060d' 0)" 1 2400)
EOF
echo "read $n"
SH
moved_start heredoc heredoc.sh bash "$T/heredoc.sh"
move_at "$gpid" c 10
move_at "$gpid" a 30
moved_same heredoc

# ---- a file mapped shared and written through: moved; a checkpoint it goes on after refused -
# Its pages are the file's (written back before the image says its size
# and time), mapped again on the new node: only a move, which ends the
# old process, keeps them as they were at the snapshot.
cat > "$T/mm.py" <<'PY'
import hashlib, mmap, sys, time
f = open(sys.argv[1], "w+b")
f.truncate(1 << 20)
m = mmap.mmap(f.fileno(), 1 << 20)
h = b"x"
for r in range(40):
    for i in range(0, 1 << 20, 4096):
        h = hashlib.md5(h).digest()
        m[i:i + 16] = h
    print(r, hashlib.md5(m[:]).hexdigest(), flush=True)
    time.sleep(0.03)
m.close()
f.close()
print(hashlib.md5(open(sys.argv[1], "rb").read()).hexdigest())
PY
moved_start mm mm.py python3 "$T/mm.py" "$T/mm.dat"
move_at "$gpid" c 5
move_at "$gpid" a 15
ckres=$("$GLPEER" checkpoint "$gpid" "$T/mm.img" --runtime-dir "$T/a/run" 2>&1) &&
    fail "mm.py checkpointed to go on after, with its file mapped shared: $ckres"
echo "$ckres" | grep -q "a shared writable mapping of $T/mm.dat (its pages are the file's" ||
    fail "mm.py's checkpoint does not say why it is refused: $ckres"
move_at "$gpid" b 25
moved_same mm
say "a checkpoint of mm.py that it goes on after is refused: $ckres"

# ---- awk's system(): libc spawns the sh itself, past the exec wrappers --------------------
# A sh that awk starts after a move must take the job's streams as they
# are on the new node (the shim's environment is live), or its stdout,
# the job's pipe, is "a pipe to a process outside the job" and the job
# cannot move again while it runs.
cat > "$T/sys.awk" <<'AWK'
BEGIN {
    for (i = 1; i <= 3; i++)
        print "awk", i
    fflush()
    while ((getline x < hold) >= 0) { # no process of its own while hold is there
        close(hold)
        for (j = 0; j < 10000; j++)
            s += j
    }
    system("echo system; exec sleep 2")
    print "awk after"
    exit 6
}
AWK
# awk executed by sh, as in a script: the shim's exec wrapper gives it
# the job's streams in its environment, which system()'s sh inherits
sh -c 'awk -v hold="$1" -f "$2"; exit $?' sh "$T/hold" "$T/sys.awk" > "$T/sys.ref" 2>&1; ref_rc=$?
touch "$T/hold"
out="$T/sys.out"
"$GLX" -w b sh -c 'awk -v hold="$1" -f "$2"; exit $?' sh "$T/hold" "$T/sys.awk" > "$out" 2> "$T/sys.err" & g=$!
wait_until 10 more_lines "$out" 3 || fail "awk did not start: $(cat "$T/sys.err")"
gpid=$(gpid_of sys.awk)
move_at "$gpid" c 3
rm "$T/hold"
move_at "$gpid" a 4 # while system()'s sh, started on c, sleeps
moved_same sys

# ---- make -j2 of a small C project, compiles in flight ---------------------------------------
if command -v cc > /dev/null && command -v make > /dev/null; then
    mkdir "$T/proj"
    for i in 1 2 3 4; do
        {
            echo '#define A(x) x x x x x x x x'
            echo "static volatile int v$i;"
            for k in 1 2; do
                echo "int f${i}_$k (int n) { int s = 0; for (int i = 0; i < n; i++) { A(A(A(A(s += i ^ v$i;)))) } return s; }"
            done
        } > "$T/proj/f$i.c"
    done
    {
        for i in 1 2 3 4; do echo "int f${i}_1 (int); int f${i}_2 (int);"; done
        echo '#include <stdio.h>'
        echo 'int main (void) { printf ("%d\n", f1_1 (3) + f2_2 (3) + f3_1 (3) + f4_2 (3)); return 0; }'
    } > "$T/proj/main.c"
    printf 'prog: main.o f1.o f2.o f3.o f4.o\n\tcc -o $@ $^\n%%.o: %%.c\n\tcc -O1 -c $< -o $@\n' > "$T/proj/Makefile"
    build() { rm -f "$T"/proj/*.o "$T/proj/prog" && make -C "$T/proj" --no-print-directory -j2 && "$T/proj/prog"; }
    (build > "$T/make.ref" 2>&1); ref_rc=$?
    rm -f "$T"/proj/*.o "$T/proj/prog"
    out="$T/make.out"
    "$GLX" -w b make -C "$T/proj" --no-print-directory -j2 > "$out" 2> "$T/make.err" & g=$!
    wait_until 10 more_lines "$out" 2 || fail "make did not start: $(cat "$T/make.err")"
    gpid=$(gpid_of "make -C")
    move_at "$gpid" c 2
    move_at "$gpid" a 4
    wait "$g"; rc=$?
    "$T/proj/prog" >> "$out"
    [ $rc = 0 ] && cmp -s "$T/make.ref" "$out" \
        || fail "make moved: exit $rc: $(diff "$T/make.ref" "$out" | head -5) $(cat "$T/make.err")"
    say "make -j2 moved b>c>a with compiles in flight: the same commands, the program runs ($(tail -1 "$out"))"
else
    say "no cc or make here: make not moved"
fi

# ---- a job that ends as soon as it is restored, moved to its home: the move ends -----------
# (the new host's word that it restored the job, or that the job ended,
# must end the move however it races the old host's; a move that never
# ended left glpeer migrate waiting its minute and the old process parked)
cat > "$T/quick.py" << 'PY'
import os, time
print("ready", flush=True)
me = os.getpid()  # the shim keeps it; /proc/self is the kernel's
while int(os.readlink("/proc/self")) == me:
    time.sleep(0.02)
print("restored, and done", flush=True)
PY
out="$T/quick.out"
"$GLX" -w b python3 "$T/quick.py" > "$out" 2> "$T/quick.err" & g=$!
wait_until 10 more_lines "$out" 1 || fail "quick.py did not start: $(cat "$T/quick.err")"
gpid=$(gpid_of "quick.py")
res=$(timeout 20 "$GLPEER" migrate "$gpid" a --runtime-dir "$T/c/run" 2>&1) ||
    fail "migrate of a job that ends once restored: $res"
wait "$g"; rc=$?
[ $rc = 0 ] && [ "$(cat "$out")" = "$(printf 'ready\nrestored, and done')" ] ||
    fail "quick.py moved: exit $rc, output: $(cat "$out" "$T/quick.err")"
say "a job that ends as soon as it is restored: $res, its output whole"

# ---- pthreads on a mutex, condition variables and a timed wait ---------------------------
moved_start ckcv "ckcv 4" "$BUILD/t/integ/ckcv" 4 40
move_at "$gpid" c 5
move_at "$gpid" a 15
move_at "$gpid" b 25
moved_same ckcv

# ---- an eventfd and an epoll of its own: moved with their state ---------------------------
cat > "$T/efd.py" <<'PY'
import os, select, time
e = os.eventfd(0)
ep = select.epoll()
ep.register(e, select.EPOLLIN)
for i in range(40):
    os.eventfd_write(e, 2)
    n = len(ep.poll(1))
    print(i, n, os.eventfd_read(e), flush=True)
    time.sleep(0.05)
PY
moved_start efd efd.py python3 "$T/efd.py"
move_at "$gpid" c 5
move_at "$gpid" a 20
moved_same efd

# ---- tail -f: an inotify instance, moved; tail -F: refused, runs on -----------------------
seq 1 5 > "$T/tailed"
"$GLX" -w b tail -n 5 -f "$T/tailed" > "$T/tail.out" 2>&1 & g=$!
wait_until 10 more_lines "$T/tail.out" 5 || fail "tail -f did not start: $(cat "$T/tail.out")"
gpid=$(gpid_of "tail -n 5 -f")
for m in 1 2 3; do
    to=$(other_node "$gpid")
    res=$("$GLPEER" migrate "$gpid" "$to" --runtime-dir "$T/c/run" 2>&1) || fail "tail -f did not move ($m): $res"
    echo $((5 + m)) >> "$T/tailed"
    wait_until 10 more_lines "$T/tail.out" $((5 + m)) || fail "tail -f did not follow after move $m: $(cat "$T/tail.out")"
done
seq 1 8 | cmp -s - "$T/tail.out" || fail "tail -f moved: $(cat "$T/tail.out")"
"$GLPEER" kill "$gpid" --runtime-dir "$T/a/run" > /dev/null
wait "$g"
say "tail -f (an inotify instance) moved 3 times, following its file"
# tail -F watches the file's directory too, which it holds no descriptor of
"$GLX" -w b tail -n 5 -F "$T/tailed" > "$T/tailF.out" 2>&1 & g=$!
wait_until 10 more_lines "$T/tailF.out" 5 || fail "tail -F did not start: $(cat "$T/tailF.out")"
gpid=$(gpid_of "tail -n 5 -F")
res=$("$GLPEER" migrate "$gpid" c --runtime-dir "$T/c/run" 2>&1) && fail "tail -F moved: $res"
echo "$res" | grep -q "an inotify instance watches a file or directory" || fail "tail -F's refusal does not say why: $res"
echo 9 >> "$T/tailed"
wait_until 10 more_lines "$T/tailF.out" 6 || fail "tail -F stopped after its refusal: $(cat "$T/tailF.out")"
"$GLPEER" kill "$gpid" --runtime-dir "$T/a/run" > /dev/null
wait "$g"
say "tail -F stays, refused: $res"

# ---- a lock held (lockf): refused, since the restored process would not hold it -------------
# (asked again for a little over a second first: most locks are held
# for an instant, as sqlite3's for a transaction; this one for 3 s)
cat > "$T/lock.py" <<'PY'
import fcntl, sys, time
f = open(sys.argv[1], "a")
fcntl.lockf(f, fcntl.LOCK_EX)
for i in range(60):
    print(i, flush=True)
    time.sleep(0.05)
PY
moved_start lock lock.py python3 "$T/lock.py" "$T/lock.dat"
res=$("$GLPEER" migrate "$gpid" c --runtime-dir "$T/c/run" 2>&1) && fail "a job holding a lock moved: $res"
echo "$res" | grep -q "a lock on $T/lock.dat" || fail "the locked job's refusal does not say why: $res"
moved_same lock
say "a job holding a lock stays, refused: $res"

# ---- a lock held for an instant at a time: moved, asked again until it is let go -----------
cat > "$T/lock2.py" <<'PY'
import fcntl, sys, time
f = open(sys.argv[1], "a")
for i in range(40):
    fcntl.lockf(f, fcntl.LOCK_EX)
    f.write(f"{i}\n")
    f.flush()
    time.sleep(0.02)
    fcntl.lockf(f, fcntl.LOCK_UN)
    print(i, flush=True)
    time.sleep(0.08)
PY
moved_start lock2 lock2.py python3 "$T/lock2.py" "$T/lock2.dat"
move_at "$gpid" c 5
moved_same lock2

# ---- /proc/self/status held open: refused (by path it would be another process's) -------
# (asked again for about a second first, as a lock is: held for 3 s)
cat > "$T/procself.py" <<'PY'
import time
f = open("/proc/self/status")
for i in range(60):
    f.seek(0)
    print(i, [l for l in f.read().split("\n") if l.startswith("Name:")], flush=True)
    time.sleep(0.05)
PY
moved_start procself procself.py python3 "$T/procself.py"
res=$("$GLPEER" migrate "$gpid" c --runtime-dir "$T/c/run" 2>&1) && fail "a job reading /proc/self moved: $res"
echo "$res" | grep -q "/proc/[0-9]*/status describes a process" || fail "the /proc job's refusal does not say why: $res"
moved_same procself
say "a job holding /proc/self/status open stays, refused: $res"

# ---- files written and appended: a restart from an image, a restart after its host died ---
cat > "$T/files.py" <<'PY'
import hashlib, sys
out, log = open(sys.argv[1], "w"), open(sys.argv[1] + ".log", "a")
h = b"seed"
for i in range(int(sys.argv[2])):
    for _ in range(3000):
        h = hashlib.sha256(h).digest()
    out.write("%d %s\n" % (i, h.hex()[:16])); out.flush()
    log.write("step %d\n" % i); log.flush()
    print(i, flush=True)
    if i % 10 == 0:
        import time; time.sleep(0.1)
print(open(sys.argv[1] + ".log").read().count("\n"))
PY
python3 "$T/files.py" "$T/f.ref" 60 > "$T/files.ref" || fail "files.py alone"
out="$T/files.out"
"$GLX" -w c python3 "$T/files.py" "$T/f" 60 > "$out" 2> "$T/files.err" & g=$!
wait_until 10 more_lines "$out" 10 || fail "files.py did not start: $(cat "$T/files.err")"
res=$("$GLPEER" checkpoint "$(gpid_of files.py)" "$T/files.img" --runtime-dir "$T/a/run" 2>&1) \
    || fail "checkpoint of files.py: $res"
wait "$g"
cmp -s "$T/files.ref" "$out" || fail "the checkpointed files.py: $(diff "$T/files.ref" "$out" | head -3)"
# the job ended, its files whole: the restart cuts them back and writes them again
"$GLX" -w a --restart "$T/files.img" > "$T/rs.out" 2> "$T/rs.err"; rc=$?
first=$(head -1 "$T/rs.out")
at=$(grep -n -x -F "$first" "$T/files.ref" | cut -d: -f1)
[ $rc = 0 ] && [ -n "$at" ] && tail -n +"$at" "$T/files.ref" | cmp -s - "$T/rs.out" \
    || fail "glx --restart of files.py: rc $rc, from '$first': $(cat "$T/rs.err")"
cmp -s "$T/f.ref" "$T/f" && cmp -s "$T/f.ref.log" "$T/f.log" \
    || fail "files.py restarted: its files differ: $(diff "$T/f.ref.log" "$T/f.log" | head -3)"
say "files.py restarted from its image after it ended: its output from line $at and its files as undisturbed"

rm -f "$T/f" "$T/f.log"
out="$T/kept.out"
"$GLX" -w b --checkpoint-every 1s python3 "$T/files.py" "$T/f" 200 > "$out" 2> "$T/kept.err" & g=$!
wait_until 10 more_lines "$out" 1 || fail "files.py did not start: $(cat "$T/kept.err")"
gpid=$(gpid_of files.py)
has_kept() { "$GLPEER" ps --json --runtime-dir "$T/a/run" | jq -e --arg g "$1" \
    '.jobs[] | select(.gpid == $g) | .checkpoint // "" | startswith("taken ")' > /dev/null; }
wait_until 15 has_kept "$gpid" || fail "no checkpoint of files.py kept"
sleep 0.5 # it writes on past the kept checkpoint
tree_of() { local p=$1 c; echo "$p"; for c in $(ps -o pid= --ppid "$p" 2>/dev/null); do tree_of "$c"; done; }
victims=$(tree_of "${PID[b]}")
kill -STOP $victims 2>/dev/null
kill -9 $victims 2>/dev/null
n=$(lines "$out")
wait "$g"; rc=$?
grep -q "restarted on" "$T/kept.err" || fail "files.py was not restarted: rc $rc, $(cat "$T/kept.err")"
rm -f "$T/f.ref" "$T/f.ref.log"
python3 "$T/files.py" "$T/f.ref" 200 > "$T/files.ref"
[ $rc = 0 ] && cmp -s "$T/files.ref" "$out" || fail "files.py after its host died: rc $rc, $(diff "$T/files.ref" "$out" | head -3)"
cmp -s "$T/f.ref" "$T/f" && cmp -s "$T/f.ref.log" "$T/f.log" \
    || fail "files.py after its host died: its files differ: $(diff "$T/f.ref.log" "$T/f.log" | head -3)"
say "files.py outlived its host (killed at line $n): output and files as undisturbed ($(cat "$T/kept.err"))"
