/* policy.c -- the trivial policy of the gate comparison in bench/sfi.sh,
   built as a glsfi module (called through the gate) and natively (called
   as a plain function, and by the server process of the Unix-socket
   alternative). */
#include <glsfi.h>

GLSFI_EXPORT long policy (long uid)
{
    return uid < 1000 ? 0 : uid & 1;
}
