/*  status.c -- glpeer status, as a table and as JSON.  See status.h. */
#include "status.h"
#include "idle.h"
#include "str.h"

#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

/* What this agent costs its machine right now (glpeer(8), "cost"). */
typedef struct {
    links_stats_t ls;
    int tcp;          /* established TCP connections, both ways; -1: unknown */
    double cpu_s;     /* user + system, all threads, since start */
    uint64_t rss_kb;  /* resident now */
    uint64_t dropped; /* packets not sent: the links' and the agent's */
} cost_t;

static void cost_get (const status_view_t *v, uint64_t now, cost_t *c)
{
    links_stats (v->links, now, &c->ls);
    c->tcp = links_tcp_held ();
    struct rusage ru;
    c->cpu_s = 0;
    if (getrusage (RUSAGE_SELF, &ru) == 0)
        c->cpu_s = (double) ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 +
                   (double) ru.ru_stime.tv_sec + ru.ru_stime.tv_usec / 1e6;
    c->rss_kb = 0;
    FILE *f = fopen ("/proc/self/statm", "r");
    unsigned long size, resident;
    if (f) {
        if (fscanf (f, "%lu %lu", &size, &resident) == 2)
            c->rss_kb = (uint64_t) resident * (uint64_t) sysconf (_SC_PAGESIZE) / 1024;
        fclose (f);
    }
    c->dropped = v->send_dropped + c->ls.dropped;
}

static const char *role_name (int role)
{
    return role == GANG_LEADER ? "leader" : role == GANG_CANDIDATE ? "candidate" : "follower";
}

static const char *decision_name (int d)
{
    return d == GANG_RUN ? "run" : d == GANG_STOP ? "stop" : "uncoordinated";
}

/* A clock further off than a tenth of the slice skews the switches. */
static bool clock_warn (const status_view_t *v, const clocks_est_t *e)
{
    int64_t off = e->offset_us < 0 ? -e->offset_us : e->offset_us;
    return e->samples && (uint64_t) off * 10 > (uint64_t) v->conf->gang_slice_ms * 1000;
}

