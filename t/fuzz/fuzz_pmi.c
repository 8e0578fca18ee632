/*  fuzz_pmi.c -- libFuzzer target for the PMI-1 framer and parser
    (sched/pmi_wire.c), which read what a job's MPI ranks write on their
    PMI_FD: bytes from the user's processes, not to be trusted.

    The input is a byte stream from a rank.  It goes through the framer
    twice: once in pieces as large as the reader takes, once in pieces of
    sizes drawn from a generator seeded by the input.  Both must hand out
    the same requests and end the same way (refused for the same reason,
    or waiting on the same unfinished bytes): what a rank means cannot
    depend on how its writes were split.  The reader must never hold more
    than its bound nor stall (no room, yet nothing handed out).  Every
    request it hands out, and the whole input taken as one request, is
    parsed; what parses must keep the promises of pmi_wire.h (names and
    keys pass pmi_word_ok, no key twice, values without newlines, and
    without spaces in a one-line request) and parse again to the same
    command from its canonical spelling: nothing lost, nothing invented.
    A refusal must say why.  Any failure aborts, which libFuzzer reports
    as a crash.  Run it with t/fuzz/run.sh --target pmi. */
#include "pmi_wire.h"
#include "rng.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MUST(cond)                                                    \
    do {                                                              \
        if (!(cond)) {                                                \
            fprintf (stderr, "fuzz_pmi.c:%d: %s\n", __LINE__, #cond); \
            abort ();                                                 \
        }                                                             \
    } while (0)

/* What one pass of the framer handed out: the requests, back to back
   with their lengths, and how the stream ended. */
typedef struct {
    char *reqs;
    size_t used, cap, count;
    const char *refused; /* the reason, or NULL */
    size_t held;         /* bytes of an unfinished request at the end */
} pass_t;

static pmi_cmd_t cmd, again;

static bool inside (const pmi_cmd_t *c, const char *p)
{
    return p >= c->buf && p < c->buf + sizeof c->buf;
}

/* The promises of pmi_wire.h about a parsed command. */
static void sane (const pmi_cmd_t *c, const char *req, size_t len)
{
    MUST (c->name && inside (c, c->name));
    MUST (pmi_word_ok (c->name, strlen (c->name), PMI_WORD_MAX));
    MUST (!strcmp (pmi_cmd_word (c->name), c->name));
    MUST (c->multi == (len >= 5 && !memcmp (req, "mcmd=", 5)));
    MUST (c->multi || (len >= 4 && !memcmp (req, "cmd=", 4)));
    MUST (c->n <= PMI_ATTRS_MAX);
    for (uint32_t i = 0; i < c->n; i++) {
        const char *k = c->attr[i].key, *v = c->attr[i].val;
        MUST (inside (c, k) && inside (c, v));
        MUST (pmi_word_ok (k, strlen (k), PMI_WORD_MAX));
        MUST (strcmp (k, "cmd") && strcmp (k, "mcmd"));
        MUST (!strchr (v, '\n'));
        MUST (c->multi || !strchr (v, ' '));
        MUST (pmi_cmd_get (c, k) == v);
        for (uint32_t j = 0; j < i; j++)
            MUST (strcmp (c->attr[j].key, k));
    }
}

/* c spelt the one way pmi_wire.h shows, parsed again: the same command. */
static void round_trip (const pmi_cmd_t *c, size_t len)
{
    static char text[2 * PMI_REQ_MAX];
    size_t at = (size_t) snprintf (text, sizeof text, "%s=%s", c->multi ? "mcmd" : "cmd", c->name);
    for (uint32_t i = 0; i < c->n; i++)
        at += (size_t) snprintf (text + at, sizeof text - at, "%c%s=%s", c->multi ? '\n' : ' ',
                                 c->attr[i].key, c->attr[i].val);
    if (c->multi)
        at += (size_t) snprintf (text + at, sizeof text - at, "\nendcmd");
    /* no longer than what was parsed: only runs of spaces go */
    MUST (at <= len);
    const char *why = NULL;
    MUST (pmi_cmd_parse (text, at, &again, &why) == 0);
    MUST (again.multi == c->multi && again.n == c->n && !strcmp (again.name, c->name));
    for (uint32_t i = 0; i < c->n; i++)
        MUST (!strcmp (again.attr[i].key, c->attr[i].key) &&
              !strcmp (again.attr[i].val, c->attr[i].val));
}

static void check_request (const char *req, size_t len)
{
    const char *why = NULL;
    if (pmi_cmd_parse (req, len, &cmd, &why)) {
        MUST (why && *why);
        return;
    }
    sane (&cmd, req, len);
    round_trip (&cmd, len);
}

static void keep (pass_t *p, const char *req, size_t len)
{
    if (p->used + len + sizeof len > p->cap) {
        p->cap = (p->used + len + sizeof len) * 2;
        p->reqs = realloc (p->reqs, p->cap);
        MUST (p->reqs);
    }
    memcpy (p->reqs + p->used, &len, sizeof len);
    memcpy (p->reqs + p->used + sizeof len, req, len);
    p->used += sizeof len + len;
    p->count++;
}

/* Take every whole request out of r; -1 once refused. */
static int drain (pmi_reader_t *r, pass_t *p)
{
    const char *req, *why = NULL;
    size_t len;
    int rc;
    while ((rc = pmi_reader_next (r, &req, &len, &why)) == 1) {
        MUST (len < PMI_REQ_MAX && req >= r->buf && req + len < r->buf + sizeof r->buf);
        MUST (req[len] == '\n');
        keep (p, req, len);
        check_request (req, len);
    }
    MUST (r->len <= sizeof r->buf && r->used <= r->len);
    if (rc < 0) {
        MUST (why && *why && r->broken == why);
        p->refused = why;
        /* refused for good: the same answer again, and no more room */
        const char *why2 = NULL;
        MUST (pmi_reader_next (r, &req, &len, &why2) == -1 && why2 == why);
        size_t room;
        pmi_reader_space (r, &room);
        MUST (room == 0);
        return -1;
    }
    MUST (rc == 0);
    return 0;
}

/* One pass over data; piece 0 means as much as the reader takes. */
static void pass (const uint8_t *data, size_t size, uint64_t seed, pass_t *p)
{
    static pmi_reader_t r;
    pmi_reader_init (&r);
    memset (p, 0, sizeof *p);
    size_t at = 0;
    for (;;) {
        if (drain (&r, p))
            return;
        size_t room;
        char *space = pmi_reader_space (&r, &room);
        MUST (r.len + room <= sizeof r.buf);
        if (at == size)
            break;
        /* no room and no request: the reader would wait for ever */
        MUST (room > 0);
        size_t k = size - at;
        if (seed) {
            uint64_t x = gl_splitmix64 (&seed);
            size_t piece = (x & 3) ? 1 + (size_t) (x >> 8) % 16 : 1 + (size_t) (x >> 8) % 700;
            if (k > piece)
                k = piece;
        }
        if (k > room)
            k = room;
        memcpy (space, data + at, k);
        pmi_reader_wrote (&r, k);
        at += k;
    }
    p->held = r.len - r.used;
}

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
    /* the input as one request, as the home parses a relayed one */
    check_request ((const char *) data, size);

    uint64_t seed = 0x9e3779b97f4a7c15ull;
    for (size_t i = 0; i < size; i++)
        seed = (seed ^ data[i]) * 0x100000001b3ull;
    pass_t whole, pieces;
    pass (data, size, 0, &whole);
    pass (data, size, seed | 1, &pieces);
    MUST (whole.count == pieces.count && whole.used == pieces.used);
    MUST (!whole.used || !memcmp (whole.reqs, pieces.reqs, whole.used));
    MUST ((whole.refused == NULL) == (pieces.refused == NULL));
    MUST (!whole.refused || !strcmp (whole.refused, pieces.refused));
    MUST (whole.refused || whole.held == pieces.held);
    free (whole.reqs);
    free (pieces.reqs);
    return 0;
}
