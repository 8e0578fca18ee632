# lib.sh -- helpers for integration tests with real glpeer processes.
#
# A test sources this file, then starts peers with start_peer and checks
# what they see with jq over `glpeer status --json`.  Everything lives in
# a fresh directory $T; every process started is killed and $T removed on
# exit, whatever happens.  $GLPEER is the binary under test.
set -euo pipefail
: "${GLPEER:?GLPEER must name the glpeer binary under test}"

# `... | grep -q PATTERN`: grep -q leaves at its first match, and the
# writer may still write (bash's echo, glpeer ps) and die of SIGPIPE,
# which pipefail makes the pipeline's failure: a check that fails for
# nothing, once in a few thousand (measured: `echo "$out" | grep -q`,
# 2 in 5000).  So in these tests grep -q reads all its input (grep -c,
# its output taken and dropped), with the same exit status.
grep() {
    local args=() quiet=false opts=true prev="" o
    for o in "$@"; do
        if $opts && [ "$prev" != -e ] && [ "$prev" != -f ] && [ "$prev" != -m ]; then
            case "$o" in
                --) opts=false ;;
                -q | --quiet | --silent) quiet=true; prev=$o; continue ;;
                -[A-Za-z]*q*) quiet=true; o=${o//q/} ;;
                -*) ;;
                *) opts=false ;;
            esac
        fi
        args+=("$o")
        prev=$o
    done
    $quiet || { command grep "$@"; return; }
    local rc=0 count
    count=$(command grep -c "${args[@]}") || rc=$?
    return $rc
}
BUILD=${BUILD:-$(dirname "$GLPEER")}
T=$(mktemp -d /tmp/glunix-t.XXXXXX)
# An agent started by root drops to an unprivileged account (glpeer(8),
# SECURITY), which must still reach its state directory and the activity
# files under $T; what must stay private (the keys) is mode 600 itself.
chmod 755 "$T"
declare -A PID=()
EXTRA_CLEANUP=${EXTRA_CLEANUP:-}
USERS_MADE=()

