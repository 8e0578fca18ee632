#!/usr/bin/env bash
# bench/exec.sh -- job launch latency and stream throughput of glx, side by
# side with ssh, Slurm and MPICH, all on this machine over loopback:
#   1. glx -w REMOTE /bin/true  vs  ssh -p 2222 127.0.0.1 /bin/true  vs  srun /bin/true
#   2. glx -n 64 --local /bin/true  vs  srun -n 64 --overcommit /bin/true  vs  mpiexec -n 64 /bin/true
#   3. glx -w REMOTE head -c SIZE /dev/zero | wc -c  vs  the same through ssh, in MB/s
#   4. the same two glx figures for one ordinary user, through the machine's
#      agents (root's, multi-user: privilege separation, credentials, the
#      launcher) vs through that user's own agents, runs alternating; and
#      bench/launch_bench.c: a launch through the launcher vs forked here,
#      and a credential's signature and check, alone
#
#   bench/exec.sh [--runs N] [--runs64 N] [--tput-runs N] [--size BYTES] [--build DIR] [--keep DIR]
#                 [--users-only]
#   (defaults 30, 10, 5, 1000000000, build/; --keep DIR copies the raw times there;
#   --users-only runs part 4 alone, without ssh, Slurm and MPICH)
#
# It starts a 4-peer glunix cluster (t/integ/lib.sh), an sshd on
# 127.0.0.1:2222 with its own host key and a client key made for the run,
# and a single-node Slurm (munged, slurmctld, slurmd), all from scratch
# directories, and stops all of them on exit.  As root it first installs
# the Debian packages it needs.  A comparison whose package or daemon does
# not work is skipped and marked so in the table.  Medians and p90 come
# from hyperfine (-N, no shell) when installed, else from a timing loop.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
RUNS=30; RUNS64=10; TRUNS=5; SIZE=1000000000
BUILD=${BUILD:-$top/build}; KEEP=""; USERS_ONLY=0
while [ $# -gt 0 ]; do
    case "$1" in
        --runs) RUNS=$2; shift 2 ;;
        --runs64) RUNS64=$2; shift 2 ;;
        --tput-runs) TRUNS=$2; shift 2 ;;
        --size) SIZE=$2; shift 2 ;;
        --build) BUILD=$2; shift 2 ;;
        --keep) KEEP=$2; shift 2 ;;
        --users-only) USERS_ONLY=1; shift ;;
        -h|--help) awk 'NR > 1 && !/^#/ { exit } NR > 1 { sub(/^# ?/, ""); print }' "$0"; exit 0 ;;
        *) echo "usage: $0 [--runs N] [--runs64 N] [--tput-runs N] [--size BYTES] [--build DIR] [--keep DIR] [--users-only]" >&2; exit 2 ;;
    esac
done
BUILD=$(cd "$BUILD" && pwd)
GLX=$BUILD/glx
export GLPEER=$BUILD/glpeer BUILD
[ -x "$GLPEER" ] && [ -x "$GLX" ] || { echo "no glpeer/glx in $BUILD (build first)" >&2; exit 1; }

declare -A SKIP=()     # comparison -> why it was skipped
log() { echo "[$(date +%T)] $*" >&2; }

# --- packages ---------------------------------------------------------------
PKGS="openssh-server openssh-client slurm-wlm munge mpich hyperfine jq bc"
[ "$USERS_ONLY" = 0 ] || PKGS="jq"
if [ "$(id -u)" = 0 ]; then
    missing=""
    for p in $PKGS; do dpkg -s "$p" >/dev/null 2>&1 || missing="$missing $p"; done
    if [ -n "$missing" ]; then
        log "installing:$missing"
        export DEBIAN_FRONTEND=noninteractive
        timeout 300 apt-get update -qq >/dev/null 2>&1 || true
        if ! timeout 600 apt-get install -y -qq $missing >/dev/null 2>&1; then
            for p in $missing; do timeout 300 apt-get install -y -qq "$p" >/dev/null 2>&1 || log "could not install $p"; done
        fi
    fi