static void gangs_json (FILE *f, const status_view_t *v, uint64_t now)
{
    matrix_t *m = gang_matrix (v->gang);
    size_t n_rows = 0;
    uint64_t slice = gang_slice_of (v->gang, v->wall_ms);
    uint32_t row = gang_slice_row (v->gang, slice, &n_rows);
    fprintf (f, "\"gangs\":{\"slice_ms\":%u,\"depth\":%u,\"stop\":", v->conf->gang_slice_ms,
             v->conf->gang_depth);
    gl_json_str (f, v->stop_method);
    fprintf (f,
             ",\"procs_here\":%zu,\"rows\":%zu,\"slice\":%llu,\"row\":%lld,\"switches\":%llu,"
             "\"stops\":%llu,\"continues\":%llu,\"unconfirmed\":%llu,\"digest\":\"%016llx\","
             "\"matrix\":[",
             v->gang_procs, n_rows, (unsigned long long) slice,
             row == UINT32_MAX ? -1LL : (long long) row, (unsigned long long) v->switches,
             (unsigned long long) v->switch_stops, (unsigned long long) v->switch_conts,
             (unsigned long long) v->unconfirmed, (unsigned long long) matrix_digest (m));
    for (size_t i = 0; i < matrix_count (m); i++) {
        const matrix_rec_t *r = matrix_at (m, i);
        fprintf (f, "%s{\"gang\":", i ? "," : "");
        gl_json_str (f, r->place.gang);
        fprintf (f, ",\"ended\":%s,\"term\":%llu,\"leader\":", r->place.ended ? "true" : "false",
                 (unsigned long long) (r->place.ended ? 0 : r->place.term));
        gl_json_str (f, r->place.leader);
        fprintf (f, ",\"version\":%llu,\"row\":%u,\"age_ms\":%llu,\"peers\":[",
                 (unsigned long long) r->place.version, r->place.row,
                 (unsigned long long) (now > r->heard_ms ? now - r->heard_ms : 0));
        for (uint32_t k = 0; k < r->place.n_peers; k++) {
            fprintf (f, "%s{\"node\":", k ? "," : "");
            gl_json_str (f, r->peers[k].node);
            fprintf (f, ",\"procs\":%u,\"cores\":%u}", r->peers[k].procs, r->peers[k].cores);
        }
        fprintf (f, "]}");
    }
    fprintf (f, "],\"local\":[");
    gang_info_t g;
    for (size_t i = 0; gang_local_at (v->gang, i, &g); i++) {
        fprintf (f, "%s{\"gang\":", i ? "," : "");
        gl_json_str (f, g.gang);
        fprintf (f,
                 ",\"procs\":%u,\"members\":%u,\"member\":%s,\"ended\":%s,\"role\":\"%s\","
                 "\"promised_term\":%llu,\"promised_leader\":",
                 g.procs, g.n_members, g.member ? "true" : "false", g.ended ? "true" : "false",
                 role_name (g.role), (unsigned long long) g.promised_term);
        gl_json_str (f, g.promised_leader);
        fprintf (f, ",\"placed\":%s,\"term\":%llu,\"leader\":", g.placed ? "true" : "false",
                 (unsigned long long) g.term);
        gl_json_str (f, g.leader);
        fprintf (f,
                 ",\"row\":%lld,\"decision\":\"%s\",\"why\":", g.placed ? (long long) g.row : -1LL,
                 decision_name (g.decision));
        gl_json_str (f, g.why);
        fputc ('}', f);
    }
    gang_stats_t st;
    gang_stats (v->gang, &st);
    fprintf (f,
             "],\"elections\":%llu,\"won\":%llu,\"votes_granted\":%llu,\"votes_refused\":%llu,"
             "\"refused\":%llu,\"placed\":%llu},\"clocks\":[",
             (unsigned long long) st.elections, (unsigned long long) st.won,
             (unsigned long long) st.votes_granted, (unsigned long long) st.votes_refused,
             (unsigned long long) st.refused, (unsigned long long) st.placed);
    clocks_est_t e;
    bool first = true;
    for (size_t i = 0; clocks_at (v->clocks, i, &e); i++) {
        if (!e.samples)
            continue; /* no round trip yet: the view has its one-way bound */
        fprintf (f, "%s{\"node\":", first ? "" : ",");
        first = false;
        gl_json_str (f, e.node);
        fprintf (f,
                 ",\"offset_us\":%lld,\"rtt_us\":%llu,\"age_ms\":%llu,\"samples\":%u,"
                 "\"warn\":%s}",
                 (long long) e.offset_us, (unsigned long long) e.rtt_us,
                 (unsigned long long) (v->wall_ms > e.at_ms ? v->wall_ms - e.at_ms : 0), e.samples,
                 clock_warn (v, &e) ? "true" : "false");
    }
    fprintf (f, "],");
}

