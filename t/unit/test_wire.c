/*  test_wire.c -- the wire codec: round trips, and everything it must refuse.

    Malformed inputs are made two ways: by hand, byte by byte, for the
    structural attacks (huge counts, deep nesting), and by decoding a valid
    encoding into a msgpack object tree, changing one value (reached by a
    path such as "5.0.6.8.8": key 5, element 0, key 6, key 8, key 8) and
    packing the tree again. */
#include "wire.h"
#include "tap.h"

#include <msgpack.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* ---- sample values ---------------------------------------------------------- */

static void fill_res (gl_res_t *res, uint32_t salt)
{
    res->cores = 8 + salt;
    res->load1_milli = 1250;
    res->load_recent_milli = UINT32_MAX;
    res->owner_load_milli = 300;
    res->mem_total_kb = UINT64_MAX;
    res->mem_avail_kb = 4096ull << 20;
    res->owner_idle_s = 77;
    res->state = GL_RES_UNAVAILABLE;
}

static void fill_rec (gl_rec_t *rec, uint8_t kind, uint32_t salt)
{
    memset (rec, 0, sizeof *rec);
    rec->kind = kind;
    snprintf (rec->origin, sizeof rec->origin, "node-%u.lab_a", salt);
    rec->generation = 1700000000ull + salt;
    rec->seq = UINT64_MAX - salt;
    rec->time_ms = 1700000000123ull;
    if (kind == GL_REC_ALIVE) {
        snprintf (rec->addr, sizeof rec->addr, "tcp://10.0.0.%u:7946", salt % 250);
        for (int i = 0; i < GL_PUBKEY_BYTES; i++)
            rec->pubkey [i] = (uint8_t) (i * 7 + salt);
    }
    if (kind == GL_REC_RES)
        fill_res (&rec->res, salt);
    for (int i = 0; i < GL_SIG_BYTES; i++)
        rec->sig [i] = (uint8_t) (255 - i - salt);
}

/* Update i of a sample message: every update and record kind in turn. */
static void fill_update (gl_update_t *upd, uint32_t i)
{
    memset (upd, 0, sizeof *upd);
    switch (i % 5) {
        case 0: case 1: case 2:
            upd->kind = GL_UPD_REC;
            fill_rec (&upd->rec, (uint8_t) (GL_REC_ALIVE + i % 5), i);
            break;
        default:
            upd->kind = i % 5 == 3 ? GL_UPD_SUSPECT : GL_UPD_DEAD;
            snprintf (upd->node, sizeof upd->node, "n%u", i);
            snprintf (upd->from, sizeof upd->from, "Observer_%u", i);
            upd->generation = 42 + i;
            upd->incarnation = i == 3 ? UINT64_MAX : i;
            break;
    }
}

static void fill_msg (gl_msg_t *msg, uint8_t type, uint32_t n_updates)
{
    memset (msg, 0, sizeof *msg);
    msg->type = type;
    if (type <= GL_MSG_NACK) {
        msg->probe_seq = type == GL_MSG_ACK ? UINT32_MAX : 1234;
        strcpy (msg->target, "target-1");
    }
    if (type == GL_MSG_PING_REQ)
        strcpy (msg->target_addr, "tcp://[::1]:7946");
    msg->n_updates = n_updates;
    msg->updates = n_updates ? calloc (n_updates, sizeof (gl_update_t)) : NULL;
    for (uint32_t i = 0; i < n_updates; i++)
        fill_update (&msg->updates [i], i);
}

/* ---- field-by-field equality ------------------------------------------------ */

static bool res_eq (const gl_res_t *a, const gl_res_t *b)
{
    return a->cores == b->cores && a->load1_milli == b->load1_milli
        && a->load_recent_milli == b->load_recent_milli
        && a->owner_load_milli == b->owner_load_milli
        && a->mem_total_kb == b->mem_total_kb && a->mem_avail_kb == b->mem_avail_kb
        && a->owner_idle_s == b->owner_idle_s && a->state == b->state;
}

static bool rec_eq (const gl_rec_t *a, const gl_rec_t *b)
{
    return a->kind == b->kind && !strcmp (a->origin, b->origin)
        && a->generation == b->generation && a->seq == b->seq
        && a->time_ms == b->time_ms && !strcmp (a->addr, b->addr)
        && !memcmp (a->pubkey, b->pubkey, GL_PUBKEY_BYTES)
        && res_eq (&a->res, &b->res) && !memcmp (a->sig, b->sig, GL_SIG_BYTES);
}

static bool upd_eq (const gl_update_t *a, const gl_update_t *b)
{
    return a->kind == b->kind && !strcmp (a->node, b->node)
        && a->generation == b->generation && a->incarnation == b->incarnation
        && !strcmp (a->from, b->from) && rec_eq (&a->rec, &b->rec);
}

static bool msg_eq (const gl_msg_t *a, const gl_msg_t *b)
{
    if (a->type != b->type || a->probe_seq != b->probe_seq
    ||  strcmp (a->target, b->target) || strcmp (a->target_addr, b->target_addr)
    ||  a->n_updates != b->n_updates)
        return false;
    for (uint32_t i = 0; i < a->n_updates; i++)
        if (!upd_eq (&a->updates [i], &b->updates [i]))
            return false;
    return true;
}

/* ---- helpers for malformed input ---------------------------------------------- */

/* Every decoder, as one signature; each clears what it decoded. */
typedef bool (*decoder_t) (const uint8_t *buf, size_t len, const char **why);

