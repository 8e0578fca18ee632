/*  wire.c -- the one wire codec of glunix (see wire.h).

    Messages, updates, records and resource estimates are msgpack maps
    with small integer keys.  A field equal to zero (or an empty string,
    or all-zero bytes) is left out, since gossip traffic is what we pay
    for; the decoder fills absent fields with zero, so nothing is lost.

        message  { 0 version, 1 type, 2 probe_seq, 3 target,
                   4 target_addr, 5 [update, ...] }
        update   { 1 kind, 2 node, 3 generation, 4 incarnation, 5 from,
                   6 record }
        record   { 1 kind, 2 origin, 3 generation, 4 seq, 5 time_ms,
                   6 addr, 7 pubkey, 8 res, 9 sig }
        res      { 1 cores, 2 load1_milli, 3 load_recent_milli,
                   4 owner_load_milli, 5 mem_total_kb, 6 mem_avail_kb,
                   7 owner_idle_s, 8 state }
        ctl req  { 0 version, 1 cmd, 2 [arg, ...] }
        ctl resp { 0 version, 1 code, 2 text }

    Map keys are 0..63, so a 64-bit mask catches duplicates; keys we do
    not know are skipped, so a later version may add fields.

    Decoding happens in two steps.  scan() walks the raw bytes once and
    checks that every length and count fits in what is left of the input
    and that nesting stays shallow.  Only then does msgpack-c parse the
    bytes into objects: its parser allocates room for a container's
    elements as soon as it reads the count, so without the scan a 5-byte
    input could ask it for gigabytes.  After the scan every object it
    makes stands for at least one byte of input.  The decoders below then
    check every type and range while copying into our structs.
*/
#include "wire.h"

#include <msgpack.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#define DEPTH_MAX 8             /* containers inside containers */
#define KEY_MAX   63            /* map keys fit a 64-bit "seen" mask */

static int fail (const char **why, const char *reason)
{
    if (why)
        *why = reason;
    return -1;
}

/* ---- the bounded scanner ------------------------------------------------ */

static uint64_t read_be (const uint8_t *p, size_t n)
{
    uint64_t v = 0;
    for (size_t i = 0; i < n; i++)
        v = (v << 8) | p [i];
    return v;
}

/* Check that buf holds exactly one msgpack object whose every length and
   count fits in the bytes left, nested at most DEPTH_MAX deep.  Each
   container element takes at least one byte, so a count larger than the
   bytes left is a lie we catch before anything is allocated. */
static int scan (const uint8_t *buf, size_t len, const char **why)
{
    size_t todo [DEPTH_MAX + 1];    /* objects still expected per level */
    int depth = 0;
    size_t pos = 0;
    todo [0] = 1;

    while (depth >= 0) {
        if (todo [depth] == 0) {
            depth--;
            continue;
        }
        todo [depth]--;
        if (pos >= len)
            return fail (why, "truncated");
        uint8_t b = buf [pos++];
        size_t hdr = 0;         /* bytes of length (or value) after b */
        uint64_t body = 0;      /* payload bytes after those */
        uint64_t items = 0;     /* objects inside, for arrays and maps */

        if (b <= 0x7f || b >= 0xe0 || b == 0xc0 || b == 0xc2 || b == 0xc3)
            ;                                       /* fixint, nil, bool */
        else if (b <= 0x8f)
            items = 2 * (b & 0x0f);                 /* fixmap */
        else if (b <= 0x9f)
            items = b & 0x0f;                       /* fixarray */
        else if (b <= 0xbf)
            body = b & 0x1f;                        /* fixstr */
        else if (b == 0xc1)
            return fail (why, "invalid msgpack byte 0xc1");
        else if (b >= 0xc4 && b <= 0xc6)
            hdr = (size_t) 1 << (b - 0xc4);         /* bin 8/16/32 */
        else if (b >= 0xc7 && b <= 0xc9)
            hdr = (size_t) 1 << (b - 0xc7);         /* ext 8/16/32, + type */
        else if (b == 0xca || b == 0xcb)
            body = b == 0xca ? 4 : 8;               /* float 32/64 */
        else if (b >= 0xcc && b <= 0xd3)
            body = (uint64_t) 1 << ((b - 0xcc) & 3);/* uint, int 8..64 */
        else if (b >= 0xd4 && b <= 0xd8)
            body = 1 + ((uint64_t) 1 << (b - 0xd4));/* fixext 1..16, + type */
        else if (b >= 0xd9 && b <= 0xdb)
            hdr = (size_t) 1 << (b - 0xd9);         /* str 8/16/32 */
        else
            hdr = b == 0xdc || b == 0xde ? 2 : 4;   /* array, map 16/32 */

        if (hdr) {
            if (len - pos < hdr)
                return fail (why, "truncated");
            uint64_t n = read_be (buf + pos, hdr);
            pos += hdr;
            if (b >= 0xdc)
                items = b >= 0xde ? 2 * n : n;
            else
                body = n + (b >= 0xc7 && b <= 0xc9);    /* ext type byte */
        }
        if (body > len - pos)
            return fail (why, "truncated");
        pos += body;
        if (items > len - pos)
            return fail (why, "container count exceeds the input");
        if (items > 0) {
            if (depth == DEPTH_MAX)
                return fail (why, "nested too deep");
            todo [++depth] = items;
        }
    }
    if (pos != len)
        return fail (why, "trailing bytes after the message");
    return 0;
}