fi
command -v jq >/dev/null || { echo "jq is needed (apt-get install jq)" >&2; exit 1; }
have() { command -v "$1" >/dev/null 2>&1; }

# --- glunix cluster (also gives T, the trap, wait_until, all_alive) ----------
EXTRA_CLEANUP=teardown_peers
. "$top/t/integ/lib.sh"
PEERS=$T/peers; mkdir -p "$PEERS"; chmod 755 "$T" "$PEERS"
RES=$T/res; mkdir -p "$RES"
for i in 0 1 2 3; do start_peer "p$i" "$i"; done
GLXC=("$GLX" --runtime-dir "$T/p0/run")          # p0 is the home; p1 is the remote node
wait_until 30 all_alive 4 p0 p1 p2 p3 || fail "the 4 peers did not converge"
wait_until 30 bash -c "timeout 10 ${GLXC[*]} -w p1 /bin/true </dev/null" || fail "glx -w p1 /bin/true never worked"
log "glunix: 4 peers up, home p0, glx -w p1 works"

# --- sshd on 127.0.0.1:2222 -------------------------------------------------
MADE_RUN_SSHD=0; SSH=()
start_sshd() {
    have /usr/sbin/sshd && have ssh || { SKIP[ssh]="openssh not installed"; return 1; }
    [ -d /run/sshd ] || { mkdir -p -m 0755 /run/sshd && MADE_RUN_SSHD=1; }
    local d=$PEERS/ssh; mkdir -p "$d"; chmod 700 "$d"
    ssh-keygen -q -t ed25519 -N '' -f "$d/ssh_host_ed25519_key"
    ssh-keygen -q -t ed25519 -N '' -f "$d/id_ed25519"
    cp "$d/id_ed25519.pub" "$d/authorized_keys"; chmod 600 "$d/authorized_keys"
    cat > "$d/sshd_config" <<EOF
Port 2222
ListenAddress 127.0.0.1
HostKey $d/ssh_host_ed25519_key
PidFile $d/sshd.pid
AuthorizedKeysFile $d/authorized_keys
StrictModes no
PermitRootLogin prohibit-password
PubkeyAuthentication yes
PasswordAuthentication no
KbdInteractiveAuthentication no
UsePAM no
UseDNS no
PrintMotd no
PrintLastLog no
EOF
    /usr/sbin/sshd -t -f "$d/sshd_config" 2>"$d/check.log" || { SKIP[ssh]="sshd -t: $(head -1 "$d/check.log")"; return 1; }
    /usr/sbin/sshd -f "$d/sshd_config" -E "$d/sshd.log" || { SKIP[ssh]="sshd did not start (port 2222 busy?)"; return 1; }
    SSH=(ssh -p 2222 -i "$d/id_ed25519" -o IdentitiesOnly=yes -o StrictHostKeyChecking=no
         -o UserKnownHostsFile=/dev/null -o LogLevel=ERROR -o BatchMode=yes 127.0.0.1)
    wait_until 10 bash -c "timeout 10 ${SSH[*]} /bin/true </dev/null" || { SKIP[ssh]="ssh login failed"; return 1; }
}

