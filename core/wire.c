/*  wire.c -- the one wire codec of glunix (see wire.h).

    Messages, updates, records and resource estimates are msgpack maps
    with small integer keys.  A field equal to zero (or an empty string,
    or all-zero bytes) is left out, since gossip traffic is what we pay
    for; the decoder fills absent fields with zero, so nothing is lost.

        message  { 0 version, 1 type, 2 probe_seq, 3 target,
                   4 target_addr, 5 [update, ...], 6 job, 7 gang }
        update   { 1 kind, 2 node, 3 generation, 4 incarnation, 5 from,
                   6 record }
        record   { 1 kind, 2 origin, 3 generation, 4 seq, 5 time_ms,
                   6 addr, 7 pubkey, 8 res, 9 sig }
        res      { 1 cores, 2 load1_milli, 3 load_recent_milli,
                   4 owner_load_milli, 5 mem_total_kb, 6 mem_avail_kb,
                   7 owner_idle_s, 8 state, 9 guests, 10 started }
        job      { 1 type, 2 gpid, 3 home, 4 node, 5 rank, 6 size, 7 seq,
                   8 stream, 9 eof, 10 data(bin), 11 credit, 12 code(int),
                   13 signo(int), 14 core, 15 rows, 16 cols, 17 pid,
                   18 text, 19 [arg, ...], 20 ["NAME=value", ...], 21 cwd,
                   22 umask, 23 uid, 24 gid, 25 user, 26 pty, 27 cores,
                   28 mem_kb, 29 pin, 30 allow_local, 31 gang,
                   32 cred_expiry, 33 cred_sig(bin), 34 restart, 35 to,
                   36 ckpt_every, 37 at_out, 38 at_err, 39 at_in,
                   40 move_key(bin), 41 move_addr, 42 [rlimit, ...],
                   43 closed, 44 cause }
        gang     { 1 type, 2 gang, 3 term, 4 leader, 5 seq, 6 granted,
                   7 [peer, ...], 8 [place, ...] }
        peer     { 1 node, 2 procs, 3 cores }
        place    { 1 gang, 2 term, 3 leader, 4 version, 5 row, 6 ended,
                   7 n_peers }
        ctl req  { 0 version, 1 cmd, 2 [arg, ...] }
        ctl resp { 0 version, 1 code, 2 text }

    Booleans are msgpack booleans, written only when true.  An empty
    string, bin or array decodes as an absent field (a NULL pointer and a
    zero count), so a job has one encoding.  A GL_MSG_JOB message holds a
    job and no gossip field, a GL_MSG_GANG message a gang and nothing
    else; the others never hold either.  Which job fields each job type
    needs, and which it may carry, is one table (job_rules) checked by
    both sides; gang_rules does the same for the gang plane.

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
#include "err.h"
#include "str.h"

#include <msgpack.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#define DEPTH_MAX 8  /* containers inside containers */
#define KEY_MAX   63 /* map keys fit a 64-bit "seen" mask */

/* ---- the bounded scanner ------------------------------------------------ */

static uint64_t read_be (const uint8_t *p, size_t n)
{
    uint64_t v = 0;
    for (size_t i = 0; i < n; i++)
        v = (v << 8) | p[i];
    return v;
}

/* Check that buf holds exactly one msgpack object whose every length and
   count fits in the bytes left, nested at most DEPTH_MAX deep.  Each
   container element takes at least one byte, so a count larger than the
   bytes left is a lie we catch before anything is allocated. */
static int scan (const uint8_t *buf, size_t len, const char **why)
{
    size_t todo[DEPTH_MAX + 1]; /* objects still expected per level */
    int depth = 0;
    size_t pos = 0;
    todo[0] = 1;

    while (depth >= 0) {
        if (todo[depth] == 0) {
            depth--;
            continue;
        }
        todo[depth]--;
        if (pos >= len)
            return gl_why (why, "truncated");
        uint8_t b = buf[pos++];
        size_t hdr = 0;     /* bytes of length (or value) after b */
        uint64_t body = 0;  /* payload bytes after those */
        uint64_t items = 0; /* objects inside, for arrays and maps */

        if (b <= 0x7f || b >= 0xe0 || b == 0xc0 || b == 0xc2 || b == 0xc3)
            ; /* fixint, nil, bool */
        else if (b <= 0x8f)
            items = 2 * (b & 0x0f); /* fixmap */
        else if (b <= 0x9f)
            items = b & 0x0f; /* fixarray */
        else if (b <= 0xbf)
            body = b & 0x1f; /* fixstr */
        else if (b == 0xc1)
            return gl_why (why, "invalid msgpack byte 0xc1");
        else if (b >= 0xc4 && b <= 0xc6)
            hdr = (size_t) 1 << (b - 0xc4); /* bin 8/16/32 */
        else if (b >= 0xc7 && b <= 0xc9)
            hdr = (size_t) 1 << (b - 0xc7); /* ext 8/16/32, + type */
        else if (b == 0xca || b == 0xcb)
            body = b == 0xca ? 4 : 8; /* float 32/64 */
        else if (b >= 0xcc && b <= 0xd3)
            body = (uint64_t) 1 << ((b - 0xcc) & 3); /* uint, int 8..64 */
        else if (b >= 0xd4 && b <= 0xd8)
            body = 1 + ((uint64_t) 1 << (b - 0xd4)); /* fixext 1..16, + type */
        else if (b >= 0xd9 && b <= 0xdb)
            hdr = (size_t) 1 << (b - 0xd9); /* str 8/16/32 */
        else
            hdr = b == 0xdc || b == 0xde ? 2 : 4; /* array, map 16/32 */

        if (hdr) {
            if (len - pos < hdr)
                return gl_why (why, "truncated");
            uint64_t n = read_be (buf + pos, hdr);
            pos += hdr;
            if (b >= 0xdc)
                items = b >= 0xde ? 2 * n : n;
            else
                body = n + (b >= 0xc7 && b <= 0xc9); /* ext type byte */
        }
        if (body > len - pos)
            return gl_why (why, "truncated");
        pos += body;
        if (items > len - pos)
            return gl_why (why, "container count exceeds the input");
        if (items > 0) {
            if (depth == DEPTH_MAX)
                return gl_why (why, "nested too deep");
            todo[++depth] = items;
        }
    }
    if (pos != len)
        return gl_why (why, "trailing bytes after the message");
    return 0;
}

/* Scan, then let msgpack-c build the object tree in up's zone.  Strings
   and bins in the tree point into buf. */
static int unpack (const uint8_t *buf, size_t len, msgpack_unpacked *up, const char **why)
{
    msgpack_unpacked_init (up);
    if (len > GL_PKT_MAX)
        return gl_why (why, "packet too large");
    if (scan (buf, len, why))
        return -1;
    size_t off = 0;
    int rc = msgpack_unpack_next (up, (const char *) buf, len, &off);
    if (rc == MSGPACK_UNPACK_SUCCESS && off == len)
        return 0;
    msgpack_unpacked_destroy (up);
    return gl_why (why, rc == MSGPACK_UNPACK_NOMEM_ERROR ? "out of memory" : "malformed msgpack");
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
    return o->type == MSGPACK_OBJECT_STR && o->via.str.size <= max &&
           (o->via.str.size == 0 || !memchr (o->via.str.ptr, 0, o->via.str.size));
}

