/*  status.c -- glpeer status, as a table and as JSON.  See status.h. */
#include "status.h"
#include "idle.h"
#include "str.h"

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
             "\"bad_records\":%llu,\"old_records\":%llu,\"awareness\":%u}},",
             (unsigned long long) st.probes, (unsigned long long) st.probe_failures,
             (unsigned long long) st.indirect_probes, (unsigned long long) st.suspicions,
             (unsigned long long) st.deaths, (unsigned long long) st.refutations,
             (unsigned long long) st.syncs, (unsigned long long) st.bad_records,
             (unsigned long long) st.old_records, st.awareness);
    fprintf (f,
             "\"cost\":{\"connections\":%d,\"links\":%u,\"links_held\":%u,\"max_links\":%u,"
             "\"links_opened\":%llu,\"links_evicted\":%llu,\"links_expired\":%llu,"
             "\"links_closed\":%llu,\"msgs_in_s\":%.1f,\"bytes_in_s\":%.0f,"
             "\"msgs_out_s\":%.1f,\"bytes_out_s\":%.0f,\"rate_window_s\":%u,"
             "\"cpu_s\":%.3f,\"rss_kb\":%llu},",
             c.tcp, c.ls.open, c.ls.held, c.ls.max, (unsigned long long) c.ls.opened,
             (unsigned long long) c.ls.evicted, (unsigned long long) c.ls.expired,
             (unsigned long long) c.ls.closed, c.ls.msgs_in_s, c.ls.bytes_in_s, c.ls.msgs_out_s,
             c.ls.bytes_out_s, c.ls.window_s, c.cpu_s, (unsigned long long) c.rss_kb);
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
             "cost: %s connections (%u links of at most %u, %u held for jobs; %llu opened), "
             "%.1f packets/s in (%.0f B/s), %.1f out (%.0f B/s) over %u s, "
             "CPU %.2f s, RSS %.1f MB\n"
             "dropped:",
             tcp, c.ls.open, c.ls.max, c.ls.held, (unsigned long long) c.ls.opened, c.ls.msgs_in_s,
             c.ls.bytes_in_s, c.ls.msgs_out_s, c.ls.bytes_out_s, c.ls.window_s, c.cpu_s,
             c.rss_kb / 1024.0);
    for (int r = 0; r < GL_DROP__COUNT; r++)
        fprintf (f, " %s %llu", gl_drop_name ((gl_drop_t) r),
                 (unsigned long long) gl_seal_drops (v->seal, (gl_drop_t) r));
    fprintf (f, "\nthis node: %s\n", v->res_reason);
}
