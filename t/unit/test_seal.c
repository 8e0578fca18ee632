/*  test_seal.c -- sealing, opening, and every reason to refuse a packet. */
#include "seal.h"
#include "str.h"
#include "tap.h"

#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#define CLUSTER "test-cluster"
#define WINDOW  30000            /* ms */
#define NOW     1700000000000ull /* a wall clock in ms */

static uint8_t key[GL_KEY_BYTES];

/* One packet, owned. */
typedef struct {
    uint8_t *data;
    size_t len;
} pkt_t;

static pkt_t pack_at (gl_seal_t *from, uint64_t now, const char *body)
{
    pkt_t pkt = { NULL, 0 };
    int rc = gl_seal_pack (from, now, (const uint8_t *) body, strlen (body), &pkt.data, &pkt.len);
    CHECK_EQ (rc, 0);
    return pkt;
}

static pkt_t pack (gl_seal_t *from, const char *body)
{
    return pack_at (from, NOW, body);
}

/* Open pkt at `to`; returns the drop reason, or -1 when accepted. */
static int open_at (gl_seal_t *to, uint64_t now, const uint8_t *data, size_t len)
{
    uint8_t *body = (uint8_t *) "untouched";
    size_t body_len = 99;
    char sender[GL_NAME_MAX + 1] = "untouched";
    uint64_t gen = 99;
    gl_drop_t reason = GL_DROP__COUNT;
    int rc = gl_seal_open (to, now, data, len, &body, &body_len, sender, &gen, &reason);
    if (rc == 0) {
        free (body);
        return -1;
    }
    /* A refusal hands back nothing. */
    CHECK (body == NULL);
    CHECK_EQ (body_len, 0);
    CHECK_EQ (sender[0], '\0');
    CHECK_EQ (gen, 0);
    return (int) reason;
}

static int open_pkt (gl_seal_t *to, pkt_t pkt)
{
    return open_at (to, NOW, pkt.data, pkt.len);
}

static uint64_t total_drops (gl_seal_t *seal)
{
    uint64_t sum = 0;
    for (int r = 0; r < GL_DROP__COUNT; r++)
        sum += gl_seal_drops (seal, (gl_drop_t) r);
    return sum;
}

/* Decode pkt, let edit() change its envelope, and encode it again: how an
   attacker who does not hold the key makes packets. */
static pkt_t tamper (pkt_t pkt, void (*edit) (gl_env_t *env, void *arg), void *arg)
{
    gl_env_t env;
    pkt_t out = { NULL, 0 };
    CHECK_EQ (gl_env_decode (pkt.data, pkt.len, &env, NULL), 0);
    edit (&env, arg);
    CHECK_EQ (gl_env_encode (&env, &out.data, &out.len), 0);
    return out;
}

static void set_version (gl_env_t *env, void *arg)
{
    env->version = *(uint32_t *) arg;
}

static void set_cluster_id (gl_env_t *env, void *arg)
{
    memcpy (env->cluster_id, arg, GL_CLUSTER_ID_BYTES);
}

static void set_seq (gl_env_t *env, void *arg)
{
    env->seq = *(uint64_t *) arg;
}