static void gangs_text (FILE *f, const status_view_t *v)
{
    matrix_t *m = gang_matrix (v->gang);
    size_t n_rows = 0;
    uint32_t row = gang_slice_row (v->gang, gang_slice_of (v->gang, v->wall_ms), &n_rows);
    fprintf (f, "\ngangs: slices of %u ms, stopped by %s; %zu gang process%s here",
             v->conf->gang_slice_ms, v->stop_method, v->gang_procs, v->gang_procs == 1 ? "" : "es");
    if (n_rows)
        fprintf (f, "; %zu row%s in use, row %u's turn now", n_rows, n_rows == 1 ? "" : "s", row);
    fprintf (f, "\n");
    size_t live = 0;
    for (size_t i = 0; i < matrix_count (m); i++)
        live += !matrix_at (m, i)->place.ended;
    if (live) {
        fprintf (f, "%-28s %4s %6s %-16s %s\n", "GANG", "ROW", "TERM", "LEADER",
                 "PEERS (processes/slots)");
        for (size_t i = 0; i < matrix_count (m); i++) {
            const matrix_rec_t *r = matrix_at (m, i);
            if (r->place.ended)
                continue;
            fprintf (f, "%-28s %4u %6llu %-16s", r->place.gang, r->place.row,
                     (unsigned long long) r->place.term, r->place.leader);
            for (uint32_t k = 0; k < r->place.n_peers; k++)
                fprintf (f, " %s(%u/%u)", r->peers[k].node, r->peers[k].procs, r->peers[k].cores);
            fprintf (f, "\n");
        }
    }
    gang_info_t g;
    for (size_t i = 0; gang_local_at (v->gang, i, &g); i++)
        if (g.procs)
            fprintf (f, "here: %s, %u process%s, %s of %u peers: %s (%s)\n", g.gang, g.procs,
                     g.procs == 1 ? "" : "es", role_name (g.role), g.n_members,
                     decision_name (g.decision), g.why[0] ? g.why : "-");
    clocks_est_t e;
    bool any = false;
    for (size_t i = 0; clocks_at (v->clocks, i, &e); i++) {
        if (!e.samples)
            continue;
        if (!any)
            fprintf (
                f, "clocks (each peer's minus ours, from probe round trips):\n%-16s %10s %9s %8s\n",
                "NODE", "OFFSET", "RTT", "SAMPLES");
        any = true;
        fprintf (f, "%-16s %+9.1fms %7.1fms %8u\n", e.node, e.offset_us / 1000.0, e.rtt_us / 1000.0,
                 e.samples);
    }
    for (size_t i = 0; clocks_at (v->clocks, i, &e); i++)
        if (clock_warn (v, &e))
            fprintf (f,
                     "warning: the clock of %s is %.1f ms off ours, more than a tenth of the %u ms "
                     "slice: its gang switches will lag (set the clocks with NTP)\n",
                     e.node, (e.offset_us < 0 ? -e.offset_us : e.offset_us) / 1000.0,
                     v->conf->gang_slice_ms);
}