# --- munge + slurmctld + slurmd, single node --------------------------------
start_slurm() {
    have munged && have slurmctld && have slurmd && have srun || { SKIP[slurm]="slurm-wlm/munge not installed"; return 1; }
    local m=$PEERS/munge s=$PEERS/slurm H; H=$(hostname -s)
    if ss -ltn 2>/dev/null | awk '{print $4}' | grep -qE ':(6817|6818)$'; then SKIP[slurm]="port 6817/6818 in use"; return 1; fi
    mkdir -p "$m/etc" "$m/run" "$m/lib"; chmod 700 "$m/etc" "$m/lib"; chmod 755 "$m" "$m/run"
    mungekey -c -k "$m/etc/munge.key" >/dev/null 2>&1 || { SKIP[slurm]="mungekey failed"; return 1; }
    munged --key-file="$m/etc/munge.key" --socket="$m/run/munge.socket.2" --pid-file="$m/run/munged.pid" \
           --log-file="$m/lib/munged.log" --seed-file="$m/lib/munged.seed" || { SKIP[slurm]="munged did not start"; return 1; }
    mkdir -p "$s/state" "$s/spool" "$s/run" "$s/log"
    cat > "$s/slurm.conf" <<EOF
ClusterName=bench
SlurmctldHost=$H(127.0.0.1)
SlurmUser=root
SlurmdUser=root
SlurmctldPort=6817
SlurmdPort=6818
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket=$m/run/munge.socket.2
StateSaveLocation=$s/state
SlurmdSpoolDir=$s/spool
SlurmctldPidFile=$s/run/slurmctld.pid
SlurmdPidFile=$s/run/slurmd.pid
SlurmctldLogFile=$s/log/slurmctld.log
SlurmdLogFile=$s/log/slurmd.log
ProctrackType=proctrack/pgid
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/none
MpiDefault=none
SwitchType=switch/none
MailProg=/bin/true
SchedulerType=sched/backfill
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
EnforcePartLimits=ALL
ReturnToService=2
SlurmctldDebug=info
SlurmdDebug=info
NodeName=$H NodeAddr=127.0.0.1 CPUs=$(nproc) State=UNKNOWN
PartitionName=debug Nodes=ALL Default=YES MaxTime=INFINITE State=UP
EOF
    export SLURM_CONF=$s/slurm.conf
    slurmctld >/dev/null 2>&1 || { SKIP[slurm]="slurmctld did not start"; return 1; }
    slurmd >/dev/null 2>&1 || { SKIP[slurm]="slurmd did not start"; return 1; }
    wait_until 20 bash -c 'sinfo -h -o %t 2>/dev/null | grep -qx idle' || { SKIP[slurm]="node never idle"; return 1; }
    timeout 20 srun /bin/true >/dev/null 2>&1 || { SKIP[slurm]="srun /bin/true failed"; return 1; }
}

# Stop only what this run started, by the pids it recorded.
dead() { [ ! -e "/proc/$1" ] || [ "$(awk '{print $3}' "/proc/$1/stat" 2>/dev/null)" = Z ]; }
stop_pidfile() {  # stop_pidfile FILE: SIGTERM, wait up to 10 s, then SIGKILL
    local p; [ -f "$1" ] || return 0; p=$(cat "$1"); [ -n "$p" ] || return 0
    kill "$p" 2>/dev/null || return 0
    for _ in $(seq 50); do dead "$p" && return 0; sleep 0.2; done
    kill -9 "$p" 2>/dev/null || true
}
teardown_peers() {
    if [ -f "$PEERS/slurm/slurm.conf" ]; then
        SLURM_CONF=$PEERS/slurm/slurm.conf timeout 10 scontrol shutdown >/dev/null 2>&1 || true
        stop_pidfile "$PEERS/slurm/run/slurmctld.pid"; stop_pidfile "$PEERS/slurm/run/slurmd.pid"
    fi
    stop_pidfile "$PEERS/ssh/sshd.pid"
    stop_pidfile "$PEERS/munge/run/munged.pid"
    [ "$MADE_RUN_SSHD" = 1 ] && rmdir /run/sshd 2>/dev/null || true
}