/* Scan, then let msgpack-c build the object tree in up's zone.  Strings
   and bins in the tree point into buf. */
static int unpack (const uint8_t *buf, size_t len, msgpack_unpacked *up,
                   const char **why)
{
    msgpack_unpacked_init (up);
    if (len > GL_PKT_MAX)
        return fail (why, "packet too large");
    if (scan (buf, len, why))
        return -1;
    size_t off = 0;
    int rc = msgpack_unpack_next (up, (const char *) buf, len, &off);
    if (rc == MSGPACK_UNPACK_SUCCESS && off == len)
        return 0;
    msgpack_unpacked_destroy (up);
    return fail (why, rc == MSGPACK_UNPACK_NOMEM_ERROR? "out of memory": "malformed msgpack");
}

/* ---- reading objects ----------------------------------------------------- */

static bool get_uint (const msgpack_object *o, uint64_t max, uint64_t *v)
{
    if (o->type != MSGPACK_OBJECT_POSITIVE_INTEGER || o->via.u64 > max)
        return false;
    *v = o->via.u64;
    return true;
}

/* A string of at most max bytes and no NUL: it must survive as a C string. */
static bool str_ok (const msgpack_object *o, size_t max)
{
    return o->type == MSGPACK_OBJECT_STR && o->via.str.size <= max
        && (o->via.str.size == 0 || !memchr (o->via.str.ptr, 0, o->via.str.size));
}

/* Copy a string into a char[size], NUL-terminated. */
static bool get_cstr (const msgpack_object *o, char *dst, size_t size)
{
    if (!str_ok (o, size - 1))
        return false;
    if (o->via.str.size)        /* an empty string's ptr may be NULL */
        memcpy (dst, o->via.str.ptr, o->via.str.size);
    dst [o->via.str.size] = 0;
    return true;
}

/* A malloc'ed copy of a string (or NULL if it isn't one). */
static char *dup_str (const msgpack_object *o)
{
    if (!str_ok (o, GL_PKT_MAX))
        return NULL;
    char *s = malloc (o->via.str.size + 1);
    if (s) {
        if (o->via.str.size)
            memcpy (s, o->via.str.ptr, o->via.str.size);
        s [o->via.str.size] = 0;
    }
    return s;
}

static bool get_bin (const msgpack_object *o, uint8_t *dst, size_t size)
{
    if (o->type != MSGPACK_OBJECT_BIN || o->via.bin.size != size)
        return false;
    memcpy (dst, o->via.bin.ptr, size);
    return true;
}

/* A map key: an integer 0..KEY_MAX not seen before in this map. */
static int map_key (const msgpack_object *k, uint64_t *seen, unsigned *key,
                    const char **why)
{
    uint64_t v;
    if (!get_uint (k, KEY_MAX, &v))
        return fail (why, "map key is not an integer 0..63");
    if (*seen & ((uint64_t) 1 << v))
        return fail (why, "duplicate map key");
    *seen |= (uint64_t) 1 << v;
    *key = (unsigned) v;
    return 0;
}

/* ---- writing objects ----------------------------------------------------- */

typedef struct {
    msgpack_sbuffer sb;
    msgpack_packer pk;
    int err;                /* sticky: out of memory or a bad field */
} enc_t;

static void enc_init (enc_t *e)
{
    msgpack_sbuffer_init (&e->sb);
    msgpack_packer_init (&e->pk, &e->sb, msgpack_sbuffer_write);
    e->err = 0;
}

static int enc_finish (enc_t *e, uint8_t **out, size_t *len)
{
    if (e->err || e->sb.size > GL_PKT_MAX) {
        msgpack_sbuffer_destroy (&e->sb);
        return -1;
    }
    *len = e->sb.size;
    *out = (uint8_t *) msgpack_sbuffer_release (&e->sb);
    return 0;
}

static void put_uint (enc_t *e, uint64_t v)
{
    if (msgpack_pack_uint64 (&e->pk, v))
        e->err = -1;
}

static void put_int (enc_t *e, int64_t v)
{
    if (msgpack_pack_int64 (&e->pk, v))
        e->err = -1;
}

