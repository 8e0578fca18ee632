#!/usr/bin/env bash
# bench/agents-scale.sh -- what one idle agent costs as the cluster grows:
# real glpeer processes on loopback at 16, 64, 128, 256 agents and on (as
# many as the machine holds; it says why it stops), each figure per agent:
#   - steady-state CPU (% of one core: all its threads, from schedstat,
#     while nothing asks the agents anything),
#     RSS, TCP segments per second sent (as many received), sealed packets
#     per second sent and received, TCP connections opened per second and
#     connections held (median and max over the agents);
#   - convergence: from the last agent's start until every agent knows
#     every other (from the agents' own log times);
#   - SIGKILL detection: from the kill until each survivor logs the death
#     (median over survivors, and the last one), TRIALS victims per size;
#   - false deaths over the whole run (a death logged of a live agent).
#
#   bench/agents-scale.sh [--sizes "16 64 128 256 512 1024"] [--window S]
#                         [--settle S] [--trials N] [--before GLPEER]
#                         [--peers K] [--rings K] [--batch B] [--gentle]
#                         [--real-proc] [--keep DIR]
#
# Agents start B at a time (32 by default), each batch once the last one
# is listening and a second later: 256 agents started at once on 2 cores
# keep the machine so busy for their first seconds (key files, sockets,
# every join answered with the whole state) that probes go unanswered and
# members are suspected, which is start-up, not the steady state measured.
# --gentle starts each batch only once every agent started so far knows
# all the others (from their logs; 60 s at most a batch), so that one
# batch's start-up is over before the next.
#
# --before runs the same sizes with another glpeer binary (the previous
# tree, built in a directory of its own) right after each size, and the
# tables put both side by side.  --peers K runs them once more with
# gossip/gossip_peers = K (estimates gossiped to the K members last sent a
# PING or an ACK; 12 by default, 0 for random targets; see
# cluster.conf(5)), as "peersK"; --rings K with gossip/probe_rings = K
# (probes to the successors on K rings, 4 by default; 0 for every member
# in turn, SWIM's round robin), as "ringsK".  The run happens in a
# network namespace of its own (unshare --net, as root), so that
# /proc/net/snmp counts the cluster's TCP segments and connection
# openings alone and nothing else on the machine shares its ports;
# without root it runs in the machine's namespace and leaves those
# columns out.
#
# Every agent reads a still copy of /proc (idle/proc_dir) unless
# --real-proc: on one machine all agents see the same load and memory,
# which the bench itself moves, so each step of it (0.5 in load, 5 % of
# memory) would make every agent re-announce its estimate at once; an
# idle workstation's estimate changes when its own owner comes, and is
# otherwise refreshed every idle/refresh_interval, which the still copy
# reproduces.  Likewise the owner: every agent's activity source is one
# file, last used 3 days ago (the machine's terminals are every agent's
# here, and the owner's idle time crossing a doubling changes an estimate,
# sched/idle.h).
#
# A size is not run, and the bench stops, when the machine cannot hold it:
# memory (what the agents of the last size took, scaled, must fit in what
# is available with 2 GB to spare), or CPU (when the agents of the last
# size took more than 60 % of the machine's cores in steady state, the
# next size would measure the machine, not the agent), or when a size did
# not converge within 3 minutes.  memberlist's published per-node packet
# rate is quoted beside the table (source in the table's note).
#
# Needs jq, bc, ss (iproute2); takes about 4 minutes a size.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
ARGS=("$@")
SIZES="16 64 128 256 512 1024"; WINDOW=60; SETTLE=30; TRIALS=3
BEFORE=""; REAL_PROC=0; KEEP=""; PEERS=""; RINGS=""; BATCH=32; GENTLE=0
usage="usage: $0 [--sizes \"N...\"] [--window S] [--settle S] [--trials N] [--before GLPEER] [--peers K] [--rings K] [--batch B] [--gentle] [--real-proc] [--keep DIR]"
while [ $# -gt 0 ]; do
    case "$1" in
        --sizes) SIZES=$2; shift 2 ;;
        --window) WINDOW=$2; shift 2 ;;
        --settle) SETTLE=$2; shift 2 ;;
        --trials) TRIALS=$2; shift 2 ;;
        --before) BEFORE=$(realpath "$2"); shift 2 ;;
        --peers) PEERS=$2; shift 2 ;;
        --rings) RINGS=$2; shift 2 ;;
        --batch) BATCH=$2; shift 2 ;;
        --gentle) GENTLE=1; shift ;;
        --real-proc) REAL_PROC=1; shift ;;
        --keep) KEEP=$(realpath -m "$2"); shift 2 ;;
        -h|--help) awk 'NR > 1 && !/^#/ { exit } NR > 1 { sub(/^# ?/, ""); print }' "$0"; exit 0 ;;
        *) echo "$usage" >&2; exit 2 ;;
    esac
