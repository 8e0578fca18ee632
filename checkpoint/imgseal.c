/*  imgseal.c -- the sealed stream of a move's image (imgseal.h).

    AES-256-GCM on aesgcm.h where the CPU has AES-NI and PCLMULQDQ
    (every x86-64 of the last decade; aesgcm_init takes its 256-bit path
    where the CPU has VAES and VPCLMULQDQ): the computation the shim's
    writer seals with (imgsealw.c), two thirds of libcrypto's time on
    this CPU: 0.04-0.05 s less CPU on each end of a 512 MiB move or
    restart (bench/README.md, "glx and glrestore on the project's
    AES-GCM").  Elsewhere (an older CPU, a virtual machine that masks
    the flags) libcrypto's EVP interface: one context, keyed once, given
    a new nonce per chunk.  The two make the same bytes, to which
    t/unit/test_imgseal holds them, each opening what the other sealed.
    On a CPU with the instructions, AES-GCM takes about 0.1 s less CPU
    than ChaCha20-Poly1305 on each end of a 512 MiB move here
    (bench/README.md, "The move's cipher"). */
#include "imgseal.h"

#include "aesgcm.h"

#include <openssl/evp.h>
#include <stdlib.h>
#include <string.h>

#ifdef IMGSEAL_DLOPEN
/* glx seals a restart's image with this file too, and glx starts for
   every job and every --spread step: libcrypto loaded with it would
   double the CPU of its start (1.5 ms more, its relocations and its
   set-up), so glx loads it at its first stream instead, and only on a
   CPU without the instructions aesgcm.h needs. */
#include <dlfcn.h>
#include <openssl/opensslv.h>

#define CRYPTO_FNS(X)       \
    X (EVP_CIPHER_CTX_new)  \
    X (EVP_CIPHER_CTX_free) \
    X (EVP_CIPHER_CTX_ctrl) \
    X (EVP_aes_256_gcm)     \
    X (EVP_CipherInit_ex)   \
    X (EVP_CipherUpdate)    \
    X (EVP_CipherFinal_ex)
#define CRYPTO_PTR(f) __typeof__ (f) *f;
static struct {
    CRYPTO_FNS (CRYPTO_PTR)
} lc;