# --- 4. one user's own agents, beside the machine's ------------------------
# p0..p3 above are machine's agents (root's): multi-user, unprivileged
# behind their launchers, signing and checking credentials.  u0, u1 are
# the same program started by an ordinary account made for the run: that
# user's own agents, as before this mode existed.
start_users() {
    [ "$(id -u)" = 0 ] || { SKIP[users]="not root: no account to run a user's own agents as"; return 1; }
    BU=glbench$$
    make_user "$BU"
    local u=$T/u; mkdir -p "$u" "$T/u0" "$T/u1"; cp "$T/cluster.key" "$u/"
    sed "s|seed = .*|seed = \"tcp://127.0.0.1:$(port_of 10)\"|" "$T/cluster.conf" > "$u/cluster.conf"
    chown -R "$BU" "$u" "$T/u0" "$T/u1"
    for i in 0 1; do
        as "$BU" "$GLPEER" join "$u/cluster.conf" --name "u$i" --bind "tcp://127.0.0.1:$(port_of $((10 + i)))" \
            --runtime-dir "$T/u$i/run" --state-dir "$T/u$i/state" 2>> "$T/u$i.log" &
        PID[u$i]=$!
    done
    wait_until 30 all_alive 2 u0 u1 || { SKIP[users]="the user's own agents did not meet"; return 1; }
    GLXM=(setpriv --reuid="$BU" --regid="$(id -g "$BU")" --init-groups --reset-env -- "$GLX" --runtime-dir "$T/p0/run")
    GLXU=(setpriv --reuid="$BU" --regid="$(id -g "$BU")" --init-groups --reset-env -- "$GLX" --runtime-dir "$T/u0/run")
    [ "$("${GLXM[@]}" -w p1 id -un </dev/null 2>&1)" = "$BU" ] || { SKIP[users]="glx as $BU through the machine's agents failed"; return 1; }
    [ "$("${GLXU[@]}" -w u1 id -un </dev/null 2>&1)" = "$BU" ] || { SKIP[users]="glx as $BU through its own agents failed"; return 1; }
}
# alternate NAME_A NAME_B RUNS: one run of each in turn, RUNS times; seconds
# in $RES/NAME; CMD_A and CMD_B are the arrays named by the last two args
alternate() {
    local a=$1 b=$2 runs=$3 s e r; local -n ca=$4 cb=$5
    : > "$RES/$a"; : > "$RES/$b"
    for r in $(seq "$runs"); do
        s=$EPOCHREALTIME; "${ca[@]}" </dev/null >/dev/null 2>>"$RES/$a.err" || { SKIP[$a]="run $r failed"; return 0; }; e=$EPOCHREALTIME
        awk -v s="$s" -v e="$e" 'BEGIN { printf "%.6f\n", e - s }' >> "$RES/$a"
        s=$EPOCHREALTIME; "${cb[@]}" </dev/null >/dev/null 2>>"$RES/$b.err" || { SKIP[$b]="run $r failed"; return 0; }; e=$EPOCHREALTIME
        awk -v s="$s" -v e="$e" 'BEGIN { printf "%.6f\n", e - s }' >> "$RES/$b"
    done
}

if [ "$USERS_ONLY" = 1 ]; then
    SKIP[ssh]="--users-only"; SKIP[slurm]="--users-only"; SKIP[mpich]="--users-only"
else
start_sshd && log "sshd on 127.0.0.1:2222 up" || log "SKIP ssh: ${SKIP[ssh]}"
start_slurm && log "slurm single node up" || log "SKIP slurm: ${SKIP[slurm]}"
have mpiexec && timeout 20 mpiexec -n 2 /bin/true >/dev/null 2>&1 || SKIP[mpich]="mpiexec missing or not working"
fi
start_users && log "user $BU's own agents u0, u1 up" || log "SKIP users: ${SKIP[users]}"
KEX=$([ -z "${SKIP[ssh]:-}" ] && timeout 10 "${SSH[@]}" -v /bin/true 2>&1 </dev/null | sed -n 's/.*kex: algorithm: //p' | head -1 || true)

# --- timing -----------------------------------------------------------------
# stats FILE: median and p90 (nearest rank) of the seconds in FILE, one a line
stats() { sort -g "$1" | awk '{a[NR]=$1} END { if (!NR) exit 1; m=(NR%2)?a[(NR+1)/2]:(a[NR/2]+a[NR/2+1])/2;
          i=int(0.9*NR+0.999); if(i<1)i=1; printf "%.4f %.4f %d %.4f\n", m, a[i], NR, a[1] }'; }