void status_json (FILE *f, const status_view_t *v, uint64_t now)
{
    fprintf (f, "{\"version\":1,\"cluster\":");
    gl_json_str (f, v->conf->cluster);
    fprintf (f, ",\"node\":");
    gl_json_str (f, v->conf->name);
    fprintf (f, ",\"generation\":%llu,\"members\":[", (unsigned long long) v->generation);
    swim_member_t m;
    for (size_t i = 0; swim_member_at (v->swim, i, &m); i++) {
        fprintf (f, "%s{\"name\":", i ? "," : "");
        gl_json_str (f, m.name);
        fprintf (f, ",\"endpoint\":");
        gl_json_str (f, m.addr);
        fprintf (f,
                 ",\"state\":\"%s\",\"self\":%s,\"generation\":%llu,\"incarnation\":%llu,"
                 "\"state_age_ms\":%llu,\"resources\":",
                 swim_state_name (m.state), m.is_self ? "true" : "false",
                 (unsigned long long) m.generation, (unsigned long long) m.incarnation,
                 (unsigned long long) (now - m.state_since_ms));
        if (!m.has_res) {
            fprintf (f, "null}");
            continue;
        }
        fprintf (f,
                 "{\"state\":\"%s\",\"cores\":%u,\"load1\":%.3f,\"load_recent\":%.3f,"
                 "\"owner_load\":%.3f,\"mem_total_kb\":%llu,\"mem_avail_kb\":%llu,"
                 "\"owner_idle_s\":%u,\"guests\":%u,\"seq\":%llu,\"age_ms\":%llu}}",
                 idle_state_name (m.res.state), m.res.cores, m.res.load1_milli / 1000.0,
                 m.res.load_recent_milli / 1000.0, m.res.owner_load_milli / 1000.0,
                 (unsigned long long) m.res.mem_total_kb, (unsigned long long) m.res.mem_avail_kb,
                 m.res.owner_idle_s, m.res.guests, (unsigned long long) m.res_seq,
                 (unsigned long long) (now - m.res_recv_ms));
    }
    swim_stats_t st;
    swim_stats (v->swim, &st);
    cost_t c;
    cost_get (v, now, &c);
    fprintf (f,
             "],\"counters\":{\"msgs_in\":%llu,\"bytes_in\":%llu,\"msgs_out\":%llu,"
             "\"bytes_out\":%llu,\"send_dropped\":%llu,\"dropped\":{",
             (unsigned long long) c.ls.msgs_in, (unsigned long long) c.ls.bytes_in,
             (unsigned long long) c.ls.msgs_out, (unsigned long long) c.ls.bytes_out,
             (unsigned long long) c.dropped);
    for (int r = 0; r < GL_DROP__COUNT; r++)
        fprintf (f, "%s\"%s\":%llu", r ? "," : "", gl_drop_name ((gl_drop_t) r),
                 (unsigned long long) gl_seal_drops (v->seal, (gl_drop_t) r));
    fprintf (f,
             "},\"gossip\":{\"probes\":%llu,\"probe_failures\":%llu,\"indirect_probes\":%llu,"
             "\"suspicions\":%llu,\"deaths\":%llu,\"refutations\":%llu,\"syncs\":%llu,"
             "\"bad_records\":%llu,\"old_records\":%llu,\"awareness\":%u},"
             "\"images\":{\"bytes_read\":%llu,\"writer_sealed\":%llu}},",
             (unsigned long long) st.probes, (unsigned long long) st.probe_failures,
             (unsigned long long) st.indirect_probes, (unsigned long long) st.suspicions,
             (unsigned long long) st.deaths, (unsigned long long) st.refutations,
             (unsigned long long) st.syncs, (unsigned long long) st.bad_records,
             (unsigned long long) st.old_records, st.awareness, (unsigned long long) v->images_read,
             (unsigned long long) v->images_writer_sealed);
    fprintf (f,
             "\"cost\":{\"connections\":%d,\"links\":%u,\"links_held\":%u,\"max_links\":%u,"
             "\"routes\":%u,\"links_opened\":%llu,\"links_opened_s\":%.2f,"
             "\"links_evicted\":%llu,\"links_expired\":%llu,\"links_closed\":%llu,"
             "\"routed\":%llu,\"waited\":%llu,\"msgs_in_s\":%.1f,\"bytes_in_s\":%.0f,"
             "\"msgs_out_s\":%.1f,\"bytes_out_s\":%.0f,\"rate_window_s\":%u,"
             "\"cpu_s\":%.3f,\"rss_kb\":%llu,\"view_publishes\":%llu,"
             "\"view_member_writes\":%llu},",
             c.tcp, c.ls.open, c.ls.held, c.ls.max, c.ls.routes, (unsigned long long) c.ls.opened,
             c.ls.opened_s, (unsigned long long) c.ls.evicted, (unsigned long long) c.ls.expired,
             (unsigned long long) c.ls.closed, (unsigned long long) c.ls.routed,
             (unsigned long long) c.ls.queued, c.ls.msgs_in_s, c.ls.bytes_in_s, c.ls.msgs_out_s,
             c.ls.bytes_out_s, c.ls.window_s, c.cpu_s, (unsigned long long) c.rss_kb,
             (unsigned long long) v->view_publishes, (unsigned long long) v->view_member_writes);
    if (v->gang)
        gangs_json (f, v, now);
    if (v->policy) {
        fprintf (f, "\"policy\":{\"path\":");
        gl_json_str (f, v->conf->policy);
        fprintf (f, ",\"active\":%s,\"calls\":%llu}}\n",
                 policy_active (v->policy) ? "true" : "false", policy_calls (v->policy));
    }
    else
        fprintf (f, "\"policy\":null}\n");
}

static void fmt_age (char *out, size_t len, uint64_t ms)
{
    if (ms < 10000)
        snprintf (out, len, "%.1fs", ms / 1000.0);
    else if (ms < 3600000)
        snprintf (out, len, "%llus", (unsigned long long) ms / 1000);
    else
        snprintf (out, len, "%lluh", (unsigned long long) ms / 3600000);
}

