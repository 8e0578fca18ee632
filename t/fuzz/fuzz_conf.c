/*  fuzz_conf.c -- libFuzzer target for the cluster.conf reader
    (core/conf.c, over czmq's zconfig).

    The input is the text of a cluster.conf.  It is read as glpeer reads
    one, by gl_conf_load, from a memfd named by its /proc/self/fd path (the
    reader takes a file name: it reads the file and then again to find a
    faulty field's line).  A file it refuses must be refused with a
    message "FILE:LINE: ..." whose LINE is one of the input's lines; a file
    it accepts must have every field within what cluster.conf(5) says the
    field may hold.  That judge, below, is written from the man page, not
    from conf.c: a value the reader lets through that the page rules out
    is a failure, as is a crash or a leak.  Any failure aborts, which
    libFuzzer reports as a crash.  Run it with t/fuzz/run.sh --target conf. */
#include "conf.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

static const uint8_t *input;
static size_t input_len;

static void show_input (void)
{
    fprintf (stderr, "the input:\n%.*s\n", (int) input_len, (const char *) input);
}

#define MUST(cond, ...)                                                \
    do {                                                               \
        if (!(cond)) {                                                 \
            fprintf (stderr, "fuzz_conf.c:%d: %s: ", __LINE__, #cond); \
            fprintf (stderr, __VA_ARGS__);                             \
            fprintf (stderr, "\n");                                    \
            show_input ();                                             \
            abort ();                                                  \
        }                                                              \
    } while (0)

/* cluster.conf(5), VALUES, "name": 1 to 63 of A-Z a-z 0-9 . _ -, not
   starting with . or -. */
static bool name_ok (const char *s)
{
    size_t len = strlen (s);
    if (len < 1 || len > 63 || s[0] == '.' || s[0] == '-')
        return false;
    for (size_t i = 0; i < len; i++)
        if (!isalnum ((unsigned char) s[i]) && !strchr ("._-", s[i]))
            return false;
    return true;
}

/* VALUES, "endpoint": tcp://HOST:PORT (PORT 1 to 65535) or ipc://PATH, at
   most 255 characters. */
static bool endpoint_ok (const char *s)
{
    if (strlen (s) > 255)
        return false;
    if (!strncmp (s, "ipc://", 6))
        return s[6] != '\0';
    if (strncmp (s, "tcp://", 6))
        return false;
    const char *colon = strrchr (s + 6, ':');
    if (!colon || colon == s + 6 || !colon[1] || strlen (colon + 1) > 5)
        return false;
    unsigned long port = 0;
    for (const char *p = colon + 1; *p; p++) {
        if (!isdigit ((unsigned char) *p))
            return false;
        port = port * 10 + (unsigned long) (*p - '0');
    }
    return port >= 1 && port <= 65535;
}

/* A user name as useradd(8) takes it (cluster.conf(5) says "user names";
   the shadow tools' rule: letters, digits, '.', '_', '-', not starting
   with '-', a '$' only at the end), at most GL_JOB_USER_MAX bytes. */
static bool user_ok (const char *s, size_t len)
{
    if (len < 1 || len > GL_JOB_USER_MAX || s[0] == '-')
        return false;
    for (size_t i = 0; i < len; i++)
        if (!isalnum ((unsigned char) s[i]) && !strchr ("._-", s[i]) &&
            !(s[i] == '$' && i == len - 1))
            return false;
    return true;
}

/* "user names, separated by spaces or commas"; the reader takes tabs
   as spaces there too, harmlessly (the page says nothing of tabs in a
   value), so tabs pass here as well */
#define SEPARATORS " ,\t"
static bool users_ok (const char *s)
{
    for (;;) {
        s += strspn (s, SEPARATORS);
        if (!*s)
            return true;
        size_t len = strcspn (s, SEPARATORS);
        if (!user_ok (s, len))
            return false;
        s += len;
    }
}

/* "uids and ranges LO-HI, separated by spaces, commas or tabs, at most 16" */
static bool uids_ok (const char *s)
{
    int n = 0;
    for (;;) {
        s += strspn (s, SEPARATORS);
        if (!*s)
            return n <= 16;
        unsigned long long lo = 0, hi;
        const char *p = s;
        if (!isdigit ((unsigned char) *p))
            return false;
        while (isdigit ((unsigned char) *p) && lo <= UINT32_MAX)
            lo = lo * 10 + (unsigned long long) (*p++ - '0');
        hi = lo;
        if (*p == '-') {
            p++;
            if (!isdigit ((unsigned char) *p))
                return false;
            hi = 0;
            while (isdigit ((unsigned char) *p) && hi <= UINT32_MAX)
                hi = hi * 10 + (unsigned long long) (*p++ - '0');
        }
        if (lo > UINT32_MAX || hi > UINT32_MAX || hi < lo || (*p && !strchr (SEPARATORS, *p)))
            return false;
        n++;
        s = p;
    }
}

static bool one_of (const char *s, const char *const *words)
{
    for (; *words; words++)
        if (!strcmp (s, *words))
            return true;
    return false;
}

#define RANGE(field, lo, hi) \
    MUST ((field) >= (lo) && (field) <= (hi), "%s = %llu", #field, (unsigned long long) (field))
#define TEXT(field, max)                                                                          \
    MUST (memchr ((field), '\0', sizeof (field)) && strlen (field) <= (max), "%s longer than %d", \
          #field, (int) (max))

/* Every field within cluster.conf(5), FIELDS, in the field's own unit. */
static void judge (const gl_conf_t *c)
{
    /* cluster */
    MUST (!c->cluster[0] || name_ok (c->cluster), "cluster/name '%s'", c->cluster);
    TEXT (c->key_file, GL_PATH_MAX - 1);
    RANGE (c->n_seeds, 0, 64);
    for (uint32_t i = 0; i < c->n_seeds; i++)
        MUST (endpoint_ok (c->seeds[i]), "cluster/seed '%s'", c->seeds[i]);
    RANGE (c->clock_window_ms, 1000, 24 * 3600 * 1000);
    /* node: an empty name or advertise is derived later */
    MUST (!c->name[0] || name_ok (c->name), "node/name '%s'", c->name);
    MUST (endpoint_ok (c->bind), "node/bind '%s'", c->bind);
    MUST (!c->advertise[0] || endpoint_ok (c->advertise), "node/advertise '%s'", c->advertise);
    TEXT (c->runtime_dir, GL_PATH_MAX - 1);
    TEXT (c->state_dir, GL_PATH_MAX - 1);
    TEXT (c->allow_users, GL_USERS_MAX - 1);
    TEXT (c->deny_users, GL_USERS_MAX - 1);
    MUST (users_ok (c->allow_users), "node/allow_users '%s'", c->allow_users);
    MUST (users_ok (c->deny_users), "node/deny_users '%s'", c->deny_users);
    MUST (uids_ok (c->uids), "node/uids '%s'", c->uids);
    /* "agent_user (user name ...)": one account */
    MUST (user_ok (c->agent_user, strlen (c->agent_user)), "node/agent_user '%s'", c->agent_user);
    /* gossip */
    RANGE (c->probe_interval_ms, 10, 600000);
    RANGE (c->probe_timeout_ms, 5, 600000);
    RANGE (c->indirect_checks, 0, 16);
    RANGE (c->suspicion_mult, 1, 100);
    RANGE (c->suspicion_max_mult, 1, 100);
    RANGE (c->retransmit_mult, 1, 100);
    RANGE (c->gossip_interval_ms, 10, 600000);
    RANGE (c->gossip_nodes, 1, 64);
    RANGE (c->pushpull_interval_ms, 100, 24 * 3600 * 1000);
    RANGE (c->awareness_max, 1, 64);
    RANGE (c->dead_reap_ms, 1000, 7 * 24 * 3600 * 1000);
    RANGE (c->join_retry_ms, 10, 600000);
    RANGE (c->max_piggyback, 1, 1024);
    RANGE (c->gossip_peers, 0, 64);
    /* idle */
    MUST (c->proc_dir[0], "idle/proc_dir empty");
    TEXT (c->proc_dir, 255);
    RANGE (c->n_activity, 0, 16);
    for (uint32_t i = 0; i < c->n_activity; i++) {
        MUST (c->activity[i][0], "idle/activity %u empty", i);
        TEXT (c->activity[i], 255);
    }
    RANGE (c->owner_idle_min_s, 0, 7 * 24 * 3600);
    RANGE (c->owner_load_max_milli, 0, 1000 * 1000);
    RANGE (c->sample_interval_ms, 100, 3600 * 1000);
    RANGE (c->refresh_interval_ms, 1000, 24 * 3600 * 1000);
    /* transport */
    RANGE (c->max_links, 1, 4096);
    RANGE (c->link_idle_ms, 100, 3600 * 1000);
    RANGE (c->send_queue, 16, 1000000);
    /* sched */
    TEXT (c->policy, GL_PATH_MAX - 1);
    RANGE (c->policy_budget_ms, 1, 10000);
    RANGE (c->gang_slice_ms, 10, 30000);
    RANGE (c->gang_depth, 1, 64);
    static const char *const stops[] = { "auto", "freezer", "signals", "none", NULL };
    static const char *const returns[] = { "migrate", "suspend", "kill", "stay", NULL };
    static const char *const levels[] = { "error", "warning", "info", "debug", NULL };
    MUST (one_of (c->gang_stop, stops), "sched/gang_stop '%s'", c->gang_stop);
    MUST (one_of (c->owner_return, returns), "sched/owner_return '%s'", c->owner_return);
    RANGE (c->owner_grace_ms, 0, 600000);
    RANGE (c->checkpoint_every_ms, 0, 24 * 3600 * 1000);
    /* log */
    MUST (one_of (c->log_level, levels), "log/level '%s'", c->log_level);
}

/* The input's lines: what a message's LINE may be. */
static int lines_of (const uint8_t *data, size_t size)
{
    int n = 0;
    for (size_t i = 0; i < size; i++)
        n += data[i] == '\n';
    return n + (size && data[size - 1] != '\n');
}

static int fd = -1;
static char path[64];

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
    if (fd < 0) {
        fd = memfd_create ("cluster.conf", MFD_CLOEXEC);
        MUST (fd >= 0, "memfd_create");
        snprintf (path, sizeof path, "/proc/self/fd/%d", fd);
    }
    input = data;
    input_len = size;
    MUST (ftruncate (fd, 0) == 0 && pwrite (fd, data, size, 0) == (ssize_t) size, "writing");
    static gl_conf_t conf;
    gl_conf_defaults (&conf);
    char err[1024] = "";
    if (gl_conf_load (&conf, path, err, sizeof err) == 0) {
        MUST (!strcmp (conf.file, path), "file '%s'", conf.file);
        judge (&conf);
        return 0;
    }
    /* "FILE:LINE: ..." with LINE one of the input's */
    size_t plen = strlen (path);
    MUST (!strncmp (err, path, plen) && err[plen] == ':', "no file named: '%s'", err);
    char *end;
    long line = strtol (err + plen + 1, &end, 10);
    MUST (end != err + plen + 1 && *end == ':', "no line named: '%s'", err);
    MUST (line >= 1 && line <= lines_of (data, size), "line %ld of %d: '%s'", line,
          lines_of (data, size), err);
    MUST (end[1] == ' ' && end[2], "no reason given: '%s'", err);
    /* a message about a field or a section names the line it is on */
    const char *text = (const char *) data, *at = text, *stop = text + size;
    for (long i = 1; i < line; i++)
        at = (const char *) memchr (at, '\n', (size_t) (stop - at)) + 1;
    size_t indent = 0, wlen = 0;
    while (at + indent < stop && at[indent] == ' ')
        indent++;
    while (at + indent + wlen < stop && !isspace ((unsigned char) at[indent + wlen]) &&
           at[indent + wlen] != '=' && at[indent + wlen] != '#')
        wlen++;
    const char *rest = end + 2, *colon = strstr (rest, ": ");
    static const char *const sections[] = { "cluster/",   "node/",  "gossip/", "idle/",
                                            "transport/", "sched/", "log/",    NULL };
    bool about_section = colon && !strncmp (colon, ": unknown section", 17);
    for (const char *const *sec = sections; *sec && !about_section; sec++)
        if (!strncmp (rest, *sec, strlen (*sec))) {
            const char *key = rest + strlen (*sec);
            MUST (colon && indent > 0 && (size_t) (colon - key) == wlen &&
                      !memcmp (key, at + indent, wlen),
                  "the line named does not hold the field: '%s'", err);
        }
    /* (zconfig's own messages, "invalid syntax '...'", hold spaces) */
    if (about_section && !memchr (rest, ' ', (size_t) (colon - rest)))
        MUST (indent == 0 && (size_t) (colon - rest) == wlen && !memcmp (rest, at, wlen),
              "the line named does not hold the section: '%s'", err);
    return 0;
}
