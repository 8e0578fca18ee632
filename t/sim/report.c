/*  report.c -- the figures of a run (see report.h). */
#include "report.h"
#include "watch.h"
#include "gangs.h"
#include "str.h"

#include <inttypes.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    size_t n, never;
    double median, p99, max; /* seconds */
} stat_t;

static int cmp_u64 (const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *) a, y = *(const uint64_t *) b;
    return x < y ? -1 : x > y;
}

/* Of the finished samples; UINT64_MAX marks one that never finished. */
static stat_t stats_of (uint64_t *v, size_t n)
{
    stat_t s = { 0 };
    qsort (v, n, sizeof *v, cmp_u64);
    while (n && v[n - 1] == UINT64_MAX) {
        n--;
        s.never++;
    }
    s.n = n;
    if (n) {
        s.median = v[(n - 1) / 2] / 1e6;
        size_t k = (size_t) ceil (0.99 * n);
        s.p99 = v[k ? k - 1 : 0] / 1e6;
        s.max = v[n - 1] / 1e6;
    }
    return s;
}

typedef struct {
    stat_t spread[LEVELS];
    stat_t detect;
    double msgs_per_node_s, bytes_per_node_s;
} figures_t;

static void figures (const world_t *w, figures_t *fg)
{
    const watch_t *wt = w->watch;
    memset (fg, 0, sizeof *fg);
    size_t n = wt->n_upds > wt->n_crashes ? wt->n_upds : wt->n_crashes;
    uint64_t *v = malloc ((n ? n : 1) * sizeof *v);
    if (!v)
        return;
    for (int l = 0; l < LEVELS; l++) {
        for (size_t i = 0; i < wt->n_upds; i++)
            v[i] = wt->upds[i].at[l];
        fg->spread[l] = stats_of (v, wt->n_upds);
    }
    size_t k = 0;
    for (size_t i = 0; i < wt->n_crashes; i++)
        if (!wt->crashes[i].restarted_first)
            v[k++] = wt->crashes[i].took;
    fg->detect = stats_of (v, k);
    free (v);
    if (w->node_seconds > 0) {
        fg->msgs_per_node_s = w->msgs / w->node_seconds;
        fg->bytes_per_node_s = w->bytes / w->node_seconds;
    }
}

static const char *level_names[LEVELS] = { "50", "99", "99.9", "100" };
static const char *type_names[8] = { "other", "ping",     "ack",       "ping_req",
                                     "nack",  "sync_req", "sync_resp", "gossip" };

