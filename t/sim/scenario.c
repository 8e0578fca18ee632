/*  scenario.c -- scenarios: defaults, the file format, drawn faults. */
#include "scenario.h"
#include "random.h"
#include "str.h"

#include <ctype.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

void scen_init (scen_t *s)
{
    memset (s, 0, sizeof *s);
    s->nodes = 64;
    s->duration_us = 300 * 1000000ull;
    s->seed = 1;
    s->delay_min_us = 200;   /* a switched LAN: 0.2 ms at best, */
    s->delay_mean_us = 1000; /* 1 ms on average, a long tail */
    s->start_spread_us = 5 * 1000000ull;
    s->pause_len_us = 5 * 1000000ull;
}

void scen_free (scen_t *s)
{
    free (s->evs);
    s->evs = NULL;
    s->n_evs = s->cap_evs = 0;
}

int scen_add (scen_t *s, const scen_ev_t *ev)
{
    if (s->n_evs == s->cap_evs) {
        size_t cap = s->cap_evs ? 2 * s->cap_evs : 16;
        scen_ev_t *evs = realloc (s->evs, cap * sizeof *evs);
        if (!evs)
            return -1;
        s->evs = evs;
        s->cap_evs = cap;
    }
    s->evs[s->n_evs++] = *ev;
    return 0;
}

void scen_copy (scen_t *dst, const scen_t *src)
{
    *dst = *src;
    dst->evs = NULL;
    dst->n_evs = dst->cap_evs = 0;
    for (size_t i = 0; i < src->n_evs; i++)
        scen_add (dst, &src->evs[i]);
}

static const char *kind_names[] = {
    NULL,   "crash",    "restart", "pause",  "partition", "heal",
    "loss", "linkloss", "skew",    "update", "gang",      "gang-end",
};

const char *scen_kind_name (int kind)
{
    return kind >= SE_CRASH && kind <= SE_GANG_END ? kind_names[kind] : "?";
}

int scen_parse_time (const char *text, uint64_t *us)
{
    char *end;
    double v = strtod (text, &end);
    if (end == text || v < 0)
        return -1;
    double mult = 1000; /* a bare number is milliseconds */
    if (!strcmp (end, "us"))
        mult = 1;
    else if (!strcmp (end, "ms"))
        mult = 1000;
    else if (!strcmp (end, "s"))
        mult = 1e6;
    else if (!strcmp (end, "m"))
        mult = 60e6;
    else if (!strcmp (end, "h"))
        mult = 3600e6;
    else if (*end)
        return -1;
    if (v * mult > 1e18)
        return -1;
    *us = (uint64_t) (v * mult + 0.5);
    return 0;
}

/* Exact and short: what we print must read back to the same value. */
void scen_format_time (uint64_t us, char *out, size_t len)
{
    if (us % 1000000 == 0)
        snprintf (out, len, "%" PRIu64 "s", us / 1000000);
    else if (us % 1000 == 0)
        snprintf (out, len, "%" PRIu64 "ms", us / 1000);
    else
        snprintf (out, len, "%" PRIu64 "us", us);
}

static int parse_u32 (const char *text, uint32_t *out)
{
    char *end;
    unsigned long v = strtoul (text, &end, 10);
    if (end == text || *end || v > UINT32_MAX || !isdigit ((unsigned char) text[0]))
        return -1;
    *out = (uint32_t) v;
    return 0;
}

/* "17" or "0-99". */
static int parse_range (const char *text, uint32_t *a, uint32_t *b)
{
    char buf[64];
    gl_strlcpy (buf, text, sizeof buf);
    char *dash = strchr (buf, '-');
    if (dash)
        *dash = 0;
    if (parse_u32 (buf, a) || (dash ? parse_u32 (dash + 1, b) : (*b = *a, 0)) || *b < *a)
        return -1;
    return 0;
}