static void test_round_trip (void)
{
    gl_seal_t *alice = gl_seal_new (key, CLUSTER, "alice", 7, WINDOW);
    gl_seal_t *bob = gl_seal_new (key, CLUSTER, "bob", 9, WINDOW);
    CHECK (alice && bob);

    pkt_t pkt = pack (alice, "hello bob");
    uint8_t *body = NULL;
    size_t body_len = 0;
    char sender[GL_NAME_MAX + 1] = "";
    uint64_t gen = 0;
    gl_drop_t reason;
    CHECK_EQ (gl_seal_open (bob, NOW, pkt.data, pkt.len, &body, &body_len, sender, &gen, &reason),
              0);
    CHECK_EQ (body_len, 9);
    CHECK (body && memcmp (body, "hello bob", 9) == 0);
    CHECK (strcmp (sender, "alice") == 0);
    CHECK_EQ (gen, 7);
    free (body);
    free (pkt.data);

    /* The body is secret: it does not appear in the packet. */
    pkt = pack (alice, "a secret of some length");
    CHECK (memmem (pkt.data, pkt.len, "secret", 6) == NULL);
    free (pkt.data);

    /* An empty body is a body. */
    pkt = pack (alice, "");
    body = NULL;
    CHECK_EQ (gl_seal_open (bob, NOW, pkt.data, pkt.len, &body, &body_len, NULL, NULL, NULL), 0);
    CHECK_EQ (body_len, 0);
    CHECK (body != NULL);
    free (body);
    free (pkt.data);

    /* Sequence numbers start at 1 and grow by one; the header carries our
       name, generation, time and cluster id in the clear. */
    gl_seal_t *carol = gl_seal_new (key, CLUSTER, "carol", 3, WINDOW);
    for (uint64_t i = 1; i <= 3; i++) {
        pkt = pack_at (carol, NOW + i, "x");
        gl_env_t env;
        CHECK_EQ (gl_env_decode (pkt.data, pkt.len, &env, NULL), 0);
        CHECK_EQ (env.seq, i);
        CHECK_EQ (env.version, GL_PROTO_VERSION);
        CHECK_EQ (env.generation, 3);
        CHECK_EQ (env.time_ms, NOW + i);
        CHECK (strcmp (env.sender, "carol") == 0);
        free (pkt.data);
    }
    /* Nonces are fresh per packet: the same body seals differently. */
    pkt_t a = pack (carol, "same"), b = pack (carol, "same");
    gl_env_t ea, eb;
    CHECK_EQ (gl_env_decode (a.data, a.len, &ea, NULL), 0);
    CHECK_EQ (gl_env_decode (b.data, b.len, &eb, NULL), 0);
    CHECK (memcmp (ea.nonce, eb.nonce, GL_NONCE_BYTES) != 0);
    CHECK (ea.ct_len == eb.ct_len && memcmp (ea.ct, eb.ct, ea.ct_len) != 0);
    free (a.data);
    free (b.data);

    /* Too big to send; too big to open. */
    uint8_t *big = calloc (1, GL_PKT_MAX + 1);
    CHECK_EQ (gl_seal_pack (carol, NOW, big, GL_PKT_MAX + 1, &pkt.data, &pkt.len), -1);
    CHECK_EQ (gl_seal_pack (carol, NOW, big, GL_PKT_MAX, &pkt.data, &pkt.len), -1);
    CHECK_EQ (gl_seal_pack (carol, NOW, big, GL_PKT_MAX - 200, &pkt.data, &pkt.len), 0);
    CHECK (pkt.len <= GL_PKT_MAX);
    CHECK_EQ (open_pkt (bob, pkt), -1);
    free (pkt.data);
    CHECK_EQ (open_at (bob, NOW, big, GL_PKT_MAX + 1), GL_DROP_MALFORMED);
    free (big);

    CHECK_EQ (total_drops (bob), 1);
    gl_seal_destroy (&carol);
    gl_seal_destroy (&alice);
    gl_seal_destroy (&bob);
    CHECK (bob == NULL);
    gl_seal_destroy (&bob); /* harmless twice */
}

/* The additional data, as seal.c makes it: the clear header, then the
   cluster name. */
static size_t ad_of (const gl_env_t *env, uint8_t *ad, size_t cap)
{
    uint8_t *h;
    size_t n;
    CHECK_EQ (gl_env_encode_header (env, &h, &n), 0);
    CHECK (n + strlen (CLUSTER) <= cap);
    memcpy (ad, h, n);
    memcpy (ad + n, CLUSTER, strlen (CLUSTER));
    free (h);
    return n + strlen (CLUSTER);
}

/* The seal is libsodium's XChaCha20-Poly1305 byte for byte, though its
   bulk is computed elsewhere: a packet of ours opens with libsodium's
   own function, and one whose ciphertext libsodium made opens here, at
   every length around the vector units' block sizes (and a large one,
   as checkpoint images are sent). */