# measure NAME RUNS LIMIT CMD...: check CMD once, then time it RUNS times; times in $RES/NAME
measure() {
    local name=$1 runs=$2 limit=$3; shift 3
    if ! timeout 60 "$@" </dev/null >/dev/null 2>"$RES/$name.err"; then
        SKIP[$name]="failed its check run: $(head -c 120 "$RES/$name.err" | tr '\n' ' ')"; log "SKIP $name: ${SKIP[$name]}"; return 0
    fi
    log "timing $name ($runs runs): $*"
    if have hyperfine; then
        local cmd; cmd=$(printf '%q ' "$@")
        if timeout "$limit" hyperfine -N -w 2 -r "$runs" --style none --export-json "$RES/$name.json" "$cmd" >/dev/null 2>"$RES/$name.err"; then
            jq '.results[0].times[]' "$RES/$name.json" > "$RES/$name"; return 0
        fi
        log "hyperfine failed for $name, using the loop"
    fi
    : > "$RES/$name"; local s e i rc
    for i in $(seq "$runs"); do
        s=$EPOCHREALTIME; rc=0
        timeout 60 "$@" </dev/null >/dev/null 2>"$RES/$name.err" || rc=$?
        e=$EPOCHREALTIME
        if [ "$rc" != 0 ]; then   # a failed run voids the others: no median of those that worked
            SKIP[$name]="run $i of $runs failed (exit $rc): $(head -c 120 "$RES/$name.err" | tr '\n' ' ')"
            log "SKIP $name: ${SKIP[$name]}"; : > "$RES/$name"; return 0
        fi
        awk -v s="$s" -v e="$e" 'BEGIN { printf "%.6f\n", e - s }' >> "$RES/$name"
    done
}
# thru NAME CMD...: one run of CMD | wc -c; its MB/s appended to $RES/NAME
thru() {
    local name=$1; shift; local s e n rc=0
    s=$EPOCHREALTIME
    n=$(timeout 120 "$@" </dev/null 2>"$RES/$name.err" | wc -c) || rc=$?
    e=$EPOCHREALTIME
    # all the bytes and a clean exit, or the throughput is not reported at all
    if [ "$rc" != 0 ] || [ "$n" != "$SIZE" ]; then
        SKIP[$name]="exit $rc, got $n of $SIZE bytes: $(head -c 120 "$RES/$name.err" | tr '\n' ' ')"
        log "SKIP $name: ${SKIP[$name]}"; : > "$RES/$name"; return 0
    fi
    awk -v n="$n" -v s="$s" -v e="$e" 'BEGIN { printf "%.0f\n", n / (e - s) / 1e6 }' >> "$RES/$name"
}

T0=$(date +%s)
if [ "$USERS_ONLY" = 0 ]; then
# 1. one remote /bin/true
measure glx1 "$RUNS" 300 "${GLXC[@]}" -w p1 /bin/true
[ -n "${SKIP[ssh]:-}" ] || measure ssh1 "$RUNS" 300 "${SSH[@]}" /bin/true
[ -n "${SKIP[slurm]:-}" ] || measure srun1 "$RUNS" 300 srun /bin/true
# 2. 64 processes
# (processes beyond the cluster's slots wait for room, as glx(1) says; when
# glx -n 64 fails all the same, the table shows its own error)
measure glx64 "$RUNS64" 300 "${GLXC[@]}" -n 64 --local /bin/true
[ -n "${SKIP[slurm]:-}" ] || measure srun64 "$RUNS64" 300 srun -n 64 --overcommit /bin/true
[ -n "${SKIP[mpich]:-}" ] || measure mpi64 "$RUNS64" 300 mpiexec -n 64 /bin/true
# 3. stdout throughput, glx and ssh in turn
: > "$RES/glxT"; : > "$RES/sshT"
log "throughput ($TRUNS runs each of $SIZE bytes): glx -w p1 head -c $SIZE /dev/zero, and the same through ssh"
for r in $(seq "$TRUNS"); do
    [ -n "${SKIP[glxT]:-}" ] || thru glxT "${GLXC[@]}" -w p1 head -c "$SIZE" /dev/zero
    [ -n "${SKIP[ssh]:-}${SKIP[sshT]:-}" ] || thru sshT "${SSH[@]}" "head -c $SIZE /dev/zero"