int scen_parse_list (const char *list, uint32_t n_nodes, uint32_t *nodes, size_t max)
{
    char buf[SCEN_LIST_MAX + 1];
    if (strlen (list) > SCEN_LIST_MAX)
        return -1;
    gl_strlcpy (buf, list, sizeof buf);
    size_t n = 0;
    char *save = NULL;
    for (char *part = strtok_r (buf, ",", &save); part; part = strtok_r (NULL, ",", &save)) {
        uint32_t a, b;
        if (parse_range (part, &a, &b) || b >= n_nodes)
            return -1;
        for (uint32_t v = a; v <= b; v++) {
            for (size_t k = 0; k < n && k < max; k++)
                if (nodes[k] == v)
                    return -1; /* a node twice */
            if (n < max)
                nodes[n] = v;
            n++;
        }
    }
    return n ? (int) n : -1;
}

/* A gang's name: letters, digits, '.', '_', '-', as a GPID's. */
static bool name_ok (const char *name)
{
    size_t n = strlen (name);
    if (n == 0 || n > SCEN_NAME_MAX)
        return false;
    for (size_t i = 0; i < n; i++)
        if (!isalnum ((unsigned char) name[i]) && !strchr ("._-", name[i]))
            return false;
    return true;
}

static int parse_rate (const char *text, double *out)
{
    char *end;
    double v = strtod (text, &end);
    if (end == text || *end || !(v >= 0 && v <= 1))
        return -1;
    *out = v;
    return 0;
}

#define FAIL(...)                            \
    do {                                     \
        snprintf (err, errlen, __VA_ARGS__); \
        return -1;                           \
    } while (0)

