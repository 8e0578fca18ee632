# Checkpoints of process trees (checkpoint/tree.h): a job of several
# processes is judged and taken as one, with the host's side of
# ckpt_proto.h played by t/ckpt/ckhost, as an unprivileged user (nobody
# when the suite runs as root).
# - a shell pipeline (a loop piping through a filter) and a parent with
#   forked workers are movable;
# - a tree with an unmovable member is refused with that member's
#   reason: a TCP socket, a program without the shim, a zombie.
# sanitizers: yes
. "$(dirname "$0")/lib.sh"
set +e
HOST="$BUILD/t/ckpt/ckhost"
TREE="$BUILD/t/ckpt/cktree"
PROG="$BUILD/t/ckpt/ckcompute"
SHIM="$BUILD/libglshim.so"
for f in "$HOST" "$TREE" "$PROG" "$SHIM"; do [ -f "$f" ] || fail "no $f"; done
cd "$T" || fail "no $T"
chmod 777 "$T"

# unpriv CMD...: as nobody when root, else as we are
unpriv() {
    if [ "$(id -u)" = 0 ]; then
        setpriv --reuid=nobody --regid="$(id -g nobody)" --clear-groups -- "$@"
    else
        "$@"
    fi
}
if [ "$(id -u)" = 0 ] && ! setpriv --reuid=nobody --regid="$(id -g nobody)" --clear-groups -- \
    test -r "$SHIM" -a -x "$TREE"; then
    echo "the build tree is not readable by nobody: cannot run unprivileged"
    exit 77
fi

# refused NAME PATTERN ARGS...: a probe of the program once it said
# ready (or $MARK) refused, its reason matching PATTERN (grep -E)
refused() {
    local name=$1 pat=$2
    shift 2
    unpriv "$HOST" -p "$SHIM" -r probe -w "${MARK:-ready}" -o "$name.out" -- "$@" > "$name.txt" ||
        { cat "$name.txt"; fail "$name: no answer"; }
    grep -Eq "^REFUSE $pat\$" "$name.txt" || fail "$name: $(grep -v '^START' "$name.txt")"
    say "$name: $(grep '^REFUSE' "$name.txt")"
}

# ---- unmovable members: the tree is refused with the member's reason ------------------
refused tcp 'process [0-9]+ \(ckcompute\): fd [0-9]+: a TCP socket to 127\.0\.0\.1:[0-9]+' \
    sh -c "\"$PROG\" socket; true"
refused noshim 'process [0-9]+ \(sleep\) runs without the shim .*' \
    sh -c 'GLUNIX_SHIM=0 sleep 5 & sleep 0.3; echo ready; wait'
refused zombie 'process [0-9]+ \(cktree\) has ended and was not waited for .*' "$TREE" zombie

# ---- movable trees: judged whole (every member asked), not restored yet ------------------
loop='i=0; while [ $i -lt 40 ]; do i=$((i+1)); echo "line $i"; sleep 0.05; done'
MARK="LINE 3" refused pipeline 'a job of [0-9]+ processes: they can be checkpointed as one, but glrestore does not restore process trees yet' \
    sh -c "$loop | sed -u s/line/LINE/"
refused workers 'a job of 4 processes: .* not restore process trees yet' "$TREE" workers 3 6
say "ok"