/* The body is skipped when empty: p may then be NULL. */
static void put_str (enc_t *e, const char *s, size_t n)
{
    if (msgpack_pack_str (&e->pk, n) || (n && msgpack_pack_str_body (&e->pk, s, n)))
        e->err = -1;
}

static void put_bin (enc_t *e, const void *p, size_t n)
{
    if (msgpack_pack_bin (&e->pk, n) || (n && msgpack_pack_bin_body (&e->pk, p, n)))
        e->err = -1;
}

static void put_map (enc_t *e, size_t n)
{
    if (msgpack_pack_map (&e->pk, n))
        e->err = -1;
}

static void put_array (enc_t *e, size_t n)
{
    if (msgpack_pack_array (&e->pk, n))
        e->err = -1;
}

/* A char[size] field must hold its NUL. */
static bool cstr_ok (const char *s, size_t size)
{
    return strnlen (s, size) < size;
}

/* ---- struct layouts ------------------------------------------------------
   Each struct is described once, by a table, and the same table drives
   both the encoder and the decoder, so they can't drift apart. */

typedef enum {
    F_VERSION,      /* GL_PROTO_VERSION, always written, checked on read */
    F_U8,           /* uint8_t, at most `size` */
    F_U32,
    F_U64,
    F_NAME,         /* char[size], empty or a valid node name */
    F_STR,          /* char[size], no NUL inside */
    F_BIN,          /* uint8_t[size], exactly */
    F_MAP,          /* a nested struct, described by `sub` */
    F_UPDATES,      /* gl_msg_t's updates array */
} ftype_t;

typedef struct schema_s schema_t;
typedef struct {
    unsigned key;
    ftype_t type;
    size_t off;
    size_t size;
    const schema_t *sub;
    const char *bad;        /* reason given when the field is malformed */
} field_t;

struct schema_s {
    const field_t *fields;
    size_t count;
    const char *not_map;
};

#define FIELD(key, type, st, member, size, sub, bad) \
    { key, type, offsetof (st, member), size, sub, bad }
#define NFIELDS(table) (sizeof (table) / sizeof (table) [0])

static const field_t res_fields [] = {
    FIELD (1, F_U32, gl_res_t, cores, 0, NULL, "res cores: expected uint32"),
    FIELD (2, F_U32, gl_res_t, load1_milli, 0, NULL, "res load1: expected uint32"),
    FIELD (3, F_U32, gl_res_t, load_recent_milli, 0, NULL, "res load_recent: expected uint32"),
    FIELD (4, F_U32, gl_res_t, owner_load_milli, 0, NULL, "res owner_load: expected uint32"),
    FIELD (5, F_U64, gl_res_t, mem_total_kb, 0, NULL, "res mem_total: expected uint64"),
    FIELD (6, F_U64, gl_res_t, mem_avail_kb, 0, NULL, "res mem_avail: expected uint64"),
    FIELD (7, F_U32, gl_res_t, owner_idle_s, 0, NULL, "res owner_idle: expected uint32"),
    FIELD (8, F_U8, gl_res_t, state, GL_RES_UNAVAILABLE, NULL, "res state: expected 0..2"),
};
static const schema_t res_schema = { res_fields, NFIELDS (res_fields), "res: not a map" };

static const field_t rec_fields [] = {
    FIELD (1, F_U8, gl_rec_t, kind, GL_REC_RES, NULL, "record kind: expected 1..3"),
    FIELD (2, F_NAME, gl_rec_t, origin, GL_NAME_MAX + 1, NULL, "record origin: not a node name"),
    FIELD (3, F_U64, gl_rec_t, generation, 0, NULL, "record generation: expected uint64"),
    FIELD (4, F_U64, gl_rec_t, seq, 0, NULL, "record seq: expected uint64"),
    FIELD (5, F_U64, gl_rec_t, time_ms, 0, NULL, "record time: expected uint64"),
    FIELD (6, F_STR, gl_rec_t, addr, GL_ADDR_MAX + 1, NULL, "record addr: expected a string of at most 255 bytes"),
    FIELD (7, F_BIN, gl_rec_t, pubkey, GL_PUBKEY_BYTES, NULL, "record pubkey: expected bin of 32 bytes"),
    FIELD (8, F_MAP, gl_rec_t, res, 0, &res_schema, "record res: malformed"),
    FIELD (9, F_BIN, gl_rec_t, sig, GL_SIG_BYTES, NULL, "record sig: expected bin of 64 bytes"),
};
static const schema_t rec_schema = { rec_fields, NFIELDS (rec_fields), "record: not a map" };