void status_text (FILE *f, const status_view_t *v, uint64_t now)
{
    size_t n = swim_count (v->swim);
    fprintf (f,
             "cluster %s, node %s (generation %llu): %zu members, %zu alive, %zu suspect, "
             "%zu dead, %zu left\n\n",
             v->conf->cluster, v->conf->name, (unsigned long long) v->generation, n,
             swim_count_state (v->swim, SWIM_ALIVE), swim_count_state (v->swim, SWIM_SUSPECT),
             swim_count_state (v->swim, SWIM_DEAD), swim_count_state (v->swim, SWIM_LEFT));
    fprintf (f, "%-16s %-26s %-8s %4s  %-11s %5s %6s %6s %10s %9s %6s\n", "NAME", "ENDPOINT",
             "STATE", "INC", "RESOURCES", "CORES", "LOAD", "OWNER", "OWNER-IDLE", "MEM-AVAIL",
             "AGE");
    swim_member_t m;
    for (size_t i = 0; swim_member_at (v->swim, i, &m); i++) {
        char name[GL_NAME_MAX + 3];
        snprintf (name, sizeof name, "%s%s", m.name, m.is_self ? " *" : "");
        fprintf (f, "%-16s %-26s %-8s %4llu  ", name, m.addr, swim_state_name (m.state),
                 (unsigned long long) m.incarnation);
        if (!m.has_res) {
            fprintf (f, "%-11s\n", "-");
            continue;
        }
        char idle[32], age[32], mem[32];
        if (m.res.owner_idle_s >= UINT32_MAX / 2)
            snprintf (idle, sizeof idle, "never");
        else
            fmt_age (idle, sizeof idle, (uint64_t) m.res.owner_idle_s * 1000);
        fmt_age (age, sizeof age, now - m.res_recv_ms);
        snprintf (mem, sizeof mem, "%.1fG", m.res.mem_avail_kb / 1048576.0);
        fprintf (f, "%-11s %5u %6.2f %6.2f %10s %9s %6s\n", idle_state_name (m.res.state),
                 m.res.cores, m.res.load1_milli / 1000.0, m.res.owner_load_milli / 1000.0, idle,
                 mem, age);
    }
    cost_t c;
    cost_get (v, now, &c);
    fprintf (f, "\nmessages in %llu (%llu bytes), out %llu (%llu bytes), send dropped %llu\n",
             (unsigned long long) c.ls.msgs_in, (unsigned long long) c.ls.bytes_in,
             (unsigned long long) c.ls.msgs_out, (unsigned long long) c.ls.bytes_out,
             (unsigned long long) c.dropped);
    char tcp[16];
    if (c.tcp < 0)
        snprintf (tcp, sizeof tcp, "?");
    else
        snprintf (tcp, sizeof tcp, "%d", c.tcp);
    fprintf (f,
             "cost: %s connections (%u links of at most %u, %u held for jobs; %llu opened, "
             "%.2f/s; %u routes back), "
             "%.1f packets/s in (%.0f B/s), %.1f out (%.0f B/s) over %u s, "
             "CPU %.2f s, RSS %.1f MB\n"
             "dropped:",
             tcp, c.ls.open, c.ls.max, c.ls.held, (unsigned long long) c.ls.opened, c.ls.opened_s,
             c.ls.routes, c.ls.msgs_in_s, c.ls.bytes_in_s, c.ls.msgs_out_s, c.ls.bytes_out_s,
             c.ls.window_s, c.cpu_s, c.rss_kb / 1024.0);
    for (int r = 0; r < GL_DROP__COUNT; r++)
        fprintf (f, " %s %llu", gl_drop_name ((gl_drop_t) r),
                 (unsigned long long) gl_seal_drops (v->seal, (gl_drop_t) r));
    fprintf (f, "\nthis node: %s\n", v->res_reason);
    if (v->gang)
        gangs_text (f, v);
}