int scen_line (scen_t *s, const char *line, char *err, size_t errlen)
{
    char buf[512], *w[8];
    int n = 0;
    gl_strlcpy (buf, line, sizeof buf);
    char *hash = strchr (buf, '#');
    if (hash)
        *hash = 0;
    for (char *tok = strtok (buf, " \t\r\n"); tok && n < 8; tok = strtok (NULL, " \t\r\n"))
        w[n++] = tok;
    if (n == 0)
        return 0;
    uint64_t t;
    if (!strcmp (w[0], "nodes") && n == 2) {
        if (parse_u32 (w[1], &s->nodes) || s->nodes < 1 || s->nodes > 100000)
            FAIL ("nodes: '%s' is not 1..100000", w[1]);
        return 0;
    }
    if (!strcmp (w[0], "seed") && n == 2) {
        char *end;
        s->seed = strtoull (w[1], &end, 0);
        if (*end)
            FAIL ("seed: '%s' is not a number", w[1]);
        return 0;
    }
    if ((!strcmp (w[0], "duration") || !strcmp (w[0], "warmup") || !strcmp (w[0], "settle") ||
         !strcmp (w[0], "start-spread")) &&
        n == 2) {
        if (scen_parse_time (w[1], &t))
            FAIL ("%s: '%s' is not a time", w[0], w[1]);
        if (w[0][0] == 'd')
            s->duration_us = t;
        else if (w[0][0] == 'w')
            s->warmup_us = t;
        else if (w[0][1] == 'e')
            s->settle_us = t;
        else
            s->start_spread_us = t;
        return 0;
    }
    if (!strcmp (w[0], "loss") && n == 2) {
        if (parse_rate (w[1], &s->loss))
            FAIL ("loss: '%s' is not a rate in 0..1", w[1]);
        return 0;
    }
    if (!strcmp (w[0], "delay") && n == 3) {
        if (scen_parse_time (w[1], &s->delay_min_us) || scen_parse_time (w[2], &s->delay_mean_us) ||
            s->delay_mean_us < s->delay_min_us)
            FAIL ("delay: want a minimum and a mean at least as large");
        return 0;
    }
    if ((!strcmp (w[0], "crashes") || !strcmp (w[0], "pauses") || !strcmp (w[0], "updates")) &&
        n == 2) {
        uint32_t *count = w[0][0] == 'c' ? &s->crashes : w[0][0] == 'p' ? &s->pauses : &s->updates;
        if (parse_u32 (w[1], count))
            FAIL ("%s: '%s' is not a count", w[0], w[1]);
        return 0;
    }
    if ((!strcmp (w[0], "restart-after") || !strcmp (w[0], "pause-len")) && n == 2) {
        if (scen_parse_time (w[1], &t))
            FAIL ("%s: '%s' is not a time", w[0], w[1]);
        *(w[0][0] == 'r' ? &s->restart_after_us : &s->pause_len_us) = t;
        return 0;
    }
    if (!strcmp (w[0], "gangs") && n == 3) {
        if (parse_u32 (w[1], &s->n_gangs) || parse_range (w[2], &s->gang_min, &s->gang_max) ||
            s->gang_min < 1 || s->gang_max > 32)
            FAIL ("gangs: want a count and sizes MIN-MAX within 1..32");
        return 0;
    }
    if (!strcmp (w[0], "gang-cores") && n == 2) {
        if (parse_u32 (w[1], &s->gang_cores) || s->gang_cores < 1 || s->gang_cores > 1024)
            FAIL ("gang-cores: '%s' is not 1..1024", w[1]);
        return 0;
    }
    if ((!strcmp (w[0], "gang-life") || !strcmp (w[0], "gang-bound")) && n == 2) {
        if (scen_parse_time (w[1], &t))
            FAIL ("%s: '%s' is not a time", w[0], w[1]);
        if (w[0][5] == 'l')
            s->gang_life_us = t;
        else
            s->gang_bound_us = t;
        return 0;
    }
    if (strcmp (w[0], "at") || n < 3)
        FAIL ("'%s': not a setting or 'at TIME EVENT ...'", w[0]);

    scen_ev_t ev;
    memset (&ev, 0, sizeof ev);
    if (scen_parse_time (w[1], &ev.at_us))
        FAIL ("at: '%s' is not a time", w[1]);
    const char *k = w[2];
    int args = n - 3;
    char **a = w + 3;
    bool targets = !strcmp (k, "crash") || !strcmp (k, "restart") || !strcmp (k, "pause") ||
                   !strcmp (k, "partition");
    if (targets && args >= 1 && !strcmp (a[0], "leader")) {
        /* the node leading a gang then: resolved when it happens */
        if (args < 2 || !name_ok (a[1]))
            FAIL ("%s leader: want a gang's name", k);
        ev.leader = true;
        gl_strlcpy (ev.gang, a[1], sizeof ev.gang);
        a[1] = (char *) "0";
        a++;
        args--;
    }
    if (!strcmp (k, "gang")) {
        ev.kind = SE_GANG;
        uint32_t one;
        int size = args == 3 ? scen_parse_list (a[2], s->nodes, &one, 1) : -1;
        if (args != 3 || !name_ok (a[0]) || parse_u32 (a[1], &ev.a) || size < 0)
            FAIL ("gang: want a name, its home and its nodes (\"8-10,14\") below %u", s->nodes);
        if (size > SCEN_GANG_MAX)
            FAIL ("gang: %d nodes, more than %d", size, SCEN_GANG_MAX);
        gl_strlcpy (ev.gang, a[0], sizeof ev.gang);
        gl_strlcpy (ev.list, a[2], sizeof ev.list);
        ev.a_end = ev.a;
    }
    else if (!strcmp (k, "gang-end")) {
        ev.kind = SE_GANG_END;
        if (args != 1 || !name_ok (a[0]))
            FAIL ("gang-end: want a gang's name");
        gl_strlcpy (ev.gang, a[0], sizeof ev.gang);
    }
    else if (!strcmp (k, "crash") || !strcmp (k, "restart") || !strcmp (k, "update")) {
        ev.kind = k[0] == 'c' ? SE_CRASH : k[0] == 'r' ? SE_RESTART : SE_UPDATE;
        if (args != 1 || parse_range (a[0], &ev.a, &ev.a_end))
            FAIL ("%s: want a node or a range", k);
    }
    else if (!strcmp (k, "pause")) {
        ev.kind = SE_PAUSE;
        if (args != 2 || parse_range (a[0], &ev.a, &ev.a_end) || scen_parse_time (a[1], &ev.len_us))
            FAIL ("pause: want a node and a time");
    }
    else if (!strcmp (k, "partition")) {
        ev.kind = SE_PARTITION;
        if (args != 1 || parse_range (a[0], &ev.a, &ev.a_end))
            FAIL ("partition: want a range of nodes");
    }
    else if (!strcmp (k, "heal")) {
        ev.kind = SE_HEAL;
        if (args)
            FAIL ("heal: takes nothing");
    }
    else if (!strcmp (k, "loss")) {
        ev.kind = SE_LOSS;
        if (args != 1 || parse_rate (a[0], &ev.value))
            FAIL ("loss: want a rate in 0..1");
    }
    else if (!strcmp (k, "linkloss")) {
        ev.kind = SE_LINKLOSS;
        if (args != 3 || parse_range (a[0], &ev.a, &ev.a_end) ||
            parse_range (a[1], &ev.b, &ev.b_end) || parse_rate (a[2], &ev.value))
            FAIL ("linkloss: want two ranges and a rate");
    }
    else if (!strcmp (k, "skew")) {
        ev.kind = SE_SKEW;
        char *end = NULL;
        if (args != 3 || parse_range (a[0], &ev.a, &ev.a_end) ||
            scen_parse_time (a[1], &ev.len_us) || (ev.value = strtod (a[2], &end), *end) ||
            ev.value <= -0.5 || ev.value >= 0.5)
            FAIL ("skew: want a node, an offset and a drift in (-0.5, 0.5)");
    }
    else
        FAIL ("'%s': not an event", k);
    if (ev.a_end >= s->nodes || (ev.kind == SE_LINKLOSS && ev.b_end >= s->nodes))
        FAIL ("%s: node out of range (the cluster has %u; put 'nodes' first)", k, s->nodes);
    if (scen_add (s, &ev))
        FAIL ("out of memory");
    return 0;
}

