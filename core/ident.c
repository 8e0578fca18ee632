/*  ident.c -- the node's signing key and generation, kept in its state dir.

    Both files are replaced, never rewritten in place: we write a temporary
    file beside them, flush it to disk, and rename it over the old one, so
    a crash leaves either the old file or the new one, never half of each. */
#include "ident.h"
#include "err.h"
#include "fd.h"
#include "str.h"

#include <sodium.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define KEY_FILE     "node.key"
#define GEN_FILE     "generation"
#define GEN_TEXT_MAX 32 /* a uint64 in decimal, a newline, and slack */

struct gl_ident_t {
    uint8_t pk[crypto_sign_PUBLICKEYBYTES];
    uint8_t sk[crypto_sign_SECRETKEYBYTES];
    uint64_t generation;
};

/* ---- files ------------------------------------------------------------- */

/* mkdir -p: parents as the umask allows, the state dir itself private. */
static int make_dirs (const char *dir, char *err, size_t errlen)
{
    char path[4096];
    if (snprintf (path, sizeof path, "%s", dir) >= (int) sizeof path) {
        gl_err (err, errlen, "%s: path too long", dir);
        return -1;
    }
    /* "a/b/" is "a/b": the last component is the private one. */
    size_t len = strlen (path);
    while (len > 1 && path[len - 1] == '/')
        path[--len] = '\0';
    for (char *p = path + 1; *p; p++) {
        if (*p != '/')
            continue;
        *p = '\0';
        if (mkdir (path, 0777) != 0 && errno != EEXIST) {
            gl_err (err, errlen, "%s: cannot create: %s", path, strerror (errno));
            return -1;
        }
        *p = '/';
    }
    if (mkdir (path, 0700) != 0 && errno != EEXIST) {
        gl_err (err, errlen, "%s: cannot create: %s", path, strerror (errno));
        return -1;
    }
    struct stat st;
    if (stat (path, &st) != 0 || !S_ISDIR (st.st_mode)) {
        gl_err (err, errlen, "%s: not a directory", path);
        return -1;
    }
    return 0;
}

