# Unix socket pairs whose both ends are the job's, moved with the bytes
# queued in them (checkpoint/unixsock.h), and memory its processes share
# (glrestore(8), WHAT MOVES):
# each job started with glx -w b, moved b>c>a mid-run, and compared with
# an undisturbed run: the same output byte for byte and the same status.
# - ckpair: a parent and its child with a stream and a SEQPACKET pair,
#   requests queued ahead in the child's ends at every instant, and a
#   datagram pair in the parent, non-blocking at one end; at the end a
#   shutdown(2) the child reads as the end of file;
# - python3 asyncio: its self-pipe (a socket pair in one process) woken
#   from a thread by call_soon_threadsafe, and streams over a
#   socketpair() with lines written ahead of their reader;
# - python3 multiprocessing: a Pool of 2, a Lock, a Semaphore and a
#   Queue and a Value (a /dev/shm file, unlinked but held open) shared
#   with a child, and a duplex Pipe (a socket pair): the semaphores and
#   the Value are shared memory of the tree's processes, made one again;
# - python3 with a memfd written through its mapping and read through
#   its descriptor: one object after each move;
# - a socket connected to a listening unix socket outside the job, before
#   and after the server accepted it:
#   refused with the reason, the job runs on.
# Not against the sanitizers' build (glrestore there carries their
# runtime, as integ/migrate).
. "$(dirname "$0")/lib.sh"
GLX="$BUILD/glx"
set +e
moves_possible
start_abc

# same NAME: the moved job ended as the undisturbed run did

# ---- a parent and its child: stream, SEQPACKET and datagram pairs ---------------------------
moved_start ckpair "ckpair 40" "$BUILD/t/integ/ckpair" 40
move_at "$gpid" c 8
move_at "$gpid" a 22
moved_same ckpair

# ---- python3 asyncio: the self-pipe and streams over a socketpair ---------------------------
if command -v python3 > /dev/null; then
    cat > "$T/aio.py" <<'PY'
import asyncio, hashlib, socket, threading
async def main():
    loop = asyncio.get_running_loop()
    a, b = socket.socketpair()
    ra, wa = await asyncio.open_connection(sock=a)
    rb, wb = await asyncio.open_connection(sock=b)
    h = hashlib.sha256()
    for i in range(3):
        wa.write(b"%d " % i * 40 + b"\n")
    for i in range(40):
        if i + 3 < 40:
            wa.write(b"%d " % (i + 3) * 40 + b"\n")
            await wa.drain()
        h.update(await rb.readline())
        fut = loop.create_future()
        threading.Thread(target=loop.call_soon_threadsafe, args=(fut.set_result, i * i)).start()
        print(i, await fut, h.hexdigest()[:16], flush=True)
        await asyncio.sleep(0.05)
    wa.close()
    print("end", await rb.read(), h.hexdigest(), flush=True)
asyncio.run(main())
PY
    moved_start aio aio.py python3 "$T/aio.py"
    move_at "$gpid" c 8
    move_at "$gpid" a 22
    moved_same aio
else
    say "python3 is not installed: no asyncio job"
fi

# ---- python3 multiprocessing: a Pool of 2, a Queue and a Lock between processes ------------
# (its semaphores are /dev/shm files unlinked at once, mapped shared by
# every process of the tree: one the child releases and the parent
# acquires each step would hang the job if the two held two copies; its
# queues are pipes, its Pipe a socket pair)
if command -v python3 > /dev/null; then
    cat > "$T/mp.py" <<'PY'
import hashlib, multiprocessing as mp, time
def work(i):
    h = str(i).encode()
    for _ in range(20000):
        h = hashlib.sha256(h).digest()
    time.sleep(0.1)
    return i, h.hex()[:16]
def counter(lock, ready, q, conn, total, n):
    for i in range(n):
        with lock:
            q.put(i * i)
            total.value += 1
        ready.release()
        conn.send(i)
        conn.recv()