done
GLPEER=${GLPEER:-$top/build/glpeer}
[ -x "$GLPEER" ] || { echo "no $GLPEER (build first)" >&2; exit 1; }
[ -z "$BEFORE" ] || [ -x "$BEFORE" ] || { echo "--before: $BEFORE is not a program" >&2; exit 1; }
for c in jq bc ss; do command -v $c >/dev/null || { echo "$c is needed" >&2; exit 1; }; done

# A network namespace of our own: exact TCP counts, and no port is shared.
NETNS=0
if [ -n "${GL_SCALE_IN_NETNS:-}" ]; then
    NETNS=1
    ip link set lo up
elif [ "$(id -u)" = 0 ] && unshare --net true 2>/dev/null; then
    exec unshare --net env GL_SCALE_IN_NETNS=1 "$0" "${ARGS[@]}"
fi
AFTER=$GLPEER
export GLPEER BUILD="$top/build"
. "$top/t/integ/lib.sh"
# The cluster.conf of lib.sh's tests may name fields an older glpeer
# (--before) does not know; these agents run no job, so they get the
# plain one.
write_conf() {
    {
        echo "cluster"
        echo "    name = \"test\""
        echo "    key_file = \"cluster.key\""
        echo "    seed = \"tcp://127.0.0.1:$BASE\""
        echo "idle"
        echo "    owner_idle_min = 0"
        echo "    owner_load_max = 1000"
        echo "    activity = \"$T/owner\""
        for line in "$@"; do echo "$line"; done
    } > "$T/cluster.conf"
}
ulimit -n 65536 2>/dev/null || true

log() { echo "[$(date +%T)] $*" >&2; }
cores=$(nproc)

# ---- a still /proc --------------------------------------------------------------
mkdir -p "$T/proc"
for f in stat loadavg meminfo; do cat "/proc/$f" > "$T/proc/$f"; done
# and a still owner, away for days: the machine's own terminals are every
# agent's here, so one keystroke on them would change every estimate at once
touch -d '3 days ago' "$T/owner"

# ---- measuring ------------------------------------------------------------------