void report_text (FILE *f, const world_t *w, const host_t *host)
{
    const scen_t *s = w->scen;
    const watch_t *wt = w->watch;
    figures_t fg;
    figures (w, &fg);
    fprintf (f,
             "glsim: %u nodes, %.0f s simulated, seed %" PRIu64 ", loss %.3g %%, "
             "delay %.2f/%.2f ms (min/mean)\n",
             w->n, s->duration_us / 1e6, s->seed, 100 * s->loss, s->delay_min_us / 1e3,
             s->delay_mean_us / 1e3);
    fprintf (f,
             "timing: probe %u ms, timeout %u ms, gossip %u ms x %u, suspicion x%u..x%u, "
             "retransmit x%u, push-pull %u ms\n",
             w->cfg.probe_interval_ms, w->cfg.probe_timeout_ms, w->cfg.gossip_interval_ms,
             w->cfg.gossip_nodes, w->cfg.suspicion_mult,
             w->cfg.suspicion_mult * w->cfg.suspicion_max_mult, w->cfg.retransmit_mult,
             w->cfg.pushpull_interval_ms);
    if (w->cfg.probe_rings)
        fprintf (
            f,
            "probe order: successors on %u rings (every member in turn in views of %u or fewer)\n",
            w->cfg.probe_rings, w->cfg.probe_rings + 1);
    else
        fprintf (f, "probe order: every member in turn, shuffled each round\n");
    if (wt->all_joined)
        fprintf (f, "joined: every node saw every node alive at %.0f s\n", wt->converged_at / 1e6);
    else
        fprintf (f, "joined: the cluster never saw itself whole\n");
    fprintf (f, "\nupdate spread (%zu updates), seconds to reach:\n", wt->n_upds);
    for (int l = 0; l < LEVELS; l++)
        fprintf (f, "  %5s %%   median %6.2f   p99 %6.2f   max %6.2f%s\n", level_names[l],
                 fg.spread[l].median, fg.spread[l].p99, fg.spread[l].max,
                 fg.spread[l].never ? "   (some never)" : "");
    fprintf (f,
             "\ncrash detection (%zu crashes, %zu undetected at the end), seconds until "
             "every live node marks it dead:\n  median %.1f   p99 %.1f   max %.1f\n",
             fg.detect.n + fg.detect.never, fg.detect.never, fg.detect.median, fg.detect.p99,
             fg.detect.max);
    fprintf (f,
             "\nfalse deaths: %" PRIu64 " (more: %" PRIu64 " across partitions, %" PRIu64
             " of nodes paused over %.1f s); %.1f s in all, longest %.1f s\n",
             wt->false_deaths, wt->partition_deaths, wt->pause_deaths, wt->max_pause_us / 1e6,
             wt->false_death_us / 1e6, wt->false_death_max_us / 1e6);
    fprintf (f, "suspicions %" PRIu64 ", refutations %" PRIu64 "\n", wt->suspicions,
             wt->refutations);
    fprintf (f, "\ntraffic per node: %.1f msgs/s, %.2f KB/s (messages lost: %" PRIu64 ")\n",
             fg.msgs_per_node_s, fg.bytes_per_node_s / 1000, w->lost);
    if (w->node_seconds > 0)
        fprintf (f,
                 "  links     %8.2f opened/s %6.2f KB/s of set-up (max_links %u, link_idle "
                 "%.1f s); %.2f msgs/s back on the sender's link\n",
                 w->links_opened / w->node_seconds, w->setup_bytes / w->node_seconds / 1000,
                 w->conns.max, w->conns.idle_us / 1e6, w->routed / w->node_seconds);
    for (int t = 1; t < 8; t++)
        if (w->msgs_by_type[t] && w->node_seconds > 0)
            fprintf (f, "  %-9s %8.2f msgs/s %9.2f KB/s\n", type_names[t],
                     w->msgs_by_type[t] / w->node_seconds,
                     w->bytes_by_type[t] / w->node_seconds / 1000);
    if (w->gangs)
        gangs_report_text (f, w->gangs);
    fprintf (f, "\ninvariants: %s", wt->n_violations ? "VIOLATED\n" : "held");
    if (!wt->n_violations)
        fprintf (f, " (healthy %s, convergence %s)\n", wt->benign ? "checked" : "not armed",
                 wt->converge_checked ? "checked"
                                      : "not checked: the run ends too soon after a fault");
    report_violations (f, w);
    if (host) {
        double speed = host->wall_s > 0 ? s->duration_us / 1e6 / host->wall_s : 0;
        fprintf (f,
                 "\nhost: %.1f s wall, %.1f s CPU (user and system), %.1f simulated s per wall s, "
                 "%.1f KB heap per node, max RSS %zu MB\n",
                 host->wall_s, host->cpu_s, speed, host->mem_bytes / 1024.0 / w->n,
                 host->max_rss_kb / 1024);
    }
}

static void json_stat (FILE *f, const char *name, const stat_t *s, bool last)
{
    fprintf (f,
             "\"%s\":{\"n\":%zu,\"never\":%zu,\"median_s\":%.3f,\"p99_s\":%.3f,\"max_s\":%.3f}%s",
             name, s->n, s->never, s->median, s->p99, s->max, last ? "" : ",");
}

