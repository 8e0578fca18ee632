/*  test_cred.c -- job credentials: a RUN signed by its home's node key
    passes its host's check, and one that is unsigned, signed by another
    key, altered after signing (user, home, GPID, expiry), for another
    cluster, expired or dated too far ahead does not, each with its
    reason. */
#include "cred.h"
#include "tap.h"

#include <sodium.h>
#include <stdio.h>
#include <string.h>

static void refused (const gl_job_t *run, const uint8_t *pk, uint64_t now, const char *want,
                     const char *cluster)
{
    const char *why = NULL;
    CHECK_EQ (cred_check (cluster, run, pk, now, 60000, &why), -1);
    CHECK (why && strstr (why, want));
    if (!why || !strstr (why, want))
        fprintf (stderr, "  wanted '%s', got '%s'\n", want, why ? why : "(accepted)");
}

int main (void)
{
    if (sodium_init () < 0)
        return 1;
    uint8_t seed_a[32] = { 1 }, seed_b[32] = { 2 };
    gl_ident_t *home = gl_ident_new_ephemeral (7, seed_a);
    gl_ident_t *other = gl_ident_new_ephemeral (7, seed_b);
    CHECK (home && other);
    const uint8_t *pk = gl_ident_pubkey (home);
    uint64_t now = 1796539200000ull;

    gl_job_t run = { .type = GL_JOB_RUN };
    strcpy (run.user, "ann");
    strcpy (run.home, "a");
    strcpy (run.gpid, "a-7-1");
    refused (&run, pk, now, "no credential", "lab");
    CHECK_EQ (cred_sign (home, "lab", &run, now), 0);
    CHECK (run.cred_expiry_ms == now + CRED_TTL_MS);
    const char *why = NULL;
    CHECK_EQ (cred_check ("lab", &run, pk, now, 60000, &why), 0);
    CHECK_EQ (cred_check ("lab", &run, pk, now + CRED_TTL_MS + 59000, 60000, &why), 0);

    refused (&run, gl_ident_pubkey (other), now, "not signed by its home", "lab");
    refused (&run, pk, now, "not signed by its home", "other-lab");
    gl_job_t t = run;
    strcpy (t.user, "root");
    refused (&t, pk, now, "not signed by its home", "lab");
    t = run;
    strcpy (t.home, "b");
    refused (&t, pk, now, "not signed by its home", "lab");
    t = run;
    strcpy (t.gpid, "a-7-2");
    refused (&t, pk, now, "not signed by its home", "lab");
    t = run;
    t.cred_expiry_ms += 3600000;
    refused (&t, pk, now, "not signed by its home", "lab");
    t = run;
    t.cred_sig[5] ^= 1;
    refused (&t, pk, now, "not signed by its home", "lab");

    refused (&run, pk, now + CRED_TTL_MS + 60001, "expired", "lab");
    CHECK_EQ (cred_sign (home, "lab", &run, now + 3600000), 0);
    refused (&run, pk, now, "too far ahead", "lab");

    gl_ident_destroy (&home);
    gl_ident_destroy (&other);
    return tap_done ("test_cred");
}
