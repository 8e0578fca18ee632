# glsim: a bounded search over random faults finds no violated invariant.
set -euo pipefail
GLSIM=${GLSIM:-${BUILD:-$(dirname "$0")/../../build}/glsim}
"$GLSIM" --search "${GLSIM_SEARCH_RUNS:-400}" --seed 7000