static void test_libsodium (void)
{
    gl_seal_t *alice = gl_seal_new (key, CLUSTER, "alice", 7, WINDOW);
    gl_seal_t *bob = gl_seal_new (key, CLUSTER, "bob", 9, WINDOW);
    CHECK (alice && bob);
    size_t lens[] = { 0,   1,   15,  16,  17,   63,   64,    65,      255,
                      256, 257, 511, 512, 1000, 4096, 65537, 1u << 20 };
    uint8_t *body = malloc (1u << 20), *plain = malloc (1u << 20), ad[512];
    CHECK (body && plain);
    randombytes_buf (body, 1u << 20);
    for (size_t i = 0; i < sizeof lens / sizeof lens[0]; i++) {
        size_t n = lens[i];
        pkt_t pkt = { NULL, 0 };
        CHECK_EQ (gl_seal_pack (alice, NOW, body, n, &pkt.data, &pkt.len), 0);
        gl_env_t env;
        CHECK_EQ (gl_env_decode (pkt.data, pkt.len, &env, NULL), 0);
        size_t ad_len = ad_of (&env, ad, sizeof ad);
        unsigned long long got = 0;
        CHECK_EQ (crypto_aead_xchacha20poly1305_ietf_decrypt (plain, &got, NULL, env.ct, env.ct_len,
                                                              ad, ad_len, env.nonce, key),
                  0);
        CHECK (got == n && memcmp (plain, body, n) == 0);
        /* and back: libsodium seals into the same packet, we open it */
        unsigned long long ct_len = 0;
        CHECK_EQ (crypto_aead_xchacha20poly1305_ietf_encrypt ((uint8_t *) env.ct, &ct_len, body, n,
                                                              ad, ad_len, NULL, env.nonce, key),
                  0);
        CHECK_EQ (ct_len, env.ct_len);
        uint8_t *opened = NULL;
        size_t opened_len = 0;
        CHECK_EQ (
            gl_seal_open (bob, NOW, pkt.data, pkt.len, &opened, &opened_len, NULL, NULL, NULL), 0);
        CHECK (opened_len == n && memcmp (opened, body, n) == 0);
        free (opened);
        /* a flipped bit of the tag or of the last byte is caught */
        uint8_t *last = (uint8_t *) env.ct + env.ct_len - 1;
        *last ^= 1;
        CHECK_EQ (open_pkt (bob, pkt), GL_DROP_FORGED);
        free (pkt.data);
    }
    free (body);
    free (plain);
    gl_seal_destroy (&alice);
    gl_seal_destroy (&bob);
}

/* Flip bits of every byte in turn: each altered packet is refused, for a
   reason the header explains, and changes nothing. */
static void test_every_byte (void)
{
    gl_seal_t *alice = gl_seal_new (key, CLUSTER, "alice", 1, WINDOW);
    gl_seal_t *bob = gl_seal_new (key, CLUSTER, "bob", 1, WINDOW);
    pkt_t pkt = pack (alice, "every byte of this packet matters");
    gl_env_t env;
    CHECK_EQ (gl_env_decode (pkt.data, pkt.len, &env, NULL), 0);
    size_t ct_start = (size_t) (env.ct - pkt.data);
    CHECK (ct_start + env.ct_len == pkt.len);

    static const uint8_t masks[] = { 0x01, 0x80, 0xff };
    uint8_t *copy = malloc (pkt.len);
    int flips = 0, wrong = 0, in_ct_not_forged = 0;
    for (size_t i = 0; i < pkt.len; i++) {
        for (size_t m = 0; m < sizeof masks; m++) {
            memcpy (copy, pkt.data, pkt.len);
            copy[i] ^= masks[m];
            uint64_t before = total_drops (bob);
            int why = open_at (bob, NOW, copy, pkt.len);
            flips++;
            if (why != GL_DROP_MALFORMED && why != GL_DROP_VERSION && why != GL_DROP_CLUSTER &&
                why != GL_DROP_FORGED) {
                wrong++;
                fprintf (stderr, "byte %zu ^ 0x%02x: %s\n", i, masks[m],
                         why < 0 ? "accepted" : gl_drop_name ((gl_drop_t) why));
            }
            if (i >= ct_start && why != GL_DROP_FORGED)
                in_ct_not_forged++;
            if (total_drops (bob) != before + 1)
                wrong++;
        }
    }
    CHECK_EQ (wrong, 0);
    CHECK_EQ (in_ct_not_forged, 0);
    CHECK_EQ (total_drops (bob), flips);
    CHECK (gl_seal_drops (bob, GL_DROP_FORGED) > 0);
    CHECK (gl_seal_drops (bob, GL_DROP_MALFORMED) > 0);
    CHECK (gl_seal_drops (bob, GL_DROP_CLUSTER) > 0);
    CHECK_EQ (gl_seal_drops (bob, GL_DROP_REPLAY), 0);
    CHECK_EQ (gl_seal_drops (bob, GL_DROP_SELF), 0);

    /* Every proper prefix, and the packet with a byte more, are refused. */
    uint64_t before = total_drops (bob);
    int accepted = 0;
    for (size_t len = 0; len < pkt.len; len++)
        if (open_at (bob, NOW, pkt.data, len) < 0)
            accepted++;
    uint8_t *longer = malloc (pkt.len + 1);
    memcpy (longer, pkt.data, pkt.len);
    longer[pkt.len] = 0;
    if (open_at (bob, NOW, longer, pkt.len + 1) < 0)
        accepted++;
    CHECK_EQ (accepted, 0);
    CHECK_EQ (total_drops (bob), before + pkt.len + 1);

    /* None of this was recorded: the untouched packet still opens, once. */
    CHECK_EQ (open_pkt (bob, pkt), -1);
    CHECK_EQ (open_pkt (bob, pkt), GL_DROP_REPLAY);

    free (longer);
    free (copy);
    free (pkt.data);
    gl_seal_destroy (&alice);
    gl_seal_destroy (&bob);
}

