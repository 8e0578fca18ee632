/*  cred.c -- job credentials.  See cred.h. */
#include "cred.h"
#include "err.h"
#include "str.h"

#include <string.h>

#define CRED_TAG "glunix-cred-1"

/* The signed bytes; 0 with *len, or -1 when a part is too long to say. */
static int cred_bytes (const char *cluster, const gl_job_t *run, uint64_t expiry, uint8_t *out,
                       size_t cap, size_t *len)
{
    const char *parts[] = { CRED_TAG, cluster, run->user, run->home, run->gpid };
    size_t n = 0;
    for (size_t i = 0; i < sizeof parts / sizeof parts[0]; i++) {
        size_t k = strlen (parts[i]);
        if (k > 255 || n + 1 + k > cap)
            return -1;
        out[n++] = (uint8_t) k;
        memcpy (out + n, parts[i], k);
        n += k;
    }
    if (n + 8 > cap)
        return -1;
    for (int i = 0; i < 8; i++)
        out[n++] = (uint8_t) (expiry >> (8 * (7 - i)));
    *len = n;
    return 0;
}

int cred_sign (gl_ident_t *ident, const char *cluster, gl_job_t *run, uint64_t now_wall_ms)
{
    uint8_t bytes[512];
    size_t len;
    uint64_t expiry = now_wall_ms + CRED_TTL_MS;
    if (cred_bytes (cluster, run, expiry, bytes, sizeof bytes, &len) ||
        gl_ident_sign_bytes (ident, bytes, len, run->cred_sig))
        return -1;
    run->cred_expiry_ms = expiry;
    return 0;
}

int cred_check (const char *cluster, const gl_job_t *run, const uint8_t pubkey[GL_PUBKEY_BYTES],
                uint64_t now_wall_ms, uint64_t window_ms, const char **why)
{
    uint8_t bytes[512];
    size_t len;
    if (!run->cred_expiry_ms)
        return gl_why (why, "no credential from its home");
    if (cred_bytes (cluster, run, run->cred_expiry_ms, bytes, sizeof bytes, &len) ||
        gl_sig_verify (bytes, len, run->cred_sig, pubkey))
        return gl_why (why, "its credential is not signed by its home's node key");
    if (run->cred_expiry_ms + window_ms < now_wall_ms)
        return gl_why (why, "its credential has expired");
    if (run->cred_expiry_ms > now_wall_ms + CRED_TTL_MS + window_ms)
        return gl_why (why, "its credential expires too far ahead");
    return 0;
}
