# Four peers in four network namespaces, two per switch, the switches
# joined by one link.  Cutting that link splits the cluster: each side
# declares the other dead.  Restoring it heals the membership.
# The namespaces, bridges and veth pairs are made here and removed on exit.
. "$(dirname "$0")/lib.sh"
if [ "$(id -u)" -ne 0 ] || ! command -v ip >/dev/null; then echo "needs root and iproute2"; exit 77; fi
tag="gl$$"
sw="${tag}sw"
EXTRA_CLEANUP="for n in ${tag}1 ${tag}2 ${tag}3 ${tag}4 $sw; do ip netns del \$n 2>/dev/null; done"
ip netns add "$sw" || { echo "cannot create network namespaces here"; exit 77; }
ip -n "$sw" link add brA type bridge
ip -n "$sw" link add brB type bridge
ip -n "$sw" link add trunkA type veth peer name trunkB
ip -n "$sw" link set trunkA master brA
ip -n "$sw" link set trunkB master brB
for l in brA brB trunkA trunkB lo; do ip -n "$sw" link set "$l" up; done
for i in 1 2 3 4; do
    ns="${tag}$i"
    ip netns add "$ns"
    ip link add "eth$tag$i" netns "$ns" type veth peer name "port$i" netns "$sw"
    ip -n "$ns" link set "eth$tag$i" name eth0
    ip -n "$ns" addr add "10.231.77.$i/24" dev eth0
    ip -n "$ns" link set eth0 up
    ip -n "$ns" link set lo up
    ip -n "$sw" link set "port$i" master "$([ $i -le 2 ] && echo brA || echo brB)"
    ip -n "$sw" link set "port$i" up
done

for i in 1 2 3 4; do
    mkdir -p "$T/n$i"
    ip netns exec "${tag}$i" "$GLPEER" join "$T/cluster.conf" --name "n$i" \
        --bind "tcp://10.231.77.$i:7946" --seed "tcp://10.231.77.1:7946" --seed "tcp://10.231.77.3:7946" \
        --set gossip/pushpull_interval=5s \
        --runtime-dir "$T/n$i/run" --state-dir "$T/n$i/state" 2>> "$T/n$i.log" &
    PID[n$i]=$!
    disown "$!"
done
wait_until 30 all_alive 4 n1 n2 n3 n4 || fail "no convergence across the namespaces"
say "4 peers converged across namespaces"

ip -n "$sw" link set trunkA down
start=$(date +%s%N)
split() {
    everyone_sees dead n3 n1 n2 && everyone_sees dead n4 n1 n2 &&
    everyone_sees dead n1 n3 n4 && everyone_sees dead n2 n3 n4
}
wait_until 90 split || fail "the sides did not see each other fail: n1 sees n3 $(state n1 n3), n3 sees n1 $(state n3 n1)"
say "link cut: each side declared the other dead in $(elapsed_since "$start") s"
all_alive 2 n1 n2 && all_alive 2 n3 n4 || fail "a side lost its own members"

ip -n "$sw" link set trunkA up
start=$(date +%s%N)
wait_until 90 all_alive 4 n1 n2 n3 n4 || fail "membership did not heal: n1 sees $(count n1 alive) alive, n3 sees $(count n3 alive)"
say "link restored: membership healed in $(elapsed_since "$start") s"