static void test_foreign (void)
{
    gl_seal_t *bob = gl_seal_new (key, CLUSTER, "bob", 1, WINDOW);
    uint64_t expect[GL_DROP__COUNT] = { 0 };

    /* Another key. */
    uint8_t other_key[GL_KEY_BYTES];
    gl_key_generate (other_key);
    gl_seal_t *mallory = gl_seal_new (other_key, CLUSTER, "alice", 1, WINDOW);
    pkt_t pkt = pack (mallory, "let me in");
    CHECK_EQ (open_pkt (bob, pkt), GL_DROP_FORGED);
    expect[GL_DROP_FORGED]++;

    /* Another cluster, same key. */
    gl_seal_t *stranger = gl_seal_new (key, "other-cluster", "alice", 1, WINDOW);
    pkt_t foreign = pack (stranger, "hello");
    CHECK_EQ (open_pkt (bob, foreign), GL_DROP_CLUSTER);
    expect[GL_DROP_CLUSTER]++;

    /* ... even when it wears our cluster id: the AEAD binds the full name. */
    pkt_t ours = pack (bob, "x");
    gl_env_t our_env;
    CHECK_EQ (gl_env_decode (ours.data, ours.len, &our_env, NULL), 0);
    pkt_t disguised = tamper (foreign, set_cluster_id, our_env.cluster_id);
    CHECK_EQ (open_pkt (bob, disguised), GL_DROP_FORGED);
    expect[GL_DROP_FORGED]++;

    /* Another protocol version, before and after it is sealed. */
    gl_seal_t *alice = gl_seal_new (key, CLUSTER, "alice", 1, WINDOW);
    pkt_t good = pack (alice, "hi");
    uint32_t v2 = GL_PROTO_VERSION + 1;
    pkt_t newer = tamper (good, set_version, &v2);
    CHECK_EQ (open_pkt (bob, newer), GL_DROP_VERSION);
    expect[GL_DROP_VERSION]++;
    uint32_t v1 = GL_PROTO_VERSION;
    pkt_t same = tamper (good, set_version, &v1);
    CHECK_EQ (open_pkt (bob, same), -1); /* re-encoding alone is harmless */

    /* A header field changed in transit: sequence number. */
    pkt_t again = pack (alice, "hi again");
    uint64_t seq = 1000;
    pkt_t moved = tamper (again, set_seq, &seq);
    CHECK_EQ (open_pkt (bob, moved), GL_DROP_FORGED);
    expect[GL_DROP_FORGED]++;
    CHECK_EQ (open_pkt (bob, again), -1);

    /* Not a packet at all. */
    static const uint8_t junk[] = { 0x93, 0x01, 0x02, 0x03 };
    CHECK_EQ (open_at (bob, NOW, junk, sizeof junk), GL_DROP_MALFORMED);
    CHECK_EQ (open_at (bob, NOW, junk, 0), GL_DROP_MALFORMED);
    expect[GL_DROP_MALFORMED] += 2;

    /* A body found wanting after opening is counted by the caller. */
    gl_seal_count (bob, GL_DROP_MALFORMED);
    expect[GL_DROP_MALFORMED]++;
    gl_seal_count (bob, GL_DROP__COUNT); /* out of range: ignored */

    for (int r = 0; r < GL_DROP__COUNT; r++)
        CHECK_EQ (gl_seal_drops (bob, (gl_drop_t) r), expect[r]);
    CHECK_EQ (gl_seal_drops (bob, GL_DROP__COUNT), 0);

    free (pkt.data);
    free (foreign.data);
    free (ours.data);
    free (disguised.data);
    free (good.data);
    free (newer.data);
    free (same.data);
    free (again.data);
    free (moved.data);
    gl_seal_destroy (&mallory);
    gl_seal_destroy (&stranger);
    gl_seal_destroy (&alice);
    gl_seal_destroy (&bob);
}