static bool dec_msg (const uint8_t *buf, size_t len, const char **why)
{
    gl_msg_t m;
    int rc = gl_msg_decode (buf, len, &m, why);
    if (rc)     /* on failure the message must come back empty */
        CHECK (m.n_updates == 0 && m.updates == NULL);
    gl_msg_clear (&m);
    return rc == 0;
}

static bool dec_env (const uint8_t *buf, size_t len, const char **why)
{
    gl_env_t env;
    return gl_env_decode (buf, len, &env, why) == 0;
}

static bool dec_req (const uint8_t *buf, size_t len, const char **why)
{
    gl_ctl_req_t req;
    int rc = gl_ctl_req_decode (buf, len, &req, why);
    gl_ctl_req_clear (&req);
    return rc == 0;
}

static bool dec_resp (const uint8_t *buf, size_t len, const char **why)
{
    gl_ctl_resp_t resp;
    int rc = gl_ctl_resp_decode (buf, len, &resp, why);
    gl_ctl_resp_clear (&resp);
    return rc == 0;
}

/* Decode must fail, with a reason; returns the reason. */
static const char *refused (decoder_t dec, const uint8_t *buf, size_t len)
{
    const char *why = NULL;
    bool ok = dec (buf, len, &why);
    CHECK (!ok);
    CHECK (why != NULL);
    return ok ? "(accepted)" : why ? why : "(no reason)";
}

/* The value at a dotted path of map keys and array indexes, or NULL. */
static msgpack_object *at (msgpack_object *o, const char *path)
{
    while (o && *path) {
        char *end;
        unsigned long k = strtoul (path, &end, 10);
        path = *end ? end + 1 : end;
        msgpack_object *next = NULL;
        if (o->type == MSGPACK_OBJECT_ARRAY && k < o->via.array.size)
            next = &o->via.array.ptr [k];
        else if (o->type == MSGPACK_OBJECT_MAP)
            for (uint32_t i = 0; i < o->via.map.size; i++)
                if (o->via.map.ptr [i].key.type == MSGPACK_OBJECT_POSITIVE_INTEGER
                &&  o->via.map.ptr [i].key.via.u64 == k)
                    next = &o->via.map.ptr [i].val;
        o = next;
    }
    return o;
}

typedef struct {
    msgpack_unpacked up;
    uint8_t *buf;               /* the original bytes, kept alive */
} tree_t;

static void tree_open (tree_t *t, uint8_t *buf, size_t len)
{
    size_t off = 0;
    t->buf = buf;
    msgpack_unpacked_init (&t->up);
    CHECK (msgpack_unpack_next (&t->up, (const char *) buf, len, &off) == MSGPACK_UNPACK_SUCCESS);
}

static void tree_close (tree_t *t)
{
    msgpack_unpacked_destroy (&t->up);
    free (t->buf);
}

static msgpack_sbuffer pack_tree (tree_t *t)
{
    msgpack_sbuffer sb;
    msgpack_packer pk;
    msgpack_sbuffer_init (&sb);
    msgpack_packer_init (&pk, &sb, msgpack_sbuffer_write);
    msgpack_pack_object (&pk, t->up.data);
    return sb;
}

/* Replace the value at path by v, decode the result, put the value back.
   Returns true when the decoder accepted it. */
static bool try_with (decoder_t dec, tree_t *t, const char *path, msgpack_object v,
                      const char **why)
{
    msgpack_object *o = at (&t->up.data, path);
    CHECK (o != NULL);
    if (!o)
        return false;
    msgpack_object saved = *o;
    *o = v;
    msgpack_sbuffer sb = pack_tree (t);
    bool ok = dec ((const uint8_t *) sb.data, sb.size, why);
    msgpack_sbuffer_destroy (&sb);
    *o = saved;
    return ok;
}

static bool refused_with (decoder_t dec, tree_t *t, const char *path, msgpack_object v)
{
    const char *why = NULL;
    bool ok = try_with (dec, t, path, v, &why);
    return !ok && why != NULL;
}

static msgpack_object o_uint (uint64_t v)
{
    msgpack_object o = { .type = MSGPACK_OBJECT_POSITIVE_INTEGER };
    o.via.u64 = v;
    return o;
}

static msgpack_object o_int (int64_t v)
{
    msgpack_object o = { .type = MSGPACK_OBJECT_NEGATIVE_INTEGER };
    o.via.i64 = v;
    return o;
}

static msgpack_object o_str (const char *s, size_t n)
{
    msgpack_object o = { .type = MSGPACK_OBJECT_STR };
    o.via.str.ptr = s;
    o.via.str.size = (uint32_t) n;
    return o;
}

static msgpack_object o_bin (const void *p, size_t n)
{
    msgpack_object o = { .type = MSGPACK_OBJECT_BIN };
    o.via.bin.ptr = p;
    o.via.bin.size = (uint32_t) n;
    return o;
}

static uint8_t *enc_msg (const gl_msg_t *msg, size_t *len)
{
    uint8_t *buf = NULL;
    CHECK (gl_msg_encode (msg, &buf, len) == 0);
    return buf;
}

/* ---- round trips --------------------------------------------------------------- */

