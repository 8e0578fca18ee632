/*  glsim.c -- the glunix gossip simulator: the real swim state machines of
    glpeer, thousands of them, on a simulated clock and network, from one
    seed, and with gangs in the scenario its gang state machines too
    (gangs.h).  See glsim(1).

    One run: build a scenario from a file and flags, draw its random
    faults, run the world, print the report.  Search mode: many seeds with
    random faults; a run that breaks an invariant is cut down, event by
    event, to a small scenario that still breaks it, and printed.       */
#include "report.h"
#include "random.h"
#include "scenario.h"
#include "str.h"
#include "watch.h"
#include "world.h"

#include <inttypes.h>
#include <malloc.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

static const char *usage =
    "usage: glsim [options]\n"
    "  --nodes N            cluster size (64)\n"
    "  --duration T         simulated time (5m); times take us, ms, s, m, h\n"
    "  --seed S             the one seed of every random choice (1)\n"
    "  --loss P             message loss rate, 0..1 (0)\n"
    "  --delay MIN MEAN     message delay: minimum and mean (200us 1ms)\n"
    "  --conf FILE          gossip timing from this cluster.conf (else the defaults)\n"
    "  --scenario FILE      settings and timed events (see glsim(1))\n"
    "  --crashes K          crash K random nodes at random times after the warmup\n"
    "  --restart-after T    and restart each T later (never)\n"
    "  --pauses K           pause K random nodes at random times ...\n"
    "  --pause-len T        ... for this long (5s)\n"
    "  --updates K          K fresh updates from random nodes, spread evenly\n"
    "  --warmup T           drawn faults and measures start after this (30s + 0.1s/node)\n"
    "  --start-spread T     nodes start at random times within this (5s)\n"
    "  --settle T           quiet time before the final convergence check (derived)\n"
    "  --exact-bytes        encode every message to count bytes (else 1 in 32 of each type)\n"
    "  --json               the report as one JSON object\n"
    "  --no-host            leave out wall and CPU time, speed and memory (for comparing runs)\n"
    "  --trace FILE         every membership event, and each --updates update reaching a node\n"
    "  --print-scenario     print the scenario with its drawn events, and exit\n"
    "  --minimize           when an invariant breaks, print a smaller scenario that breaks it\n"
    "  --search K           run seeds S..S+K-1 with random faults; minimize failures\n"
    "  -h, --help           this text\n"
    "Exit status: 0 when every invariant held, 1 when one was violated, 2 on error.\n";

typedef struct {
    bool json, no_host, print, search, exact, minimize;
    uint32_t search_runs;
    const char *trace_file;
    gl_conf_t conf;
} opts_t;