/* Copy a string into a char[size], NUL-terminated. */
static bool get_cstr (const msgpack_object *o, char *dst, size_t size)
{
    if (!str_ok (o, size - 1))
        return false;
    if (o->via.str.size) /* an empty string's ptr may be NULL */
        memcpy (dst, o->via.str.ptr, o->via.str.size);
    dst[o->via.str.size] = 0;
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
        s[o->via.str.size] = 0;
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
static int map_key (const msgpack_object *k, uint64_t *seen, unsigned *key, const char **why)
{
    uint64_t v;
    if (!get_uint (k, KEY_MAX, &v))
        return gl_why (why, "map key is not an integer 0..63");
    if (*seen & ((uint64_t) 1 << v))
        return gl_why (why, "duplicate map key");
    *seen |= (uint64_t) 1 << v;
    *key = (unsigned) v;
    return 0;
}

/* ---- writing objects ----------------------------------------------------- */

typedef struct {
    msgpack_sbuffer sb;
    msgpack_packer pk;
    int err; /* sticky: out of memory or a bad field */
} enc_t;

static void enc_init (enc_t *e)
{
    msgpack_sbuffer_init (&e->sb);
    msgpack_packer_init (&e->pk, &e->sb, msgpack_sbuffer_write);
    e->err = 0;
}

/* Room for about `size` bytes up front: a 256 KiB stream chunk would
   otherwise be copied by every doubling of the buffer on its way up. */
static void enc_init_room (enc_t *e, size_t size)
{
    enc_init (e);
    if ((e->sb.data = malloc (size)))
        e->sb.alloc = size;
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
    F_VERSION, /* GL_PROTO_VERSION, always written, checked on read */
    F_U8,      /* uint8_t, at most `size` */
    F_U32,     /* uint32_t, at most `size` (0: UINT32_MAX) */
    F_U64,
    F_I32,     /* int32_t, negative or not */
    F_BOOL,    /* bool, a msgpack boolean */
    F_NAME,    /* char[size], empty or a valid node name */
    F_GPID,    /* char[size], empty or a valid GPID */
    F_STR,     /* char[size], no NUL inside */
    F_BIN,     /* uint8_t[size], exactly */
    F_TEXT,    /* char *, owned, at most `size` bytes, no NUL inside */
    F_BYTES,   /* uint8_t *, owned, at most `size` bytes; the
                       uint32_t at `count_off` holds the length */
    F_STRV,    /* char **, owned, at most `size` strings without NUL;
                       the uint32_t at `count_off` holds the count */
    F_MAP,     /* a nested struct, described by `sub` */
    F_JOB,     /* gl_msg_t's job, a gl_job_t * */
    F_GANG,    /* gl_msg_t's gang, a gl_gang_t * */
    F_UPDATES, /* gl_msg_t's updates array */
    F_ARRAY,   /* an owned array of at most `size` flat structs of `elem`
                       bytes, each described by `sub`; the uint32_t at
                       `count_off` holds the count */
} ftype_t;

typedef struct schema_s schema_t;
typedef struct {
    unsigned key;
    ftype_t type;
    size_t off;
    size_t size;
    const schema_t *sub;
    const char *bad;  /* reason given when the field is malformed */
    size_t count_off; /* F_BYTES, F_STRV, F_ARRAY: where the length lives */
    size_t elem;      /* F_ARRAY: the size of one element */
} field_t;

struct schema_s {
    const field_t *fields;
    size_t count;
    const char *not_map;
};

#define FIELD(key, type, st, member, size, sub, bad)           \
    {                                                          \
        key, type, offsetof (st, member), size, sub, bad, 0, 0 \
    }
#define FIELDN(key, type, st, member, count, size, bad)                            \
    {                                                                              \
        key, type, offsetof (st, member), size, NULL, bad, offsetof (st, count), 0 \
    }
#define FIELDA(key, st, member, count, max, sub, elem_t, bad)                                     \
    {                                                                                             \
        key, F_ARRAY, offsetof (st, member), max, sub, bad, offsetof (st, count), sizeof (elem_t) \
    }
#define NFIELDS(table) (sizeof (table) / sizeof (table)[0])

static const field_t res_fields[] = {
    FIELD (1, F_U32, gl_res_t, cores, 0, NULL, "res cores: expected uint32"),
    FIELD (2, F_U32, gl_res_t, load1_milli, 0, NULL, "res load1: expected uint32"),
    FIELD (3, F_U32, gl_res_t, load_recent_milli, 0, NULL, "res load_recent: expected uint32"),
    FIELD (4, F_U32, gl_res_t, owner_load_milli, 0, NULL, "res owner_load: expected uint32"),
    FIELD (5, F_U64, gl_res_t, mem_total_kb, 0, NULL, "res mem_total: expected uint64"),
    FIELD (6, F_U64, gl_res_t, mem_avail_kb, 0, NULL, "res mem_avail: expected uint64"),
    FIELD (7, F_U32, gl_res_t, owner_idle_s, 0, NULL, "res owner_idle: expected uint32"),
    FIELD (8, F_U8, gl_res_t, state, GL_RES_UNAVAILABLE, NULL, "res state: expected 0..2"),
    FIELD (9, F_U32, gl_res_t, guests, 0, NULL, "res guests: expected uint32"),
    FIELD (10, F_U32, gl_res_t, started, 0, NULL, "res started: expected uint32"),
};
static const schema_t res_schema = { res_fields, NFIELDS (res_fields), "res: not a map" };

static const field_t rec_fields[] = {
    FIELD (1, F_U8, gl_rec_t, kind, GL_REC_RES, NULL, "record kind: expected 1..3"),
    FIELD (2, F_NAME, gl_rec_t, origin, GL_NAME_MAX + 1, NULL, "record origin: not a node name"),
    FIELD (3, F_U64, gl_rec_t, generation, 0, NULL, "record generation: expected uint64"),
    FIELD (4, F_U64, gl_rec_t, seq, 0, NULL, "record seq: expected uint64"),
    FIELD (5, F_U64, gl_rec_t, time_ms, 0, NULL, "record time: expected uint64"),
    FIELD (6, F_STR, gl_rec_t, addr, GL_ADDR_MAX + 1, NULL,
           "record addr: expected a string of at most 255 bytes"),
    FIELD (7, F_BIN, gl_rec_t, pubkey, GL_PUBKEY_BYTES, NULL,
           "record pubkey: expected bin of 32 bytes"),
    FIELD (8, F_MAP, gl_rec_t, res, 0, &res_schema, "record res: malformed"),
    FIELD (9, F_BIN, gl_rec_t, sig, GL_SIG_BYTES, NULL, "record sig: expected bin of 64 bytes"),
};
static const schema_t rec_schema = { rec_fields, NFIELDS (rec_fields), "record: not a map" };

static const field_t upd_fields[] = {
    FIELD (1, F_U8, gl_update_t, kind, GL_UPD_DEAD, NULL, "update kind: expected 1..3"),
    FIELD (2, F_NAME, gl_update_t, node, GL_NAME_MAX + 1, NULL, "update node: not a node name"),
    FIELD (3, F_U64, gl_update_t, generation, 0, NULL, "update generation: expected uint64"),
    FIELD (4, F_U64, gl_update_t, incarnation, 0, NULL, "update incarnation: expected uint64"),
    FIELD (5, F_NAME, gl_update_t, from, GL_NAME_MAX + 1, NULL, "update from: not a node name"),
    FIELD (6, F_MAP, gl_update_t, rec, 0, &rec_schema, "update record: malformed"),
};
static const schema_t upd_schema = { upd_fields, NFIELDS (upd_fields), "update: not a map" };

/* Job keys, named: job_rules below speaks of them. */
enum {
    J_TYPE = 1,
    J_GPID,
    J_HOME,
    J_NODE,
    J_RANK,
    J_SIZE,
    J_SEQ,
    J_STREAM,
    J_EOF,
    J_DATA,
    J_CREDIT,
    J_CODE,
    J_SIGNO,
    J_CORE,
    J_ROWS,
    J_COLS,
    J_PID,
    J_TEXT,
    J_ARGV,
    J_ENVV,
    J_CWD,
    J_UMASK,
    J_UID,
    J_GID,
    J_USER,
    J_PTY,
    J_CORES,
    J_MEM_KB,
    J_PIN,
    J_ALLOW_LOCAL,
    J_GANG,
    J_CRED_EXPIRY,
    J_CRED_SIG,
    J_RESTART,
    J_TO,
    J_CKPT_EVERY,
    J_AT_OUT,
    J_AT_ERR,
    J_AT_IN,
    J_MOVE_KEY,
    J_MOVE_ADDR,
    J_RLIMITS,
    J_CLOSED,
    J_CAUSE,
    J_KEYS
};

static const field_t job_fields[] = {
    FIELD (J_TYPE, F_U8, gl_job_t, type, GL_JOB_MOVE, NULL, "job type: expected 1..19"),
    FIELD (J_GPID, F_GPID, gl_job_t, gpid, GL_GPID_MAX + 1, NULL, "job gpid: not a GPID"),
    FIELD (J_HOME, F_NAME, gl_job_t, home, GL_NAME_MAX + 1, NULL, "job home: not a node name"),
    FIELD (J_NODE, F_NAME, gl_job_t, node, GL_NAME_MAX + 1, NULL, "job node: not a node name"),
    FIELD (J_RANK, F_U32, gl_job_t, rank, 0, NULL, "job rank: expected uint32"),
    FIELD (J_SIZE, F_U32, gl_job_t, size, 0, NULL, "job size: expected uint32"),
    FIELD (J_SEQ, F_U64, gl_job_t, seq, 0, NULL, "job seq: expected uint64"),
    FIELD (J_STREAM, F_U8, gl_job_t, stream, 3, NULL, "job stream: expected 0..3"),
    FIELD (J_EOF, F_BOOL, gl_job_t, eof, 0, NULL, "job eof: expected a boolean"),
    FIELDN (J_DATA, F_BYTES, gl_job_t, data, len, GL_JOB_DATA_MAX,
            "job data: expected bin of at most 256 KiB"),
    FIELD (J_CREDIT, F_U64, gl_job_t, credit, 0, NULL, "job credit: expected uint64"),
    FIELD (J_CODE, F_I32, gl_job_t, code, 0, NULL, "job code: expected int32"),
    FIELD (J_SIGNO, F_I32, gl_job_t, signo, 0, NULL, "job signo: expected int32"),
    FIELD (J_CORE, F_BOOL, gl_job_t, core, 0, NULL, "job core: expected a boolean"),
    FIELD (J_ROWS, F_U32, gl_job_t, rows, GL_JOB_WIN_MAX, NULL, "job rows: expected 1..65535"),
    FIELD (J_COLS, F_U32, gl_job_t, cols, GL_JOB_WIN_MAX, NULL, "job cols: expected 1..65535"),
    FIELD (J_PID, F_U32, gl_job_t, pid, INT32_MAX, NULL, "job pid: expected 1..2^31-1"),
    FIELD (J_TEXT, F_TEXT, gl_job_t, text, GL_JOB_TEXT_MAX, NULL,
           "job text: expected a string of at most 4096 bytes without NUL"),
    FIELDN (J_ARGV, F_STRV, gl_job_t, argv, argc, GL_JOB_ARGS_MAX,
            "job argv: expected an array of at most 1048576 strings without NUL"),
    FIELDN (J_ENVV, F_STRV, gl_job_t, envv, envc, GL_JOB_ARGS_MAX,
            "job envv: expected an array of at most 1048576 strings without NUL"),
    FIELD (J_CWD, F_TEXT, gl_job_t, cwd, GL_JOB_PATH_MAX, NULL,
           "job cwd: expected a string of at most 4096 bytes without NUL"),
    FIELD (J_UMASK, F_U32, gl_job_t, umask, 0777, NULL, "job umask: expected 0..0777"),
    FIELD (J_UID, F_U32, gl_job_t, uid, UINT32_MAX - 1, NULL, "job uid: expected 0..2^32-2"),
    FIELD (J_GID, F_U32, gl_job_t, gid, UINT32_MAX - 1, NULL, "job gid: expected 0..2^32-2"),
    FIELD (J_USER, F_STR, gl_job_t, user, GL_JOB_USER_MAX + 1, NULL,
           "job user: expected a string of at most 32 bytes"),
    FIELD (J_PTY, F_BOOL, gl_job_t, pty, 0, NULL, "job pty: expected a boolean"),
    FIELD (J_CORES, F_U32, gl_job_t, cores, 0, NULL, "job cores: expected uint32"),
    FIELD (J_MEM_KB, F_U64, gl_job_t, mem_kb, 0, NULL, "job mem_kb: expected uint64"),
    FIELD (J_PIN, F_NAME, gl_job_t, pin, GL_NAME_MAX + 1, NULL, "job pin: not a node name"),
    FIELD (J_ALLOW_LOCAL, F_BOOL, gl_job_t, allow_local, 0, NULL,
           "job allow_local: expected a boolean"),
    FIELD (J_GANG, F_GPID, gl_job_t, gang, GL_GPID_MAX + 1, NULL, "job gang: not a gang id"),
    FIELD (J_CRED_EXPIRY, F_U64, gl_job_t, cred_expiry_ms, 0, NULL,
           "job cred_expiry: expected uint64"),
    FIELD (J_CRED_SIG, F_BIN, gl_job_t, cred_sig, GL_SIG_BYTES, NULL,
           "job cred_sig: expected bin of 64 bytes"),
    FIELD (J_RESTART, F_U8, gl_job_t, restart, GL_JOB_RESTART_MOVE, NULL,
           "job restart: expected 0..2"),
    FIELD (J_TO, F_NAME, gl_job_t, to, GL_NAME_MAX + 1, NULL, "job to: not a node name"),
    FIELD (J_CKPT_EVERY, F_U64, gl_job_t, ckpt_every_ms, 0, NULL,
           "job ckpt_every: expected uint64"),
    FIELD (J_AT_OUT, F_U64, gl_job_t, at_out, 0, NULL, "job at_out: expected uint64"),
    FIELD (J_AT_ERR, F_U64, gl_job_t, at_err, 0, NULL, "job at_err: expected uint64"),
    FIELD (J_AT_IN, F_U64, gl_job_t, at_in, 0, NULL, "job at_in: expected uint64"),
    FIELD (J_MOVE_KEY, F_BIN, gl_job_t, move_key, GL_MOVE_KEY_BYTES, NULL,
           "job move_key: expected bin of 32 bytes"),
    FIELD (J_MOVE_ADDR, F_STR, gl_job_t, move_addr, GL_MOVE_ADDR_MAX + 1, NULL,
           "job move_addr: expected a string of at most 63 bytes"),
    FIELDN (J_RLIMITS, F_STRV, gl_job_t, rlimits, n_rlimits, GL_JOB_RLIMITS_MAX,
            "job rlimits: expected an array of at most 16 strings without NUL"),
    FIELD (J_CLOSED, F_U8, gl_job_t, closed, GL_JOB_CLOSED_ALL, NULL, "job closed: expected 0..7"),
    FIELD (J_CAUSE, F_U8, gl_job_t, cause, GL_MOVE_CAUSE_AGAIN, NULL, "job cause: expected 0..2"),
};
static const schema_t job_schema = { job_fields, NFIELDS (job_fields), "job: not a map" };

static const field_t peer_fields[] = {
    FIELD (1, F_NAME, gl_gang_peer_t, node, GL_NAME_MAX + 1, NULL,
           "gang peer node: not a node name"),
    FIELD (2, F_U32, gl_gang_peer_t, procs, 0, NULL, "gang peer procs: expected uint32"),
    FIELD (3, F_U32, gl_gang_peer_t, cores, 0, NULL, "gang peer cores: expected uint32"),
};
static const schema_t peer_schema = { peer_fields, NFIELDS (peer_fields), "gang peer: not a map" };

static const field_t place_fields[] = {
    FIELD (1, F_GPID, gl_place_t, gang, GL_GPID_MAX + 1, NULL, "place gang: not a gang id"),
    FIELD (2, F_U64, gl_place_t, term, 0, NULL, "place term: expected uint64"),
    FIELD (3, F_NAME, gl_place_t, leader, GL_NAME_MAX + 1, NULL, "place leader: not a node name"),
    FIELD (4, F_U64, gl_place_t, version, 0, NULL, "place version: expected uint64"),
    FIELD (5, F_U32, gl_place_t, row, 0, NULL, "place row: expected uint32"),
    FIELD (6, F_BOOL, gl_place_t, ended, 0, NULL, "place ended: expected a boolean"),
    FIELD (7, F_U32, gl_place_t, n_peers, GL_GANG_PEERS_MAX, NULL,
           "place n_peers: expected 0..65536"),
};
static const schema_t place_schema = { place_fields, NFIELDS (place_fields),
                                       "gang place: not a map" };

/* Gang keys, named: gang_rules below speaks of them. */
enum { G_TYPE = 1, G_GANG, G_TERM, G_LEADER, G_SEQ, G_GRANTED, G_PEERS, G_PLACES, G_KEYS };

static const field_t gang_fields[] = {
    FIELD (G_TYPE, F_U8, gl_gang_t, type, GL_GANG_SYNC_RESP, NULL, "gang type: expected 1..6"),
    FIELD (G_GANG, F_GPID, gl_gang_t, gang, GL_GPID_MAX + 1, NULL, "gang id: not a gang id"),
    FIELD (G_TERM, F_U64, gl_gang_t, term, 0, NULL, "gang term: expected uint64"),
    FIELD (G_LEADER, F_NAME, gl_gang_t, leader, GL_NAME_MAX + 1, NULL,
           "gang leader: not a node name"),
    FIELD (G_SEQ, F_U64, gl_gang_t, seq, 0, NULL, "gang seq: expected uint64"),
    FIELD (G_GRANTED, F_BOOL, gl_gang_t, granted, 0, NULL, "gang granted: expected a boolean"),
    FIELDA (G_PEERS, gl_gang_t, peers, n_peers, GL_GANG_PEERS_MAX, &peer_schema, gl_gang_peer_t,
            "gang peers: expected an array of at most 65536 peers"),
    FIELDA (G_PLACES, gl_gang_t, places, n_places, GL_GANG_PLACES_MAX, &place_schema, gl_place_t,
            "gang places: expected an array of at most 4096 places"),
};
static const schema_t gang_schema = { gang_fields, NFIELDS (gang_fields), "gang: not a map" };

static const field_t msg_fields[] = {
    /* the version has no member of its own; `type` is only a placeholder */
    FIELD (0, F_VERSION, gl_msg_t, type, 0, NULL, "message: unsupported protocol version"),
    FIELD (1, F_U8, gl_msg_t, type, GL_MSG_GANG, NULL, "message type: expected 1..7, 16 or 17"),
    FIELD (2, F_U32, gl_msg_t, probe_seq, 0, NULL, "message probe_seq: expected uint32"),
    FIELD (3, F_NAME, gl_msg_t, target, GL_NAME_MAX + 1, NULL, "message target: not a node name"),
    FIELD (4, F_STR, gl_msg_t, target_addr, GL_ADDR_MAX + 1, NULL,
           "message target_addr: expected a string of at most 255 bytes"),
    FIELD (5, F_UPDATES, gl_msg_t, updates, 0, NULL, "message updates: malformed"),
    FIELD (6, F_JOB, gl_msg_t, job, 0, NULL, "message job: malformed"),
    FIELD (7, F_GANG, gl_msg_t, gang, 0, NULL, "message gang: malformed"),
};
static const schema_t msg_schema = { msg_fields, NFIELDS (msg_fields), "message: not a map" };

/* ---- meaning: what each kind of message needs ------------------------------
   Checked after decoding and before encoding, so we never send what we
   would refuse. */

static int check_rec (const gl_rec_t *rec, const char **why)
{
    if (rec->kind < GL_REC_ALIVE || rec->kind > GL_REC_RES)
        return gl_why (why, "record: unknown kind");
    if (!cstr_ok (rec->origin, sizeof rec->origin) || !gl_name_valid (rec->origin))
        return gl_why (why, "record: origin missing or invalid");
    return 0;
}

static int check_update (const gl_update_t *upd, const char **why)
{
    switch (upd->kind) {
        case GL_UPD_REC: return check_rec (&upd->rec, why);
        case GL_UPD_SUSPECT:
        case GL_UPD_DEAD:
            if (!cstr_ok (upd->node, sizeof upd->node) || !gl_name_valid (upd->node))
                return gl_why (why, "update: suspect/dead without a valid node");
            if (!cstr_ok (upd->from, sizeof upd->from) || !gl_name_valid (upd->from))
                return gl_why (why, "update: suspect/dead without a valid from");
            return 0;
        default: return gl_why (why, "update: unknown kind");
    }
}

/* Job rules: what each type needs and what else it may carry (see wire.h).
   Presence is the encoder's: a field is there when it is not zero. */

#define K(key)  ((uint64_t) 1 << (key))
#define ANY_JOB (K (J_HOME) | K (J_NODE) | K (J_RANK) | K (J_SIZE) | K (J_SEQ))

static const struct {
    uint64_t need, may;
} job_rules[GL_JOB_MOVE + 1] = {
    /* glx sends RUN without a GPID: its home gives it one */
    [GL_JOB_RUN] = { K (J_ARGV) | K (J_CWD),
                     K (J_GPID) | K (J_ENVV) | K (J_UMASK) | K (J_UID) | K (J_GID) | K (J_USER) |
                         K (J_PTY) | K (J_ROWS) | K (J_COLS) | K (J_CORES) | K (J_MEM_KB) |
                         K (J_PIN) | K (J_ALLOW_LOCAL) | K (J_TEXT) | K (J_GANG) |
                         K (J_CRED_EXPIRY) | K (J_CRED_SIG) | K (J_RESTART) | K (J_CKPT_EVERY) |
                         K (J_RLIMITS) | K (J_CLOSED) },
    [GL_JOB_STARTED] = { K (J_GPID) | K (J_NODE) | K (J_PID), K (J_TEXT) | K (J_SEQ) },
    [GL_JOB_REFUSED] = { K (J_GPID) | K (J_TEXT), 0 },
    [GL_JOB_FAILED] = { K (J_GPID) | K (J_CODE) | K (J_TEXT), 0 },
    [GL_JOB_DATA] = { K (J_GPID), K (J_STREAM) | K (J_DATA) | K (J_EOF) },
    [GL_JOB_CREDIT] = { K (J_GPID) | K (J_CREDIT), K (J_STREAM) },
    [GL_JOB_SIGNAL] = { K (J_GPID) | K (J_SIGNO), K (J_USER) },
    [GL_JOB_WINSIZE] = { K (J_GPID) | K (J_ROWS) | K (J_COLS), 0 },
    [GL_JOB_EXIT] = { K (J_GPID), K (J_CODE) | K (J_SIGNO) | K (J_CORE) },
    [GL_JOB_KILL] = { K (J_GPID), K (J_TEXT) },
    [GL_JOB_PING] = { 0, K (J_GPID) },
    [GL_JOB_LIST] = { 0, K (J_CODE) },
    [GL_JOB_LIST_REPLY] = { 0, K (J_TEXT) | K (J_EOF) | K (J_CODE) },
    [GL_JOB_PMI] = { K (J_GPID) | K (J_TEXT), K (J_EOF) },
    [GL_JOB_PMI_REPLY] = { K (J_GPID) | K (J_TEXT), 0 },
    [GL_JOB_NOTE] = { K (J_GPID) | K (J_TEXT), K (J_CODE) | K (J_EOF) },
    [GL_JOB_CKPT] = { K (J_GPID) | K (J_CODE),
                      K (J_USER) | K (J_TO) | K (J_TEXT) | K (J_MOVE_KEY) | K (J_MOVE_ADDR) },
    [GL_JOB_IMAGE] = { K (J_GPID), K (J_DATA) | K (J_EOF) | K (J_TEXT) | K (J_AT_OUT) |
                                       K (J_AT_ERR) | K (J_AT_IN) },
    [GL_JOB_MOVE] = { K (J_GPID) | K (J_CODE), K (J_TO) | K (J_TEXT) | K (J_DATA) | K (J_EOF) |
                                                   K (J_CREDIT) | K (J_STREAM) | K (J_SIGNO) |
                                                   K (J_MOVE_KEY) | K (J_MOVE_ADDR) | K (J_CAUSE) },
};

/* The reasons, per key, for a field a job type needs and lacks, and for
   one it should not carry. */
#define JOB_KEY(key, name) \
    [key] = { "job: " name " missing for this type", "job: " name " does not belong to this type" }
static const char *const job_key_why[J_KEYS][2] = {
    JOB_KEY (J_TYPE, "type"),
    JOB_KEY (J_GPID, "gpid"),
    JOB_KEY (J_HOME, "home"),
    JOB_KEY (J_NODE, "node"),
    JOB_KEY (J_RANK, "rank"),
    JOB_KEY (J_SIZE, "size"),
    JOB_KEY (J_SEQ, "seq"),
    JOB_KEY (J_STREAM, "stream"),
    JOB_KEY (J_EOF, "eof"),
    JOB_KEY (J_DATA, "data"),
    JOB_KEY (J_CREDIT, "credit"),
    JOB_KEY (J_CODE, "code"),
    JOB_KEY (J_SIGNO, "signo"),
    JOB_KEY (J_CORE, "core"),
    JOB_KEY (J_ROWS, "rows"),
    JOB_KEY (J_COLS, "cols"),
    JOB_KEY (J_PID, "pid"),
    JOB_KEY (J_TEXT, "text"),
    JOB_KEY (J_ARGV, "argv"),
    JOB_KEY (J_ENVV, "envv"),
    JOB_KEY (J_CWD, "cwd"),
    JOB_KEY (J_UMASK, "umask"),
    JOB_KEY (J_UID, "uid"),
    JOB_KEY (J_GID, "gid"),
    JOB_KEY (J_USER, "user"),
    JOB_KEY (J_PTY, "pty"),
    JOB_KEY (J_CORES, "cores"),
    JOB_KEY (J_MEM_KB, "mem_kb"),
    JOB_KEY (J_PIN, "pin"),
    JOB_KEY (J_ALLOW_LOCAL, "allow_local"),
    JOB_KEY (J_GANG, "gang"),
    JOB_KEY (J_CRED_EXPIRY, "cred_expiry"),
    JOB_KEY (J_CRED_SIG, "cred_sig"),
    JOB_KEY (J_RESTART, "restart"),
    JOB_KEY (J_TO, "to"),
    JOB_KEY (J_CKPT_EVERY, "ckpt_every"),
    JOB_KEY (J_AT_OUT, "at_out"),
    JOB_KEY (J_AT_ERR, "at_err"),
    JOB_KEY (J_AT_IN, "at_in"),
    JOB_KEY (J_MOVE_KEY, "move_key"),
    JOB_KEY (J_MOVE_ADDR, "move_addr"),
    JOB_KEY (J_RLIMITS, "rlimits"),
    JOB_KEY (J_CLOSED, "closed"),
    JOB_KEY (J_CAUSE, "cause"),
};

static bool field_present (const field_t *f, const void *base);

/* A string array the encoder may be handed: n non-NULL strings. */
static bool strv_ok (char *const *v, uint32_t n)
{
    if (n > GL_JOB_ARGS_MAX || (n && !v))
        return false;
    for (uint32_t i = 0; i < n; i++)
        if (!v[i])
            return false;
    return true;
}

static int check_job (const gl_job_t *job, const char **why)
{
    if (job->type < GL_JOB_RUN || job->type > GL_JOB_MOVE)
        return gl_why (why, "job: unknown type");
    uint64_t has = 0;
    for (size_t i = 0; i < NFIELDS (job_fields); i++)
        if (field_present (&job_fields[i], job))
            has |= K (job_fields[i].key);
    uint64_t need = job_rules[job->type].need | K (J_TYPE);
    uint64_t may = need | job_rules[job->type].may | ANY_JOB;
    for (unsigned key = 1; key < J_KEYS; key++) {
        if ((need & K (key)) && !(has & K (key)))
            return gl_why (why, job_key_why[key][0]);
        if ((has & K (key)) && !(may & K (key)))
            return gl_why (why, job_key_why[key][1]);
    }
    if (!cstr_ok (job->gpid, sizeof job->gpid) || (job->gpid[0] && !gl_gpid_valid (job->gpid)))
        return gl_why (why, "job gpid: not a GPID");
    if (job->size ? job->rank >= job->size : job->rank != 0)
        return gl_why (why, "job: rank not below size");
    if (job->signo < 0 || job->signo > GL_JOB_SIGNO_MAX)
        return gl_why (why, "job signo: expected 1..64");
    if ((job->rows == 0) != (job->cols == 0))
        return gl_why (why, "job: rows and cols go together");
    if (job->text && strlen (job->text) > GL_JOB_TEXT_MAX)
        return gl_why (why, "job text: longer than 4096 bytes");
    switch (job->type) {
        case GL_JOB_RUN:
            if (!strv_ok (job->argv, job->argc) || !strv_ok (job->envv, job->envc) ||
                job->n_rlimits > GL_JOB_RLIMITS_MAX || !strv_ok (job->rlimits, job->n_rlimits))
                return gl_why (why, "job run: argv, envv or rlimits malformed");
            if (job->argv[0][0] == 0)
                return gl_why (why, "job run: empty program name");
            for (uint32_t i = 0; i < job->envc; i++)
                if (job->envv[i][0] == '=' || !strchr (job->envv[i], '='))
                    return gl_why (why, "job run: envv entry not NAME=value");
            if (job->cwd[0] != '/' || strlen (job->cwd) > GL_JOB_PATH_MAX)
                return gl_why (why, "job run: cwd not an absolute path");
            if (job->gang[0] && !job->size)
                return gl_why (why, "job run: a gang's process without a size");
            if (job->closed && job->pty)
                return gl_why (why, "job run: closed descriptors with a terminal");
            if (!job->cred_expiry_ms != gl_all_zero (job->cred_sig, GL_SIG_BYTES))
                return gl_why (why, "job run: a credential's expiry without its signature, or not");
            if (job->ckpt_every_ms > GL_JOB_CKPT_EVERY_MAX &&
                job->ckpt_every_ms != GL_JOB_CKPT_NEVER)
                return gl_why (why, "job run: ckpt_every longer than 30 days");
            break;
        case GL_JOB_DATA:
            if (job->len > GL_JOB_DATA_MAX || (job->len && !job->data))
                return gl_why (why, "job data: expected bin of at most 256 KiB");
            if (job->len == 0 && !job->eof)
                return gl_why (why, "job data: no bytes and no eof");
            if (job->stream > 2)
                return gl_why (why, "job data: stream expected 0..2");
            break;
        case GL_JOB_IMAGE:
            if (job->len > GL_JOB_DATA_MAX || (job->len && !job->data))
                return gl_why (why, "job image: expected bin of at most 256 KiB");
            if (job->len == 0 && !job->eof)
                return gl_why (why, "job image: no bytes and no eof");
            if (job->text && !job->eof)
                return gl_why (why, "job image: a failure's text without eof");
            if ((job->at_out || job->at_err || job->at_in) && (!job->eof || job->text))
                return gl_why (why, "job image: offsets only on a whole image's end");
            break;
        case GL_JOB_CKPT:
            if (job->code < GL_CKPT_ASK_PROBE || job->code > GL_CKPT_KEPT)
                return gl_why (why, "job ckpt: code expected 1..5");
            if (job->code == GL_CKPT_KEPT && !job->text)
                return gl_why (why, "job ckpt: what is kept, without its text");
            if (job->move_addr[0] &&
                ((job->code != GL_CKPT_ASK_MOVE && job->code != GL_CKPT_ASK_FILE) ||
                 gl_all_zero (job->move_key, sizeof job->move_key)))
                return gl_why (why, "job ckpt: an image's address without its key, or not a "
                                    "move nor a checkpoint to a file");
            break;
        case GL_JOB_MOVE:
            if (job->code < GL_MOVE_SNAPPED || job->code > GL_MOVE_LISTEN)
                return gl_why (why, "job move: code expected 1..14");
            if (job->len > GL_JOB_DATA_MAX || (job->len && !job->data))
                return gl_why (why, "job move: expected bin of at most 256 KiB");
            if (job->cause && job->code != GL_MOVE_FAILED)
                return gl_why (why, "job move: a cause without a failure");
            break;
        case GL_JOB_FAILED:
            if (job->code < 0)
                return gl_why (why, "job failed: code must be positive");
            break;
        case GL_JOB_LIST_REPLY:
            if (job->code < 0)
                return gl_why (why, "job list reply: code must be positive");
            break;
        case GL_JOB_LIST:
            if (job->code < 0 || job->code > GL_LIST_PROBE)
                return gl_why (why, "job list: code expected 0..1");
            break;
        case GL_JOB_NOTE:
            if (job->code < 0 || job->code > 255)
                return gl_why (why, "job note: code expected 0..255");
            if (job->code && !job->eof)
                return gl_why (why, "job note: a code without eof (the job's end)");
            break;
        case GL_JOB_EXIT:
            if (job->code < 0 || job->code > 255)
                return gl_why (why, "job exit: code expected 0..255");
            if (job->signo && job->code)
                return gl_why (why, "job exit: both a code and a signal");
            if (job->core && !job->signo)
                return gl_why (why, "job exit: core without a signal");
            break;
        default: break;
    }
    return 0;
}

/* Gang rules: what each type needs and what else it may carry (see wire.h). */
static const struct {
    uint64_t need, may;
} gang_rules[GL_GANG_SYNC_RESP + 1] = {
    [GL_GANG_MEMBERS] = { K (G_GANG), K (G_SEQ) | K (G_PEERS) },
    [GL_GANG_VOTE_REQ] = { K (G_GANG) | K (G_TERM) | K (G_LEADER), 0 },
    [GL_GANG_VOTE] = { K (G_GANG) | K (G_TERM) | K (G_LEADER), K (G_GRANTED) | K (G_PEERS) },
    [GL_GANG_PLACE] = { K (G_PLACES), K (G_PEERS) }, /* none: only tombstones */
    [GL_GANG_SYNC_REQ] = { 0, K (G_PLACES) | K (G_PEERS) },
    [GL_GANG_SYNC_RESP] = { 0, K (G_PLACES) | K (G_PEERS) },
};

#define GANG_KEY(key, name)                           \
    [key] = { "gang: " name " missing for this type", \
              "gang: " name " does not belong to this type" }
static const char *const gang_key_why[G_KEYS][2] = {
    GANG_KEY (G_TYPE, "type"),     GANG_KEY (G_GANG, "gang"),     GANG_KEY (G_TERM, "term"),
    GANG_KEY (G_LEADER, "leader"), GANG_KEY (G_SEQ, "seq"),       GANG_KEY (G_GRANTED, "granted"),
    GANG_KEY (G_PEERS, "peers"),   GANG_KEY (G_PLACES, "places"),
};

static int check_gang (const gl_gang_t *g, const char **why)
{
    if (g->type < GL_GANG_MEMBERS || g->type > GL_GANG_SYNC_RESP)
        return gl_why (why, "gang: unknown type");
    uint64_t has = 0;
    for (size_t i = 0; i < NFIELDS (gang_fields); i++)
        if (field_present (&gang_fields[i], g))
            has |= K (gang_fields[i].key);
    uint64_t need = gang_rules[g->type].need | K (G_TYPE);
    uint64_t may = need | gang_rules[g->type].may;
    for (unsigned key = 1; key < G_KEYS; key++) {
        if ((need & K (key)) && !(has & K (key)))
            return gl_why (why, gang_key_why[key][0]);
        if ((has & K (key)) && !(may & K (key)))
            return gl_why (why, gang_key_why[key][1]);
    }
    if (g->n_peers > GL_GANG_PEERS_MAX || (g->n_peers && !g->peers) ||
        g->n_places > GL_GANG_PLACES_MAX || (g->n_places && !g->places))
        return gl_why (why, "gang: peers or places malformed");
    if (!cstr_ok (g->gang, sizeof g->gang) || (g->gang[0] && !gl_gpid_valid (g->gang)) ||
        !cstr_ok (g->leader, sizeof g->leader) || (g->leader[0] && !gl_name_valid (g->leader)))
        return gl_why (why, "gang: id or leader malformed");
    for (uint32_t i = 0; i < g->n_peers; i++)
        if (!cstr_ok (g->peers[i].node, sizeof g->peers[i].node) ||
            !gl_name_valid (g->peers[i].node))
            return gl_why (why, "gang peer: without a valid node");
    if (g->type == GL_GANG_VOTE && g->n_peers > 1)
        return gl_why (why, "gang vote: more than the voter");
    uint64_t owned = 0;
    for (uint32_t i = 0; i < g->n_places; i++) {
        const gl_place_t *pl = &g->places[i];
        if (!cstr_ok (pl->gang, sizeof pl->gang) || !gl_gpid_valid (pl->gang) ||
            !cstr_ok (pl->leader, sizeof pl->leader) || !gl_name_valid (pl->leader) ||
            pl->term == 0)
            return gl_why (why, "gang place: without a gang, a leader or a term");
        owned += pl->n_peers;
    }
    if (g->n_places && owned != g->n_peers)
        return gl_why (why, "gang places: their peers do not add up to the message's");
    return 0;
}

static int check_msg (const gl_msg_t *msg, const char **why)
{
    if (msg->type < GL_MSG_PING ||
        (msg->type > GL_MSG_GOSSIP && msg->type != GL_MSG_JOB && msg->type != GL_MSG_GANG))
        return gl_why (why, "message: unknown type");
    if (msg->type == GL_MSG_JOB) {
        if (!msg->job)
            return gl_why (why, "message: job type without a job");
        if (msg->gang)
            return gl_why (why, "message: a gang in a job message");
        if (msg->probe_seq || msg->target[0] || msg->target_addr[0] || msg->n_updates)
            return gl_why (why, "message: job with gossip fields");
        return check_job (msg->job, why);
    }
    if (msg->type == GL_MSG_GANG) {
        if (!msg->gang)
            return gl_why (why, "message: gang type without a gang");
        if (msg->job)
            return gl_why (why, "message: a job in a gang message");
        if (msg->probe_seq || msg->target[0] || msg->target_addr[0] || msg->n_updates)
            return gl_why (why, "message: gang with gossip fields");
        return check_gang (msg->gang, why);
    }
    if (msg->job)
        return gl_why (why, "message: a job in a gossip message");
    if (msg->gang)
        return gl_why (why, "message: a gang in a gossip message");
    bool has_target = cstr_ok (msg->target, sizeof msg->target) && gl_name_valid (msg->target);
    if ((msg->type == GL_MSG_PING || msg->type == GL_MSG_PING_REQ) && !has_target)
        return gl_why (why, "message: ping without a valid target");
    if (msg->type == GL_MSG_PING_REQ && msg->target_addr[0] == 0)
        return gl_why (why, "message: ping-req without target_addr");
    if (msg->n_updates > GL_UPDATES_MAX)
        return gl_why (why, "message: too many updates");
    return 0;
}

/* ---- table-driven encoding ------------------------------------------------ */

static void put_fields (enc_t *e, const schema_t *s, const void *base);

static bool field_present (const field_t *f, const void *base)
{
    const char *p = (const char *) base + f->off;
    switch (f->type) {
        case F_VERSION: return true;
        case F_U8: return *(const uint8_t *) p != 0;
        case F_U32: return *(const uint32_t *) p != 0;
        case F_U64: return *(const uint64_t *) p != 0;
        case F_I32: return *(const int32_t *) p != 0;
        case F_BOOL: return *(const bool *) p;
        case F_NAME:
        case F_GPID:
        case F_STR: return p[0] != 0;
        case F_BIN: return !gl_all_zero (p, f->size);
        case F_TEXT: return *(char *const *) p && (*(char *const *) p)[0];
        case F_BYTES:
        case F_STRV: return *(const uint32_t *) ((const char *) base + f->count_off) > 0;
        case F_JOB: return *(gl_job_t *const *) p != NULL;
        case F_GANG: return *(gl_gang_t *const *) p != NULL;
        case F_UPDATES: return ((const gl_msg_t *) base)->n_updates > 0;
        case F_ARRAY: return *(const uint32_t *) ((const char *) base + f->count_off) > 0;
        case F_MAP:
            for (size_t i = 0; i < f->sub->count; i++)
                if (field_present (&f->sub->fields[i], p))
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
        if (check_update (&msg->updates[i], NULL))
            e->err = -1;
        put_fields (e, &upd_schema, &msg->updates[i]);
    }
}

static void put_field (enc_t *e, const field_t *f, const void *base)
{
    const char *p = (const char *) base + f->off;
    uint32_t n = 0;
    if (f->type == F_BYTES || f->type == F_STRV || f->type == F_ARRAY)
        n = *(const uint32_t *) ((const char *) base + f->count_off);
    switch (f->type) {
        case F_VERSION: put_uint (e, GL_PROTO_VERSION); break;
        case F_U8:
            if (*(const uint8_t *) p > f->size)
                e->err = -1;
            put_uint (e, *(const uint8_t *) p);
            break;
        case F_U32:
            if (f->size && *(const uint32_t *) p > f->size)
                e->err = -1;
            put_uint (e, *(const uint32_t *) p);
            break;
        case F_U64: put_uint (e, *(const uint64_t *) p); break;
        case F_I32: put_int (e, *(const int32_t *) p); break;
        case F_BOOL:
            if (msgpack_pack_true (&e->pk))
                e->err = -1;
            break;
        case F_NAME:
        case F_GPID:
        case F_STR:
            if (!cstr_ok (p, f->size) || (f->type == F_NAME && !gl_name_valid (p)) ||
                (f->type == F_GPID && !gl_gpid_valid (p)))
                e->err = -1;
            else
                put_str (e, p, strlen (p));
            break;
        case F_BIN: put_bin (e, p, f->size); break;
        case F_TEXT: {
            const char *s = *(char *const *) p;
            size_t len = strlen (s);
            if (len > f->size)
                e->err = -1;
            else
                put_str (e, s, len);
            break;
        }
        case F_BYTES: {
            const uint8_t *b = *(uint8_t *const *) p;
            if (n > f->size || !b)
                e->err = -1;
            else
                put_bin (e, b, n);
            break;
        }
        case F_STRV: {
            char *const *v = *(char **const *) p;
            if (n > f->size || !strv_ok (v, n)) {
                e->err = -1;
                break;
            }
            put_array (e, n);
            for (uint32_t i = 0; i < n && !e->err; i++)
                put_str (e, v[i], strlen (v[i]));
            break;
        }
        case F_MAP: put_fields (e, f->sub, p); break;
        case F_JOB: put_fields (e, &job_schema, *(gl_job_t *const *) p); break;
        case F_GANG: put_fields (e, &gang_schema, *(gl_gang_t *const *) p); break;
        case F_UPDATES: put_updates (e, base); break;
        case F_ARRAY: {
            const char *a = *(const char *const *) p;
            if (n > f->size || !a) {
                e->err = -1;
                break;
            }
            put_array (e, n);
            for (uint32_t i = 0; i < n && !e->err; i++)
                put_fields (e, f->sub, a + (size_t) i * f->elem);
            break;
        }
    }
}

static void put_fields (enc_t *e, const schema_t *s, const void *base)
{
    size_t n = 0;
    for (size_t i = 0; i < s->count; i++)
        n += field_present (&s->fields[i], base);
    put_map (e, n);
    for (size_t i = 0; i < s->count; i++) {
        const field_t *f = &s->fields[i];
        if (field_present (f, base)) {
            put_uint (e, f->key);
            put_field (e, f, base);
        }
    }
}

/* ---- table-driven decoding ------------------------------------------------ */

static int get_fields (const msgpack_object *o, const schema_t *s, void *base, uint64_t *seen,
                       const char **why);

static int get_updates (const msgpack_object *o, gl_msg_t *msg, const char **why)
{
    if (o->type != MSGPACK_OBJECT_ARRAY)
        return gl_why (why, "message updates: not an array");
    uint32_t n = o->via.array.size;
    if (n > GL_UPDATES_MAX)
        return gl_why (why, "message: too many updates");
    if (n == 0)
        return 0;
    /* The array's elements exist (the scan saw them), so n is real. */
    msg->updates = calloc (n, sizeof (gl_update_t));
    if (!msg->updates)
        return gl_why (why, "out of memory");
    msg->n_updates = n;
    for (uint32_t i = 0; i < n; i++) {
        uint64_t seen = 0;
        if (get_fields (&o->via.array.ptr[i], &upd_schema, &msg->updates[i], &seen, why) ||
            check_update (&msg->updates[i], why))
            return -1;
    }
    return 0;
}

/* An owned copy of a bin of at most f->size bytes; an empty one stays
   NULL.  The bin is in the input, so its size is real. */
static int get_bytes (const field_t *f, const msgpack_object *o, uint8_t **dst, uint32_t *len,
                      const char **why)
{
    if (o->type != MSGPACK_OBJECT_BIN || o->via.bin.size > f->size)
        return gl_why (why, f->bad);
    if (o->via.bin.size == 0)
        return 0;
    if (!(*dst = malloc (o->via.bin.size)))
        return gl_why (why, "out of memory");
    memcpy (*dst, o->via.bin.ptr, o->via.bin.size);
    *len = o->via.bin.size;
    return 0;
}

/* An owned array of owned strings, at most f->size; an empty one stays
   NULL.  The array's elements exist (the scan saw them), so its size is
   real. */
static int get_strv (const field_t *f, const msgpack_object *o, char ***dst, uint32_t *count,
                     const char **why)
{
    if (o->type != MSGPACK_OBJECT_ARRAY || o->via.array.size > f->size)
        return gl_why (why, f->bad);
    uint32_t n = o->via.array.size;
    for (uint32_t i = 0; i < n; i++)
        if (!str_ok (&o->via.array.ptr[i], GL_PKT_MAX))
            return gl_why (why, f->bad);
    if (n == 0)
        return 0;
    if (!(*dst = calloc (n, sizeof (char *))))
        return gl_why (why, "out of memory");
    *count = n; /* from here on, gl_job_clear frees them */
    for (uint32_t i = 0; i < n; i++)
        if (!((*dst)[i] = dup_str (&o->via.array.ptr[i])))
            return gl_why (why, "out of memory");
    return 0;
}

/* An owned array of at most f->size structs, each a map of f->sub; an
   empty one stays NULL.  The elements exist (the scan saw them), so the
   count is real. */
static int get_array (const field_t *f, const msgpack_object *o, char **dst, uint32_t *count,
                      const char **why)
{
    if (o->type != MSGPACK_OBJECT_ARRAY || o->via.array.size > f->size)
        return gl_why (why, f->bad);
    uint32_t n = o->via.array.size;
    if (n == 0)
        return 0;
    if (!(*dst = calloc (n, f->elem)))
        return gl_why (why, "out of memory");
    *count = n; /* from here on, the clear function frees it */
    for (uint32_t i = 0; i < n; i++) {
        uint64_t seen = 0;
        if (get_fields (&o->via.array.ptr[i], f->sub, *dst + (size_t) i * f->elem, &seen, why))
            return -1;
    }
    return 0;
}

static bool get_int32 (const msgpack_object *o, int32_t *v);

static int get_field (const field_t *f, const msgpack_object *o, void *base, const char **why)
{
    char *p = (char *) base + f->off;
    uint32_t *count = (uint32_t *) ((char *) base + f->count_off);
    uint64_t v;
    bool ok = true;
    switch (f->type) {
        case F_VERSION: ok = get_uint (o, UINT32_MAX, &v) && v == GL_PROTO_VERSION; break;
        case F_U8:
            if ((ok = get_uint (o, f->size, &v)))
                *(uint8_t *) p = (uint8_t) v;
            break;
        case F_U32:
            if ((ok = get_uint (o, f->size ? f->size : UINT32_MAX, &v)))
                *(uint32_t *) p = (uint32_t) v;
            break;
        case F_U64: ok = get_uint (o, UINT64_MAX, (uint64_t *) p); break;
        case F_I32: ok = get_int32 (o, (int32_t *) p); break;
        case F_BOOL:
            if ((ok = o->type == MSGPACK_OBJECT_BOOLEAN))
                *(bool *) p = o->via.boolean;
            break;
        case F_NAME: ok = get_cstr (o, p, f->size) && gl_name_valid (p); break;
        case F_GPID: ok = get_cstr (o, p, f->size) && gl_gpid_valid (p); break;
        case F_STR: ok = get_cstr (o, p, f->size); break;
        case F_BIN: ok = get_bin (o, (uint8_t *) p, f->size); break;
        case F_TEXT:
            /* An empty string is an absent field: the pointer stays NULL. */
            ok = str_ok (o, f->size);
            if (ok && o->via.str.size && !(*(char **) p = dup_str (o)))
                return gl_why (why, "out of memory");
            break;
        case F_BYTES: return get_bytes (f, o, (uint8_t **) p, count, why);
        case F_STRV: return get_strv (f, o, (char ***) p, count, why);
        case F_MAP: {
            uint64_t seen = 0;
            return get_fields (o, f->sub, p, &seen, why);
        }
        case F_JOB: {
            if (o->type != MSGPACK_OBJECT_MAP)
                return gl_why (why, job_schema.not_map);
            gl_job_t *job = calloc (1, sizeof *job);
            if (!job)
                return gl_why (why, "out of memory");
            *(gl_job_t **) p = job; /* gl_msg_clear frees it, whatever happens */
            uint64_t seen = 0;
            return get_fields (o, &job_schema, job, &seen, why);
        }
        case F_GANG: {
            if (o->type != MSGPACK_OBJECT_MAP)
                return gl_why (why, gang_schema.not_map);
            gl_gang_t *gang = calloc (1, sizeof *gang);
            if (!gang)
                return gl_why (why, "out of memory");
            *(gl_gang_t **) p = gang; /* gl_msg_clear frees it, whatever happens */
            uint64_t seen = 0;
            return get_fields (o, &gang_schema, gang, &seen, why);
        }
        case F_UPDATES: return get_updates (o, base, why);
        case F_ARRAY: return get_array (f, o, (char **) p, count, why);
    }
    return ok ? 0 : gl_why (why, f->bad);
}

static int get_fields (const msgpack_object *o, const schema_t *s, void *base, uint64_t *seen,
                       const char **why)
{
    if (o->type != MSGPACK_OBJECT_MAP)
        return gl_why (why, s->not_map);
    if (o->via.map.size > KEY_MAX + 1)
        return gl_why (why, "map has more than 64 keys");
    for (uint32_t i = 0; i < o->via.map.size; i++) {
        const msgpack_object_kv *kv = &o->via.map.ptr[i];
        unsigned key;
        if (map_key (&kv->key, seen, &key, why))
            return -1;
        for (size_t j = 0; j < s->count; j++)
            if (s->fields[j].key == key && get_field (&s->fields[j], &kv->val, base, why))
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
    enc_init_room (&e, 1024 + (msg->type == GL_MSG_JOB && msg->job ? msg->job->len : 0));
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
        rc = gl_why (why, "message: missing version");
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
        gl_job_clear (msg->job);
        free (msg->job);
        gl_gang_clear (msg->gang);
        free (msg->gang);
        memset (msg, 0, sizeof *msg);
    }
}

static void free_strv (char **v, uint32_t n)
{
    for (uint32_t i = 0; v && i < n; i++)
        free (v[i]);
    free (v);
}

void gl_job_clear (gl_job_t *job)
{
    if (job) {
        free (job->data);
        free (job->text);
        free_strv (job->argv, job->argc);
        free_strv (job->envv, job->envc);
        free_strv (job->rlimits, job->n_rlimits);
        free (job->cwd);
        memset (job, 0, sizeof *job);
    }
}

void gl_gang_clear (gl_gang_t *gang)
{
    if (gang) {
        free (gang->peers);
        free (gang->places);
        memset (gang, 0, sizeof *gang);
    }
}

const char *gl_gang_type_name (int type)
{
    switch (type) {
        case GL_GANG_MEMBERS: return "members";
        case GL_GANG_VOTE_REQ: return "vote-req";
        case GL_GANG_VOTE: return "vote";
        case GL_GANG_PLACE: return "place";
        case GL_GANG_SYNC_REQ: return "sync-req";
        case GL_GANG_SYNC_RESP: return "sync-resp";
        default: return "unknown";
    }
}

const char *gl_msg_type_name (int type)
{
    switch (type) {
        case GL_MSG_PING: return "ping";
        case GL_MSG_ACK: return "ack";
        case GL_MSG_PING_REQ: return "ping-req";
        case GL_MSG_NACK: return "nack";
        case GL_MSG_SYNC_REQ: return "sync-req";
        case GL_MSG_SYNC_RESP: return "sync-resp";
        case GL_MSG_GOSSIP: return "gossip";
        case GL_MSG_JOB: return "job";
        case GL_MSG_GANG: return "gang";
        default: return "unknown";
    }
}

const char *gl_job_type_name (int type)
{
    switch (type) {
        case GL_JOB_RUN: return "run";
        case GL_JOB_STARTED: return "started";
        case GL_JOB_REFUSED: return "refused";
        case GL_JOB_FAILED: return "failed";
        case GL_JOB_DATA: return "data";
        case GL_JOB_CREDIT: return "credit";
        case GL_JOB_SIGNAL: return "signal";
        case GL_JOB_WINSIZE: return "winsize";
        case GL_JOB_EXIT: return "exit";
        case GL_JOB_KILL: return "kill";
        case GL_JOB_PING: return "ping";
        case GL_JOB_LIST: return "list";
        case GL_JOB_LIST_REPLY: return "list-reply";
        case GL_JOB_PMI: return "pmi";
        case GL_JOB_PMI_REPLY: return "pmi-reply";
        case GL_JOB_NOTE: return "note";
        case GL_JOB_CKPT: return "ckpt";
        case GL_JOB_IMAGE: return "image";
        case GL_JOB_MOVE: return "move";
        default: return "unknown";
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

int gl_env_encode_room (const gl_env_t *env, size_t ct_len, uint8_t **out, size_t *len,
                        size_t *ct_off)
{
    if (ct_len > GL_PKT_MAX)
        return -1;
    enc_t e;
    enc_init_room (&e, 512 + ct_len);
    put_env_header (&e, env, ENV_HEADER_ITEMS + 1);
    if (!e.err && msgpack_pack_bin (&e.pk, ct_len))
        e.err = -1;
    if (!e.err && e.sb.alloc - e.sb.size < ct_len) {
        char *grown = realloc (e.sb.data, e.sb.size + ct_len);
        if (grown) {
            e.sb.data = grown;
            e.sb.alloc = e.sb.size + ct_len;
        }
        else
            e.err = -1;
    }
    if (e.err) {
        msgpack_sbuffer_destroy (&e.sb);
        return -1;
    }
    *ct_off = e.sb.size; /* the caller fills the room */
    e.sb.size += ct_len;
    return enc_finish (&e, out, len);
}

int gl_env_encode (const gl_env_t *env, uint8_t **out, size_t *len)
{
    size_t ct_off;
    if ((env->ct_len && !env->ct) || gl_env_encode_room (env, env->ct_len, out, len, &ct_off))
        return -1;
    if (env->ct_len)
        memcpy (*out + ct_off, env->ct, env->ct_len);
    return 0;
}

/* Any version number is decoded: telling "another version" apart from
   "garbage" is the opener's business. */
static int get_env (const msgpack_object *o, gl_env_t *env, const char **why)
{
    if (o->type != MSGPACK_OBJECT_ARRAY || o->via.array.size != ENV_HEADER_ITEMS + 1)
        return gl_why (why, "envelope: not an array of 8");
    const msgpack_object *f = o->via.array.ptr;
    uint64_t v;
    if (!get_uint (&f[0], UINT32_MAX, &v))
        return gl_why (why, "envelope version: expected uint32");
    env->version = (uint32_t) v;
    if (!get_bin (&f[1], env->cluster_id, GL_CLUSTER_ID_BYTES))
        return gl_why (why, "envelope cluster_id: expected bin of 8 bytes");
    if (!get_cstr (&f[2], env->sender, sizeof env->sender) || !gl_name_valid (env->sender))
        return gl_why (why, "envelope sender: not a node name");
    if (!get_uint (&f[3], UINT64_MAX, &env->generation))
        return gl_why (why, "envelope generation: expected uint64");
    if (!get_uint (&f[4], UINT64_MAX, &env->seq))
        return gl_why (why, "envelope seq: expected uint64");
    if (!get_uint (&f[5], UINT64_MAX, &env->time_ms))
        return gl_why (why, "envelope time: expected uint64");
    if (!get_bin (&f[6], env->nonce, GL_NONCE_BYTES))
        return gl_why (why, "envelope nonce: expected bin of 24 bytes");
    if (f[7].type != MSGPACK_OBJECT_BIN)
        return gl_why (why, "envelope ciphertext: expected bin");
    env->ct = (const uint8_t *) f[7].via.bin.ptr; /* points into buf */
    env->ct_len = f[7].via.bin.size;
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

static const char rec_domain[] = "glunix-rec-v1";

int gl_rec_signed_bytes (const gl_rec_t *rec, uint8_t **out, size_t *len)
{
    const gl_res_t *res = &rec->res;
    if (check_rec (rec, NULL) || !cstr_ok (rec->addr, sizeof rec->addr) ||
        res->state > GL_RES_UNAVAILABLE)
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
    put_array (&e, 10);
    put_uint (&e, res->cores);
    put_uint (&e, res->load1_milli);
    put_uint (&e, res->load_recent_milli);
    put_uint (&e, res->owner_load_milli);
    put_uint (&e, res->mem_total_kb);
    put_uint (&e, res->mem_avail_kb);
    put_uint (&e, res->owner_idle_s);
    put_uint (&e, res->state);
    put_uint (&e, res->guests);
    put_uint (&e, res->started);
    return enc_finish (&e, out, len);
}

/* ---- control messages --------------------------------------------------------- */

int gl_ctl_req_encode (const gl_ctl_req_t *req, uint8_t **out, size_t *len)
{
    if (!cstr_ok (req->cmd, sizeof req->cmd) || req->cmd[0] == 0 || req->argc > GL_CTL_ARGS_MAX)
        return -1;
    for (uint32_t i = 0; i < req->argc; i++)
        if (!req->argv[i])
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
            put_str (&e, req->argv[i], strlen (req->argv[i]));
    }
    return enc_finish (&e, out, len);
}

static int get_argv (const msgpack_object *o, gl_ctl_req_t *req, const char **why)
{
    if (o->type != MSGPACK_OBJECT_ARRAY || o->via.array.size > GL_CTL_ARGS_MAX)
        return gl_why (why, "control request args: expected an array of at most 64");
    for (uint32_t i = 0; i < o->via.array.size; i++) {
        if (!str_ok (&o->via.array.ptr[i], GL_PKT_MAX))
            return gl_why (why, "control request args: expected strings without NUL");
        if (!(req->argv[i] = dup_str (&o->via.array.ptr[i])))
            return gl_why (why, "out of memory");
        req->argc = i + 1;
    }
    return 0;
}

static int get_ctl_req (const msgpack_object *o, gl_ctl_req_t *req, const char **why)
{
    if (o->type != MSGPACK_OBJECT_MAP)
        return gl_why (why, "control request: not a map");
    uint64_t seen = 0, v;
    for (uint32_t i = 0; i < o->via.map.size; i++) {
        const msgpack_object_kv *kv = &o->via.map.ptr[i];
        unsigned key;
        if (map_key (&kv->key, &seen, &key, why))
            return -1;
        if (key == 0 && !(get_uint (&kv->val, UINT32_MAX, &v) && v == GL_PROTO_VERSION))
            return gl_why (why, "control request: unsupported protocol version");
        if (key == 1 && !get_cstr (&kv->val, req->cmd, sizeof req->cmd))
            return gl_why (why, "control request cmd: expected a string of at most 31 bytes");
        if (key == 2 && get_argv (&kv->val, req, why))
            return -1;
    }
    if (!(seen & 1))
        return gl_why (why, "control request: missing version");
    if (req->cmd[0] == 0)
        return gl_why (why, "control request: missing cmd");
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
        free (req->argv[i]);
    memset (req, 0, sizeof *req);
}

int gl_ctl_resp_encode (const gl_ctl_resp_t *resp, uint8_t **out, size_t *len)
{
    size_t text_len = resp->text_len;
    if ((text_len && !resp->text) || text_len > GL_PKT_MAX ||
        (text_len && memchr (resp->text, 0, text_len)))
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
        return gl_why (why, "control response: not a map");
    uint64_t seen = 0, v;
    for (uint32_t i = 0; i < o->via.map.size; i++) {
        const msgpack_object_kv *kv = &o->via.map.ptr[i];
        unsigned key;
        if (map_key (&kv->key, &seen, &key, why))
            return -1;
        if (key == 0 && !(get_uint (&kv->val, UINT32_MAX, &v) && v == GL_PROTO_VERSION))
            return gl_why (why, "control response: unsupported protocol version");
        if (key == 1 && !get_int32 (&kv->val, &resp->code))
            return gl_why (why, "control response code: expected int32");
        if (key == 2) {
            if (!str_ok (&kv->val, GL_PKT_MAX))
                return gl_why (why, "control response text: expected a string without NUL");
            if (!(resp->text = dup_str (&kv->val)))
                return gl_why (why, "out of memory");
            resp->text_len = kv->val.via.str.size;
        }
    }
    if (!(seen & 1))
        return gl_why (why, "control response: missing version");
    /* Callers may print text without checking it. */
    if (!resp->text && !(resp->text = calloc (1, 1)))
        return gl_why (why, "out of memory");
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
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
           c == '_' || c == '-';
}

static bool id_valid (const char *id, size_t max)
{
    if (!id || id[0] == 0 || id[0] == '-' || id[0] == '.')
        return false;
    for (size_t i = 0; id[i]; i++)
        if (i >= max || !name_char (id[i]))
            return false;
    return true;
}

bool gl_name_valid (const char *name)
{
    return id_valid (name, GL_NAME_MAX);
}

bool gl_gpid_valid (const char *gpid)
{
    return id_valid (gpid, GL_GPID_MAX);
}