static void test_self (void)
{
    gl_seal_t *bob = gl_seal_new (key, CLUSTER, "bob", 1, WINDOW);
    /* A second node configured with our name, or our own packet echoed. */
    gl_seal_t *twin = gl_seal_new (key, CLUSTER, "bob", 2, WINDOW);
    pkt_t echo = pack (bob, "me");
    pkt_t twin_pkt = pack (twin, "also me");
    CHECK_EQ (open_pkt (bob, echo), GL_DROP_SELF);
    CHECK_EQ (open_pkt (bob, twin_pkt), GL_DROP_SELF);
    CHECK_EQ (gl_seal_drops (bob, GL_DROP_SELF), 2);
    CHECK_EQ (total_drops (bob), 2);
    free (echo.data);
    free (twin_pkt.data);
    gl_seal_destroy (&twin);
    gl_seal_destroy (&bob);
}

static void test_stale (void)
{
    gl_seal_t *alice = gl_seal_new (key, CLUSTER, "alice", 1, WINDOW);
    gl_seal_t *bob = gl_seal_new (key, CLUSTER, "bob", 1, WINDOW);
    pkt_t old = pack_at (alice, NOW - WINDOW - 1, "old");
    pkt_t future = pack_at (alice, NOW + WINDOW + 1, "future");
    pkt_t edge_old = pack_at (alice, NOW - WINDOW, "just in time");
    pkt_t edge_new = pack_at (alice, NOW + WINDOW, "just early enough");
    CHECK_EQ (open_pkt (bob, old), GL_DROP_STALE);
    CHECK_EQ (open_pkt (bob, future), GL_DROP_STALE);
    CHECK_EQ (open_pkt (bob, edge_old), -1);
    CHECK_EQ (open_pkt (bob, edge_new), -1);
    /* Stale is judged by the receiver's clock: later, the old one is older. */
    CHECK_EQ (open_at (bob, NOW + WINDOW + 2, future.data, future.len), -1);
    CHECK_EQ (gl_seal_drops (bob, GL_DROP_STALE), 2);
    CHECK_EQ (total_drops (bob), 2);
    free (old.data);
    free (future.data);
    free (edge_old.data);
    free (edge_new.data);
    gl_seal_destroy (&alice);
    gl_seal_destroy (&bob);
}