static const field_t upd_fields [] = {
    FIELD (1, F_U8, gl_update_t, kind, GL_UPD_DEAD, NULL, "update kind: expected 1..3"),
    FIELD (2, F_NAME, gl_update_t, node, GL_NAME_MAX + 1, NULL, "update node: not a node name"),
    FIELD (3, F_U64, gl_update_t, generation, 0, NULL, "update generation: expected uint64"),
    FIELD (4, F_U64, gl_update_t, incarnation, 0, NULL, "update incarnation: expected uint64"),
    FIELD (5, F_NAME, gl_update_t, from, GL_NAME_MAX + 1, NULL, "update from: not a node name"),
    FIELD (6, F_MAP, gl_update_t, rec, 0, &rec_schema, "update record: malformed"),
};
static const schema_t upd_schema = { upd_fields, NFIELDS (upd_fields), "update: not a map" };

static const field_t msg_fields [] = {
    /* the version has no member of its own; `type` is only a placeholder */
    FIELD (0, F_VERSION, gl_msg_t, type, 0, NULL, "message: unsupported protocol version"),
    FIELD (1, F_U8, gl_msg_t, type, GL_MSG_GOSSIP, NULL, "message type: expected 1..7"),
    FIELD (2, F_U32, gl_msg_t, probe_seq, 0, NULL, "message probe_seq: expected uint32"),
    FIELD (3, F_NAME, gl_msg_t, target, GL_NAME_MAX + 1, NULL, "message target: not a node name"),
    FIELD (4, F_STR, gl_msg_t, target_addr, GL_ADDR_MAX + 1, NULL, "message target_addr: expected a string of at most 255 bytes"),
    FIELD (5, F_UPDATES, gl_msg_t, updates, 0, NULL, "message updates: malformed"),
};
static const schema_t msg_schema = { msg_fields, NFIELDS (msg_fields), "message: not a map" };

/* ---- meaning: what each kind of message needs ------------------------------
   Checked after decoding and before encoding, so we never send what we
   would refuse. */

static int check_rec (const gl_rec_t *rec, const char **why)
{
    if (rec->kind < GL_REC_ALIVE || rec->kind > GL_REC_RES)
        return fail (why, "record: unknown kind");
    if (!cstr_ok (rec->origin, sizeof rec->origin) || !gl_name_valid (rec->origin))
        return fail (why, "record: origin missing or invalid");
    return 0;
}

static int check_update (const gl_update_t *upd, const char **why)
{
    switch (upd->kind) {
        case GL_UPD_REC:
            return check_rec (&upd->rec, why);
        case GL_UPD_SUSPECT:
        case GL_UPD_DEAD:
            if (!cstr_ok (upd->node, sizeof upd->node) || !gl_name_valid (upd->node))
                return fail (why, "update: suspect/dead without a valid node");
            if (!cstr_ok (upd->from, sizeof upd->from) || !gl_name_valid (upd->from))
                return fail (why, "update: suspect/dead without a valid from");
            return 0;
        default:
            return fail (why, "update: unknown kind");
    }
}

static int check_msg (const gl_msg_t *msg, const char **why)
{
    if (msg->type < GL_MSG_PING || msg->type > GL_MSG_GOSSIP)
        return fail (why, "message: unknown type");
    bool has_target = cstr_ok (msg->target, sizeof msg->target)
                   && gl_name_valid (msg->target);
    if ((msg->type == GL_MSG_PING || msg->type == GL_MSG_PING_REQ) && !has_target)
        return fail (why, "message: ping without a valid target");
    if (msg->type == GL_MSG_PING_REQ && msg->target_addr [0] == 0)
        return fail (why, "message: ping-req without target_addr");
    if (msg->n_updates > GL_UPDATES_MAX)
        return fail (why, "message: too many updates");
    return 0;
}

/* ---- table-driven encoding ------------------------------------------------ */

static void put_fields (enc_t *e, const schema_t *s, const void *base);

static bool bytes_zero (const uint8_t *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (p [i])
            return false;
    return true;
}

static bool field_present (const field_t *f, const void *base)
{
    const char *p = (const char *) base + f->off;
    switch (f->type) {
        case F_VERSION: return true;
        case F_U8:      return *(const uint8_t *) p != 0;
        case F_U32:     return *(const uint32_t *) p != 0;
        case F_U64:     return *(const uint64_t *) p != 0;
        case F_NAME:
        case F_STR:     return p [0] != 0;
        case F_BIN:     return !bytes_zero ((const uint8_t *) p, f->size);
        case F_UPDATES: return ((const gl_msg_t *) base)->n_updates > 0;
        case F_MAP:
            for (size_t i = 0; i < f->sub->count; i++)
                if (field_present (&f->sub->fields [i], p))
                    return true;
            return false;
    }
    return false;
}