static void test_msg_round_trips (void)
{
    for (uint8_t type = GL_MSG_PING; type <= GL_MSG_GOSSIP; type++) {
        for (uint32_t n = 0; n <= 10; n += 5) {
            gl_msg_t msg, back;
            fill_msg (&msg, type, n);
            size_t len;
            uint8_t *buf = enc_msg (&msg, &len);
            const char *why = "";
            CHECK (buf && gl_msg_decode (buf, len, &back, &why) == 0);
            CHECK (msg_eq (&msg, &back));
            CHECK_EQ (back.n_updates, n);
            gl_msg_clear (&back);
            gl_msg_clear (&msg);
            CHECK (msg.updates == NULL && msg.n_updates == 0);
            free (buf);
        }
    }
    /* A big push-pull, and the compactness that gossip depends on. */
    gl_msg_t msg, back;
    fill_msg (&msg, GL_MSG_SYNC_RESP, 2000);
    size_t len;
    uint8_t *buf = enc_msg (&msg, &len);
    CHECK (buf && gl_msg_decode (buf, len, &back, NULL) == 0 && msg_eq (&msg, &back));
    gl_msg_clear (&back);
    gl_msg_clear (&msg);
    free (buf);

    fill_msg (&msg, GL_MSG_PING, 0);
    buf = enc_msg (&msg, &len);
    CHECK (len < 24);           /* {0:1, 1:1, 2:1234, 3:"target-1"} */
    free (buf);
}

static void test_boundaries (void)
{
    gl_msg_t msg, back;
    fill_msg (&msg, GL_MSG_PING_REQ, 1);
    memset (msg.target, 'x', GL_NAME_MAX);          /* longest name */
    memset (msg.target_addr, 'a', GL_ADDR_MAX);     /* longest address */
    gl_rec_t *rec = &msg.updates [0].rec;
    memset (rec->origin, 'Z', GL_NAME_MAX);
    memset (rec->addr, 'b', GL_ADDR_MAX);
    rec->generation = rec->seq = rec->time_ms = UINT64_MAX;
    rec->res.cores = UINT32_MAX;
    size_t len;
    uint8_t *buf = enc_msg (&msg, &len);
    CHECK (buf && gl_msg_decode (buf, len, &back, NULL) == 0 && msg_eq (&msg, &back));
    CHECK_EQ (strlen (back.target_addr), GL_ADDR_MAX);
    gl_msg_clear (&back);
    free (buf);

    /* Unknown keys, even holding containers, are skipped. */
    tree_t t;
    buf = enc_msg (&msg, &len);
    tree_open (&t, buf, len);
    msgpack_object *probe = at (&t.up.data, "2");
    CHECK (probe && probe->type == MSGPACK_OBJECT_POSITIVE_INTEGER);
    msgpack_object_kv *kv = &t.up.data.via.map.ptr [2];
    CHECK_EQ (kv->key.via.u64, 2);
    kv->key.via.u64 = 63;           /* probe_seq's slot becomes unknown */
    kv->val = *at (&t.up.data, "5");
    msgpack_sbuffer sb = pack_tree (&t);
    CHECK (gl_msg_decode ((uint8_t *) sb.data, sb.size, &back, NULL) == 0);
    CHECK_EQ (back.probe_seq, 0);
    back.probe_seq = msg.probe_seq;
    CHECK (msg_eq (&msg, &back));
    gl_msg_clear (&back);
    msgpack_sbuffer_destroy (&sb);
    kv->key.via.u64 = 64;           /* but keys stop at 63 */
    sb = pack_tree (&t);
    CHECK (!strcmp (refused (dec_msg, (uint8_t *) sb.data, sb.size),
                    "map key is not an integer 0..63"));
    msgpack_sbuffer_destroy (&sb);
    tree_close (&t);
    gl_msg_clear (&msg);
}

static void test_envelope (void)
{
    gl_env_t env = { .version = GL_PROTO_VERSION, .generation = 1700000000,
                     .seq = UINT64_MAX, .time_ms = 1700000000999ull };
    memcpy (env.cluster_id, "\x01\x02\x03\x04\x05\x06\x07\x08", 8);
    strcpy (env.sender, "alpha");
    for (int i = 0; i < GL_NONCE_BYTES; i++)
        env.nonce [i] = (uint8_t) (i * 11);
    uint8_t ct [100];
    for (size_t i = 0; i < sizeof ct; i++)
        ct [i] = (uint8_t) i;
    env.ct = ct;
    env.ct_len = sizeof ct;

    uint8_t *hdr, *pkt, *hdr2;
    size_t hdr_len, pkt_len, hdr2_len;
    CHECK (gl_env_encode_header (&env, &hdr, &hdr_len) == 0);
    CHECK (gl_env_encode (&env, &pkt, &pkt_len) == 0);
    CHECK (pkt_len > hdr_len + sizeof ct);

    gl_env_t back;
    CHECK (gl_env_decode (pkt, pkt_len, &back, NULL) == 0);
    CHECK (back.ct >= pkt && back.ct + back.ct_len == pkt + pkt_len);  /* no copy */
    CHECK (back.ct_len == sizeof ct && !memcmp (back.ct, ct, sizeof ct));
    CHECK (!strcmp (back.sender, "alpha") && back.seq == UINT64_MAX);
    /* The receiver's additional data is the sender's, byte for byte. */
    CHECK (gl_env_encode_header (&back, &hdr2, &hdr2_len) == 0);
    CHECK (hdr2_len == hdr_len && !memcmp (hdr, hdr2, hdr_len));
    free (hdr2);

    /* Another version still decodes: the opener counts it. */
    env.version = 7;
    uint8_t *pkt7;
    size_t pkt7_len;
    CHECK (gl_env_encode (&env, &pkt7, &pkt7_len) == 0);
    CHECK (gl_env_decode (pkt7, pkt7_len, &back, NULL) == 0 && back.version == 7);
    free (pkt7);
    env.version = GL_PROTO_VERSION;

    /* Empty ciphertext encodes; a bad sender doesn't. */
    env.ct = NULL;
    env.ct_len = 0;
    CHECK (gl_env_encode (&env, &pkt7, &pkt7_len) == 0);
    CHECK (gl_env_decode (pkt7, pkt7_len, &back, NULL) == 0 && back.ct_len == 0);
    free (pkt7);
    strcpy (env.sender, "bad name");
    CHECK (gl_env_encode (&env, &pkt7, &pkt7_len) == -1);
    CHECK (gl_env_encode_header (&env, &pkt7, &pkt7_len) == -1);

    /* Wrong lengths and types, field by field. */
    tree_t t;
    tree_open (&t, pkt, pkt_len);
    static const char *fields [] = { "0", "1", "2", "3", "4", "5", "6", "7" };
    for (int i = 0; i < 8; i++) {
        CHECK (refused_with (dec_env, &t, fields [i], (msgpack_object) { .type = MSGPACK_OBJECT_NIL }));
        CHECK (refused_with (dec_env, &t, fields [i], o_int (-1)));
    }
    CHECK (refused_with (dec_env, &t, "0", o_uint (1ull << 32)));
    CHECK (refused_with (dec_env, &t, "1", o_bin (ct, 7)));
    CHECK (refused_with (dec_env, &t, "1", o_bin (ct, 9)));
    CHECK (refused_with (dec_env, &t, "2", o_str ("-x", 2)));
    CHECK (refused_with (dec_env, &t, "2", o_str ("a\0b", 3)));
    CHECK (refused_with (dec_env, &t, "2", o_bin ("ab", 2)));
    CHECK (refused_with (dec_env, &t, "6", o_bin (ct, 23)));
    CHECK (refused_with (dec_env, &t, "7", o_str ("ab", 2)));
    CHECK (!refused_with (dec_env, &t, "0", o_uint (UINT32_MAX)));
    t.up.data.via.array.size = 7;       /* the header alone is no envelope */
    msgpack_sbuffer sb = pack_tree (&t);
    CHECK (!strcmp (refused (dec_env, (uint8_t *) sb.data, sb.size), "envelope: not an array of 8"));
    msgpack_sbuffer_destroy (&sb);
    tree_close (&t);
    free (hdr);
}

