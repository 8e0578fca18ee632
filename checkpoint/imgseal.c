/*  imgseal.c -- the sealed stream of a move's image (imgseal.h).

    AES-256-GCM through libcrypto's EVP interface: one context, keyed
    once, given a new nonce per chunk.  On a CPU with AES and carry-less
    multiply instructions (x86-64's AES-NI and PCLMULQDQ, arm64's crypto
    extension) it takes about 0.1 s less CPU than ChaCha20-Poly1305 on
    each end of a 512 MiB move here (bench/README.md, "The move's
    cipher"). */
#include "imgseal.h"

#include <openssl/evp.h>
#include <stdlib.h>
#include <string.h>

#ifdef IMGSEAL_DLOPEN
/* glx seals a restart's image with this file too, and glx starts for
   every job and every --spread step: libcrypto loaded with it would
   double the CPU of its start (1.5 ms more, its relocations and its
   set-up), so glx loads it at its first stream instead. */
#include <dlfcn.h>
#include <openssl/opensslv.h>

#define CRYPTO_FNS(X)       \
    X (EVP_CIPHER_CTX_new)  \
    X (EVP_CIPHER_CTX_free) \
    X (EVP_CIPHER_CTX_ctrl) \
    X (EVP_aes_256_gcm)     \
    X (EVP_EncryptInit_ex)  \
    X (EVP_EncryptUpdate)   \
    X (EVP_EncryptFinal_ex) \
    X (EVP_DecryptInit_ex)  \
    X (EVP_DecryptUpdate)   \
    X (EVP_DecryptFinal_ex) \
    X (OPENSSL_cleanse)
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
#define EVP_EncryptInit_ex  (*lc.EVP_EncryptInit_ex)
#define EVP_EncryptUpdate   (*lc.EVP_EncryptUpdate)
#define EVP_EncryptFinal_ex (*lc.EVP_EncryptFinal_ex)
#define EVP_DecryptInit_ex  (*lc.EVP_DecryptInit_ex)
#define EVP_DecryptUpdate   (*lc.EVP_DecryptUpdate)
#define EVP_DecryptFinal_ex (*lc.EVP_DecryptFinal_ex)
#define OPENSSL_cleanse     (*lc.OPENSSL_cleanse)
#else
static bool crypto_load (void)
{
    return true;
}
#endif

struct imgseal_t {
    EVP_CIPHER_CTX *ctx;
    bool inited; /* the direction is fixed by the first use */
    bool sealing;
    bool ended;  /* the last chunk went */
    bool broken; /* a chunk failed: nothing more opens */
    uint64_t n;  /* the next chunk's number */
    uint8_t key[IS_KEY_BYTES];
};

imgseal_t *imgseal_new (const uint8_t key[IS_KEY_BYTES])
{
    imgseal_t *self = crypto_load () ? calloc (1, sizeof *self) : NULL;
    if (!self)
        return NULL;
    self->ctx = EVP_CIPHER_CTX_new ();
    if (!self->ctx) {
        free (self);
        return NULL;
    }
    memcpy (self->key, key, IS_KEY_BYTES);
    return self;
}

void imgseal_destroy (imgseal_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    imgseal_t *self = *self_p;
    EVP_CIPHER_CTX_free (self->ctx);
    OPENSSL_cleanse (self, sizeof *self);
    free (self);
    *self_p = NULL;
}

static uint32_t get32 (const uint8_t *p)
{
    return (uint32_t) p[0] | (uint32_t) p[1] << 8 | (uint32_t) p[2] << 16 | (uint32_t) p[3] << 24;
}

/* Keys the context for direction enc on first use. */
static bool ready (imgseal_t *self, bool enc)
{
    if (self->inited)
        return self->sealing == enc;
    int ok = enc ? EVP_EncryptInit_ex (self->ctx, EVP_aes_256_gcm (), NULL, self->key, NULL)
                 : EVP_DecryptInit_ex (self->ctx, EVP_aes_256_gcm (), NULL, self->key, NULL);
    if (ok != 1)
        return false;
    self->inited = true;
    self->sealing = enc;
    return true;
}

size_t imgseal_seal (imgseal_t *self, const uint8_t *in, size_t n, bool last, uint8_t *out)
{
    if (n > IS_CHUNK_MAX || self->ended || self->broken || !ready (self, true))
        return 0;
    uint8_t nonce[12], ad[IS_HEAD + 8];
    imgseal_frame (self->n, (uint32_t) n, last, out, nonce, ad);
    int k;
    if (EVP_EncryptInit_ex (self->ctx, NULL, NULL, NULL, nonce) != 1 ||
        EVP_EncryptUpdate (self->ctx, NULL, &k, ad, sizeof ad) != 1 ||
        (n && EVP_EncryptUpdate (self->ctx, out + IS_HEAD, &k, in, (int) n) != 1) ||
        EVP_EncryptFinal_ex (self->ctx, out + IS_HEAD + n, &k) != 1 ||
        EVP_CIPHER_CTX_ctrl (self->ctx, EVP_CTRL_AEAD_GET_TAG, IS_TAG, out + IS_HEAD + n) != 1) {
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
        *why = "libcrypto cannot open the stream";
        return -1;
    }
    /* the head made again from what it says is the head itself: it
       can say nothing else (imgseal_head) */
    uint8_t h[IS_HEAD], nonce[12], ad[IS_HEAD + 8], tag[IS_TAG];
    imgseal_frame (self->n, n, last, h, nonce, ad);
    memcpy (tag, body + n, IS_TAG); /* out may be body */
    int k;
    if (EVP_DecryptInit_ex (self->ctx, NULL, NULL, NULL, nonce) != 1 ||
        EVP_DecryptUpdate (self->ctx, NULL, &k, ad, sizeof ad) != 1 ||
        (n && EVP_DecryptUpdate (self->ctx, out, &k, body, (int) n) != 1) ||
        EVP_CIPHER_CTX_ctrl (self->ctx, EVP_CTRL_AEAD_SET_TAG, IS_TAG, tag) != 1 ||
        EVP_DecryptFinal_ex (self->ctx, out + n, &k) != 1) {
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