/* Read exactly len bytes; -1 on error or early end of file. */
static int read_all (int fd, void *buf, size_t len)
{
    uint8_t *p = buf;
    while (len > 0) {
        ssize_t n = read (fd, p, len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return -1;
        p += n;
        len -= (size_t) n;
    }
    return 0;
}

/* Flush a directory, so that a rename in it survives a crash. */
static int sync_dir (const char *dir)
{
    int fd = open (dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    int rc = fsync (fd);
    close (fd);
    return rc;
}

/* Put data into dir/name (mode 0600) atomically. */
static int replace_file (const char *dir, const char *name, const void *data, size_t len, char *err,
                         size_t errlen)
{
    char path[4096], tmp[4096];
    snprintf (path, sizeof path, "%s/%s", dir, name);
    if (snprintf (tmp, sizeof tmp, "%s/.%s.tmp.%ld", dir, name, (long) getpid ()) >=
        (int) sizeof tmp) {
        gl_err (err, errlen, "%s: path too long", path);
        return -1;
    }
    /* A temporary left by a crashed start that had our pid is garbage. */
    unlink (tmp);
    int fd = open (tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (fd < 0) {
        gl_err (err, errlen, "%s: cannot create: %s", tmp, strerror (errno));
        return -1;
    }
    if (gl_write_all (fd, data, len) != 0 || fsync (fd) != 0) {
        gl_err (err, errlen, "%s: cannot write: %s", tmp, strerror (errno));
        close (fd);
        unlink (tmp);
        return -1;
    }
    if (close (fd) != 0) {
        gl_err (err, errlen, "%s: cannot write: %s", tmp, strerror (errno));
        unlink (tmp);
        return -1;
    }
    if (rename (tmp, path) != 0) {
        gl_err (err, errlen, "%s: cannot rename into place: %s", path, strerror (errno));
        unlink (tmp);
        return -1;
    }
    if (sync_dir (dir) != 0) {
        gl_err (err, errlen, "%s: cannot sync: %s", dir, strerror (errno));
        return -1;
    }
    return 0;
}

/* ---- the key ----------------------------------------------------------- */

/* Load dir/node.key into ident, refusing a file others could read or
   that is not ours.  Returns 0, 1 when there is no key file, -1 on error. */
static int key_load (gl_ident_t *ident, const char *dir, char *err, size_t errlen)
{
    char path[4096];
    snprintf (path, sizeof path, "%s/%s", dir, KEY_FILE);
    int fd = open (path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    if (fd < 0 && errno == ENOENT)
        return 1;
    if (fd < 0) {
        gl_err (err, errlen, "%s: cannot open: %s", path, strerror (errno));
        return -1;
    }
    struct stat st;
    int rc = -1;
    uint8_t sk[crypto_sign_SECRETKEYBYTES];
    uint8_t seed[crypto_sign_SEEDBYTES];
    uint8_t derived_sk[crypto_sign_SECRETKEYBYTES];
    uint8_t derived_pk[crypto_sign_PUBLICKEYBYTES];

    if (fstat (fd, &st) != 0)
        gl_err (err, errlen, "%s: cannot stat: %s", path, strerror (errno));
    else if (!S_ISREG (st.st_mode))
        gl_err (err, errlen, "%s: not a regular file", path);
    else if (st.st_uid != geteuid ())
        gl_err (err, errlen, "%s: owned by uid %ld, not by us (uid %ld)", path, (long) st.st_uid,
                (long) geteuid ());
    else if (st.st_mode & 077)
        gl_err (err, errlen,
                "%s: mode %04o lets group or others in; "
                "it must be 0600 (chmod 600 %s)",
                path, (unsigned) (st.st_mode & 07777), path);
    else if (st.st_size != crypto_sign_SECRETKEYBYTES)
        gl_err (err, errlen, "%s: %lld bytes, expected %d", path, (long long) st.st_size,
                crypto_sign_SECRETKEYBYTES);
    else if (read_all (fd, sk, sizeof sk) != 0)
        gl_err (err, errlen, "%s: cannot read all %d bytes", path, crypto_sign_SECRETKEYBYTES);
    else {
        /* An Ed25519 secret key is its seed then its public key: make sure
           the two halves still belong together. */
        crypto_sign_ed25519_sk_to_seed (seed, sk);
        crypto_sign_seed_keypair (derived_pk, derived_sk, seed);
        if (sodium_memcmp (derived_sk, sk, sizeof sk) != 0)
            gl_err (err, errlen,
                    "%s: damaged (its public half does not match "
                    "its seed)",
                    path);
        else {
            memcpy (ident->sk, sk, sizeof sk);
            memcpy (ident->pk, derived_pk, sizeof derived_pk);
            rc = 0;
        }
    }
    close (fd);
    sodium_memzero (sk, sizeof sk);
    sodium_memzero (seed, sizeof seed);
    sodium_memzero (derived_sk, sizeof derived_sk);
    return rc;
}

static int key_create (gl_ident_t *ident, const char *dir, char *err, size_t errlen)
{
    crypto_sign_keypair (ident->pk, ident->sk);
    return replace_file (dir, KEY_FILE, ident->sk, sizeof ident->sk, err, errlen);
}

/* ---- the generation ---------------------------------------------------- */

/* A decimal uint64 followed by optional whitespace. */
static bool parse_gen (const char *text, uint64_t *value)
{
    if (!gl_parse_u64 (&text, value))
        return false;
    text += strspn (text, " \t\r\n");
    return *text == '\0';
}

/* Read dir/generation into *gen (0 when there is none). */
static int gen_load (const char *dir, uint64_t *gen, char *err, size_t errlen)
{
    char path[4096];
    snprintf (path, sizeof path, "%s/%s", dir, GEN_FILE);
    *gen = 0;
    int fd = open (path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    if (fd < 0 && errno == ENOENT)
        return 0;
    if (fd < 0) {
        gl_err (err, errlen, "%s: cannot open: %s", path, strerror (errno));
        return -1;
    }
    /* Room for one byte more than a valid file holds, to see it is too long. */
    char text[GEN_TEXT_MAX + 1];
    size_t len = 0;
    int read_errno = 0;
    while (len < sizeof text - 1) {
        ssize_t n = read (fd, text + len, sizeof text - 1 - len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            read_errno = errno;
        if (n <= 0)
            break;
        len += (size_t) n;
    }
    close (fd);
    if (read_errno) {
        gl_err (err, errlen, "%s: cannot read: %s", path, strerror (read_errno));
        return -1;
    }
    text[len] = '\0';
    if (len == sizeof text - 1 || strlen (text) != len || !parse_gen (text, gen)) {
        gl_err (err, errlen,
                "%s: not a generation number (expected one "
                "decimal number)",
                path);
        return -1;
    }
    return 0;
}

static int gen_bump (gl_ident_t *ident, const char *dir, uint64_t now_wall_ms, char *err,
                     size_t errlen)
{
    uint64_t old;
    if (gen_load (dir, &old, err, errlen) != 0)
        return -1;
    if (old == UINT64_MAX) {
        gl_err (err, errlen, "%s/%s: generation cannot grow past %llu", dir, GEN_FILE,
                (unsigned long long) old);
        return -1;
    }
    uint64_t gen = old + 1;
    if (gen < now_wall_ms / 1000)
        gen = now_wall_ms / 1000;

    char text[GEN_TEXT_MAX];
    int len = snprintf (text, sizeof text, "%llu\n", (unsigned long long) gen);
    if (replace_file (dir, GEN_FILE, text, (size_t) len, err, errlen) != 0)
        return -1;
    ident->generation = gen;
    return 0;
}

/* ---- public ------------------------------------------------------------ */

gl_ident_t *gl_ident_open (const char *state_dir, uint64_t now_wall_ms, char *err, size_t errlen)
{
    if (err && errlen)
        err[0] = '\0';
    if (sodium_init () < 0) {
        gl_err (err, errlen, "libsodium cannot start");
        return NULL;
    }
    if (!state_dir || !*state_dir) {
        gl_err (err, errlen, "no state directory given");
        return NULL;
    }
    if (make_dirs (state_dir, err, errlen) != 0)
        return NULL;

    gl_ident_t *ident = calloc (1, sizeof *ident);
    if (!ident) {
        gl_err (err, errlen, "%s: out of memory", state_dir);
        return NULL;
    }
    int rc = key_load (ident, state_dir, err, errlen);
    if (rc == 1)
        rc = key_create (ident, state_dir, err, errlen);
    if (rc == 0)
        rc = gen_bump (ident, state_dir, now_wall_ms, err, errlen);
    if (rc != 0)
        gl_ident_destroy (&ident);
    return ident;
}

gl_ident_t *gl_ident_new_ephemeral (uint64_t generation, const uint8_t seed[32])
{
    if (sodium_init () < 0)
        return NULL;
    gl_ident_t *ident = calloc (1, sizeof *ident);
    if (!ident)
        return NULL;
    if (seed)
        crypto_sign_seed_keypair (ident->pk, ident->sk, seed);
    else
        crypto_sign_keypair (ident->pk, ident->sk);
    ident->generation = generation;
    return ident;
}

void gl_ident_destroy (gl_ident_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    sodium_memzero (*self_p, sizeof **self_p);
    free (*self_p);
    *self_p = NULL;
}

uint64_t gl_ident_generation (gl_ident_t *self)
{
    return self->generation;
}

const uint8_t *gl_ident_pubkey (gl_ident_t *self)
{
    return self->pk;
}

int gl_ident_sign (gl_ident_t *self, gl_rec_t *rec)
{
    uint8_t *msg;
    size_t len;
    if (gl_rec_signed_bytes (rec, &msg, &len) != 0)
        return -1;
    int rc = crypto_sign_detached (rec->sig, NULL, msg, len, self->sk);
    free (msg);
    return rc == 0 ? 0 : -1;
}

int gl_rec_verify (const gl_rec_t *rec, const uint8_t pubkey[GL_PUBKEY_BYTES])
{
    uint8_t *msg;
    size_t len;
    if (gl_rec_signed_bytes (rec, &msg, &len) != 0)
        return -1;
    int rc = crypto_sign_verify_detached (rec->sig, msg, len, pubkey);
    free (msg);
    return rc == 0 ? 0 : -1;
}

int gl_ident_sign_bytes (gl_ident_t *self, const uint8_t *msg, size_t len,
                         uint8_t sig[GL_SIG_BYTES])
{
    return crypto_sign_detached (sig, NULL, msg, len, self->sk) == 0 ? 0 : -1;
}

int gl_sig_verify (const uint8_t *msg, size_t len, const uint8_t sig[GL_SIG_BYTES],
                   const uint8_t pubkey[GL_PUBKEY_BYTES])
{
    return crypto_sign_verify_detached (sig, msg, len, pubkey) == 0 ? 0 : -1;
}