static void test_signed_bytes (void)
{
    gl_rec_t rec, other;
    fill_rec (&rec, GL_REC_RES, 3);
    uint8_t *a, *b;
    size_t a_len, b_len;
    CHECK (gl_rec_signed_bytes (&rec, &a, &a_len) == 0);
    CHECK (a_len > 13 && !memcmp (a, "glunix-rec-v1", 13));

    /* The signature is not covered; every other field is. */
    other = rec;
    memset (other.sig, 0x5a, sizeof other.sig);
    CHECK (gl_rec_signed_bytes (&other, &b, &b_len) == 0);
    CHECK (a_len == b_len && !memcmp (a, b, a_len));
    free (b);
    for (int field = 0; field < 16; field++) {
        other = rec;
        switch (field) {
            case 0: other.kind = GL_REC_ALIVE; break;
            case 1: other.origin [0] = 'm'; break;
            case 2: other.generation++; break;
            case 3: other.seq--; break;
            case 4: other.time_ms++; break;
            case 5: strcpy (other.addr, "x"); break;
            case 6: other.pubkey [31] ^= 1; break;
            case 7: other.res.cores++; break;
            case 8: other.res.load1_milli++; break;
            case 9: other.res.load_recent_milli--; break;
            case 10: other.res.owner_load_milli++; break;
            case 11: other.res.mem_total_kb--; break;
            case 12: other.res.mem_avail_kb++; break;
            case 13: other.res.owner_idle_s++; break;
            case 14: other.res.state = GL_RES_IDLE; break;
            case 15: other.origin [1] = 0; break;
        }
        CHECK (gl_rec_signed_bytes (&other, &b, &b_len) == 0);
        CHECK (a_len != b_len || memcmp (a, b, a_len));
        free (b);
    }
    free (a);
    other = rec;
    other.kind = 9;
    CHECK (gl_rec_signed_bytes (&other, &b, &b_len) == -1);
    other = rec;
    other.origin [0] = 0;
    CHECK (gl_rec_signed_bytes (&other, &b, &b_len) == -1);
}