int scen_load (scen_t *s, const char *file, char *err, size_t errlen)
{
    FILE *f = fopen (file, "r");
    if (!f)
        FAIL ("%s: cannot open", file);
    char line[512], why[256];
    int lineno = 0, rc = 0;
    while (fgets (line, sizeof line, f)) {
        lineno++;
        if (scen_line (s, line, why, sizeof why)) {
            snprintf (err, errlen, "%s:%d: %s", file, lineno, why);
            rc = -1;
            break;
        }
    }
    fclose (f);
    return rc;
}

static void write_range (FILE *f, uint32_t a, uint32_t b)
{
    if (a == UINT32_MAX)
        return;
    if (a == b)
        fprintf (f, " %u", a);
    else
        fprintf (f, " %u-%u", a, b);
}

void scen_write (const scen_t *s, FILE *f)
{
    char t1[32], t2[32];
    fprintf (f, "nodes %u\nseed %" PRIu64 "\n", s->nodes, s->seed);
    scen_format_time (s->duration_us, t1, sizeof t1);
    fprintf (f, "duration %s\n", t1);
    scen_format_time (scen_warmup (s), t1, sizeof t1);
    fprintf (f, "warmup %s\n", t1);
    scen_format_time (s->start_spread_us, t1, sizeof t1);
    fprintf (f, "start-spread %s\n", t1);
    if (s->settle_us) {
        scen_format_time (s->settle_us, t1, sizeof t1);
        fprintf (f, "settle %s\n", t1);
    }
    fprintf (f, "loss %.17g\n", s->loss);
    if (s->gang_cores)
        fprintf (f, "gang-cores %u\n", s->gang_cores);
    if (s->gang_bound_us) {
        scen_format_time (s->gang_bound_us, t1, sizeof t1);
        fprintf (f, "gang-bound %s\n", t1);
    }
    scen_format_time (s->delay_min_us, t1, sizeof t1);
    scen_format_time (s->delay_mean_us, t2, sizeof t2);
    fprintf (f, "delay %s %s\n", t1, t2);
    for (size_t i = 0; i < s->n_evs; i++) {
        const scen_ev_t *e = &s->evs[i];
        scen_format_time (e->at_us, t1, sizeof t1);
        fprintf (f, "at %s %s", t1, scen_kind_name (e->kind));
        if (e->leader)
            fprintf (f, " leader %s", e->gang);
        uint32_t a = e->leader ? UINT32_MAX : e->a;
        switch (e->kind) {
            case SE_GANG: fprintf (f, " %s %u %s", e->gang, e->a, e->list); break;
            case SE_GANG_END: fprintf (f, " %s", e->gang); break;
            case SE_HEAL: break;
            case SE_LOSS: fprintf (f, " %.17g", e->value); break;
            case SE_LINKLOSS:
                write_range (f, e->a, e->a_end);
                write_range (f, e->b, e->b_end);
                fprintf (f, " %.17g", e->value);
                break;
            case SE_PAUSE:
            case SE_SKEW:
                write_range (f, a, e->a_end);
                scen_format_time (e->len_us, t2, sizeof t2);
                fprintf (f, " %s", t2);
                if (e->kind == SE_SKEW)
                    fprintf (f, " %.17g", e->value);
                break;
            default: write_range (f, a, e->a_end);
        }
        fputc ('\n', f);
    }
}

