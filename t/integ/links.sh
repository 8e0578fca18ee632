# The agent's connections are bounded (transport/max_links): 12 agents
# with a cap of 4 open no more than 4 links each (links held for a job
# aside), close the least recently used to make room, and stay converged
# with no false death; a job's streams, both ways, survive while its
# agents open, evict and close other links around them.
# sanitizers: yes
. "$(dirname "$0")/lib.sh"
GLX="$BUILD/glx"
# refreshes every 2 s keep gossip going, to every member in turn; links
# idle for 4 s would stay open under that traffic, so the cap is what
# closes them (a longer link_idle would let every agent answer and probe
# down the others' links, as it should, and open hardly any of its own).
# Probes go to every member in turn (probe_rings = 0): on the rings an
# agent probes its 4 successors alone, which 4 links hold, and the cap
# would seldom be reached
write_conf "    refresh_interval = 2s" "gossip" "    gossip_peers = 3" "    probe_rings = 0" \
    "transport" "    max_links = 4" "    link_idle = 4s"
names=(a b c d e f g h i j k l)
for i in "${!names[@]}"; do start_peer "${names[$i]}" "$i"; done
wait_until 60 all_alive 12 "${names[@]}" || fail "no convergence"
say "12 agents converged with max_links = 4"

# links open per agent, held ones aside, sampled: never over 4; each agent
# evicted some (11 members to reach through 4 links)
cost() { status "$1" | jq -r ".cost.$2"; }
for round in 1 2 3 4 5; do
    for n in "${names[@]}"; do
        s=$(status "$n")
        free=$(echo "$s" | jq '.cost.links - .cost.links_held')
        [ "$free" -le 4 ] || fail "$n holds $free links, cap 4: $(echo "$s" | jq -c .cost)"
        [ "$(echo "$s" | jq .cost.max_links)" = 4 ] || fail "$n: max_links $(echo "$s" | jq .cost.max_links)"
    done
    sleep 1
done
# (the round robin reaches all 11 others within 11 probe intervals: an
# agent that needed only its 4 links in the rounds above evicts by then)
evicted() { [ "$(cost "$1" links_evicted)" -gt 0 ]; }
for n in "${names[@]}"; do
    wait_until 15 evicted "$n" || fail "$n evicted no link: $(status "$n" | jq -c .cost)"
done
say "at most 4 links each, and every agent evicted some"

# a job on l, from a: 10 MB through stdin and back, and output over 6 s,
# while a and l evict links to the rest
export GLUNIX_RUNTIME_DIR="$T/a/run"
# links a opened, evicted or let expire: its table changing around the
# job's held link (answers down the others' links spare it most set-ups,
# so any of the three is counted)
churn() { status a | jq '.cost.links_opened + .cost.links_evicted + .cost.links_expired'; }
ev0=$(churn)
head -c 10000000 /dev/urandom > "$T/in.bin"
"$GLX" -w l cat < "$T/in.bin" > "$T/out.bin" || fail "cat through glx failed"
cmp -s "$T/in.bin" "$T/out.bin" || fail "10 MB came back different"
"$GLX" -w l sh -c 'i=0; while [ $i -lt 30 ]; do i=$((i + 1)); echo "line $i"; sleep 0.2; done' > "$T/slow" &
g=$!
held=0
for _ in $(seq 20); do
    [ "$(cost a links_held)" -ge 1 ] && [ "$(cost l links_held)" -ge 1 ] && held=1
    sleep 0.2
done
wait $g || fail "the slow job failed: $(tail -n 3 "$T/slow")"
[ "$held" = 1 ] || fail "the job's link was never shown held"
i=0
while read -r line; do
    i=$((i + 1))
    [ "$line" = "line $i" ] || fail "slow job: line $i is '$line'"
done < "$T/slow"
[ "$i" = 30 ] || fail "slow job: $i lines of 30"
ev1=$(churn)
[ "$ev1" -gt "$ev0" ] || fail "a opened, evicted and closed no link while the jobs ran ($ev0 -> $ev1): $(status a | jq -c .cost)"
say "the jobs' streams came through whole while a opened, evicted or closed $((ev1 - ev0)) links"

# no false death all along
for n in "${names[@]}"; do
    [ "$(status "$n" | jq .counters.gossip.deaths)" = 0 ] || fail "$n declared a death: $(grep -h ' dead: ' "$T"/*.log)"
    [ "$(count "$n" alive)" = 12 ] || fail "$n sees $(count "$n" alive) alive"
done
say "no false death"