static void test_replay (void)
{
    gl_seal_t *alice = gl_seal_new (key, CLUSTER, "alice", 100, WINDOW);
    gl_seal_t *bob = gl_seal_new (key, CLUSTER, "bob", 1, WINDOW);
    uint64_t replays = 0;

    /* The same packet twice. */
    pkt_t pkt = pack (alice, "once");
    CHECK_EQ (open_pkt (bob, pkt), -1);
    CHECK_EQ (open_pkt (bob, pkt), GL_DROP_REPLAY);
    replays++;
    free (pkt.data);

    /* Reordered within the window: each accepted once. */
    pkt_t batch[10];
    for (int i = 0; i < 10; i++)
        batch[i] = pack (alice, "batch");
    static const int order[10] = { 9, 3, 0, 7, 1, 8, 2, 6, 4, 5 };
    for (int i = 0; i < 10; i++)
        CHECK_EQ (open_pkt (bob, batch[order[i]]), -1);
    for (int i = 0; i < 10; i++) {
        CHECK_EQ (open_pkt (bob, batch[i]), GL_DROP_REPLAY);
        replays++;
        free (batch[i].data);
    }
    CHECK_EQ (gl_seal_drops (bob, GL_DROP_REPLAY), replays);

    /* The window edge: 1024 numbers up to the highest seen are remembered;
       the one before them is too old. */
    pkt_t early1 = pack (alice, "early1"), early2 = pack (alice, "early2");
    gl_env_t env;
    CHECK_EQ (gl_env_decode (early1.data, early1.len, &env, NULL), 0);
    uint64_t seq1 = env.seq;
    uint64_t top = seq1;
    while (top < seq1 + 1024) {
        pkt = pack (alice, "fill");
        CHECK_EQ (open_pkt (bob, pkt), -1);
        CHECK_EQ (gl_env_decode (pkt.data, pkt.len, &env, NULL), 0);
        top = env.seq;
        free (pkt.data);
    }
    CHECK_EQ (top, seq1 + 1024);
    CHECK_EQ (open_pkt (bob, early2), -1);             /* top - 1023 */
    CHECK_EQ (open_pkt (bob, early1), GL_DROP_REPLAY); /* top - 1024 */
    replays++;
    free (early1.data);
    free (early2.data);

    /* A jump far ahead forgets the whole window at once. */
    pkt_t ahead[3000];
    for (int i = 0; i < 3000; i++)
        ahead[i] = pack (alice, "ahead");
    CHECK_EQ (open_pkt (bob, ahead[2999]), -1);
    CHECK_EQ (open_pkt (bob, ahead[2999 - 1023]), -1);
    CHECK_EQ (open_pkt (bob, ahead[2999 - 1024]), GL_DROP_REPLAY);
    CHECK_EQ (open_pkt (bob, ahead[2999 - 1025]), GL_DROP_REPLAY);
    CHECK_EQ (open_pkt (bob, ahead[0]), GL_DROP_REPLAY);
    replays += 3;
    CHECK_EQ (open_pkt (bob, ahead[2000]), -1);
    CHECK_EQ (open_pkt (bob, ahead[2000]), GL_DROP_REPLAY);
    replays++;
    for (int i = 0; i < 3000; i++)
        free (ahead[i].data);

    /* A short jump: the numbers skipped share their bits with numbers one
       window older, which were seen; they must read as unseen now. */
    pkt_t run[1100];
    for (int i = 0; i < 1100; i++)
        run[i] = pack (alice, "run");
    for (int i = 0; i < 5; i++)
        CHECK_EQ (open_pkt (bob, run[i]), -1);
    CHECK_EQ (open_pkt (bob, run[1027]), -1); /* 1023 ahead of run[4] */
    for (int i = 1024; i < 1027; i++)
        CHECK_EQ (open_pkt (bob, run[i]), -1);
    for (int i = 1024; i < 1028; i++) {
        CHECK_EQ (open_pkt (bob, run[i]), GL_DROP_REPLAY);
        replays++;
    }
    CHECK_EQ (open_pkt (bob, run[4]), GL_DROP_REPLAY); /* seen */
    CHECK_EQ (open_pkt (bob, run[3]), GL_DROP_REPLAY); /* too old */
    CHECK_EQ (open_pkt (bob, run[5]), -1);             /* skipped, in window */
    replays += 2;
    for (int i = 0; i < 1100; i++)
        free (run[i].data);

    /* Alice restarts with a higher generation: her numbers start over. */
    pkt_t from_old_life = pack (alice, "before the crash");
    gl_seal_t *alice2 = gl_seal_new (key, CLUSTER, "alice", 101, WINDOW);
    pkt = pack (alice2, "I'm back");
    char sender[GL_NAME_MAX + 1];
    uint64_t gen = 0;
    uint8_t *body;
    size_t body_len;
    CHECK_EQ (gl_seal_open (bob, NOW, pkt.data, pkt.len, &body, &body_len, sender, &gen, NULL), 0);
    CHECK_EQ (gen, 101);
    free (body);
    free (pkt.data);
    pkt = pack (alice2, "second");
    CHECK_EQ (open_pkt (bob, pkt), -1);
    free (pkt.data);
    /* Her former self, and anything older, is refused. */
    CHECK_EQ (open_pkt (bob, from_old_life), GL_DROP_REPLAY);
    replays++;
    gl_seal_t *alice0 = gl_seal_new (key, CLUSTER, "alice", 99, WINDOW);
    pkt = pack (alice0, "older still");
    CHECK_EQ (open_pkt (bob, pkt), GL_DROP_REPLAY);
    replays++;
    free (pkt.data);
    free (from_old_life.data);

    /* Other senders keep their own windows. */
    gl_seal_t *carol = gl_seal_new (key, CLUSTER, "carol", 1, WINDOW);
    pkt = pack (carol, "carol's first");
    CHECK_EQ (open_pkt (bob, pkt), -1);
    free (pkt.data);

    CHECK_EQ (gl_seal_drops (bob, GL_DROP_REPLAY), replays);
    CHECK_EQ (total_drops (bob), replays);

    gl_seal_destroy (&alice);
    gl_seal_destroy (&alice2);
    gl_seal_destroy (&alice0);
    gl_seal_destroy (&carol);
    gl_seal_destroy (&bob);
}