static void put_updates (enc_t *e, const gl_msg_t *msg)
{
    if (!msg->updates) {
        e->err = -1;
        return;
    }
    put_array (e, msg->n_updates);
    for (uint32_t i = 0; i < msg->n_updates && !e->err; i++) {
        if (check_update (&msg->updates [i], NULL))
            e->err = -1;
        put_fields (e, &upd_schema, &msg->updates [i]);
    }
}

static void put_field (enc_t *e, const field_t *f, const void *base)
{
    const char *p = (const char *) base + f->off;
    switch (f->type) {
        case F_VERSION:
            put_uint (e, GL_PROTO_VERSION);
            break;
        case F_U8:
            if (*(const uint8_t *) p > f->size)
                e->err = -1;
            put_uint (e, *(const uint8_t *) p);
            break;
        case F_U32:
            put_uint (e, *(const uint32_t *) p);
            break;
        case F_U64:
            put_uint (e, *(const uint64_t *) p);
            break;
        case F_NAME:
        case F_STR:
            if (!cstr_ok (p, f->size) || (f->type == F_NAME && !gl_name_valid (p)))
                e->err = -1;
            else
                put_str (e, p, strlen (p));
            break;
        case F_BIN:
            put_bin (e, p, f->size);
            break;
        case F_MAP:
            put_fields (e, f->sub, p);
            break;
        case F_UPDATES:
            put_updates (e, base);
            break;
    }
}

static void put_fields (enc_t *e, const schema_t *s, const void *base)
{
    size_t n = 0;
    for (size_t i = 0; i < s->count; i++)
        n += field_present (&s->fields [i], base);
    put_map (e, n);
    for (size_t i = 0; i < s->count; i++) {
        const field_t *f = &s->fields [i];
        if (field_present (f, base)) {
            put_uint (e, f->key);
            put_field (e, f, base);
        }
    }
}

/* ---- table-driven decoding ------------------------------------------------ */

static int get_fields (const msgpack_object *o, const schema_t *s, void *base,
                       uint64_t *seen, const char **why);

static int get_updates (const msgpack_object *o, gl_msg_t *msg, const char **why)
{
    if (o->type != MSGPACK_OBJECT_ARRAY)
        return fail (why, "message updates: not an array");
    uint32_t n = o->via.array.size;
    if (n > GL_UPDATES_MAX)
        return fail (why, "message: too many updates");
    if (n == 0)
        return 0;
    /* The array's elements exist (the scan saw them), so n is real. */
    msg->updates = calloc (n, sizeof (gl_update_t));
    if (!msg->updates)
        return fail (why, "out of memory");
    msg->n_updates = n;
    for (uint32_t i = 0; i < n; i++) {
        uint64_t seen = 0;
        if (get_fields (&o->via.array.ptr [i], &upd_schema, &msg->updates [i], &seen, why)
        ||  check_update (&msg->updates [i], why))
            return -1;
    }
    return 0;
}

static int get_field (const field_t *f, const msgpack_object *o, void *base,
                      const char **why)
{
    char *p = (char *) base + f->off;
    uint64_t v;
    bool ok = true;
    switch (f->type) {
        case F_VERSION:
            ok = get_uint (o, UINT32_MAX, &v) && v == GL_PROTO_VERSION;
            break;
        case F_U8:
            if ((ok = get_uint (o, f->size, &v)))
                *(uint8_t *) p = (uint8_t) v;
            break;
        case F_U32:
            if ((ok = get_uint (o, UINT32_MAX, &v)))
                *(uint32_t *) p = (uint32_t) v;
            break;
        case F_U64:
            ok = get_uint (o, UINT64_MAX, (uint64_t *) p);
            break;
        case F_NAME:
            ok = get_cstr (o, p, f->size) && gl_name_valid (p);
            break;
        case F_STR:
            ok = get_cstr (o, p, f->size);
            break;
        case F_BIN:
            ok = get_bin (o, (uint8_t *) p, f->size);
            break;
        case F_MAP: {
            uint64_t seen = 0;
            return get_fields (o, f->sub, p, &seen, why);
        }
        case F_UPDATES:
            return get_updates (o, base, why);
    }
    return ok ? 0 : fail (why, f->bad);
}

static int get_fields (const msgpack_object *o, const schema_t *s, void *base,
                       uint64_t *seen, const char **why)
{
    if (o->type != MSGPACK_OBJECT_MAP)
        return fail (why, s->not_map);
    if (o->via.map.size > KEY_MAX + 1)
        return fail (why, "map has more than 64 keys");
    for (uint32_t i = 0; i < o->via.map.size; i++) {
        const msgpack_object_kv *kv = &o->via.map.ptr [i];
        unsigned key;
        if (map_key (&kv->key, seen, &key, why))
            return -1;
        for (size_t j = 0; j < s->count; j++)
            if (s->fields [j].key == key && get_field (&s->fields [j], &kv->val, base, why))
                return -1;
    }
    return 0;
}