# ns of CPU an agent's threads have used (schedstat: exact, unlike ticks)
cpu_ns() {
    local sum=0 t v
    for t in /proc/"$1"/task/*/schedstat; do
        read -r v _ < "$t" 2>/dev/null || continue
        sum=$((sum + v))
    done
    echo "$sum"
}
rss_kb() { awk '/^VmRSS:/ { print $2 }' "/proc/$1/status" 2>/dev/null || echo 0; }
tcp_field() {  # tcp_field NAME: from /proc/net/snmp (this namespace)
    awk -v f="$1" '/^Tcp:/ { if (!h) { for (i = 1; i <= NF; i++) k[i] = $i; h = 1 } else for (i = 1; i <= NF; i++) if (k[i] == f) print $i }' /proc/net/snmp
}
# established TCP connections per agent pid, one count a line
conns_per_agent() {
    ss -Htnp state established 2>/dev/null | grep -o 'pid=[0-9]*' | sort | uniq -c | awk '{ print $1 }'
    local n_with; n_with=$(ss -Htnp state established 2>/dev/null | grep -o 'pid=[0-9]*' | sort -u | wc -l)
    for _ in $(seq $((NOW_N - n_with))); do echo 0; done
}
median() { sort -n | awk '{ a[NR] = $1 } END { if (!NR) print 0; else print (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2 }'; }
maxof() { sort -n | tail -n 1; }
# seconds since the epoch, with ms, of a log line's ISO time (UTC)
log_secs() {
    awk '{ split($1, d, /[-T:Z]/); y = d[1]; m = d[2]; dd = d[3]
           if (m <= 2) { y--; m += 12 }
           days = 365 * y + int(y / 4) - int(y / 100) + int(y / 400) + int((153 * (m - 3) + 2) / 5) + dd - 719469
           printf "%.3f\n", days * 86400 + d[4] * 3600 + d[5] * 60 + d[6] }'
}
# knows NAME: how many other agents NAME's log says joined (any life)
knows() { grep -o ' joined: [^ ]*' "$T/$1.log" 2>/dev/null | sort -u | wc -l; }
now_s() { awk -v n="$(date +%s%N)" 'BEGIN { printf "%.3f", n / 1e9 }'; }
# dead_since LOG NAME SECS: the time of the first "dead: NAME" that LOG
# has at or after SECS (a death logged before the kill was a false one)
dead_since() { grep " dead: $2 " "$1" | log_secs | awk -v k="$3" '$1 >= k - 0.01 { print; exit }'; }
all_dead_since() {  # all_dead_since NAME SECS SURVIVORS...
    local v=$1 k=$2 s; shift 2
    for s in "$@"; do [ -n "$(dead_since "$T/$s.log" "$v" "$k")" ] || return 1; done
}

# ---- one size -------------------------------------------------------------------

declare -A R=()     # results: R[label,N,field]
RUN=0
NOW_N=0

run_size() {  # run_size LABEL BINARY N
    local label=$1 bin=$2 n=$3
    RUN=$((RUN + 1))
    BASE=$((10000 + (RUN % 8) * 2600))
    GLPEER=$bin
    NOW_N=$n
    local dir=$T/run$RUN; mkdir -p "$dir"
    local extra=()
    [ "$REAL_PROC" = 1 ] || extra=("    proc_dir = \"$T/proc\"")
    [[ $label == peers* ]] && extra+=("gossip" "    gossip_peers = ${label#peers}")
    [[ $label == rings* ]] && extra+=("gossip" "    probe_rings = ${label#rings}")
    write_conf "${extra[@]}"
    local names=() i
    for i in $(seq 0 $((n - 1))); do names+=("r${RUN}n$i"); done
    R[$label,$n,load0]=$(cut -d' ' -f1-3 /proc/loadavg)
    log "$label: starting $n agents"
    local b0 k
    for b0 in $(seq 0 "$BATCH" $((n - 1))); do
        for i in $(seq "$b0" $((b0 + BATCH - 1))); do [ "$i" -lt "$n" ] && start_peer "${names[$i]}" "$i"; done
        [ $((b0 + BATCH)) -lt "$n" ] || break
        for k in $(seq 100); do
            grep -q ' listening on ' "$T/${names[$((b0 + BATCH - 1))]}.log" 2>/dev/null && break
            sleep 0.1
        done
        if [ "$GENTLE" = 1 ]; then
            # every agent started so far knows all the others (its log's
            # joins), 60 s at most: start-up apart from the next batch's
            local upto=$((b0 + BATCH)) j slow
            for k in $(seq 600); do
                slow=0
                for j in $(seq 0 $((upto - 1))); do
                    [ "$(knows "${names[$j]}")" -ge $((upto - 1)) ] || { slow=1; break; }
                done
                [ $slow = 0 ] && break
                sleep 0.1
            done
            log "$label: $upto agents up, $([ $slow = 0 ] && echo "all know each other" || echo "not all know each other after 60 s")"
        else
            sleep 1
        fi
    done

    # convergence: poll until each agent knows n alive, then take the times
    # from the logs (the last "joined" line of each agent, against the
    # latest start line of all)
    local pending=("${names[@]}") left end=$(( $(date +%s) + 180 ))
    while [ ${#pending[@]} -gt 0 ] && [ "$(date +%s)" -lt "$end" ]; do
        left=()
        # the deadline holds within a round too: at 256 agents on 2 cores
        # under a false-death storm one round of status calls took minutes
        # an agent whose log has not n - 1 joins yet is not asked: a
        # status call costs it (and the machine) a JSON of all members
        for o in "${pending[@]}"; do
            if [ "$(date +%s)" -ge "$end" ] || [ "$(knows "$o")" -lt $((n - 1)) ] ||
                [ "$(count "$o" alive)" != "$n" ]; then left+=("$o"); fi
        done
        pending=("${left[@]+"${left[@]}"}")
        [ ${#pending[@]} -gt 0 ] && sleep 1
    done
    if [ ${#pending[@]} -gt 0 ]; then
        R[$label,$n,stop]="${#pending[@]} of $n agents did not see all $n alive within 3 minutes"
        stop_size "${names[@]}"; return 1
    fi
    local last_start conv
    last_start=$(for o in "${names[@]}"; do grep -m1 ' listening on ' "$T/$o.log"; done | log_secs | sort -n | tail -n 1)
    conv=$(for o in "${names[@]}"; do grep ' joined: ' "$T/$o.log" | tail -n 1; done | log_secs | sort -n | tail -n 1)
    R[$label,$n,converge]=$(awk -v a="$last_start" -v b="$conv" 'BEGIN { printf "%.2f", b - a }')
    log "$label: $n agents converged, ${R[$label,$n,converge]} s after the last start"

    # steady state
    sleep "$SETTLE"
    local pids=() o
    for o in "${names[@]}"; do pids+=("${PID[$o]}"); done
    # The agents' packet counters are read just before and after the
    # window, not in it: a `glpeer status` costs the agent its JSON and a
    # read of /proc/net/tcp, which grow with the cluster, and the CPU
    # measured is the idle agent's alone.
    declare -A c0=()
    local t0 t1 s0 s1 a0 a1 m0 m1 mt0 mt1
    mt0=$(date +%s%N)
    m0=$(for o in "${names[@]}"; do status "$o" | jq '.counters.msgs_out + .counters.msgs_in'; done | paste -sd+ | bc)
    for p in "${pids[@]}"; do c0[$p]=$(cpu_ns "$p"); done
    t0=$(date +%s%N)
    if [ $NETNS = 1 ]; then s0=$(tcp_field OutSegs); a0=$(tcp_field ActiveOpens); fi
    local conns=()
    for k in 1 2 3; do
        sleep $((WINDOW / 3))
        conns+=($(conns_per_agent))
    done
    if [ $NETNS = 1 ]; then s1=$(tcp_field OutSegs); a1=$(tcp_field ActiveOpens); fi
    t1=$(date +%s%N)
    local cpus=() rss=()
    for p in "${pids[@]}"; do
        cpus+=("$(awk -v a="${c0[$p]}" -v b="$(cpu_ns "$p")" -v t0="$t0" -v t1="$t1" 'BEGIN { printf "%.4f", (b - a) / (t1 - t0) * 100 }')")
        rss+=("$(rss_kb "$p")")
    done
    m1=$(for o in "${names[@]}"; do status "$o" | jq '.counters.msgs_out + .counters.msgs_in'; done | paste -sd+ | bc)
    mt1=$(date +%s%N)
    local secs msecs
    secs=$(awk -v a="$t0" -v b="$t1" 'BEGIN { print (b - a) / 1e9 }')
    msecs=$(awk -v a="$mt0" -v b="$mt1" 'BEGIN { print (b - a) / 1e9 }')
    R[$label,$n,cpu]=$(printf '%s\n' "${cpus[@]}" | median)
    R[$label,$n,cpu_max]=$(printf '%s\n' "${cpus[@]}" | maxof)
    R[$label,$n,cpu_total]=$(printf '%s\n' "${cpus[@]}" | paste -sd+ | bc)
    R[$label,$n,rss]=$(printf '%s\n' "${rss[@]}" | median)
    R[$label,$n,conns]=$(printf '%s\n' "${conns[@]}" | median)
    R[$label,$n,conns_max]=$(printf '%s\n' "${conns[@]}" | maxof)
    R[$label,$n,pkts]=$(awk -v m0="$m0" -v m1="$m1" -v n="$n" -v s="$msecs" 'BEGIN { printf "%.1f", (m1 - m0) / 2 / n / s }')
    if [ $NETNS = 1 ]; then
        R[$label,$n,segs]=$(awk -v a="$s0" -v b="$s1" -v n="$n" -v s="$secs" 'BEGIN { printf "%.1f", (b - a) / n / s }')
        R[$label,$n,opens]=$(awk -v a="$a0" -v b="$a1" -v n="$n" -v s="$secs" 'BEGIN { printf "%.2f", (b - a) / n / s }')
    fi
    log "$label: $n agents: CPU ${R[$label,$n,cpu]} % median (max ${R[$label,$n,cpu_max]}, all ${R[$label,$n,cpu_total]} % of a core), RSS ${R[$label,$n,rss]} kB, connections ${R[$label,$n,conns]} (max ${R[$label,$n,conns_max]}), packets ${R[$label,$n,pkts]}/s, segments ${R[$label,$n,segs]:-?}/s, opens ${R[$label,$n,opens]:-?}/s"

    # SIGKILL detection
    local dets=() lasts=() victims=() t
    declare -A killed_at=()
    for t in $(seq 1 "$TRIALS"); do
        local v=${names[$(( (n / 2 + t * 7) % n ))]}
        [ "$v" = "${names[0]}" ] && v=${names[1]}
        victims+=("$v")
        local kill_s; kill -9 "${PID[$v]}"; kill_s=$(now_s); killed_at[$v]=$kill_s
        unset "PID[$v]"
        local survivors=() s
        for s in "${names[@]}"; do
            local gone=0 x; for x in "${victims[@]}"; do [ "$s" = "$x" ] && gone=1; done
            [ $gone = 0 ] && survivors+=("$s")
        done
        if ! wait_until 120 all_dead_since "$v" "$kill_s" "${survivors[@]}"; then
            R[$label,$n,stop]="$v was not declared dead by every survivor within 120 s"
            stop_size "${names[@]}"; return 1
        fi
        local ts; ts=$(for s in "${survivors[@]}"; do dead_since "$T/$s.log" "$v" "$kill_s"; done | awk -v k="$kill_s" '{ printf "%.2f\n", $1 - k }')
        dets+=("$(echo "$ts" | median)"); lasts+=("$(echo "$ts" | maxof)")
        log "$label: $v killed: dead at the median survivor after $(echo "$ts" | median) s, at all after $(echo "$ts" | maxof) s"
        sleep 2
    done
    R[$label,$n,detect]=$(printf '%s\n' "${dets[@]}" | median)
    R[$label,$n,detect_all]=$(printf '%s\n' "${lasts[@]}" | median)
    # false deaths: a death logged of an agent that was not killed, or of
    # one before it was
    local kills=""; for v in "${victims[@]}"; do kills+="$v=${killed_at[$v]} "; done
    R[$label,$n,false]=$(for o in "${names[@]}"; do grep ' dead: ' "$T/$o.log" || true; done |
        awk -v kills="$kills" 'BEGIN { n = split(kills, kv, " "); for (i = 1; i <= n; i++) { split(kv[i], p, "="); at[p[1]] = p[2] } }
            { split($1, d, /[-T:Z]/); y = d[1]; m = d[2]; dd = d[3]; if (m <= 2) { y--; m += 12 }
              t = (365 * y + int(y / 4) - int(y / 100) + int(y / 400) + int((153 * (m - 3) + 2) / 5) + dd - 719469) * 86400 + d[4] * 3600 + d[5] * 60 + d[6]
              for (i = 1; i <= NF; i++) if ($i == "dead:") name = $(i + 1)
              if (!(name in at) || t < at[name] - 0.01) f++ }
            END { print f + 0 }')
    R[$label,$n,suspicions]=$(for o in "${names[@]}"; do grep ' suspect: ' "$T/$o.log" | grep -Ev "$(printf ' suspect: %s |' "${victims[@]}" | sed 's/|$//')" || true; done | wc -l)
    R[$label,$n,load1]=$(cut -d' ' -f1-3 /proc/loadavg)
    stop_size "${names[@]}"
    return 0
}

stop_size() {
    local o
    for o in "$@"; do
        [ -n "${PID[$o]:-}" ] && kill -9 "${PID[$o]}" 2>/dev/null || true
    done
    sleep 1
    if [ -n "$KEEP" ]; then mkdir -p "$KEEP/run$RUN"; for o in "$@"; do cp "$T/$o.log" "$KEEP/run$RUN/" 2>/dev/null || true; done; fi
    for o in "$@"; do rm -rf "${T:?}/$o" "$T/$o.log"; unset "PID[$o]"; done
}

# ---- the sizes ---------------------------------------------------------------------

labels=(after); [ -n "$BEFORE" ] && labels+=(before)
declare -A BIN=([after]=$AFTER [before]=$BEFORE)
if [ -n "$PEERS" ]; then labels+=("peers$PEERS"); BIN[peers$PEERS]=$AFTER; fi
if [ -n "$RINGS" ]; then labels+=("rings$RINGS"); BIN[rings$RINGS]=$AFTER; fi
declare -A STOPPED=()
done_sizes=()
prev_n=0
for n in $SIZES; do
    for label in "${labels[@]}"; do
        [ -n "${STOPPED[$label]:-}" ] && continue
        # can the machine hold it?
        if [ "$prev_n" -gt 0 ] && [ -n "${R[$label,$prev_n,rss]:-}" ]; then
            avail=$(awk '/^MemAvailable:/ { print $2 }' /proc/meminfo)
            need=$(( ${R[$label,$prev_n,rss]%.*} * n * 3 / 2 + 2097152 ))
            if [ "$need" -gt "$avail" ]; then
                STOPPED[$label]="$n agents would need about $((need / 1024)) MB, $((avail / 1024)) MB available"
                continue
            fi
            busy=$(awk -v c="${R[$label,$prev_n,cpu_total]}" -v k="$cores" 'BEGIN { print (c > 60 * k) }')
            if [ "$busy" = 1 ]; then
                STOPPED[$label]="at $prev_n agents they used ${R[$label,$prev_n,cpu_total]} % of one core together, over 60 % of the machine's $cores: a larger cluster would measure the machine, not the agent"
                continue
            fi
        fi
        if run_size "$label" "${BIN[$label]}" "$n"; then
            done_sizes+=("$label,$n")
        else
            STOPPED[$label]="at $n agents: ${R[$label,$n,stop]}"
        fi
    done
    prev_n=$n
done

# ---- the report ----------------------------------------------------------------------

echo
echo "bench/agents-scale.sh $(date -u '+%Y-%m-%d %H:%M UTC'), $(git -C "$top" log -1 --format=%h 2>/dev/null || echo '?'), $cores cores, $(awk '/^MemTotal:/ { printf "%.0f GB", $2 / 1048576 }' /proc/meminfo); window ${WINDOW} s after ${SETTLE} s of settling; started $BATCH at a time$([ "$GENTLE" = 1 ] && echo ", each batch once the agents before it knew each other"); $([ "$REAL_PROC" = 1 ] && echo "real /proc" || echo "a still /proc"); $([ $NETNS = 1 ] && echo "a network namespace of its own" || echo "the machine's network namespace (no TCP counts)")"
echo
echo "| transport | agents | CPU per agent, % of a core (median / max) | RSS, MB | TCP segments/s sent | packets/s sent | connections opened/s | connections held (median / max) | converged after the last start, s | SIGKILL seen, s (median survivor / all) | false deaths (suspicions) | load average before -> after |"
echo "|---|---|---|---|---|---|---|---|---|---|---|---|"
for key in "${done_sizes[@]}"; do
    label=${key%,*}; n=${key#*,}
    echo "| $label | $n | ${R[$key,cpu]} / ${R[$key,cpu_max]} | $(awk -v k="${R[$key,rss]}" 'BEGIN { printf "%.1f", k / 1024 }') | ${R[$key,segs]:--} | ${R[$key,pkts]} | ${R[$key,opens]:--} | ${R[$key,conns]} / ${R[$key,conns_max]} | ${R[$key,converge]} | ${R[$key,detect]} / ${R[$key,detect_all]} | ${R[$key,false]} (${R[$key,suspicions]}) | ${R[$key,load0]} -> ${R[$key,load1]} |"
done
for label in "${labels[@]}"; do
    echo
    echo "$label: ${STOPPED[$label]:-ran every size asked for}"
done
echo
echo "memberlist, beside it: a probe a second (PING and ACK, UDP), gossip to gossip_nodes = 3 random members every gossip_interval = 200 ms of what could not ride on probes, a TCP push-pull every 30 s (the defaults, developer.hashicorp.com/consul/docs/reference/agent/configuration-file/gossip): about 20 UDP packets a second per node at most, whatever the cluster's size, and no connection kept between members (issue 14's figure)."