/* The opener remembers at most 65536 senders and forgets the one heard
   from least recently.  Forgetting is what bounds its memory; a forgotten
   sender's packets are then judged by their age alone. */
static void test_many_senders (void)
{
    enum { CAP = 65536 };
    gl_seal_t *bob = gl_seal_new (key, CLUSTER, "bob", 1, WINDOW);
    gl_seal_t *first = gl_seal_new (key, CLUSTER, "first", 1, WINDOW);
    pkt_t first1 = pack (first, "1"), first2 = pack (first, "2");
    CHECK_EQ (open_pkt (bob, first1), -1);

    pkt_t oldest = { NULL, 0 };
    int refused = 0;
    for (int i = 0; i < CAP - 1; i++) {
        char name[32];
        snprintf (name, sizeof name, "n%d", i);
        gl_seal_t *n = gl_seal_new (key, CLUSTER, name, 1, WINDOW);
        pkt_t pkt = pack (n, "hi");
        if (open_pkt (bob, pkt) != -1)
            refused++;
        if (i == 0)
            oldest = pkt;
        else
            free (pkt.data);
        gl_seal_destroy (&n);
    }
    CHECK_EQ (refused, 0);
    /* Full.  Hearing from `first` again makes n0 the least recent. */
    CHECK_EQ (open_pkt (bob, first2), -1);
    gl_seal_t *last = gl_seal_new (key, CLUSTER, "last", 1, WINDOW);
    pkt_t pkt = pack (last, "one too many");
    CHECK_EQ (open_pkt (bob, pkt), -1);
    /* `first` is still remembered; n0 was forgotten. */
    CHECK_EQ (open_pkt (bob, first1), GL_DROP_REPLAY);
    CHECK_EQ (open_pkt (bob, first2), GL_DROP_REPLAY);
    CHECK_EQ (open_pkt (bob, oldest), -1);
    CHECK_EQ (open_pkt (bob, oldest), GL_DROP_REPLAY);
    CHECK_EQ (open_pkt (bob, pkt), GL_DROP_REPLAY);

    free (pkt.data);
    free (oldest.data);
    free (first1.data);
    free (first2.data);
    gl_seal_destroy (&last);
    gl_seal_destroy (&first);
    gl_seal_destroy (&bob);
}

static void test_new_refuses (void)
{
    CHECK (gl_seal_new (key, CLUSTER, "", 1, WINDOW) == NULL);
    CHECK (gl_seal_new (key, CLUSTER, "bad name", 1, WINDOW) == NULL);
    CHECK (gl_seal_new (key, CLUSTER, NULL, 1, WINDOW) == NULL);
    CHECK (gl_seal_new (key, NULL, "bob", 1, WINDOW) == NULL);
    CHECK (gl_seal_new (NULL, CLUSTER, "bob", 1, WINDOW) == NULL);
}