/* ---- messages --------------------------------------------------------------- */

int gl_msg_encode (const gl_msg_t *msg, uint8_t **out, size_t *len)
{
    if (check_msg (msg, NULL))
        return -1;
    enc_t e;
    enc_init (&e);
    put_fields (&e, &msg_schema, msg);
    return enc_finish (&e, out, len);
}

int gl_msg_decode (const uint8_t *buf, size_t len, gl_msg_t *msg, const char **why)
{
    memset (msg, 0, sizeof *msg);
    msgpack_unpacked up;
    if (unpack (buf, len, &up, why))
        return -1;
    uint64_t seen = 0;
    int rc = get_fields (&up.data, &msg_schema, msg, &seen, why);
    if (rc == 0 && !(seen & 1))
        rc = fail (why, "message: missing version");
    if (rc == 0)
        rc = check_msg (msg, why);
    msgpack_unpacked_destroy (&up);
    if (rc)
        gl_msg_clear (msg);
    return rc;
}

void gl_msg_clear (gl_msg_t *msg)
{
    if (msg) {
        free (msg->updates);
        memset (msg, 0, sizeof *msg);
    }
}

const char *gl_msg_type_name (int type)
{
    switch (type) {
        case GL_MSG_PING:      return "ping";
        case GL_MSG_ACK:       return "ack";
        case GL_MSG_PING_REQ:  return "ping-req";
        case GL_MSG_NACK:      return "nack";
        case GL_MSG_SYNC_REQ:  return "sync-req";
        case GL_MSG_SYNC_RESP: return "sync-resp";
        case GL_MSG_GOSSIP:    return "gossip";
        default:               return "unknown";
    }
}

/* ---- envelope --------------------------------------------------------------
   An array, not a map: its header is hashed as the AEAD's additional data,
   so it has exactly one encoding, and every field is always there. */

#define ENV_HEADER_ITEMS 7

static void put_env_header (enc_t *e, const gl_env_t *env, size_t items)
{
    if (!cstr_ok (env->sender, sizeof env->sender) || !gl_name_valid (env->sender)) {
        e->err = -1;
        return;
    }
    put_array (e, items);
    put_uint (e, env->version);
    put_bin (e, env->cluster_id, GL_CLUSTER_ID_BYTES);
    put_str (e, env->sender, strlen (env->sender));
    put_uint (e, env->generation);
    put_uint (e, env->seq);
    put_uint (e, env->time_ms);
    put_bin (e, env->nonce, GL_NONCE_BYTES);
}

int gl_env_encode_header (const gl_env_t *env, uint8_t **out, size_t *len)
{
    enc_t e;
    enc_init (&e);
    put_env_header (&e, env, ENV_HEADER_ITEMS);
    return enc_finish (&e, out, len);
}

int gl_env_encode (const gl_env_t *env, uint8_t **out, size_t *len)
{
    if (env->ct_len > GL_PKT_MAX || (env->ct_len && !env->ct))
        return -1;
    enc_t e;
    enc_init (&e);
    put_env_header (&e, env, ENV_HEADER_ITEMS + 1);
    put_bin (&e, env->ct, env->ct_len);
    return enc_finish (&e, out, len);
}

/* Any version number is decoded: telling "another version" apart from
   "garbage" is the opener's business. */
static int get_env (const msgpack_object *o, gl_env_t *env, const char **why)
{
    if (o->type != MSGPACK_OBJECT_ARRAY || o->via.array.size != ENV_HEADER_ITEMS + 1)
        return fail (why, "envelope: not an array of 8");
    const msgpack_object *f = o->via.array.ptr;
    uint64_t v;
    if (!get_uint (&f [0], UINT32_MAX, &v))
        return fail (why, "envelope version: expected uint32");
    env->version = (uint32_t) v;
    if (!get_bin (&f [1], env->cluster_id, GL_CLUSTER_ID_BYTES))
        return fail (why, "envelope cluster_id: expected bin of 8 bytes");
    if (!get_cstr (&f [2], env->sender, sizeof env->sender) || !gl_name_valid (env->sender))
        return fail (why, "envelope sender: not a node name");
    if (!get_uint (&f [3], UINT64_MAX, &env->generation))
        return fail (why, "envelope generation: expected uint64");
    if (!get_uint (&f [4], UINT64_MAX, &env->seq))
        return fail (why, "envelope seq: expected uint64");
    if (!get_uint (&f [5], UINT64_MAX, &env->time_ms))
        return fail (why, "envelope time: expected uint64");
    if (!get_bin (&f [6], env->nonce, GL_NONCE_BYTES))
        return fail (why, "envelope nonce: expected bin of 24 bytes");
    if (f [7].type != MSGPACK_OBJECT_BIN)
        return fail (why, "envelope ciphertext: expected bin");
    env->ct = (const uint8_t *) f [7].via.bin.ptr;      /* points into buf */
    env->ct_len = f [7].via.bin.size;
    return 0;
}

