# Locks held across a move: glibc records their holder by thread id, and
# a restored thread has a new one (checkpoint/owners.h).  cklocks (the
# project's own, t/integ/cklocks.c) moved b>c>b... about ten times while
# - a thread holds a rwlock for writing, a recursive mutex twice and an
#   error-checking mutex (its unlocks used to fail with EPERM, and its
#   rwlock's unlock to count as a reader's, leaving it written: the
#   reader's 10 s limit ran out);
# - the main thread calls setlocale over and over, within glibc's own
#   rwlock (a move there left it written: the next setlocale waited for
#   ever);
# and it ends as an undisturbed run does, byte for byte.  Each of the
# three failed within the first moves before the fix.
# Not against the sanitizers' build (glrestore there carries their
# runtime, as integ/migrate).
. "$(dirname "$0")/lib.sh"
GLX="$BUILD/glx"
set +e
moves_possible
start_abc

moved_start cklocks cklocks "$BUILD/t/integ/cklocks" 250
move_n 10
[ "$moves" -ge 6 ] || fail "cklocks moved $moves times before it ended, not 6 or more"
moved_same cklocks
echo "PASS migrate_locks: locks held across $moves moves let go as undisturbed"