/* libcrypto's functions, once: false when it cannot be had. */
static bool crypto_load (void)
{
    static int loaded; /* 1 yes, -1 no */
    if (loaded)
        return loaded > 0;
    loaded = -1;
    void *h = dlopen ("libcrypto.so." OPENSSL_MSTR (OPENSSL_VERSION_MAJOR), RTLD_NOW | RTLD_LOCAL);
    if (!h)
        return false;
#define CRYPTO_SYM(f)                        \
    if (!(*(void **) &lc.f = dlsym (h, #f))) \
        return false;
    CRYPTO_FNS (CRYPTO_SYM)
    loaded = 1;
    return true;
}
#define EVP_CIPHER_CTX_new  (*lc.EVP_CIPHER_CTX_new)
#define EVP_CIPHER_CTX_free (*lc.EVP_CIPHER_CTX_free)
#define EVP_CIPHER_CTX_ctrl (*lc.EVP_CIPHER_CTX_ctrl)
#define EVP_aes_256_gcm     (*lc.EVP_aes_256_gcm)
#define EVP_CipherInit_ex   (*lc.EVP_CipherInit_ex)
#define EVP_CipherUpdate    (*lc.EVP_CipherUpdate)
#define EVP_CipherFinal_ex  (*lc.EVP_CipherFinal_ex)
#else
static bool crypto_load (void)
{
    return true;
}
#endif

struct imgseal_t {
    aesgcm_t g;          /* the key's schedule, on aesgcm.h (ctx NULL) */
    EVP_CIPHER_CTX *ctx; /* or libcrypto's context */
    bool inited;         /* the direction is fixed by the first use */
    bool sealing;
    bool ended;                /* the last chunk went */
    bool broken;               /* a chunk failed: nothing more opens */
    uint64_t n;                /* the next chunk's number */
    uint8_t key[IS_KEY_BYTES]; /* libcrypto's, until it is keyed */
};

static imgseal_t *make (const uint8_t key[IS_KEY_BYTES], bool crypto)
{
    if (crypto && !crypto_load ())
        return NULL;
    imgseal_t *self = calloc (1, sizeof *self); /* malloc's 16 bytes: aesgcm_t's alignment */
    if (!self)
        return NULL;
    if (!crypto) {
        aesgcm_init (&self->g, key);
        return self;
    }
    self->ctx = EVP_CIPHER_CTX_new ();
    if (!self->ctx) {
        free (self);
        return NULL;
    }
    memcpy (self->key, key, IS_KEY_BYTES);
    return self;
}

imgseal_t *imgseal_new (const uint8_t key[IS_KEY_BYTES])
{
    return make (key, !aesgcm_usable ());
}

imgseal_t *imgseal_new_libcrypto (const uint8_t key[IS_KEY_BYTES])
{
    return make (key, true);
}

void imgseal_destroy (imgseal_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    imgseal_t *self = *self_p;
    if (self->ctx)
        EVP_CIPHER_CTX_free (self->ctx);
    explicit_bzero (self, sizeof *self);
    free (self);
    *self_p = NULL;
}

static uint32_t get32 (const uint8_t *p)
{
    return (uint32_t) p[0] | (uint32_t) p[1] << 8 | (uint32_t) p[2] << 16 | (uint32_t) p[3] << 24;
}

/* Fixes the direction at the first use (one end, never both), keying
   libcrypto's context for it. */
static bool ready (imgseal_t *self, bool enc)
{
    if (self->inited)
        return self->sealing == enc;
    if (self->ctx &&
        EVP_CipherInit_ex (self->ctx, EVP_aes_256_gcm (), NULL, self->key, NULL, enc) != 1)
        return false;
    self->inited = true;
    self->sealing = enc;
    return true;
}

/* libcrypto's sealing (enc) or opening of one chunk's body (aesgcm_seal's
   and aesgcm_open's arguments; the context keyed for that direction):
   false when it failed or did not open.  Opening, the tag goes in before
   the end, which checks it; sealing, it comes out after. */
static bool crypto_gcm (EVP_CIPHER_CTX *ctx, int enc, const uint8_t nonce[12], const uint8_t *ad,
                        size_t adlen, const uint8_t *in, size_t n, uint8_t *out,
                        uint8_t tag[IS_TAG])
{
    int k;
    return EVP_CipherInit_ex (ctx, NULL, NULL, NULL, nonce, enc) == 1 &&
           EVP_CipherUpdate (ctx, NULL, &k, ad, (int) adlen) == 1 &&
           (!n || EVP_CipherUpdate (ctx, out, &k, in, (int) n) == 1) &&
           (enc || EVP_CIPHER_CTX_ctrl (ctx, EVP_CTRL_AEAD_SET_TAG, IS_TAG, tag) == 1) &&
           EVP_CipherFinal_ex (ctx, out + n, &k) == 1 &&
           (!enc || EVP_CIPHER_CTX_ctrl (ctx, EVP_CTRL_AEAD_GET_TAG, IS_TAG, tag) == 1);
}

size_t imgseal_seal (imgseal_t *self, const uint8_t *in, size_t n, bool last, uint8_t *out)
{
    if (n > IS_CHUNK_MAX || self->ended || self->broken || !ready (self, true))
        return 0;
    uint8_t nonce[12], ad[IS_HEAD + 8];
    imgseal_frame (self->n, (uint32_t) n, last, out, nonce, ad);
    uint8_t *body = out + IS_HEAD, *tag = body + n;
    if (!self->ctx)
        aesgcm_seal (&self->g, nonce, ad, sizeof ad, in, n, body, tag);
    else if (!crypto_gcm (self->ctx, 1, nonce, ad, sizeof ad, in, n, body, tag)) {
        self->broken = true;
        return 0;
    }
    self->n++;
    self->ended = last;
    return n + IS_OVERHEAD;
}

int imgseal_head (const uint8_t head[IS_HEAD], uint32_t *len, bool *last, const char **why)
{
    uint32_t n = get32 (head), flags = get32 (head + 4);
    if (n > IS_CHUNK_MAX) {
        *why = "a chunk longer than the stream allows (not a move's image stream)";
        return -1;
    }
    if (flags & ~IS_LAST) {
        *why = "a chunk with unknown flags (not a move's image stream)";
        return -1;
    }
    *len = n;
    *last = flags & IS_LAST;
    return 0;
}

int imgseal_open (imgseal_t *self, const uint8_t head[IS_HEAD], const uint8_t *body, uint8_t *out,
                  const char **why)
{
    uint32_t n;
    bool last;
    if (self->broken) {
        *why = "the stream was refused already";
        return -1;
    }
    if (self->ended) {
        self->broken = true;
        *why = "bytes follow the stream's last chunk";
        return -1;
    }
    if (imgseal_head (head, &n, &last, why))
        return self->broken = true, -1;
    if (!ready (self, false)) {
        *why = self->inited ? "a sealer cannot open" : "libcrypto cannot open the stream";
        return -1;
    }
    /* the head made again from what it says is the head itself: it
       can say nothing else (imgseal_head) */
    uint8_t h[IS_HEAD], nonce[12], ad[IS_HEAD + 8], tag[IS_TAG];
    imgseal_frame (self->n, n, last, h, nonce, ad);
    memcpy (tag, body + n, IS_TAG); /* out may be body */
    if (!self->ctx ? aesgcm_open (&self->g, nonce, ad, sizeof ad, body, n, out, tag) != 0
                   : !crypto_gcm (self->ctx, 0, nonce, ad, sizeof ad, body, n, out, tag)) {
        self->broken = true;
        *why = "a chunk does not open under the move's key (altered, out of order, or not this "
               "move's)";
        return -1;
    }
    self->n++;
    self->ended = last;
    return 0;
}

bool imgseal_ended (const imgseal_t *self)
{
    return self->ended;
}