static void test_ctl (void)
{
    char *args [] = { "job.sh", "--flag", "", "with space \xc3\xa9" };
    gl_ctl_req_t req = { .cmd = "run", .argc = 4 };
    for (int i = 0; i < 4; i++)
        req.argv [i] = args [i];
    uint8_t *buf;
    size_t len;
    gl_ctl_req_t rback;
    CHECK (gl_ctl_req_encode (&req, &buf, &len) == 0);
    CHECK (gl_ctl_req_decode (buf, len, &rback, NULL) == 0);
    CHECK (!strcmp (rback.cmd, "run") && rback.argc == 4);
    for (int i = 0; i < 4; i++)
        CHECK (rback.argv [i] && !strcmp (rback.argv [i], args [i]));
    CHECK (rback.argv [4] == NULL);
    gl_ctl_req_clear (&rback);
    CHECK (rback.argc == 0 && rback.argv [0] == NULL);
    for (size_t cut = 0; cut < len; cut++)
        refused (dec_req, buf, cut);
    free (buf);

    gl_ctl_req_t bare = { .cmd = "status" };
    CHECK (gl_ctl_req_encode (&bare, &buf, &len) == 0);
    CHECK (gl_ctl_req_decode (buf, len, &rback, NULL) == 0);
    CHECK (!strcmp (rback.cmd, "status") && rback.argc == 0);
    gl_ctl_req_clear (&rback);
    free (buf);

    gl_ctl_req_t bad = { .cmd = "" };
    CHECK (gl_ctl_req_encode (&bad, &buf, &len) == -1);
    bad = (gl_ctl_req_t) { .cmd = "run", .argc = 2, .argv = { "a" } };
    CHECK (gl_ctl_req_encode (&bad, &buf, &len) == -1);     /* argv [1] NULL */
    bad.argc = GL_CTL_ARGS_MAX + 1;
    CHECK (gl_ctl_req_encode (&bad, &buf, &len) == -1);

    /* Request fields, each with a wrong value. */
    req.argc = 1;
    CHECK (gl_ctl_req_encode (&req, &buf, &len) == 0);
    tree_t t;
    tree_open (&t, buf, len);
    CHECK (refused_with (dec_req, &t, "0", o_uint (2)));
    CHECK (refused_with (dec_req, &t, "1", o_str ("", 0)));
    CHECK (refused_with (dec_req, &t, "1", o_uint (1)));
    CHECK (refused_with (dec_req, &t, "1", o_str ("0123456789012345678901234567890123", 32)));
    CHECK (!refused_with (dec_req, &t, "1", o_str ("0123456789012345678901234567890123", 31)));
    CHECK (refused_with (dec_req, &t, "2.0", o_str ("a\0b", 3)));
    CHECK (refused_with (dec_req, &t, "2.0", o_uint (5)));
    CHECK (refused_with (dec_req, &t, "2", o_str ("x", 1)));
    tree_close (&t);

    const char text [] = "node a: alive\nnode b: suspect\n";
    gl_ctl_resp_t resp = { .code = -22, .text = (char *) text, .text_len = sizeof text - 1 };
    gl_ctl_resp_t sback;
    CHECK (gl_ctl_resp_encode (&resp, &buf, &len) == 0);
    CHECK (gl_ctl_resp_decode (buf, len, &sback, NULL) == 0);
    CHECK_EQ (sback.code, -22);
    CHECK (sback.text_len == sizeof text - 1 && !strcmp (sback.text, text));
    gl_ctl_resp_clear (&sback);
    CHECK (sback.text == NULL);
    for (size_t cut = 0; cut < len; cut++)
        refused (dec_resp, buf, cut);
    tree_open (&t, buf, len);
    CHECK (refused_with (dec_resp, &t, "1", o_int ((int64_t) INT32_MIN - 1)));
    CHECK (refused_with (dec_resp, &t, "1", o_uint ((uint64_t) INT32_MAX + 1)));
    CHECK (!refused_with (dec_resp, &t, "1", o_int (INT32_MIN)));
    CHECK (refused_with (dec_resp, &t, "2", o_str ("a\0", 2)));
    CHECK (refused_with (dec_resp, &t, "2", o_bin ("a", 1)));
    CHECK (refused_with (dec_resp, &t, "0", o_int (-1)));
    tree_close (&t);

    /* An empty answer still gives a printable text. */
    gl_ctl_resp_t empty = { 0 };
    CHECK (gl_ctl_resp_encode (&empty, &buf, &len) == 0);
    CHECK (gl_ctl_resp_decode (buf, len, &sback, NULL) == 0);
    CHECK (sback.code == 0 && sback.text && sback.text [0] == 0 && sback.text_len == 0);
    gl_ctl_resp_clear (&sback);
    free (buf);
    resp.text = "a\0b";
    resp.text_len = 3;
    CHECK (gl_ctl_resp_encode (&resp, &buf, &len) == -1);
    resp.text = NULL;
    CHECK (gl_ctl_resp_encode (&resp, &buf, &len) == -1);
}

static void test_names (void)
{
    char longest [GL_NAME_MAX + 2];
    memset (longest, 'a', GL_NAME_MAX);
    longest [GL_NAME_MAX] = 0;
    CHECK (gl_name_valid ("a"));
    CHECK (gl_name_valid ("node-1.lab_A"));
    CHECK (gl_name_valid ("_x"));
    CHECK (gl_name_valid ("9"));
    CHECK (gl_name_valid (longest));
    longest [GL_NAME_MAX] = 'a';
    longest [GL_NAME_MAX + 1] = 0;
    CHECK (!gl_name_valid (longest));
    CHECK (!gl_name_valid (NULL));
    CHECK (!gl_name_valid (""));
    CHECK (!gl_name_valid ("-a"));
    CHECK (!gl_name_valid (".a"));
    CHECK (!gl_name_valid ("a b"));
    CHECK (!gl_name_valid ("a/b"));
    CHECK (!gl_name_valid ("a:b"));
    CHECK (!gl_name_valid ("caf\xc3\xa9"));

    CHECK (!strcmp (gl_msg_type_name (GL_MSG_PING), "ping"));
    CHECK (!strcmp (gl_msg_type_name (GL_MSG_PING_REQ), "ping-req"));
    CHECK (!strcmp (gl_msg_type_name (GL_MSG_GOSSIP), "gossip"));
    CHECK (!strcmp (gl_msg_type_name (0), "unknown"));
    CHECK (!strcmp (gl_msg_type_name (99), "unknown"));
}

/* ---- what the encoder refuses to send -------------------------------------------- */