/* Insertion sort: stable, so events at the same time keep their order,
   and fast enough for the few thousand events a scenario has. */
static void sort_events (scen_t *s)
{
    for (size_t i = 1; i < s->n_evs; i++) {
        scen_ev_t ev = s->evs[i];
        size_t j = i;
        while (j > 0 && s->evs[j - 1].at_us > ev.at_us) {
            s->evs[j] = s->evs[j - 1];
            j--;
        }
        s->evs[j] = ev;
    }
}

/* Drawn faults fall between the warmup and a tail long enough to see
   their outcome: detection at the largest cluster sizes takes a minute. */
uint64_t scen_warmup (const scen_t *s)
{
    return s->warmup_us ? s->warmup_us : 30 * 1000000ull + (uint64_t) s->nodes * 100000;
}

/* One drawn gang: `size` distinct random nodes, a random home. */
static void draw_gang (scen_t *s, rng_t *r, uint32_t k, uint64_t at, uint64_t life_end)
{
    uint32_t size = s->gang_min + (uint32_t) rng_below (r, s->gang_max - s->gang_min + 1);
    if (size > s->nodes)
        size = s->nodes;
    uint32_t nodes[32];
    for (uint32_t i = 0; i < size; i++) {
        bool dup;
        do {
            nodes[i] = (uint32_t) rng_below (r, s->nodes);
            dup = false;
            for (uint32_t j = 0; j < i; j++)
                dup = dup || nodes[j] == nodes[i];
        } while (dup);
    }
    scen_ev_t ev = { .kind = SE_GANG, .at_us = at };
    ev.a = ev.a_end = (uint32_t) rng_below (r, s->nodes);
    snprintf (ev.gang, sizeof ev.gang, "g%u", k);
    size_t used = 0;
    for (uint32_t i = 0; i < size; i++)
        used += (size_t) snprintf (ev.list + used, sizeof ev.list - used, "%s%u", i ? "," : "",
                                   nodes[i]);
    scen_add (s, &ev);
    if (life_end) {
        scen_ev_t end = { .kind = SE_GANG_END, .at_us = life_end };
        gl_strlcpy (end.gang, ev.gang, sizeof end.gang);
        scen_add (s, &end);
    }
}

