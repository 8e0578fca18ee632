# The tree keeps its own rules (ARCHITECTURE.md): dependencies point down
# the layers, and the C sources are formatted by .clang-format.
set -uo pipefail
top=$(cd "$(dirname "$0")/../.." && pwd)
cd "$top"
fail() { echo "FAIL: $*"; exit 1; }

# Layers: a folder may include headers of its own and of the folders
# listed for it, never of one above.  (Quoted includes only: system
# headers are not ours.)
allowed() {
    case "$1" in
        core) echo "core" ;;
        gossip) echo "gossip core" ;;
        sfi) echo "sfi core" ;;
        checkpoint) echo "checkpoint core" ;;
        sched) echo "sched checkpoint gossip sfi core" ;;
        shim) echo "shim checkpoint core" ;;
        cmd) echo "cmd shim checkpoint sched gossip sfi core" ;;
    esac
}
# where each header of ours lives: "name.h folder"
headers=$(git ls-files 'core/*.h' 'gossip/*.h' 'sched/*.h' 'sfi/*.h' 'checkpoint/*.h' \
    'shim/*.h' 'cmd/*.h' | awk -F/ '{ print $NF, $1 }')
bad=0
for f in $(git ls-files 'core/*.[ch]' 'gossip/*.[ch]' 'sched/*.[ch]' 'sfi/*.[ch]' \
    'checkpoint/*.[ch]' 'shim/*.[ch]' 'cmd/*.[ch]'); do
    case "$f" in sfi/rt/*) continue ;; esac # module code, built by glsfi-cc
    layer=${f%%/*}
    for inc in $(sed -n 's/^#include "\([^"]*\)".*/\1/p' "$f"); do
        home=$(echo "$headers" | awk -v h="$(basename "$inc")" '$1 == h { print $2; exit }')
        [ -n "$home" ] || continue # a generated or system-like header (config.h)
        case " $(allowed "$layer") " in
            *" $home "*) ;;
            *) echo "$f includes $inc from $home/, a layer $layer/ may not use"; bad=1 ;;
        esac
    done
done
[ $bad -eq 0 ] || fail "includes run against the layers"
echo "layers: every include points down"

# Format: what clang-format would change, file by file.
if ! command -v clang-format >/dev/null; then
    echo "clang-format is not installed (apt-get install clang-format)"
    exit 77
fi
unformatted=$(for f in $(git ls-files '*.c' '*.h'); do
    clang-format --dry-run "$f" 2>&1 | grep -q warning && echo "$f"
done)
[ -z "$unformatted" ] || fail "not formatted by .clang-format (run clang-format -i): $unformatted"
echo "format: $(git ls-files '*.c' '*.h' | wc -l) C files as .clang-format has them"
