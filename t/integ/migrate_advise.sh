# Memory a fork does not copy as it is, moved (checkpoint/forkadv.h).
# The image is written by a fork of the paused process: a mapping
# advised MADV_DONTFORK was not in it (node keeps its whole JavaScript
# heap in such mappings: a moved node crashed at once), and one advised
# MADV_WIPEONFORK was there as zeros.
# - ckadvise (the project's own, t/integ/ckadvise.c: 1 MiB advised
#   MADV_DONTFORK, 64 KiB MADV_WIPEONFORK, 2 MiB of which the upper half
#   MADV_DONTFORK; every step checks their bytes and forks a child that
#   must not have the first and the upper half, and must see the second
#   as zeros) moved b>c>b... eight times: its output as undisturbed,
#   byte for byte;
# - node, where it is installed: a script hashing and writing on a
#   timer, moved three times, its output as undisturbed.
# Not against the sanitizers' build (glrestore there carries their
# runtime, as integ/migrate).
. "$(dirname "$0")/lib.sh"
GLX="$BUILD/glx"
set +e
moves_possible
start_abc

moved_start ckadvise ckadvise "$BUILD/t/integ/ckadvise" 150
move_n 8
[ "$moves" -ge 6 ] || fail "ckadvise moved $moves times before it ended, not 6 or more"
moved_same ckadvise

if command -v node > /dev/null; then
    cat > "$T/tick.js" <<'JS'
const crypto = require('crypto');
let it = 0, h = crypto.createHash('sha256'), big = [];
const t = setInterval(() => {
    for (let i = 0; i < 20000; i++) h.update('x' + i * it);
    big.push(new Array(5000).fill(it));
    console.log('tick ' + it + ' ' + crypto.createHash('md5').update(String(it)).digest('hex') +
                ' ' + big.reduce((s, a) => s + a.length, 0));
    if (++it == 40) { clearInterval(t); console.log(h.digest('hex')); }
}, 100);
JS
    moved_start node tick.js node "$T/tick.js"
    move_n 3
    [ "$moves" -ge 3 ] || fail "node moved $moves times before it ended, not 3"
    moved_same node
else
    say "node is not installed: only ckadvise"
fi
echo "PASS migrate_advise: mappings advised MADV_DONTFORK and MADV_WIPEONFORK moved with their bytes and advice"