int gl_env_decode (const uint8_t *buf, size_t len, gl_env_t *env, const char **why)
{
    memset (env, 0, sizeof *env);
    msgpack_unpacked up;
    if (unpack (buf, len, &up, why))
        return -1;
    int rc = get_env (&up.data, env, why);
    msgpack_unpacked_destroy (&up);
    if (rc)
        memset (env, 0, sizeof *env);
    return rc;
}

/* ---- signed bytes of a record ----------------------------------------------
   A fixed array of every field but sig, in struct order, after a domain
   string: one record has exactly one such encoding. */

static const char rec_domain [] = "glunix-rec-v1";

int gl_rec_signed_bytes (const gl_rec_t *rec, uint8_t **out, size_t *len)
{
    const gl_res_t *res = &rec->res;
    if (check_rec (rec, NULL) || !cstr_ok (rec->addr, sizeof rec->addr)
    ||  res->state > GL_RES_UNAVAILABLE)
        return -1;
    enc_t e;
    enc_init (&e);
    if (msgpack_sbuffer_write (&e.sb, rec_domain, sizeof rec_domain - 1))
        e.err = -1;
    put_array (&e, 8);
    put_uint (&e, rec->kind);
    put_str (&e, rec->origin, strlen (rec->origin));
    put_uint (&e, rec->generation);
    put_uint (&e, rec->seq);
    put_uint (&e, rec->time_ms);
    put_str (&e, rec->addr, strlen (rec->addr));
    put_bin (&e, rec->pubkey, GL_PUBKEY_BYTES);
    put_array (&e, 8);
    put_uint (&e, res->cores);
    put_uint (&e, res->load1_milli);
    put_uint (&e, res->load_recent_milli);
    put_uint (&e, res->owner_load_milli);
    put_uint (&e, res->mem_total_kb);
    put_uint (&e, res->mem_avail_kb);
    put_uint (&e, res->owner_idle_s);
    put_uint (&e, res->state);
    return enc_finish (&e, out, len);
}

/* ---- control messages --------------------------------------------------------- */

int gl_ctl_req_encode (const gl_ctl_req_t *req, uint8_t **out, size_t *len)
{
    if (!cstr_ok (req->cmd, sizeof req->cmd) || req->cmd [0] == 0
    ||  req->argc > GL_CTL_ARGS_MAX)
        return -1;
    for (uint32_t i = 0; i < req->argc; i++)
        if (!req->argv [i])
            return -1;
    enc_t e;
    enc_init (&e);
    put_map (&e, req->argc ? 3 : 2);
    put_uint (&e, 0);
    put_uint (&e, GL_PROTO_VERSION);
    put_uint (&e, 1);
    put_str (&e, req->cmd, strlen (req->cmd));
    if (req->argc) {
        put_uint (&e, 2);
        put_array (&e, req->argc);
        for (uint32_t i = 0; i < req->argc; i++)
            put_str (&e, req->argv [i], strlen (req->argv [i]));
    }
    return enc_finish (&e, out, len);
}

static int get_argv (const msgpack_object *o, gl_ctl_req_t *req, const char **why)
{
    if (o->type != MSGPACK_OBJECT_ARRAY || o->via.array.size > GL_CTL_ARGS_MAX)
        return fail (why, "control request args: expected an array of at most 64");
    for (uint32_t i = 0; i < o->via.array.size; i++) {
        if (!str_ok (&o->via.array.ptr [i], GL_PKT_MAX))
            return fail (why, "control request args: expected strings without NUL");
        if (!(req->argv [i] = dup_str (&o->via.array.ptr [i])))
            return fail (why, "out of memory");
        req->argc = i + 1;
    }
    return 0;
}

static int get_ctl_req (const msgpack_object *o, gl_ctl_req_t *req, const char **why)
{
    if (o->type != MSGPACK_OBJECT_MAP)
        return fail (why, "control request: not a map");
    uint64_t seen = 0, v;
    for (uint32_t i = 0; i < o->via.map.size; i++) {
        const msgpack_object_kv *kv = &o->via.map.ptr [i];
        unsigned key;
        if (map_key (&kv->key, &seen, &key, why))
            return -1;
        if (key == 0 && !(get_uint (&kv->val, UINT32_MAX, &v) && v == GL_PROTO_VERSION))
            return fail (why, "control request: unsupported protocol version");
        if (key == 1 && !get_cstr (&kv->val, req->cmd, sizeof req->cmd))
            return fail (why, "control request cmd: expected a string of at most 31 bytes");
        if (key == 2 && get_argv (&kv->val, req, why))
            return -1;
    }
    if (!(seen & 1))
        return fail (why, "control request: missing version");
    if (req->cmd [0] == 0)
        return fail (why, "control request: missing cmd");
    return 0;
}