if __name__ == "__main__":
    mp.set_start_method("fork")
    lock, ready, q = mp.Lock(), mp.Semaphore(0), mp.Queue()
    total = mp.Value("i", 0, lock=False)  # a /dev/shm file, unlinked, still open
    mine, theirs = mp.Pipe()
    c = mp.Process(target=counter, args=(lock, ready, q, theirs, total, 40))
    c.start()
    with mp.Pool(2) as pool:
        it = pool.imap(work, range(40))
        for n in range(40):
            i, h = next(it)
            ready.acquire()  # the child's release: one semaphore, or a hang
            got = q.get()
            k = mine.recv()
            v = total.value  # the child's, while it waits for the answer
            mine.send(k)
            with lock:
                print(n, i, h, got, k, v, flush=True)
    c.join()
    print("end", c.exitcode, flush=True)
PY
    moved_start mp mp.py python3 "$T/mp.py"
    move_at "$gpid" c 8
    move_at "$gpid" a 22
    moved_same mp
else
    say "python3 is not installed: no multiprocessing job"
fi

# ---- python3: a memfd, written through its mapping and read through its descriptor --------
if command -v python3 > /dev/null; then
    cat > "$T/memfd.py" <<'PY'
import mmap, os, time
fd = os.memfd_create("ring")
os.ftruncate(fd, 8192)
m = mmap.mmap(fd, 8192)
os.lseek(fd, 100, os.SEEK_SET)
for i in range(40):
    m[i * 8:i * 8 + 8] = (i * i).to_bytes(8, "little")
    back = int.from_bytes(os.pread(fd, 8, i * 8), "little")  # one object, or 0
    print(i, back, os.lseek(fd, 0, os.SEEK_CUR), os.fstat(fd).st_size, flush=True)
    time.sleep(0.05)
PY
    moved_start memfd memfd.py python3 "$T/memfd.py"
    move_at "$gpid" c 8
    move_at "$gpid" a 22
    moved_same memfd
fi

# ---- a socket to a listening unix socket outside the job: refused -------------------------
# (the server is this shell's child, not the job's)
# (the server is a program of this script's, not the job's)
if command -v python3 > /dev/null; then
    cat > "$T/server.py" <<'PY'
import os, socket, sys, time
s = socket.socket(socket.AF_UNIX)
s.bind(sys.argv[1])
s.listen()
open(sys.argv[1] + ".ready", "w").close()
while not os.path.exists(sys.argv[1] + ".go"):  # the test's word to accept
    time.sleep(0.02)
c, _ = s.accept()
open(sys.argv[1] + ".accepted", "w").close()
while c.recv(100):
    pass
PY
    cat > "$T/client.py" <<'PY'
import socket, sys, time
c = socket.socket(socket.AF_UNIX)
c.connect(sys.argv[1])
for i in range(600):
    c.send(b"x")
    print(i, flush=True)
    time.sleep(0.05)
PY
    python3 "$T/server.py" "$T/srv.sock" & srv=$!
    wait_until 10 test -e "$T/srv.sock.ready" || fail "the unix server did not start"
    out="$T/client.out"
    "$GLX" -w b python3 "$T/client.py" "$T/srv.sock" > "$out" 2>&1 & g=$!
    wait_until 10 more_lines "$out" 2 || fail "the client did not start: $(cat "$out")"
    gpid=$(gpid_of "client.py")
    # before the server's accept(2) the client's peer is no socket yet
    res=$("$GLPEER" migrate "$gpid" c --runtime-dir "$T/c/run" 2>&1) && fail "the client moved: $res"
    echo "$res" | grep -q "fd 3: a unix socket connected to a server's socket not accepted yet" ||
        fail "the client's refusal before the accept does not say why: $res"
    touch "$T/srv.sock.go"
    wait_until 10 test -e "$T/srv.sock.accepted" || fail "the unix server did not accept"
    res=$("$GLPEER" migrate "$gpid" c --runtime-dir "$T/c/run" 2>&1) && fail "the client moved: $res"
    echo "$res" | grep -q "a unix socket connected to $T/srv.sock (a named socket's server" ||
        fail "the client's refusal does not say why: $res"
    n=$(lines "$out")
    wait_until 10 more_lines "$out" $((n + 2)) || fail "the client stopped after its refusal"
    "$GLPEER" kill "$gpid" --runtime-dir "$T/a/run" > /dev/null
    wait "$g"
    kill "$srv" 2> /dev/null
    wait "$srv" 2> /dev/null
    say "a socket to a server outside the job stays, refused: $res"
fi
# ckpair ran; the rest needs python3: a skip, not a pass
command -v python3 > /dev/null || { echo "python3 is not installed: its jobs were not moved"; exit 77; }
