/*  aesgcm.h -- AES-256-GCM sealing on the CPU's AES and carry-less
    multiply instructions (x86-64's AES-NI and PCLMULQDQ, and where the
    CPU has them VAES and VPCLMULQDQ on 256-bit registers), for the
    shim's image writer, which seals a move's image itself onto the
    move's own connection (writer.c; imgseal.h is the stream), and for
    the stream's other ends (imgseal.c: the agent's sealing, glx's of a
    restart's image, glrestore's opening) where the CPU has them.

    Why not libcrypto, as imgseal.c uses on a CPU without them: the
    writer is a raw fork of a process whose threads were stopped
    anywhere, inside malloc or inside the job's own libcrypto holding
    its locks; libcrypto's contexts
    allocate, and its first use takes locks (its library context, its
    algorithm fetch), any of which may stay held forever in that fork.
    And libglshim.so is preloaded into every job: libcrypto would be
    loaded into every process (4 MiB, its relocations on every exec) and
    its symbols would come before those of a job's own libcrypto.  Nor
    libsodium's crypto_aead_aes256gcm, which is safe there (no
    allocation, no lock once sodium_init ran) but half as fast on this
    generation of CPUs: 1.3-1.6 GB/s sealing 1 MiB chunks in place
    against this file's 3.0-3.2 on its 128-bit path, 5.7-6.1 on its
    256-bit one (one thread's CPU time, 512 MiB, libsodium 1.0.18 of
    Debian 12; bench/aesgcm_bench for the two paths and libcrypto), 0.2 s
    more of the writer's CPU per 512 MiB
    moved while the job shares the machine with it.  This
    is pure computation on the caller's memory: no allocation, no lock,
    no library call, no global state; its symbols are hidden in the
    shim.  The test (t/unit/test_aesgcm) holds this file to libcrypto
    and to the standard's vectors, and t/unit/test_imgseal holds the
    stream on each to the other.

    The shim only seals; aesgcm_open is the same computation run the
    other way, which the test holds to the sealing of both paths
    (glrestore opens with it, through imgseal.c).  Constant time (the
    instructions are). */
#ifndef GL_AESGCM_H
#define GL_AESGCM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define AESGCM_KEY   32
#define AESGCM_NONCE 12
#define AESGCM_TAG   16

/* A key's schedule: the 15 round keys, the powers H^1..H^8 of the hash
   key (byte-reflected) for the 128-bit path, H^16..H^1 in pairs with
   their Karatsuba sums for the 256-bit path, and the path this key
   takes (aesgcm.c says which and why), 16-byte aligned.  As secret as
   the key. */
typedef struct {
    _Alignas(16) uint8_t rk[15][16];
    _Alignas(16) uint8_t h[8][16];
    _Alignas(16) uint8_t hw[8][32];  /* lane 0 H^(16-2j), lane 1 H^(15-2j) */
    _Alignas(16) uint8_t hwk[8][32]; /* each lane's two halves added */
    bool wide;                       /* VAES and VPCLMULQDQ on ymm */
} aesgcm_t;

/* Has this CPU the instructions (AES-NI, PCLMULQDQ, SSSE3, SSE4.1)?
   Nothing else here may be called where it has not. */
bool aesgcm_usable (void);

/* The key's schedule, on the 256-bit path where the CPU has VAES,
   VPCLMULQDQ and AVX2 and the OS saves the ymm registers (g->wide),
   on the 128-bit one elsewhere. */
void aesgcm_init (aesgcm_t *g, const uint8_t key[AESGCM_KEY]);

/* The same, always on the 128-bit path: for t/unit/test_aesgcm and
   bench/aesgcm_bench, which hold the two paths to each other on one
   machine.  Nothing else calls it. */
void aesgcm_init_narrow (aesgcm_t *g, const uint8_t key[AESGCM_KEY]);

/* n bytes of in sealed into out (out may be in), with ad as additional
   data; the tag into tag. */
void aesgcm_seal (const aesgcm_t *g, const uint8_t nonce[AESGCM_NONCE], const uint8_t *ad,
                  size_t adlen, const uint8_t *in, size_t n, uint8_t *out, uint8_t tag[AESGCM_TAG]);

/* n bytes of in opened into out (out may be in) against ad and tag: 0,
   or -1 when the tag does not match, out then zeroed (in with it when
   out is in). */
int aesgcm_open (const aesgcm_t *g, const uint8_t nonce[AESGCM_NONCE], const uint8_t *ad,
                 size_t adlen, const uint8_t *in, size_t n, uint8_t *out,
                 const uint8_t tag[AESGCM_TAG]);

/* Zeros the schedule, in a way the compiler keeps. */
void aesgcm_wipe (aesgcm_t *g);

#endif