int gl_ctl_req_decode (const uint8_t *buf, size_t len, gl_ctl_req_t *req, const char **why)
{
    memset (req, 0, sizeof *req);
    msgpack_unpacked up;
    if (unpack (buf, len, &up, why))
        return -1;
    int rc = get_ctl_req (&up.data, req, why);
    msgpack_unpacked_destroy (&up);
    if (rc)
        gl_ctl_req_clear (req);
    return rc;
}

void gl_ctl_req_clear (gl_ctl_req_t *req)
{
    if (!req)
        return;
    for (uint32_t i = 0; i < req->argc && i < GL_CTL_ARGS_MAX; i++)
        free (req->argv [i]);
    memset (req, 0, sizeof *req);
}

int gl_ctl_resp_encode (const gl_ctl_resp_t *resp, uint8_t **out, size_t *len)
{
    size_t text_len = resp->text_len;
    if ((text_len && !resp->text) || text_len > GL_PKT_MAX
    ||  (text_len && memchr (resp->text, 0, text_len)))
        return -1;
    enc_t e;
    enc_init (&e);
    put_map (&e, 1 + (resp->code != 0) + (text_len > 0));
    put_uint (&e, 0);
    put_uint (&e, GL_PROTO_VERSION);
    if (resp->code) {
        put_uint (&e, 1);
        put_int (&e, resp->code);
    }
    if (text_len) {
        put_uint (&e, 2);
        put_str (&e, resp->text, text_len);
    }
    return enc_finish (&e, out, len);
}

static bool get_int32 (const msgpack_object *o, int32_t *v)
{
    if (o->type == MSGPACK_OBJECT_POSITIVE_INTEGER && o->via.u64 <= INT32_MAX)
        *v = (int32_t) o->via.u64;
    else if (o->type == MSGPACK_OBJECT_NEGATIVE_INTEGER && o->via.i64 >= INT32_MIN)
        *v = (int32_t) o->via.i64;
    else
        return false;
    return true;
}

static int get_ctl_resp (const msgpack_object *o, gl_ctl_resp_t *resp, const char **why)
{
    if (o->type != MSGPACK_OBJECT_MAP)
        return fail (why, "control response: not a map");
    uint64_t seen = 0, v;
    for (uint32_t i = 0; i < o->via.map.size; i++) {
        const msgpack_object_kv *kv = &o->via.map.ptr [i];
        unsigned key;
        if (map_key (&kv->key, &seen, &key, why))
            return -1;
        if (key == 0 && !(get_uint (&kv->val, UINT32_MAX, &v) && v == GL_PROTO_VERSION))
            return fail (why, "control response: unsupported protocol version");
        if (key == 1 && !get_int32 (&kv->val, &resp->code))
            return fail (why, "control response code: expected int32");
        if (key == 2) {
            if (!str_ok (&kv->val, GL_PKT_MAX))
                return fail (why, "control response text: expected a string without NUL");
            if (!(resp->text = dup_str (&kv->val)))
                return fail (why, "out of memory");
            resp->text_len = kv->val.via.str.size;
        }
    }
    if (!(seen & 1))
        return fail (why, "control response: missing version");
    /* Callers may print text without checking it. */
    if (!resp->text && !(resp->text = calloc (1, 1)))
        return fail (why, "out of memory");
    return 0;
}

int gl_ctl_resp_decode (const uint8_t *buf, size_t len, gl_ctl_resp_t *resp, const char **why)
{
    memset (resp, 0, sizeof *resp);
    msgpack_unpacked up;
    if (unpack (buf, len, &up, why))
        return -1;
    int rc = get_ctl_resp (&up.data, resp, why);
    msgpack_unpacked_destroy (&up);
    if (rc)
        gl_ctl_resp_clear (resp);
    return rc;
}

void gl_ctl_resp_clear (gl_ctl_resp_t *resp)
{
    if (resp) {
        free (resp->text);
        memset (resp, 0, sizeof *resp);
    }
}

/* ---- names ------------------------------------------------------------------ */

static bool name_char (char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')
        || (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-';
}

bool gl_name_valid (const char *name)
{
    if (!name || name [0] == 0 || name [0] == '-' || name [0] == '.')
        return false;
    size_t i;
    for (i = 0; name [i]; i++)
        if (i >= GL_NAME_MAX || !name_char (name [i]))
            return false;
    return true;
}