void report_json (FILE *f, const world_t *w, const host_t *host)
{
    const scen_t *s = w->scen;
    const watch_t *wt = w->watch;
    figures_t fg;
    figures (w, &fg);
    fprintf (f, "{\"nodes\":%u,\"duration_s\":%.3f,\"seed\":%" PRIu64 ",\"loss\":%.6g,", w->n,
             s->duration_us / 1e6, s->seed, s->loss);
    fprintf (f, "\"probe_rings\":%u,", w->cfg.probe_rings);
    fprintf (f, "\"joined_s\":%.3f,", wt->all_joined ? wt->converged_at / 1e6 : -1.0);
    fprintf (f, "\"spread\":{");
    for (int l = 0; l < LEVELS; l++)
        json_stat (f, level_names[l], &fg.spread[l], l == LEVELS - 1);
    fprintf (f, "},\"updates\":[");
    for (size_t i = 0; i < wt->n_upds; i++) {
        const upd_track_t *u = &wt->upds[i];
        fprintf (f, "%s{\"origin\":\"%s\",\"at_s\":%.3f,\"nodes\":%u", i ? "," : "",
                 w->names[u->origin], u->t0 / 1e6, u->need);
        for (int l = 0; l < LEVELS; l++)
            fprintf (f, ",\"%s_s\":%.3f", level_names[l],
                     u->at[l] == UINT64_MAX ? -1.0 : u->at[l] / 1e6);
        fprintf (f, "}");
    }
    fprintf (f, "],");
    json_stat (f, "crash_detection", &fg.detect, false);
    fprintf (f,
             "\"false_deaths\":%" PRIu64 ",\"partition_deaths\":%" PRIu64
             ",\"pause_deaths\":%" PRIu64 ",\"false_death_s\":%.3f,\"false_death_max_s\":%.3f,",
             wt->false_deaths, wt->partition_deaths, wt->pause_deaths, wt->false_death_us / 1e6,
             wt->false_death_max_us / 1e6);
    fprintf (f, "\"suspicions\":%" PRIu64 ",\"refutations\":%" PRIu64 ",", wt->suspicions,
             wt->refutations);
    fprintf (f, "\"msgs_per_node_s\":%.3f,\"bytes_per_node_s\":%.1f,\"lost\":%" PRIu64 ",",
             fg.msgs_per_node_s, fg.bytes_per_node_s, w->lost);
    fprintf (f,
             "\"links_opened_per_node_s\":%.3f,\"setup_bytes_per_node_s\":%.1f,"
             "\"routed_per_node_s\":%.3f,",
             w->node_seconds > 0 ? w->links_opened / w->node_seconds : 0,
             w->node_seconds > 0 ? w->setup_bytes / w->node_seconds : 0,
             w->node_seconds > 0 ? w->routed / w->node_seconds : 0);
    /* Per type, so that a bench can tell the probes from the gossip. */
    fprintf (f, "\"by_type\":{");
    for (int t = 1, first = 1; t < 8; t++)
        if (w->msgs_by_type[t] && w->node_seconds > 0) {
            fprintf (f, "%s\"%s\":{\"msgs_per_node_s\":%.3f,\"bytes_per_node_s\":%.1f}",
                     first ? "" : ",", type_names[t], w->msgs_by_type[t] / w->node_seconds,
                     w->bytes_by_type[t] / w->node_seconds);
            first = 0;
        }
    fprintf (f, "},");
    if (w->gangs)
        gangs_report_json (f, w->gangs);
    fprintf (
        f,
        "\"invariants\":{\"healthy_armed\":%s,\"convergence_checked\":%s,\"violations\":%zu,\"list\":[",
        wt->benign ? "true" : "false", wt->converge_checked ? "true" : "false", wt->n_violations);
    for (size_t i = 0; i < wt->n_violations && i < VIOLATIONS_KEPT; i++) {
        fprintf (f, "%s{\"at_s\":%.6f,\"what\":", i ? "," : "", wt->violations[i].at_us / 1e6);
        gl_json_str (f, wt->violations[i].what);
        fprintf (f, ",\"text\":");
        gl_json_str (f, wt->violations[i].text);
        fputc ('}', f);
    }
    fprintf (f, "]}");
    if (host) {
        double speed = host->wall_s > 0 ? s->duration_us / 1e6 / host->wall_s : 0;
        fprintf (f,
                 ",\"host\":{\"wall_s\":%.3f,\"cpu_s\":%.3f,\"sim_s_per_wall_s\":%.2f,"
                 "\"heap_per_node_bytes\":%.0f,\"max_rss_kb\":%zu}",
                 host->wall_s, host->cpu_s, speed, (double) host->mem_bytes / w->n,
                 host->max_rss_kb);
    }
    fprintf (f, "}\n");
}

void report_violations (FILE *f, const world_t *w)
{
    const watch_t *wt = w->watch;
    for (size_t i = 0; i < wt->n_violations && i < VIOLATIONS_KEPT; i++)
        fprintf (f, "VIOLATION %s seed=%" PRIu64 " t=%.3fs: %s\n", wt->violations[i].what,
                 w->scen->seed, wt->violations[i].at_us / 1e6, wt->violations[i].text);
    if (wt->n_violations > VIOLATIONS_KEPT)
        fprintf (f, "... and %zu more\n", wt->n_violations - VIOLATIONS_KEPT);
}