done
fi
# 4. one user: the machine's agents vs the user's own, in turn
if [ -z "${SKIP[users]:-}" ]; then
    log "one user, $RUNS runs each in turn: glx -w p1 /bin/true (machine's agents) and -w u1 (own agents)"
    LM=("${GLXM[@]}" -w p1 /bin/true); LU=("${GLXU[@]}" -w u1 /bin/true)
    alternate mach1 user1 "$RUNS" LM LU
    log "throughput, $TRUNS runs each in turn of $SIZE bytes"
    : > "$RES/machT"; : > "$RES/userT"
    for r in $(seq "$TRUNS"); do
        [ -n "${SKIP[machT]:-}" ] || thru machT "${GLXM[@]}" -w p1 head -c "$SIZE" /dev/zero
        [ -n "${SKIP[userT]:-}" ] || thru userT "${GLXU[@]}" -w u1 head -c "$SIZE" /dev/zero
    done
    # the launcher and the credential alone (bench/launch_bench.c)
    LB=$T/launch_bench
    if cc -O2 -std=c11 -D_GNU_SOURCE -I"$top/core" -I"$top/gossip" -I"$top/sched" -o "$LB" \
          "$top/bench/launch_bench.c" "$BUILD/libglsched.a" "$BUILD/libglcore.a" \
          $(pkg-config --libs libczmq libzmq libsodium msgpack libcrypto) -lm 2> "$RES/lb.err"; then
        LAUNCH_LINE=$("$LB" 400 2>&1) || LAUNCH_LINE="launch_bench failed: $LAUNCH_LINE"
    else
        LAUNCH_LINE="launch_bench does not build: $(head -c 200 "$RES/lb.err")"
    fi
fi
ELAPSED=$(( $(date +%s) - T0 ))

