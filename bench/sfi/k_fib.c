/* fib: naive recursive Fibonacci: almost nothing but calls and returns. */
#include "bench.h"

__attribute__ ((noinline)) static uint32_t fib (uint32_t n)
{
    return n < 2 ? n : fib (n - 1) + fib (n - 2);
}

EXPORT long RUN (long n)
{
    return fold (mix64 (fib ((uint32_t) n)));
}
