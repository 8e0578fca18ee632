# A shell forking as fast as it can, moved back and forth: a bash loop of
# subshells, `echo | while read` and `seq | awk | sort`, moved b<>c a
# dozen times while it runs.  Its output is an undisturbed run's, byte
# for byte, and no move is refused for good: a move catches the shell's
# processes in every state (a pipeline being made, a stage that just
# ended, awk starting inside setlocale).  What this caught before:
# - awk restored inside setlocale: glibc's locale lock stayed written,
#   and the job hung (checkpoint/owners.h);
# - "a pipe to a process outside the job": the root judged its own pipe
#   ends before listing its processes, and a stage that ended between
#   the two left its reader's end with nothing to pair (tree.c:
#   end_widowed);
# - a line doubled when the move caught a fork as its clone returned
#   (shim/pids.c).
# Not against the sanitizers' build (glrestore there carries their
# runtime, as integ/migrate).
. "$(dirname "$0")/lib.sh"
GLX="$BUILD/glx"
set +e
moves_possible bash awk sort seq
start_abc

cat > "$T/script.sh" <<'SH'
for i in $(seq 1 "$1"); do
    ( echo "sub $i" )
    echo "$i $((i * i))" | while read -r a b; do echo "read $a $b"; done
    seq 1 50 | awk -v k="$i" '{ s += $1 * k } END { print s }' | sort
done
SH
moved_start shell script.sh bash "$T/script.sh" 900
moves=0
for m in $(seq 1 12); do
    kill -0 "$g" 2> /dev/null || break
    to=$(other_node "$gpid")
    if res=$("$GLPEER" migrate "$gpid" "$to" --runtime-dir "$T/c/run" 2>&1); then
        moves=$((moves + 1))
    else
        # the host asks again after a refusal for an instant; one for
        # good names a process and a descriptor
        case "$res" in
            *"ended on"* | *"no running job"*) break ;;
            *"try again"*) ;;
            *"outside the job"* | *"cannot move"* | *"stays on"*) fail "move $m refused: $res" ;;
        esac
    fi
    say "move $m to $to after line $(lines "$out"): $res"
    sleep 0.2
done
[ "$moves" -ge 6 ] || fail "the script moved $moves times, not 6 or more"
moved_same shell
echo "PASS migrate_shell: $moves moves, the same output"