static void test_names (void)
{
    CHECK (strcmp (gl_drop_name (GL_DROP_MALFORMED), "malformed") == 0);
    CHECK (strcmp (gl_drop_name (GL_DROP_VERSION), "version") == 0);
    CHECK (strcmp (gl_drop_name (GL_DROP_CLUSTER), "cluster") == 0);
    CHECK (strcmp (gl_drop_name (GL_DROP_FORGED), "forged") == 0);
    CHECK (strcmp (gl_drop_name (GL_DROP_REPLAY), "replay") == 0);
    CHECK (strcmp (gl_drop_name (GL_DROP_STALE), "stale") == 0);
    CHECK (strcmp (gl_drop_name (GL_DROP_SELF), "self") == 0);
    CHECK (strcmp (gl_drop_name (GL_DROP__COUNT), "unknown") == 0);
}

static void test_keys (void)
{
    uint8_t a[GL_KEY_BYTES], b[GL_KEY_BYTES], back[GL_KEY_BYTES];
    char hex[2 * GL_KEY_BYTES + 1];
    gl_key_generate (a);
    gl_key_generate (b);
    CHECK (memcmp (a, b, GL_KEY_BYTES) != 0);

    CHECK_EQ (gl_key_format (a, hex), 0);
    CHECK_EQ (strlen (hex), 64);
    CHECK_EQ (strspn (hex, "0123456789abcdef"), 64);
    CHECK_EQ (gl_key_parse (hex, back), 0);
    CHECK (memcmp (a, back, GL_KEY_BYTES) == 0);

    /* As it comes out of a file: whitespace around, a newline after. */
    char text[100];
    snprintf (text, sizeof text, "  \t%s\n", hex);
    memset (back, 0, sizeof back);
    CHECK_EQ (gl_key_parse (text, back), 0);
    CHECK (memcmp (a, back, GL_KEY_BYTES) == 0);

    /* Upper case is the same key. */
    char upper[2 * GL_KEY_BYTES + 1];
    for (int i = 0; i <= 2 * GL_KEY_BYTES; i++)
        upper[i] = (char) ((hex[i] >= 'a' && hex[i] <= 'f') ? hex[i] - 32 : hex[i]);
    memset (back, 0, sizeof back);
    CHECK_EQ (gl_key_parse (upper, back), 0);
    CHECK (memcmp (a, back, GL_KEY_BYTES) == 0);

    /* Anything but exactly 64 hex digits is refused and leaves key alone. */
    memcpy (back, b, GL_KEY_BYTES);
    CHECK_EQ (gl_key_parse ("", back), -1);
    CHECK_EQ (gl_key_parse ("   \n", back), -1);
    CHECK_EQ (gl_key_parse (NULL, back), -1);
    snprintf (text, sizeof text, "%.63s", hex);
    CHECK_EQ (gl_key_parse (text, back), -1);
    snprintf (text, sizeof text, "%s0", hex);
    CHECK_EQ (gl_key_parse (text, back), -1);
    gl_strlcpy (text, hex, sizeof text);
    text[10] = 'g';
    CHECK_EQ (gl_key_parse (text, back), -1);
    snprintf (text, sizeof text, "%.32s %s", hex, hex + 32);
    CHECK_EQ (gl_key_parse (text, back), -1);
    snprintf (text, sizeof text, "%.32s:%.31s", hex, hex + 32);
    CHECK_EQ (gl_key_parse (text, back), -1);
    snprintf (text, sizeof text, "%s\nextra", hex);
    CHECK_EQ (gl_key_parse (text, back), -1);
    CHECK (memcmp (back, b, GL_KEY_BYTES) == 0);
}

int main (void)
{
    gl_key_generate (key);
    test_round_trip ();
    test_libsodium ();
    test_every_byte ();
    test_foreign ();
    test_self ();
    test_stale ();
    test_replay ();
    test_many_senders ();
    test_new_refuses ();
    test_names ();
    test_keys ();
    return tap_done ("seal");
}