static void test_encoder_refuses (void)
{
    gl_msg_t msg;
    uint8_t *buf;
    size_t len;
    for (int bad = 0; bad < 13; bad++) {
        fill_msg (&msg, GL_MSG_PING_REQ, 5);
        switch (bad) {
            case 0: msg.type = 0; break;
            case 1: msg.type = GL_MSG_GOSSIP + 1; break;
            case 2: msg.target [0] = 0; break;                      /* ping-req to nobody */
            case 3: msg.target_addr [0] = 0; break;
            case 4: strcpy (msg.target, "no/slash"); break;
            case 5: memset (msg.target, 'a', sizeof msg.target); break;   /* no NUL */
            case 6: msg.updates [0].kind = 0; break;
            case 7: msg.updates [3].from [0] = 0; break;            /* suspect by nobody */
            case 8: msg.updates [4].node [0] = '-'; break;
            case 9: msg.updates [2].rec.res.state = 3; break;
            case 10: msg.updates [1].rec.kind = GL_REC_RES + 1; break;
            case 11: free (msg.updates); msg.updates = NULL; break;
            case 12: memset (msg.updates [0].rec.addr, 'a', GL_ADDR_MAX + 1); break;
        }
        CHECK (gl_msg_encode (&msg, &buf, &len) == -1);
        gl_msg_clear (&msg);
    }
    fill_msg (&msg, GL_MSG_GOSSIP, 0);
    msg.n_updates = GL_UPDATES_MAX + 1;
    CHECK (gl_msg_encode (&msg, &buf, &len) == -1);
    /* ACK and NACK may leave out the target; GOSSIP carries none. */
    fill_msg (&msg, GL_MSG_ACK, 1);
    msg.target [0] = 0;
    CHECK (gl_msg_encode (&msg, &buf, &len) == 0);
    free (buf);
    gl_msg_clear (&msg);
}

/* ---- what the decoder refuses ------------------------------------------------------ */

/* Every prefix of a valid encoding, and the encoding plus one byte. */
static void test_truncation (void)
{
    gl_msg_t msg;
    fill_msg (&msg, GL_MSG_PING_REQ, 5);
    size_t len;
    uint8_t *buf = enc_msg (&msg, &len);
    int clean = 0;
    for (size_t cut = 0; cut < len; cut++) {
        uint8_t *copy = malloc (cut + 1);       /* exact size: ASan sees overreads */
        memcpy (copy, buf, cut);
        const char *why = refused (dec_msg, copy, cut);
        clean += !strcmp (why, "truncated") || !strcmp (why, "container count exceeds the input");
        free (copy);
    }
    CHECK_EQ (clean, len);
    uint8_t *longer = malloc (len + 1);
    memcpy (longer, buf, len);
    longer [len] = 0xc0;
    CHECK (!strcmp (refused (dec_msg, longer, len + 1), "trailing bytes after the message"));
    free (longer);
    free (buf);
    gl_msg_clear (&msg);

    gl_env_t env = { .version = 1, .sender = "s", .ct = (const uint8_t *) "cipher", .ct_len = 6 };
    CHECK (gl_env_encode (&env, &buf, &len) == 0);
    for (size_t cut = 0; cut < len; cut++)
        refused (dec_env, buf, cut);
    free (buf);
}

static const msgpack_object *wrong_values (size_t *n)
{
    static msgpack_object v [9];
    v [0] = (msgpack_object) { .type = MSGPACK_OBJECT_NIL };
    v [1] = (msgpack_object) { .type = MSGPACK_OBJECT_BOOLEAN, .via.boolean = true };
    v [2] = o_int (-1);
    v [3] = (msgpack_object) { .type = MSGPACK_OBJECT_FLOAT64, .via.f64 = 1.5 };
    v [4] = o_str ("x", 1);
    v [5] = o_bin ("x", 1);
    v [6] = (msgpack_object) { .type = MSGPACK_OBJECT_ARRAY };
    v [7] = (msgpack_object) { .type = MSGPACK_OBJECT_MAP };
    v [8] = o_uint (1);
    *n = 9;
    return v;
}

/* Every field of every struct, given a value of every other type. */
static void test_wrong_types (void)
{
    gl_msg_t msg;
    fill_msg (&msg, GL_MSG_PING_REQ, 5);
    size_t len;
    uint8_t *buf = enc_msg (&msg, &len);
    gl_msg_clear (&msg);
    tree_t t;
    tree_open (&t, buf, len);

    static const char *paths [] = {
        "0", "1", "2", "3", "4", "5",
        "5.0.1", "5.0.6", "5.0.6.1", "5.0.6.2", "5.0.6.3", "5.0.6.4", "5.0.6.5",
        "5.0.6.6", "5.0.6.7", "5.0.6.9",
        "5.2.6.8", "5.2.6.8.1", "5.2.6.8.2", "5.2.6.8.3", "5.2.6.8.4",
        "5.2.6.8.5", "5.2.6.8.6", "5.2.6.8.7", "5.2.6.8.8",
        "5.3.1", "5.3.2", "5.3.3", "5.3.4", "5.3.5",
        "5.0", "5.4",
    };
    size_t n_wrong;
    const msgpack_object *wrong = wrong_values (&n_wrong);
    int tried = 0;
    for (size_t p = 0; p < sizeof paths / sizeof paths [0]; p++) {
        msgpack_object *o = at (&t.up.data, paths [p]);
        CHECK (o != NULL);
        for (size_t w = 0; o && w < n_wrong; w++)
            if (wrong [w].type != o->type) {
                bool ok = refused_with (dec_msg, &t, paths [p], wrong [w]);
                if (!ok)
                    fprintf (stderr, "  accepted type %d at %s\n", wrong [w].type, paths [p]);
                CHECK (ok);
                tried++;
            }
    }
    CHECK (tried > 200);
    /* The top level is a map, not anything else. */
    for (size_t w = 0; w < n_wrong; w++)
        if (wrong [w].type != MSGPACK_OBJECT_MAP)
            CHECK (refused_with (dec_msg, &t, "", wrong [w]));
    tree_close (&t);
}