cleanup() {
    local rc=$?
    for p in "${PID[@]}"; do kill -CONT "$p" 2>/dev/null || true; kill -9 "$p" 2>/dev/null || true; done
    for u in "${USERS_MADE[@]}"; do
        pkill -9 -u "$u" 2>/dev/null || true
        userdel -f "$u" 2>/dev/null || true
    done
    [ -n "$EXTRA_CLEANUP" ] && eval "$EXTRA_CLEANUP" || true
    if [ $rc -ne 0 ]; then
        for f in "$T"/*.log; do [ -f "$f" ] && { echo "--- $f"; tail -n 25 "$f"; }; done
    fi
    rm -rf "$T"
    exit $rc
}
trap cleanup EXIT

fail() { echo "FAIL: $*"; exit 1; }

# need_root WHAT: skip (77) with the reason unless root
need_root() {
    [ "$(id -u)" = 0 ] && return 0
    echo "needs root: $*"
    exit 77
}

# make_user NAME: a local account for the test, removed (with whatever it
# still runs) at exit; it gets no home directory
make_user() {
    getent passwd "$1" > /dev/null && fail "account $1 exists already"
    useradd -M -N -d /nonexistent -s /bin/sh "$1" || fail "useradd $1"
    USERS_MADE+=("$1")
}

# as USER COMMAND...: run a command as USER, with a clean environment
as() {
    local u=$1; shift
    setpriv --reuid="$u" --regid="$(id -g "$u")" --init-groups --reset-env -- "$@"
}
say() { echo "[$(date +%T)] $*"; }

# A base port with 64 free ports above it, outside the kernel's ephemeral
# range: the peers' own outgoing connections take their local ports from
# that range, and one of them can hold a port a peer is about to bind.
# When t/run runs tests side by side, each in its slot T_SLOT of T_SLOTS,
# a test takes only every T_SLOTS-th block, from its slot's: two tests
# running at once cannot pick the same block before either binds it.
pick_base() {
    local lo=32768 hi=60999 from span used tries
    [ -r /proc/sys/net/ipv4/ip_local_port_range ] && read -r lo hi < /proc/sys/net/ipv4/ip_local_port_range
    if [ "$lo" -ge $((10000 + 64 * 64)) ]; then
        from=10000; span=$(( (lo - 10000) / 64 - 1 ))
    elif [ "$hi" -le $((65535 - 64 * 64)) ]; then
        from=$((hi + 1)); span=$(( (65535 - hi) / 64 - 1 ))
    else
        echo "lib.sh: no room for 64 test ports outside the ephemeral range $lo-$hi" >&2
        exit 1
    fi
    used=$(ss -Htan 2>/dev/null | awk '{ n = split($4, a, ":"); print a[n] }')
    local slot=${T_SLOT:-0} slots=${T_SLOTS:-1} k
    [ "$slot" -lt "$slots" ] && [ "$span" -ge "$slots" ] || { slot=0; slots=1; }
    for tries in $(seq 32); do
        k=$(( (RANDOM * 32768 + RANDOM + $$) % (span / slots) ))
        BASE=$(( from + (k * slots + slot) * 64 ))
        echo "$used" | awk -v b="$BASE" '$1 >= b && $1 < b + 64 { f = 1 } END { exit !f }' || return 0
    done
    echo "lib.sh: found no 64 free ports in $from-$((from + span * 64))" >&2
    exit 1
}
pick_base

"$GLPEER" keygen -o "$T/cluster.key"

# write_conf [EXTRA ZPL LINES...]: the shared cluster.conf; the first peer is the seed.
# Its nodes run root's jobs (the tests run as root) unless ROOT_JOBS=no.
write_conf() {
    {
        echo "cluster"
        echo "    name = \"test\""
        echo "    key_file = \"cluster.key\""
        echo "    seed = \"tcp://127.0.0.1:$BASE\""
        echo "    root_jobs = ${ROOT_JOBS:-yes}   # the tests run glx as root"
        echo "idle"
        echo "    owner_idle_min = 0"
        echo "    owner_load_max = 1000"
        for line in "$@"; do echo "$line"; done
    } > "$T/cluster.conf"
}
write_conf

port_of() { echo $((BASE + $1)); }

# ckpt_progs VAR...: the checkpoint tests' programs, each variable named
# set (HOST: ckhost, PROG: ckcompute, TREE: cktree, STREAM: ckstream,
# GLR: glrestore, SHIM: libglshim.so); fails when one named is missing
ckpt_progs() {
    local v f
    for v in "$@"; do
        case $v in
            HOST) f=$BUILD/t/ckpt/ckhost ;;
            PROG) f=$BUILD/t/ckpt/ckcompute ;;
            TREE) f=$BUILD/t/ckpt/cktree ;;
            STREAM) f=$BUILD/t/ckpt/ckstream ;;
            GLR) f=$BUILD/glrestore ;;
            SHIM) f=$BUILD/libglshim.so ;;
            *) fail "ckpt_progs: no program called $v" ;;
        esac
        [ -f "$f" ] || fail "no $f"
        printf -v "$v" '%s' "$f"
    done
}

# start_peer NAME INDEX [glpeer join options...]: a peer on 127.0.0.1:BASE+INDEX,
# run under the command in the array PEER_PREFIX when that is set
start_peer() {
    local name=$1 idx=$2; shift 2
    mkdir -p "$T/$name"
    ${PEER_PREFIX[@]+"${PEER_PREFIX[@]}"} "$GLPEER" join "$T/cluster.conf" --name "$name" \
        --bind "tcp://127.0.0.1:$(port_of "$idx")" \
        --runtime-dir "$T/$name/run" --state-dir "$T/$name/state" "$@" \
        2>> "$T/$name.log" &
    PID[$name]=$!
    disown "$!"
}

status() { "$GLPEER" status --json --runtime-dir "$T/$1/run"; }

# state OBSERVER NAME: what OBSERVER thinks of NAME ("" if unknown)
state() {
    status "$1" 2>/dev/null | jq -r --arg n "$2" '.members[] | select(.name == $n) | .state' || true
}

# count OBSERVER STATE: how many members OBSERVER sees in STATE
count() {
    status "$1" 2>/dev/null | jq --arg s "$2" '[.members[] | select(.state == $s)] | length' || echo 0
}

counter() {  # counter OBSERVER REASON: a dropped-message counter
    status "$1" | jq -r --arg r "$2" '.counters.dropped[$r]'
}

# wait_until SECONDS COMMAND...: poll every 0.2 s; 0 if it became true
wait_until() {
    local limit=$1; shift
    local end=$(( $(date +%s%N) + limit * 1000000000 ))
    while [ "$(date +%s%N)" -lt "$end" ]; do
        "$@" && return 0
        sleep 0.2
    done
    return 1
}

# elapsed_since NANOS: seconds with one decimal
elapsed_since() { awk -v a="$1" -v b="$(date +%s%N)" 'BEGIN { printf "%.1f", (b - a) / 1e9 }'; }

# everyone_sees STATE NAME OBSERVERS...: true when every observer agrees
everyone_sees() {
    local want=$1 name=$2; shift 2
    for o in "$@"; do [ "$(state "$o" "$name")" = "$want" ] || return 1; done
}

# all_alive N OBSERVERS...: every observer sees exactly N alive members
all_alive() {
    local n=$1; shift
    for o in "$@"; do [ "$(count "$o" alive)" = "$n" ] || return 1; done
}

# ---- jobs and their moves (the peers as start_peer made them: homes on
# a, moves asked through c) ----
gpid_of() { "$GLPEER" ps --runtime-dir "$T/a/run" | awk -v p="$1" 'index($0, p) { print $1; exit }'; }
node_of() { "$GLPEER" ps --json --runtime-dir "$T/a/run" | jq -r --arg g "$1" '.jobs[] | select(.gpid == $g) | .node'; }
lines() { wc -l < "$1" 2>/dev/null || echo 0; }
more_lines() { [ "$(lines "$1")" -ge "$2" ]; }
# unpriv CMD...: CMD as nobody when the suite runs as root, else as we
# are (checkpoints need no privilege, and the tests show it)
unpriv() {
    if [ "$(id -u)" = 0 ]; then
        setpriv --reuid=nobody --regid="$(id -g nobody)" --clear-groups -- "$@"
    else
        "$@"
    fi
}
# unpriv_can TEST-ARGS...: skip (77) unless unpriv can pass test(1) with
# them: a build tree nobody cannot read cannot be run as nobody
unpriv_can() {
    unpriv test "$@" || { echo "the build tree is not readable by nobody: cannot run unprivileged"; exit 77; }
}
# moves_possible [PROGRAM...]: skip (77) unless glrestore is built and
# every PROGRAM is installed
moves_possible() {
    [ -x "$BUILD/glrestore" ] || { echo "glrestore is not built: no moves"; exit 77; }
    local p
    for p in "$@"; do
        command -v "$p" > /dev/null || { echo "$p is not installed: the programs here need it"; exit 77; }
    done
}
# start_abc: peers a, b and c, converged; jobs asked of a (their home)
start_abc() {
    local i names=(a b c)
    for i in 0 1 2; do start_peer "${names[$i]}" $i; done
    wait_until 30 all_alive 3 "${names[@]}" || fail "no convergence"
    export GLUNIX_RUNTIME_DIR="$T/a/run"
}
# other_node GPID: where a job moved back and forth goes next (c from b, b from c)
other_node() { [ "$(node_of "$1")" = c ] && echo b || echo c; }
# moved_start NAME KEY CMD...: the undisturbed run of CMD into $T/NAME.ref
# (status in $ref_rc), then CMD as a job on b writing $out, its glx $g,
# its gpid $gpid (found in ps by KEY)
moved_start() {
    local name=$1 key=$2; shift 2
    "$@" > "$T/$name.ref" 2> "$T/$name.referr"; ref_rc=$?
    out="$T/$name.out"
    "$GLX" -w b "$@" > "$out" 2> "$T/$name.err" & g=$!
    wait_until 10 more_lines "$out" 1 || fail "$name did not start: $(cat "$T/$name.err")"
    gpid=$(gpid_of "$key")
    [ -n "$gpid" ] || fail "no gpid for $name: $("$GLPEER" ps --runtime-dir "$T/a/run")"
}
# moved_same NAME: the moved job ended within 60 s, as the undisturbed
# run did: its status and its output byte for byte
moved_same() {
    wait_until 60 sh -c "! kill -0 $g 2> /dev/null" || fail "$1 did not end within 60 s: $(tail -3 "$out")"
    wait "$g"; local rc=$?
    [ $rc = "$ref_rc" ] || fail "$1 moved: glx exit $rc, undisturbed $ref_rc: $(cat "$T/$1.err")"
    cmp -s "$T/$1.ref" "$out" || fail "$1 moved: output differs: $(diff "$T/$1.ref" "$out" | head -5)"
    say "$1: the same output ($(lines "$out") lines) and status ($rc) as undisturbed"
}
# move_n N: move the job $gpid (writing $out, its glx $g) back and
# forth between b and c N times, 0.2 s apart, each one required, until
# it ends; $moves says how many were made
move_n() {
    local m to res
    moves=0
    for m in $(seq 1 "$1"); do
        kill -0 "$g" 2> /dev/null || break
        to=$(other_node "$gpid")
        res=$("$GLPEER" migrate "$gpid" "$to" --runtime-dir "$T/c/run" 2>&1) ||
            fail "migrate $gpid $to (move $m): $res"
        moves=$((moves + 1))
        say "move $m to $to after line $(lines "$out"): $res"
        sleep 0.2
    done
}
# move_at GPID NODE N: move the job writing $out to NODE once it wrote N
# lines; ps must then say it is there.  (A refusal for an instant, "try
# again", is asked again by the host itself.)
move_at() {
    wait_until 30 more_lines "$out" "$3" || fail "$1 wrote $(lines "$out") lines, not $3"
    res=$("$GLPEER" migrate "$1" "$2" --runtime-dir "$T/c/run" 2>&1) || fail "migrate $1 $2: $res"
    [ "$(node_of "$1")" = "$2" ] || fail "after '$res' ps says $1 is on $(node_of "$1")"
    say "$1 moved to $2 after line $3: $res"
}
