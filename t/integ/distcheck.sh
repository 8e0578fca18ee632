# The build as packagers use it: from a fresh build directory, `make
# distcheck` makes the release tarball, builds it in a read-only source
# tree, runs `make check` (the unit tests), installs, uninstalls and
# checks that distclean leaves nothing behind.
set -uo pipefail
top=$(cd "$(dirname "$0")/../.." && pwd)
fail() { echo "FAIL: $*"; exit 1; }
[ -x "$top/configure" ] || { echo "no configure script: run ./autogen.sh first"; exit 77; }
[ -f "$top/Makefile" ] && { echo "the source tree is configured in place: distcheck needs a clean one"; exit 77; }
d=$(mktemp -d /tmp/glunix-distcheck.XXXXXX)
trap 'chmod -R u+w "$d" 2>/dev/null; rm -rf "$d"' EXIT
cd "$d"
# The tarball's configure is this one: its checks' results, cached here,
# serve the build of the tarball too (which still runs configure).  That
# build is not optimized: the optimized build of the same sources is the
# one the rest of the suite runs, and the optimizer is two thirds of the
# compiler's time; what is checked here is that the tarball is whole,
# builds outside its read-only tree, passes its unit tests, installs,
# uninstalls and cleans up.
flags="CFLAGS=-O0"
"$top/configure" -q -C "$flags" > configure.log 2>&1 || { cat configure.log; fail "configure"; }
if ! make -j"$(nproc)" distcheck DISTCHECK_CONFIGURE_FLAGS="--cache-file=$d/config.cache $flags" \
        > distcheck.log 2>&1; then
    tail -n 40 distcheck.log
    # a unit test that failed in the tarball's build: its own output
    # (automake's test-suite.log holds each failed test's log)
    for f in glunix-*/_build/sub/test-suite.log; do
        [ -f "$f" ] && { echo "--- $f"; sed -n '/^FAIL: /,$p' "$f" | head -n 150; }
    done
    fail "make distcheck"
fi
grep -q "^configure: loading cache $d/config.cache" distcheck.log || fail "the tarball's configure did not use the cache"
grep -E "^# (TOTAL|PASS|SKIP|FAIL)" distcheck.log
tail -n 3 distcheck.log | grep -q "archives ready for distribution" || fail "no tarball"
echo "make distcheck: $(ls glunix-*.tar.gz)"