/* Right type, wrong value. */
static void test_out_of_range (void)
{
    gl_msg_t msg;
    fill_msg (&msg, GL_MSG_PING_REQ, 5);
    size_t len;
    uint8_t *buf = enc_msg (&msg, &len);
    gl_msg_clear (&msg);
    tree_t t;
    tree_open (&t, buf, len);
    char k64 [65], k256 [257], b [65] = { 0 };
    memset (k64, 'k', sizeof k64);
    memset (k256, 'a', sizeof k256);
    struct { const char *path; msgpack_object v; } cases [] = {
        { "0", o_uint (2) },                        /* another version */
        { "0", o_uint (0) },
        { "1", o_uint (0) },                        /* type 0 */
        { "1", o_uint (8) },
        { "1", o_uint (1ull << 32 | 1) },           /* type 1 in disguise */
        { "2", o_uint (1ull << 32) },               /* probe_seq beyond uint32 */
        { "3", o_str ("", 0) },
        { "3", o_str ("-lead", 5) },
        { "3", o_str ("a b", 3) },
        { "3", o_str ("a\0b", 3) },
        { "3", o_str (k64, 64) },
        { "4", o_str (k256, 256) },
        { "4", o_str ("tcp://\0x", 8) },
        { "5.0.1", o_uint (0) },                    /* update kind */
        { "5.0.1", o_uint (4) },
        { "5.0.6.1", o_uint (4) },                  /* record kind */
        { "5.0.6.1", o_uint (0) },
        { "5.0.6.2", o_str ("x y", 3) },            /* origin */
        { "5.0.6.6", o_str (k256, 256) },           /* addr */
        { "5.0.6.7", o_bin (b, 31) },               /* pubkey */
        { "5.0.6.7", o_bin (b, 33) },
        { "5.0.6.9", o_bin (b, 63) },               /* sig */
        { "5.0.6.9", o_bin (b, 65) },
        { "5.2.6.8.8", o_uint (3) },                /* res state */
        { "5.2.6.8.1", o_uint (1ull << 32) },       /* res cores */
        { "5.2.6.8.7", o_uint (UINT64_MAX) },
        { "5.3.2", o_str ("..", 2) },               /* suspect node */
        { "5.3.5", o_str (k64, 64) },               /* suspect from */
        { "5.4.1", o_uint (1) },                    /* dead turned rec: no record */
        { "5.0.1", o_uint (2) },                    /* rec turned suspect: no node */
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases [0]; i++) {
        bool ok = refused_with (dec_msg, &t, cases [i].path, cases [i].v);
        if (!ok)
            fprintf (stderr, "  accepted a bad value at %s\n", cases [i].path);
        CHECK (ok);
    }
    /* The values just inside the limits still pass. */
    CHECK (!refused_with (dec_msg, &t, "2", o_uint (UINT32_MAX)));
    CHECK (!refused_with (dec_msg, &t, "3", o_str (k64, 63)));
    CHECK (!refused_with (dec_msg, &t, "5.0.6.6", o_str (k256, 255)));
    CHECK (!refused_with (dec_msg, &t, "5.2.6.8.8", o_uint (0)));
    CHECK (!refused_with (dec_msg, &t, "5.2.6.8.5", o_uint (UINT64_MAX)));
    tree_close (&t);
}

static void test_map_keys (void)
{
    /* {0:1, 1:7, 1:7}: duplicate key */
    const uint8_t dup [] = { 0x83, 0x00, 0x01, 0x01, 0x07, 0x01, 0x07 };
    CHECK (!strcmp (refused (dec_msg, dup, sizeof dup), "duplicate map key"));
    /* {0:1, 1:7} is a valid gossip message with no updates */
    const uint8_t ok [] = { 0x82, 0x00, 0x01, 0x01, 0x07 };
    gl_msg_t msg;
    CHECK (gl_msg_decode (ok, sizeof ok, &msg, NULL) == 0 && msg.type == GL_MSG_GOSSIP);
    gl_msg_clear (&msg);
    /* {0:1, 1:2, 3:"a b"}: an ack's target is optional, but if given, a name */
    const uint8_t ack_bad [] = { 0x83, 0x00, 0x01, 0x01, 0x02, 0x03, 0xa3, 'a', ' ', 'b' };
    const uint8_t ack_ok [] = { 0x83, 0x00, 0x01, 0x01, 0x02, 0x03, 0xa3, 'a', '-', 'b' };
    CHECK (!strcmp (refused (dec_msg, ack_bad, sizeof ack_bad), "message target: not a node name"));
    CHECK (gl_msg_decode (ack_ok, sizeof ack_ok, &msg, NULL) == 0 && !strcmp (msg.target, "a-b"));
    gl_msg_clear (&msg);
    /* {1:7}: no version */
    const uint8_t nover [] = { 0x81, 0x01, 0x07 };
    CHECK (!strcmp (refused (dec_msg, nover, sizeof nover), "message: missing version"));
    /* {0:1, "a":7}, {0:1, -1:7}: keys are small integers */
    const uint8_t strkey [] = { 0x82, 0x00, 0x01, 0xa1, 'a', 0x07 };
    const uint8_t negkey [] = { 0x82, 0x00, 0x01, 0xff, 0x07 };
    refused (dec_msg, strkey, sizeof strkey);
    refused (dec_msg, negkey, sizeof negkey);
    /* {0:1, 1:7, 5:[{1:1}]}: a rec update without record */
    const uint8_t norec [] = { 0x83, 0x00, 0x01, 0x01, 0x07, 0x05, 0x91, 0x81, 0x01, 0x01 };
    CHECK (!strcmp (refused (dec_msg, norec, sizeof norec), "record: unknown kind"));
    /* The same duplicate inside a nested update. */
    const uint8_t dup2 [] = { 0x83, 0x00, 0x01, 0x01, 0x07, 0x05, 0x91,
                              0x82, 0x01, 0x01, 0x01, 0x01 };
    CHECK (!strcmp (refused (dec_msg, dup2, sizeof dup2), "duplicate map key"));
    /* {0:nil, 1:nil, ... 64:nil}: more keys than there can be */
    uint8_t wide [3 + 2 * 65] = { 0xde, 0x00, 65 };
    for (int i = 0; i < 65; i++) {
        wide [3 + 2 * i] = (uint8_t) i;
        wide [4 + 2 * i] = 0xc0;
    }
    CHECK (!strcmp (refused (dec_msg, wide, sizeof wide), "map has more than 64 keys"));
    /* ctl maps too */
    const uint8_t dup3 [] = { 0x83, 0x00, 0x01, 0x01, 0xa1, 'x', 0x01, 0xa1, 'y' };
    CHECK (!strcmp (refused (dec_req, dup3, sizeof dup3), "duplicate map key"));
}