# --- report -----------------------------------------------------------------
med() { [ -s "$RES/$1" ] && stats "$RES/$1" | cut -d' ' -f1 || echo ""; }
p90() { [ -s "$RES/$1" ] && stats "$RES/$1" | cut -d' ' -f2 || echo ""; }
mn() { [ -s "$RES/$1" ] && stats "$RES/$1" | cut -d' ' -f4 || echo ""; }
cnt() { [ -s "$RES/$1" ] && wc -l < "$RES/$1" || echo 0; }
ms() { [ -n "$1" ] && awk -v x="$1" 'BEGIN { printf "%.1f ms", x * 1000 }' || echo "skipped"; }
ratio() { [ -n "$1" ] && [ -n "$2" ] && awk -v a="$1" -v b="$2" 'BEGIN { printf "%.3f", a / b }' || echo "n/a"; }
row() {  # row NAME LABEL
    local m p; m=$(med "$1"); p=$(p90 "$1")
    if [ -n "$m" ]; then printf '| %s | %s | %s | %s | %s |\n' "$2" "$(ms "$m")" "$(ms "$p")" "$(ms "$(mn "$1")")" "$(cnt "$1")"
    else printf '| %s | %s | | | |\n' "$2" "$(why "$1")"; fi
}
why() {  # why NAME: why NAME was not measured: its own reason, or its tool's
    local tool="" w
    case "$1" in ssh*) tool=ssh ;; srun*) tool=slurm ;; mpi*) tool=mpich ;; esac
    w=${SKIP[$1]:-}
    [ -n "$w" ] || [ -z "$tool" ] || w=${SKIP[$tool]:-}
    w=${w:-not run}; echo "${w:0:140}"
}
trow() {
    local m; m=$(med "$1")
    if [ -n "$m" ]; then printf '| %s | %.0f MB/s | runs: %s MB/s | | %s |\n' "$2" "$m" "$(paste -sd' ' "$RES/$1")" "$(cnt "$1")"
    else printf '| %s | %s | | | |\n' "$2" "$(why "$1")"; fi
}
goal() {  # goal RATIO OP LIMIT
    [ "$1" = n/a ] && { echo "not measured"; return; }
    awk -v r="$1" -v l="$3" -v op="$2" 'BEGIN { ok = (op == "<=") ? (r <= l) : (r >= l); print ok ? "**met**" : "not met" }'
}
g1=$(med glx1); s1=$(med ssh1); r1=$(med srun1)
g64=$(med glx64); s64=$(med srun64); m64=$(med mpi64)
gT=$(med glxT); sT=$(med sshT)
r_gs=$(ratio "$g1" "$s1"); r_gr=$(ratio "$g1" "$r1")
r_64s=$(ratio "$g64" "$s64"); r_64m=$(ratio "$g64" "$m64"); r_T=$(ratio "$gT" "$sT")
echo
echo "bench/exec.sh  $(date -u '+%Y-%m-%d %H:%M UTC')  $(hostname -s), $(nproc) CPUs, $(uname -r)"
SLURM_V=$(srun --version 2>/dev/null | awk '{print $2}' || true)
echo "glunix: 4 peers on loopback (home p0, remote p1); ssh: OpenSSH $(ssh -V 2>&1 | sed 's/,.*//; s/OpenSSH_//'), kex ${KEX:-?}, no multiplexing; slurm ${SLURM_V:-not installed}; timing: $(have hyperfine && echo "hyperfine -N" || echo "bash loop"); bench time ${ELAPSED} s"
echo
if [ "$USERS_ONLY" = 0 ]; then
echo "| measurement | median | p90 | min | runs |"
echo "|---|---|---|---|---|"
row glx1 "1. \`glx -w p1 /bin/true\`"
row ssh1 "1. \`ssh -p 2222 127.0.0.1 /bin/true\`"
row srun1 "1. \`srun /bin/true\`"
row glx64 "2. \`glx -n 64 --local /bin/true\`"
row srun64 "2. \`srun -n 64 --overcommit /bin/true\`"
row mpi64 "2. \`mpiexec -n 64 /bin/true\`"
trow glxT "3. \`glx -w p1 head -c $SIZE /dev/zero | wc -c\`"
trow sshT "3. \`ssh ... 'head -c $SIZE /dev/zero' | wc -c\`"
echo
echo "| ratio (medians) | value | goal | |"
echo "|---|---|---|---|"
echo "| glx / ssh, one /bin/true | $r_gs | <= 0.2 | $(goal "$r_gs" '<=' 0.2) |"
echo "| glx / srun, one /bin/true | $r_gr | <= 0.5 | $(goal "$r_gr" '<=' 0.5) |"
echo "| glx / srun, 64 x /bin/true | $r_64s | (none) | |"
echo "| glx / mpiexec, 64 x /bin/true | $r_64m | (none) | |"
echo "| glx / ssh, stdout MB/s | $r_T | >= 1 | $(goal "$r_T" '>=' 1) |"
echo
fi
if [ -z "${SKIP[users]:-}" ]; then
    mm=$(med mach1); mu=$(med user1); tm=$(med machT); tu=$(med userT)
    r_l=$(ratio "$mm" "$mu"); r_t=$(ratio "$tm" "$tu")
    echo "4. one ordinary user ($BU), glx through the machine's agents (root's: launcher, credentials) and through the user's own agents, runs alternating:"
    echo
    echo "| measurement | median | p90 | min | runs |"
    echo "|---|---|---|---|---|"
    row mach1 "4. \`glx -w p1 /bin/true\`, machine's agents"
    row user1 "4. \`glx -w u1 /bin/true\`, the user's own agents"
    trow machT "4. \`glx -w p1 head -c $SIZE /dev/zero | wc -c\`, machine's agents"
    trow userT "4. \`glx -w u1 head -c $SIZE /dev/zero | wc -c\`, the user's own agents"
    echo
    echo "| ratio (medians) | value | goal | |"
    echo "|---|---|---|---|"
    echo "| machine's / user's own, one /bin/true | $r_l | <= 1.05 | $(goal "$r_l" '<=' 1.05) |"
    echo "| machine's / user's own, stdout MB/s | $r_t | >= 0.95 | $(goal "$r_t" '>=' 0.95) |"
    echo
    echo "bench/launch_bench.c: ${LAUNCH_LINE:-not run}"
    echo
fi
for k in "${!SKIP[@]}"; do [ -n "${SKIP[$k]}" ] && echo "not measured: $k: ${SKIP[$k]}"; done
[ -z "$KEEP" ] || { mkdir -p "$KEEP" && cp -r "$RES"/. "$KEEP"/; }
echo "load average at the end: $(cut -d' ' -f1-3 /proc/loadavg) (other processes on the machine count too)"
exit 0