/* Gangs start within a second after the warmup; with a life, each ends
   after half to one and a half of it and another starts a second later,
   until the tail. */
static void draw_gangs (scen_t *s, uint64_t start, uint64_t end, uint64_t tail)
{
    if (!s->n_gangs || s->gang_min > s->gang_max)
        return;
    rng_t r = rng_stream (s->seed, RNG_GANGS);
    uint64_t stop = end > start + tail ? end - tail : start;
    uint32_t k = 0;
    for (uint32_t i = 0; i < s->n_gangs; i++) {
        uint64_t at = start + rng_below (&r, 1000000);
        for (;;) {
            uint64_t life =
                s->gang_life_us ? s->gang_life_us / 2 + rng_below (&r, s->gang_life_us + 1) : 0;
            bool ends = life && at + life < stop;
            draw_gang (s, &r, k++, at, ends ? at + life : 0);
            if (!ends)
                break;
            at += life + 1000000;
        }
    }
}

void scen_expand (scen_t *s)
{
    s->warmup_us = scen_warmup (s);
    rng_t r = rng_stream (s->seed, RNG_FAULTS);
    uint64_t start = s->warmup_us, end = s->duration_us;
    uint64_t tail = (end - start) / 4;
    if (tail > 90 * 1000000ull)
        tail = 90 * 1000000ull;
    uint64_t span = end > start + tail ? end - start - tail : 1;
    /* Crashed nodes are distinct and never seeds (0..2), so joins work. */
    uint32_t first = s->nodes > 3 ? 3 : 0;
    uint32_t pool = s->nodes - first;
    uint32_t *order = malloc ((pool ? pool : 1) * sizeof *order);
    for (uint32_t i = 0; order && i < pool; i++)
        order[i] = first + i;
    for (uint32_t i = 0; order && i < s->crashes && i < pool; i++) {
        uint32_t j = i + (uint32_t) rng_below (&r, pool - i);
        uint32_t tmp = order[i];
        order[i] = order[j];
        order[j] = tmp;
        scen_ev_t ev = { .kind = SE_CRASH, .a = order[i], .a_end = order[i] };
        ev.at_us = start + rng_below (&r, span);
        scen_add (s, &ev);
        if (s->restart_after_us) {
            ev.kind = SE_RESTART;
            ev.at_us += s->restart_after_us;
            if (ev.at_us < end)
                scen_add (s, &ev);
        }
    }
    free (order);
    /* A node paused twice in a row would be paused for longer than asked:
       draw again (a few times) when a pause of the same node lies within
       a minute of another. */
    size_t first_pause = s->n_evs;
    for (uint32_t i = 0; i < s->pauses; i++) {
        scen_ev_t ev = { .kind = SE_PAUSE, .len_us = s->pause_len_us };
        for (int tries = 0; tries < 8; tries++) {
            ev.a = ev.a_end = (uint32_t) rng_below (&r, s->nodes);
            ev.at_us = start + rng_below (&r, span);
            bool near = false;
            for (size_t j = first_pause; j < s->n_evs && !near; j++) {
                const scen_ev_t *o = &s->evs[j];
                uint64_t gap = o->at_us > ev.at_us ? o->at_us - ev.at_us : ev.at_us - o->at_us;
                near = o->a == ev.a && gap < s->pause_len_us + 60 * 1000000ull;
            }
            if (!near)
                break;
        }
        scen_add (s, &ev);
    }
    /* Updates are spaced evenly, so their spread never overlaps. */
    for (uint32_t i = 0; i < s->updates; i++) {
        scen_ev_t ev = { .kind = SE_UPDATE };
        ev.a = ev.a_end = (uint32_t) rng_below (&r, s->nodes);
        ev.at_us = start + span * i / s->updates + rng_below (&r, 1000000);
        scen_add (s, &ev);
    }
    draw_gangs (s, start, end, tail);
    s->crashes = s->pauses = s->updates = 0;
    s->n_gangs = 0;
    sort_events (s);
}