/* Counts that lie must fail at once, without allocating what they claim. */
static void test_huge_counts (void)
{
    const uint8_t arr [] = { 0xdd, 0xff, 0xff, 0xff, 0xff };     /* array of 2^32-1 */
    const uint8_t map [] = { 0xdf, 0xff, 0xff, 0xff, 0xff, 0x00, 0x01, 0x01 };
    const uint8_t str [] = { 0xdb, 0xff, 0xff, 0xff, 0xff, 'a' };
    const uint8_t nested [] = { 0x82, 0x00, 0x01, 0x05, 0xdd, 0x7f, 0xff, 0xff, 0xff, 0xc0 };
    decoder_t decs [] = { dec_msg, dec_env, dec_req, dec_resp };
    clock_t start = clock ();
    for (int i = 0; i < 4; i++) {
        const char *why = refused (decs [i], arr, sizeof arr);
        CHECK (!strcmp (why, "container count exceeds the input"));
        CHECK (!strcmp (refused (decs [i], map, sizeof map), "container count exceeds the input"));
        CHECK (!strcmp (refused (decs [i], str, sizeof str), "truncated"));
        CHECK (!strcmp (refused (decs [i], nested, sizeof nested), "container count exceeds the input"));
    }
    CHECK ((clock () - start) * 10 < CLOCKS_PER_SEC);

    /* One more update than allowed is refused before any is decoded. */
    size_t n = GL_UPDATES_MAX + 1;
    size_t len = 5 + 5 + n;
    uint8_t *big = malloc (len);
    memcpy (big, "\x82\x00\x01\x05\xdd", 5);
    big [5] = 0; big [6] = 1; big [7] = 0; big [8] = 1;    /* 65537, big-endian */
    memset (big + 9, 0xc0, n);                          /* nil elements */
    CHECK (!strcmp (refused (dec_msg, big, len - 1), "message: too many updates"));
    free (big);

    /* Nothing bigger than a packet is looked at. */
    big = calloc (1, GL_PKT_MAX + 1);
    CHECK (!strcmp (refused (dec_msg, big, GL_PKT_MAX + 1), "packet too large"));
    free (big);
    refused (dec_msg, NULL, 0);
}

static void test_depth (void)
{
    uint8_t bomb [1000];
    memset (bomb, 0x91, sizeof bomb);       /* [[[[...]]]] */
    bomb [sizeof bomb - 1] = 0xc0;
    CHECK (!strcmp (refused (dec_msg, bomb, sizeof bomb), "nested too deep"));
    CHECK (!strcmp (refused (dec_env, bomb, sizeof bomb), "nested too deep"));
    /* Eight levels are allowed (and then refused for what they hold). */
    CHECK (strcmp (refused (dec_msg, bomb + sizeof bomb - 9, 9), "nested too deep"));
    CHECK (!strcmp (refused (dec_msg, bomb + sizeof bomb - 10, 10), "nested too deep"));
    /* Deep inside an unknown key of an otherwise valid message. */
    uint8_t msg [64] = { 0x83, 0x00, 0x01, 0x01, 0x07, 0x3f };  /* {0:1, 1:7, 63: */
    size_t len = 6;
    for (int i = 0; i < 10; i++) {          /* {0:{0:{0:...nil}}} */
        msg [len++] = 0x81;
        msg [len++] = 0x00;
    }
    msg [len++] = 0xc0;
    CHECK (!strcmp (refused (dec_msg, msg, len), "nested too deep"));
    /* ...while six levels there are fine: the key is just skipped. */
    uint8_t shallow [64] = { 0x83, 0x00, 0x01, 0x01, 0x07, 0x3f };
    len = 6;
    for (int i = 0; i < 6; i++) {
        shallow [len++] = 0x81;
        shallow [len++] = 0x00;
    }
    shallow [len++] = 0xc0;
    gl_msg_t m;
    CHECK (gl_msg_decode (shallow, len, &m, NULL) == 0 && m.type == GL_MSG_GOSSIP);
    gl_msg_clear (&m);
}

int main (void)
{
    test_msg_round_trips ();
    test_boundaries ();
    test_envelope ();
    test_signed_bytes ();
    test_ctl ();
    test_names ();
    test_encoder_refuses ();
    test_truncation ();
    test_wrong_types ();
    test_out_of_range ();
    test_map_keys ();
    test_huge_counts ();
    test_depth ();
    return tap_done ("test_wire");
}