static double wall_now (void)
{
    struct timespec ts;
    clock_gettime (CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* This process's CPU time so far, user and system, in seconds. */
static double cpu_now (void)
{
    struct rusage ru;
    getrusage (RUSAGE_SELF, &ru);
    return ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 + ru.ru_stime.tv_sec +
           ru.ru_stime.tv_usec / 1e6;
}

static void die (const char *fmt, const char *arg)
{
    fprintf (stderr, "glsim: ");
    fprintf (stderr, fmt, arg);
    fprintf (stderr, "\n");
    exit (2);
}

/* Run one expanded scenario; the world is left for the caller to read. */
static int run_one (world_t *w, const scen_t *s, const opts_t *o, FILE *trace, size_t stop_after,
                    host_t *host)
{
    char err[256];
    size_t heap0 = mallinfo2 ().uordblks;
    double t0 = wall_now (), cpu0 = cpu_now ();
    if (world_init (w, s, &o->conf, trace, o->exact, err, sizeof err))
        die ("%s", err);
    int rc = world_run (w, stop_after);
    if (host) {
        host->wall_s = wall_now () - t0;
        host->cpu_s = cpu_now () - cpu0;
        size_t heap = mallinfo2 ().uordblks;
        host->mem_bytes = heap > heap0 ? heap - heap0 : 0;
        struct rusage ru;
        getrusage (RUSAGE_SELF, &ru);
        host->max_rss_kb = (size_t) ru.ru_maxrss;
    }
    return rc;
}

/* ---- search ------------------------------------------------------------------- */

static uint32_t pick_node (rng_t *r, uint32_t n)
{
    return (uint32_t) rng_below (r, n);
}

/* A small cluster and a handful of random faults within its first minute;
   half the scenarios stay gentle, so invariant 1 is armed in them. */
static void random_scenario (scen_t *s, uint64_t seed)
{
    rng_t r = rng_stream (seed, RNG_SEARCH);
    scen_init (s);
    s->seed = seed;
    s->nodes = 6 + (uint32_t) rng_below (&r, 19);
    s->warmup_us = 10 * 1000000ull;
    s->start_spread_us = 2 * 1000000ull;
    bool gentle = rng_below (&r, 2);
    s->loss = gentle ? rng_unit (&r) * 0.01 : rng_unit (&r) * 0.1;
    uint64_t window = 50 * 1000000ull;
    uint32_t n_faults = 1 + (uint32_t) rng_below (&r, 6);
    for (uint32_t i = 0; i < n_faults; i++) {
        scen_ev_t e = { 0 };
        e.at_us = s->warmup_us + rng_below (&r, window);
        e.a = e.a_end = pick_node (&r, s->nodes);
        int kind = (int) rng_below (&r, gentle ? 4 : 7);
        switch (kind) {
            case 0: e.kind = SE_CRASH; break;
            case 1: e.kind = SE_RESTART; break;
            case 2:
                e.kind = SE_PAUSE;
                e.len_us = 1000000 + rng_below (&r, gentle ? 4000000 : 30000000);
                break;
            case 3:
                e.kind = SE_SKEW;
                e.len_us = gentle ? 0 : rng_below (&r, 2000) * 1000; /* a jump */
                e.value = (rng_unit (&r) - 0.5) * (gentle ? 0.02 : 0.2);
                break;
            case 4: {
                e.kind = SE_PARTITION;
                e.a = 0;
                e.a_end = pick_node (&r, s->nodes - 1);
                scen_add (s, &e);
                e.kind = SE_HEAL;
                e.at_us += 5000000 + rng_below (&r, 40000000);
                break;
            }
            case 5:
                e.kind = SE_LINKLOSS;
                e.b = e.b_end = pick_node (&r, s->nodes);
                e.value = rng_unit (&r) * 0.5;
                break;
            default:
                e.kind = SE_LOSS;
                e.value = rng_unit (&r) * 0.2;
                scen_add (s, &e);
                e.value = s->loss;
                e.at_us += rng_below (&r, 20000000);
                break;
        }
        scen_add (s, &e);
    }
    /* Long enough after the last fault for the convergence check. */
    world_t w;
    char err[256];
    gl_conf_t conf;
    gl_conf_defaults (&conf);
    scen_expand (s);
    if (world_init (&w, s, &conf, NULL, false, err, sizeof err) == 0) {
        uint64_t last = 0;
        for (size_t i = 0; i < s->n_evs; i++) {
            uint64_t end = s->evs[i].at_us + (s->evs[i].kind == SE_PAUSE ? s->evs[i].len_us : 0);
            if (end > last)
                last = end;
        }
        s->duration_us = last + w.watch->settle_us + 5 * 1000000ull;
    }
    world_free (&w);
}

static bool violates (const scen_t *s, const opts_t *o, const char *what)
{
    world_t w;
    run_one (&w, s, o, NULL, 1, NULL);
    bool bad = false;
    for (size_t i = 0; i < w.watch->n_violations && i < VIOLATIONS_KEPT && !bad; i++)
        bad = !what || !strcmp (w.watch->violations[i].what, what);
    world_free (&w);
    return bad;
}

/* Drop events one at a time while the same kind of violation remains, then
   try a smaller cluster. */
static void minimize (scen_t *s, const opts_t *o, const char *what)
{
    for (bool progress = true; progress;) {
        progress = false;
        for (size_t i = s->n_evs; i-- > 0;) {
            scen_t t;
            scen_copy (&t, s);
            memmove (&t.evs[i], &t.evs[i + 1], (t.n_evs - i - 1) * sizeof t.evs[0]);
            t.n_evs--;
            if (violates (&t, o, what)) {
                scen_free (s);
                *s = t;
                progress = true;
            }
            else
                scen_free (&t);
        }
    }
}

static int search (scen_t *base, const opts_t *o)
{
    int failures = 0;
    for (uint32_t i = 0; i < o->search_runs; i++) {
        scen_t s;
        random_scenario (&s, base->seed + i);
        world_t w;
        run_one (&w, &s, o, NULL, 1, NULL);
        if (w.watch->n_violations) {
            failures++;
            char what[16];
            gl_strlcpy (what, w.watch->violations[0].what, sizeof what);
            report_violations (stdout, &w);
            world_free (&w);
            minimize (&s, o, what);
            printf ("# seed %" PRIu64 " breaks '%s'; a minimized scenario "
                    "(glsim --scenario FILE):\n",
                    s.seed, what);
            scen_write (&s, stdout);
            printf ("\n");
        }
        else
            world_free (&w);
        scen_free (&s);
    }
    printf ("search: %u seeds from %" PRIu64 ", %d violated an invariant\n", o->search_runs,
            base->seed, failures);
    return failures ? 1 : 0;
}

/* ---- main --------------------------------------------------------------------- */

static const char *need (int argc, char **argv, int *i)
{
    if (*i + 1 >= argc)
        die ("%s needs a value", argv[*i]);
    return argv[++*i];
}

static uint32_t count_arg (const char *flag, const char *text)
{
    char *end;
    unsigned long v = strtoul (text, &end, 10);
    if (*end || end == text || v > 10000000)
        die ("'%s' is not a count", text);
    (void) flag;
    return (uint32_t) v;
}

static uint64_t time_arg (const char *text)
{
    uint64_t us;
    if (scen_parse_time (text, &us))
        die ("'%s' is not a time (e.g. 500ms, 30s, 1h)", text);
    return us;
}

int main (int argc, char **argv)
{
    /* Push-pull messages of a large cluster are megabytes: keep such blocks
       in the heap instead of mapping and faulting in fresh pages each time. */
    mallopt (M_MMAP_THRESHOLD, 64 << 20);
    mallopt (M_TRIM_THRESHOLD, 256 << 20);
    scen_t s;
    opts_t o = { 0 };
    scen_init (&s);
    gl_conf_defaults (&o.conf);
    char err[512], line[256];
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp (a, "-h") || !strcmp (a, "--help")) {
            fputs (usage, stdout);
            return 0;
        }
        else if (!strcmp (a, "--json"))
            o.json = true;
        else if (!strcmp (a, "--no-host"))
            o.no_host = true;
        else if (!strcmp (a, "--exact-bytes"))
            o.exact = true;
        else if (!strcmp (a, "--minimize"))
            o.minimize = true;
        else if (!strcmp (a, "--print-scenario"))
            o.print = true;
        else if (!strcmp (a, "--trace"))
            o.trace_file = need (argc, argv, &i);
        else if (!strcmp (a, "--search")) {
            o.search = true;
            o.search_runs = count_arg (a, need (argc, argv, &i));
        }
        else if (!strcmp (a, "--conf")) {
            if (gl_conf_load (&o.conf, need (argc, argv, &i), err, sizeof err))
                die ("%s", err);
        }
        else if (!strcmp (a, "--scenario")) {
            if (scen_load (&s, need (argc, argv, &i), err, sizeof err))
                die ("%s", err);
        }
        else if (!strcmp (a, "--crashes"))
            s.crashes = count_arg (a, need (argc, argv, &i));
        else if (!strcmp (a, "--pauses"))
            s.pauses = count_arg (a, need (argc, argv, &i));
        else if (!strcmp (a, "--updates"))
            s.updates = count_arg (a, need (argc, argv, &i));
        else if (!strcmp (a, "--restart-after"))
            s.restart_after_us = time_arg (need (argc, argv, &i));
        else if (!strcmp (a, "--pause-len"))
            s.pause_len_us = time_arg (need (argc, argv, &i));
        else if (!strcmp (a, "--delay")) {
            const char *min = need (argc, argv, &i), *mean = need (argc, argv, &i);
            snprintf (line, sizeof line, "delay %s %s", min, mean);
            if (scen_line (&s, line, err, sizeof err))
                die ("%s", err);
        }
        else if (!strcmp (a, "--nodes") || !strcmp (a, "--duration") || !strcmp (a, "--seed") ||
                 !strcmp (a, "--loss") || !strcmp (a, "--warmup") || !strcmp (a, "--settle") ||
                 !strcmp (a, "--start-spread")) {
            snprintf (line, sizeof line, "%s %s", a + 2, need (argc, argv, &i));
            if (scen_line (&s, line, err, sizeof err))
                die ("%s", err);
        }
        else
            die ("unknown option '%s' (see glsim --help)", a);
    }
    if (o.search)
        return search (&s, &o);

    scen_expand (&s);
    if (o.print) {
        scen_write (&s, stdout);
        return 0;
    }
    FILE *trace = NULL;
    if (o.trace_file && !(trace = fopen (o.trace_file, "w")))
        die ("%s: cannot write", o.trace_file);
    world_t w;
    host_t host;
    run_one (&w, &s, &o, trace, 0, &host);
    if (o.json)
        report_json (stdout, &w, o.no_host ? NULL : &host);
    else
        report_text (stdout, &w, o.no_host ? NULL : &host);
    int rc = w.watch->n_violations ? 1 : 0;
    if (trace)
        fclose (trace);
    if (rc && o.minimize) {
        char what[16];
        gl_strlcpy (what, w.watch->violations[0].what, sizeof what);
        world_free (&w);
        minimize (&s, &o, what);
        printf ("\n# a minimized scenario that breaks '%s':\n", what);
        scen_write (&s, stdout);
    }
    else
        world_free (&w);
    scen_free (&s);
    return rc;
}
