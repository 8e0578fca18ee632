/*  conf.c -- cluster.conf: reading, checking, overriding.  See conf.h.

    zconfig parses the ZPL text; this file only walks the tree it returns
    and checks each field against one table.  zconfig does not remember
    line numbers, so for error messages we find a field's line ourselves
    with a small scan of the file's indentation (conf_line_of). */
#include "conf.h"
#include "err.h"
#include "str.h"
#include <czmq.h>
#include <sodium.h>
#include <ctype.h>
#include <errno.h>
#include <pwd.h>
#include <stddef.h>
#include <sys/stat.h>
#include <unistd.h>

typedef enum {
    F_STR,      /* free text, bounded */
    F_NAME,     /* node or cluster name */
    F_ENDPOINT, /* tcp://host:port or ipc://path */
    F_SEED,     /* an endpoint, appended */
    F_PATH,
    F_KEY, /* 64 hex digits */
    F_U32,
    F_DURATION, /* stored as uint32 milliseconds */
    F_SECONDS,  /* a duration stored as uint32 seconds */
    F_SIZE_KB,  /* stored as uint64 KiB */
    F_MILLI,    /* a decimal stored x 1000 */
    F_ACTIVITY, /* a path or glob, appended */
    F_LOGLEVEL,
    F_GANG_STOP,    /* auto, freezer, signals, none */
    F_OWNER_RETURN, /* migrate, suspend, kill, stay */
    F_BOOL,         /* yes or no */
    F_USERS,        /* user names, separated by spaces or commas */
    F_USER,         /* one user name */
    F_UIDS,         /* uid ranges (gl_parse_uid_ranges) */
} field_type_t;

typedef struct {
    const char *path;
    field_type_t type;
    size_t offset;
    size_t size;       /* for strings: buffer size */
    uint64_t min, max; /* for numbers, in stored units */
} field_t;

#define STR(p, t, f)                                                       \
    {                                                                      \
        p, t, offsetof (gl_conf_t, f), sizeof (((gl_conf_t *) 0)->f), 0, 0 \
    }
#define NUM(p, t, f, lo, hi)                                                 \
    {                                                                        \
        p, t, offsetof (gl_conf_t, f), sizeof (((gl_conf_t *) 0)->f), lo, hi \
    }

static const field_t fields[] = {
    STR ("cluster/name", F_NAME, cluster),
    STR ("cluster/key", F_KEY, key),
    STR ("cluster/key_file", F_PATH, key_file),
    STR ("cluster/seed", F_SEED, seeds),
    NUM ("cluster/clock_window", F_DURATION, clock_window_ms, 1000, 86400000),
    STR ("cluster/root_jobs", F_BOOL, root_jobs),
    STR ("node/name", F_NAME, name),
    STR ("node/bind", F_ENDPOINT, bind),
    STR ("node/advertise", F_ENDPOINT, advertise),
    STR ("node/runtime_dir", F_PATH, runtime_dir),
    STR ("node/state_dir", F_PATH, state_dir),
    STR ("node/allow_users", F_USERS, allow_users),
    STR ("node/deny_users", F_USERS, deny_users),
    STR ("node/uids", F_UIDS, uids),
    STR ("node/agent_user", F_USER, agent_user),
    NUM ("gossip/probe_interval", F_DURATION, probe_interval_ms, 10, 600000),
    NUM ("gossip/probe_timeout", F_DURATION, probe_timeout_ms, 5, 600000),
    NUM ("gossip/indirect_checks", F_U32, indirect_checks, 0, 16),
    NUM ("gossip/suspicion_mult", F_U32, suspicion_mult, 1, 100),
    NUM ("gossip/suspicion_max_mult", F_U32, suspicion_max_mult, 1, 100),
    NUM ("gossip/retransmit_mult", F_U32, retransmit_mult, 1, 100),
    NUM ("gossip/gossip_interval", F_DURATION, gossip_interval_ms, 10, 600000),
    NUM ("gossip/gossip_nodes", F_U32, gossip_nodes, 1, 64),
    NUM ("gossip/pushpull_interval", F_DURATION, pushpull_interval_ms, 100, 86400000),
    NUM ("gossip/awareness_max", F_U32, awareness_max, 1, 64),
    NUM ("gossip/dead_reap", F_DURATION, dead_reap_ms, 1000, 604800000),
    NUM ("gossip/join_retry", F_DURATION, join_retry_ms, 10, 600000),
    NUM ("gossip/max_piggyback", F_U32, max_piggyback, 1, 1024),
    NUM ("gossip/gossip_peers", F_U32, gossip_peers, 0, 64),
    NUM ("gossip/probe_rings", F_U32, probe_rings, 0, 16),
    STR ("idle/proc_dir", F_PATH, proc_dir),
    STR ("idle/activity", F_ACTIVITY, activity),
    NUM ("idle/owner_idle_min", F_SECONDS, owner_idle_min_s, 0, 604800),
    NUM ("idle/owner_load_max", F_MILLI, owner_load_max_milli, 0, 1000000),
    NUM ("idle/min_mem_avail", F_SIZE_KB, min_mem_avail_kb, 0, UINT64_MAX / 2),
    NUM ("idle/sample_interval", F_DURATION, sample_interval_ms, 100, 3600000),
    NUM ("idle/refresh_interval", F_DURATION, refresh_interval_ms, 1000, 86400000),
    NUM ("transport/max_links", F_U32, max_links, 1, 4096),
    NUM ("transport/link_idle", F_DURATION, link_idle_ms, 100, 3600000),
    NUM ("transport/send_queue", F_U32, send_queue, 16, 1000000),
    STR ("transport/move_direct", F_BOOL, move_direct),
    STR ("sched/policy", F_PATH, policy),
    NUM ("sched/policy_budget", F_DURATION, policy_budget_ms, 1, 10000),
    NUM ("sched/gang_slice", F_DURATION, gang_slice_ms, 10, 30000),
    NUM ("sched/gang_depth", F_U32, gang_depth, 1, 64),
    STR ("sched/gang_stop", F_GANG_STOP, gang_stop),
    STR ("sched/owner_return", F_OWNER_RETURN, owner_return),
    NUM ("sched/owner_grace", F_DURATION, owner_grace_ms, 0, 600000),
    NUM ("sched/checkpoint_every", F_DURATION, checkpoint_every_ms, 0, 86400000),
    NUM ("sched/checkpoint_memory", F_SIZE_KB, checkpoint_memory_kb, 0, UINT64_MAX / 2048),
    STR ("log/level", F_LOGLEVEL, log_level),
};
#define N_FIELDS (sizeof fields / sizeof fields[0])

void gl_conf_defaults (gl_conf_t *c)
{
    memset (c, 0, sizeof *c);
    c->clock_window_ms = 60000;
    snprintf (c->bind, sizeof c->bind, "tcp://*:7946");
    /* Debian's UID_MIN-UID_MAX (login.defs): people, not system accounts */
    snprintf (c->uids, sizeof c->uids, "1000-60000");
    snprintf (c->agent_user, sizeof c->agent_user, "glunix");
    /* memberlist's LAN profile */
    c->probe_interval_ms = 1000;
    c->probe_timeout_ms = 500;
    c->indirect_checks = 3;
    c->suspicion_mult = 4;
    c->suspicion_max_mult = 6;
    c->retransmit_mult = 4;
    c->gossip_interval_ms = 200;
    c->gossip_nodes = 3;
    c->pushpull_interval_ms = 30000;
    c->awareness_max = 8;
    c->dead_reap_ms = 3600000;
    c->join_retry_ms = 1000;
    c->max_piggyback = 16;
    c->gossip_peers = 12;
    c->probe_rings = 4;
    /* HTCondor's desktop policy: owner away 15 minutes, owner load <= 0.3 */
    snprintf (c->proc_dir, sizeof c->proc_dir, "/proc");
    c->owner_idle_min_s = 900;
    c->owner_load_max_milli = 300;
    c->min_mem_avail_kb = 65536;
    c->sample_interval_ms = 1000;
    c->refresh_interval_ms = 3600000;
    c->max_links = 16;
    c->link_idle_ms = 30000;
    c->send_queue = 1024;
    c->move_direct = true;
    c->policy_budget_ms = 10;
    c->gang_slice_ms = 100;
    c->gang_depth = 4;
    snprintf (c->gang_stop, sizeof c->gang_stop, "auto");
    snprintf (c->owner_return, sizeof c->owner_return, "migrate");
    c->owner_grace_ms = 2000;
    c->checkpoint_every_ms = 0;
    c->checkpoint_memory_kb = 1024 * 1024; /* 1 GiB of the home's memory */
    snprintf (c->log_level, sizeof c->log_level, "info");
}

/* ---- parsing single values ----------------------------------------------- */

int gl_parse_size_kb (const char *text, uint64_t *kb)
{
    uint64_t v;
    const char *unit = text;
    if (!gl_parse_u64 (&unit, &v))
        return -1;
    uint64_t mult;
    if (!*unit || !strcmp (unit, "k") || !strcmp (unit, "K"))
        mult = 1;
    else if (!strcmp (unit, "M"))
        mult = 1024;
    else if (!strcmp (unit, "G"))
        mult = 1024 * 1024;
    else
        return -1;
    if (v > UINT64_MAX / mult)
        return -1;
    *kb = v * mult;
    return 0;
}

int gl_parse_milli (const char *text, uint64_t *milli)
{
    uint64_t whole, frac = 0;
    const char *rest = text;
    if (!gl_parse_u64 (&rest, &whole) || whole > UINT64_MAX / 1000 - 1)
        return -1;
    if (*rest == '.') {
        rest++;
        uint64_t scale = 100;
        if (!isdigit ((unsigned char) *rest))
            return -1;
        for (; isdigit ((unsigned char) *rest); rest++) {
            frac += (uint64_t) (*rest - '0') * scale;
            scale /= 10; /* digits past the third are dropped */
        }
    }
    if (*rest)
        return -1;
    *milli = whole * 1000 + frac;
    return 0;
}

size_t gl_users_next (const char **at)
{
    *at += strspn (*at, " ,\t");
    return strcspn (*at, " ,\t");
}

int gl_parse_uid_ranges (const char *text, uint32_t (*ranges)[2], size_t max, size_t *n)
{
    *n = 0;
    const char *p = text;
    for (;;) {
        p += strspn (p, " ,\t");
        if (!*p)
            return 0;
        uint64_t lo, hi;
        if (!gl_parse_u64 (&p, &lo) || lo > UINT32_MAX - 1)
            return -1;
        hi = lo;
        if (*p == '-') {
            p++;
            if (!gl_parse_u64 (&p, &hi) || hi > UINT32_MAX - 1 || hi < lo)
                return -1;
        }
        if (*p && !strchr (" ,\t", *p))
            return -1;
        if (*n == max)
            return -1;
        ranges[*n][0] = (uint32_t) lo;
        ranges[*n][1] = (uint32_t) hi;
        (*n)++;
    }
}

/* A user name as useradd(8) takes it, and no longer than a job carries. */
static bool user_valid (const char *s, size_t len)
{
    if (!len || len > GL_JOB_USER_MAX || s[0] == '-')
        return false;
    for (size_t i = 0; i < len; i++)
        if (!(isalnum ((unsigned char) s[i]) || strchr ("._-", s[i]) ||
              (s[i] == '$' && i == len - 1)))
            return false;
    return true;
}

/* tcp://HOST:PORT (HOST may be *, a name, an IPv4 or [IPv6]) or ipc://PATH */
static bool endpoint_valid (const char *s)
{
    if (!strncmp (s, "ipc://", 6))
        return s[6] != '\0';
    if (strncmp (s, "tcp://", 6))
        return false;
    const char *host = s + 6;
    const char *colon = strrchr (host, ':');
    if (!colon || colon == host)
        return false;
    for (const char *p = host; p < colon; p++)
        if (!(isalnum ((unsigned char) *p) || strchr ("*.-_[]:", *p)))
            return false;
    uint64_t port;
    const char *rest = colon + 1;
    if (strlen (rest) > 5) /* a port has at most five digits: "0017946" is no port */
        return false;
    return gl_parse_u64 (&rest, &port) && !*rest && port >= 1 && port <= 65535;
}

/* An address that means "every interface": fine to bind, useless to advertise. */
static bool endpoint_wildcard (const char *s)
{
    return strchr (s, '*') || strstr (s, "//0.0.0.0:") || strstr (s, "//[::]:");
}

/* ---- one field ------------------------------------------------------------ */

static const field_t *field_find (const char *path)
{
    for (size_t i = 0; i < N_FIELDS; i++)
        if (!strcmp (fields[i].path, path))
            return &fields[i];
    return NULL;
}

/* Set one field from text.  On error writes the reason (without location). */
static int field_set (gl_conf_t *c, const field_t *f, const char *v, char *err, size_t errlen)
{
    char *base = (char *) c + f->offset;
    uint64_t n = 0;
    switch (f->type) {
        case F_STR:
        case F_PATH:
        case F_LOGLEVEL:
        case F_GANG_STOP:
        case F_OWNER_RETURN:
            if (f->type == F_GANG_STOP && strcmp (v, "auto") && strcmp (v, "freezer") &&
                strcmp (v, "signals") && strcmp (v, "none"))
                return gl_err (err, errlen, "'%s' is not one of auto, freezer, signals, none", v);
            if (f->type == F_OWNER_RETURN && strcmp (v, "migrate") && strcmp (v, "suspend") &&
                strcmp (v, "kill") && strcmp (v, "stay"))
                return gl_err (err, errlen, "'%s' is not one of migrate, suspend, kill, stay", v);
            if (strlen (v) >= f->size)
                return gl_err (err, errlen, "value longer than %zu characters", f->size - 1);
            if (f->type == F_LOGLEVEL && strcmp (v, "error") && strcmp (v, "warning") &&
                strcmp (v, "info") && strcmp (v, "debug"))
                return gl_err (err, errlen, "'%s' is not one of error, warning, info, debug", v);
            if (f->type == F_PATH && !*v)
                return gl_err (err, errlen, "empty path");
            gl_strlcpy (base, v, f->size);
            return 0;
        case F_NAME:
            if (!gl_name_valid (v))
                return gl_err (err, errlen,
                               "'%s' is not a valid name (1-63 of A-Z a-z 0-9 . _ -, "
                               "not starting with . or -)",
                               v);
            gl_strlcpy (base, v, f->size);
            return 0;
        case F_ENDPOINT:
        case F_SEED:
            if (strlen (v) > GL_ADDR_MAX || !endpoint_valid (v))
                return gl_err (err, errlen,
                               "'%s' is not an endpoint like tcp://HOST:PORT or ipc://PATH", v);
            if (f->type == F_ENDPOINT) {
                gl_strlcpy (base, v, f->size);
                return 0;
            }
            if (c->n_seeds >= GL_SEEDS_MAX)
                return gl_err (err, errlen, "more than %d seeds", GL_SEEDS_MAX);
            gl_strlcpy (c->seeds[c->n_seeds++], v, GL_ADDR_MAX + 1);
            return 0;
        case F_ACTIVITY:
            if (!*v || strlen (v) >= sizeof c->activity[0])
                return gl_err (err, errlen, "empty or longer than %zu characters",
                               sizeof c->activity[0] - 1);
            if (c->n_activity >= GL_ACTIVITY_MAX)
                return gl_err (err, errlen, "more than %d activity sources", GL_ACTIVITY_MAX);
            gl_strlcpy (c->activity[c->n_activity++], v, sizeof c->activity[0]);
            return 0;
        case F_BOOL:
            if (!strcmp (v, "yes") || !strcmp (v, "true"))
                *(bool *) base = true;
            else if (!strcmp (v, "no") || !strcmp (v, "false"))
                *(bool *) base = false;
            else
                return gl_err (err, errlen, "'%s' is not yes or no", v);
            return 0;
        case F_USER:
            if (strlen (v) >= f->size)
                return gl_err (err, errlen, "value longer than %zu characters", f->size - 1);
            if (!user_valid (v, strlen (v)))
                return gl_err (err, errlen, "'%s' is not a user name", v);
            gl_strlcpy (base, v, f->size);
            return 0;
        case F_USERS:
        case F_UIDS: {
            if (strlen (v) >= f->size)
                return gl_err (err, errlen, "value longer than %zu characters", f->size - 1);
            if (f->type == F_USERS) {
                const char *at = v;
                for (size_t len; (len = gl_users_next (&at)); at += len)
                    if (!user_valid (at, len))
                        return gl_err (err, errlen, "'%.*s' is not a user name", (int) len, at);
            }
            else {
                uint32_t ranges[GL_UID_RANGES][2];
                size_t count;
                if (gl_parse_uid_ranges (v, ranges, GL_UID_RANGES, &count))
                    return gl_err (err, errlen,
                                   "'%s' is not a list of uids and ranges (like 1000-60000, at "
                                   "most %d)",
                                   v, GL_UID_RANGES);
            }
            gl_strlcpy (base, v, f->size);
            return 0;
        }
        case F_KEY:
            if (gl_key_parse (v, c->key))
                return gl_err (err, errlen,
                               "not a key: expected 64 hex digits (glpeer keygen makes one)");
            c->key_file[0] = '\0';
            return 0;
        case F_U32: {
            const char *rest = v;
            if (!gl_parse_u64 (&rest, &n) || *rest)
                return gl_err (err, errlen, "'%s' is not a whole number", v);
            break;
        }
        case F_DURATION:
        case F_SECONDS:
            if (gl_parse_duration_ms (v, &n))
                return gl_err (err, errlen, "'%s' is not a duration (like 500ms, 2s, 5m, 1h)", v);
            if (f->type == F_SECONDS) /* a bare number here means seconds */
                n = isdigit ((unsigned char) v[strlen (v) - 1]) ? n : n / 1000;
            break;
        case F_SIZE_KB:
            if (gl_parse_size_kb (v, &n))
                return gl_err (err, errlen, "'%s' is not a size (like 512k, 64M, 2G)", v);
            break;
        case F_MILLI:
            if (gl_parse_milli (v, &n))
                return gl_err (err, errlen, "'%s' is not a decimal number (like 0.3)", v);
            break;
    }
    if (n < f->min || n > f->max)
        return gl_err (err, errlen, "'%s' is out of range", v);
    if (f->size == sizeof (uint64_t))
        *(uint64_t *) base = n;
    else
        *(uint32_t *) base = (uint32_t) n;
    return 0;
}

/* ---- locating a field in the file, for messages --------------------------- */

/* The file's text, read once: zconfig parses it, and the messages find
   their lines in it (not in the file read again, which may have changed). */
typedef struct {
    const char *file;
    const char *text;
    size_t len;
} conf_src_t;

/* Line number of the `nth` occurrence (0-based) of the field key of
   section sec (of the section itself when key is NULL), or 0.  Lines and
   names of any length count: a long comment before a field must not
   shift the field's number, nor a long name hide its line. */
static int conf_line_of (const conf_src_t *src, const char *sec, const char *key, int nth)
{
    const char *section = NULL;
    size_t section_len = 0;
    int lineno = 0, found = 0;
    for (size_t at = 0; at < src->len;) {
        const char *line = src->text + at;
        const char *nl = memchr (line, '\n', src->len - at);
        size_t end = nl ? (size_t) (nl - line) : src->len - at;
        at += end + 1;
        lineno++;
        size_t indent = 0, wlen = 0;
        while (indent < end && line[indent] == ' ')
            indent++;
        const char *word = line + indent;
        /* zconfig ends a name at any white space (\v, \f too) */
        while (indent + wlen < end && !isspace ((unsigned char) word[wlen]) && word[wlen] != '=' &&
               word[wlen] != '#')
            wlen++;
        if (wlen == 0)
            continue;
        if (indent == 0) {
            section = word;
            section_len = wlen;
        }
        const char *want = key ? key : sec;
        bool here = strlen (want) == wlen && !memcmp (word, want, wlen) &&
                    (key ? indent > 0 && section && strlen (sec) == section_len &&
                               !memcmp (section, sec, section_len)
                         : indent == 0);
        if (here && found++ == nth)
            return lineno;
    }
    return 0;
}

/* How many fields of the same section and name come before item in the
   file (zconfig keeps the file's order): which of a field's lines is at
   fault, when it is given more than once. */
static int conf_nth (zconfig_t *root, zconfig_t *item, const char *sec, const char *key)
{
    int nth = 0;
    for (zconfig_t *s = zconfig_child (root); s; s = zconfig_next (s)) {
        if (strcmp (zconfig_name (s), sec))
            continue;
        for (zconfig_t *i = zconfig_child (s); i; i = zconfig_next (i)) {
            if (i == item)
                return nth;
            nth += !strcmp (zconfig_name (i), key);
        }
    }
    return nth;
}

static void conf_error (char *err, size_t errlen, const conf_src_t *src, const char *sec,
                        const char *key, int nth, const char *why)
{
    int line = conf_line_of (src, sec, key, nth);
    char at[32] = "";
    if (line)
        snprintf (at, sizeof at, ":%d", line);
    snprintf (err, errlen, "%s%s: %s%s%s: %s", src->file, at, sec, key ? "/" : "", key ? key : "",
              why);
}

/* zconfig reports a syntax error only by printing "(LINE) reason" on
   stdout: catch that print in a temporary file so we can say it in our own
   words, naming the file. */
static zconfig_t *conf_parse (zchunk_t *chunk, const char *file, char *err, size_t errlen)
{
    fflush (stdout);
    FILE *tmp = tmpfile ();
    int saved = tmp ? dup (STDOUT_FILENO) : -1;
    if (saved >= 0)
        dup2 (fileno (tmp), STDOUT_FILENO);
    zconfig_t *root = zconfig_chunk_load (chunk);
    if (saved >= 0) {
        fflush (stdout);
        dup2 (saved, STDOUT_FILENO);
        close (saved);
    }
    if (!root) {
        char said[512] = "", reason[256] = "syntax error";
        int line = 0;
        if (tmp) {
            rewind (tmp);
            size_t n = fread (said, 1, sizeof said - 1, tmp);
            said[n] = '\0';
        }
        const char *paren = strstr (said, "(zconfig): (");
        if (paren && sscanf (paren, "(zconfig): (%d) %255[^\n]", &line, reason) >= 1) {
            /* a tab in a line's indent reads to zconfig as part of the
               line ("invalid syntax 'name = ...'"): say what it is */
            const char *t = (const char *) zchunk_data (chunk), *end = t + zchunk_size (chunk);
            for (int l = 1; l < line && t < end; l++)
                t = (t = memchr (t, '\n', (size_t) (end - t))) ? t + 1 : end;
            while (t < end && *t == ' ')
                t++;
            if (t < end && *t == '\t')
                snprintf (reason, sizeof reason,
                          "a tab in the indent (indent with spaces, 4 a level)");
            snprintf (err, errlen, "%s:%d: %s", file, line, reason);
        }
        else
            snprintf (err, errlen, "%s: syntax error", file);
    }
    if (tmp)
        fclose (tmp);
    return root;
}

int gl_conf_load (gl_conf_t *c, const char *file, char *err, size_t errlen)
{
    if (access (file, R_OK) != 0) {
        snprintf (err, errlen, "%s: %s", file, strerror (errno));
        return -1;
    }
    struct stat st;
    if (stat (file, &st) == 0 && st.st_size > (1 << 20)) {
        snprintf (err, errlen, "%s: larger than 1 MiB: not a cluster.conf", file);
        return -1;
    }
    /* Read the file ourselves: zconfig_load leaks its zfile on a syntax error. */
    zchunk_t *chunk = zchunk_slurp (file, 1 << 20);
    if (!chunk) {
        snprintf (err, errlen, "%s: cannot read it", file);
        return -1;
    }
    conf_src_t src = { file, (const char *) zchunk_data (chunk), zchunk_size (chunk) };
    /* zconfig reads a line only up to a NUL, and would judge what is left
       of it: a NUL is refused where it is, as no part of a text file */
    const char *nul = memchr (src.text, '\0', src.len);
    if (nul) {
        int line = 1;
        for (const char *p = src.text; p < nul; p++)
            line += *p == '\n';
        snprintf (err, errlen, "%s:%d: a NUL byte: not a text file", file, line);
        zchunk_destroy (&chunk);
        return -1;
    }
    zconfig_t *root = conf_parse (chunk, file, err, errlen);
    if (!root) {
        zchunk_destroy (&chunk);
        return -1;
    }
    gl_strlcpy (c->file, file, sizeof c->file);

    /* Repeatable fields given in the file replace the defaults. */
    bool seeds_seen = false, activity_seen = false;
    int rc = 0;
    char why[512];
    for (zconfig_t *sec = zconfig_child (root); sec && !rc; sec = zconfig_next (sec)) {
        const char *sname = zconfig_name (sec);
        if (strcmp (sname, "cluster") && strcmp (sname, "node") && strcmp (sname, "gossip") &&
            strcmp (sname, "idle") && strcmp (sname, "sched") && strcmp (sname, "transport") &&
            strcmp (sname, "log")) {
            conf_error (
                err, errlen, &src, sname, NULL, 0,
                "unknown section (expected cluster, node, gossip, idle, sched, transport or "
                "log)");
            rc = -1;
            break;
        }
        for (zconfig_t *item = zconfig_child (sec); item; item = zconfig_next (item)) {
            char path[256];
            snprintf (path, sizeof path, "%s/%s", sname, zconfig_name (item));
            const field_t *f = field_find (path);
            const char *value = zconfig_value (item);
            if (!f)
                gl_strlcpy (why, "unknown field", sizeof why);
            else if (zconfig_child (item))
                gl_strlcpy (why, "a field cannot have sub-fields", sizeof why);
            else if (!value || !*value)
                gl_strlcpy (why, "needs a value", sizeof why);
            else {
                if (f->type == F_SEED && !seeds_seen)
                    c->n_seeds = 0;
                if (f->type == F_ACTIVITY && !activity_seen)
                    c->n_activity = 0;
                seeds_seen |= f->type == F_SEED;
                activity_seen |= f->type == F_ACTIVITY;
                if (!field_set (c, f, value, why, sizeof why)) {
                    if (f->type == F_PATH && !strcmp (path, "cluster/key_file"))
                        memset (c->key, 0, sizeof c->key);
                    continue;
                }
            }
            conf_error (err, errlen, &src, sname, zconfig_name (item),
                        conf_nth (root, item, sname, zconfig_name (item)), why);
            rc = -1;
            break;
        }
    }
    zconfig_destroy (&root);
    zchunk_destroy (&chunk);
    return rc;
}

int gl_conf_set (gl_conf_t *c, const char *path, const char *value, char *err, size_t errlen)
{
    const field_t *f = field_find (path);
    char why[512];
    if (!f) {
        snprintf (err, errlen, "%s: unknown field", path);
        return -1;
    }
    if (field_set (c, f, value, why, sizeof why)) {
        snprintf (err, errlen, "%s: %s", path, why);
        return -1;
    }
    if (!strcmp (path, "cluster/key_file"))
        memset (c->key, 0, sizeof c->key);
    return 0;
}

/* ---- derived fields -------------------------------------------------------- */

static const char *home_dir (void)
{
    const char *home = getenv ("HOME");
    if (home && *home)
        return home;
    struct passwd *pw = getpwuid (getuid ());
    return pw ? pw->pw_dir : "/tmp";
}

/* A path from the file, relative to the file's directory. */
static void beside_conf (const gl_conf_t *c, const char *name, char *path, size_t size)
{
    if (name[0] != '/' && c->file[0]) {
        char dir[GL_PATH_MAX];
        gl_strlcpy (dir, c->file, sizeof dir);
        char *slash = strrchr (dir, '/');
        if (slash)
            *slash = '\0';
        else
            snprintf (dir, sizeof dir, ".");
        snprintf (path, size, "%.2000s/%.2000s", dir, name);
    }
    else
        gl_strlcpy (path, name, size);
}

/* Read the key file (relative paths are relative to the conf file). */
static int load_key_file (gl_conf_t *c, char *err, size_t errlen)
{
    char path[GL_PATH_MAX];
    beside_conf (c, c->key_file, path, sizeof path);

    FILE *fp = fopen (path, "r");
    if (!fp) {
        snprintf (err, errlen, "cluster/key_file: %s: %s", path, strerror (errno));
        return -1;
    }
    struct stat st;
    if (fstat (fileno (fp), &st) == 0 && (st.st_mode & 0077)) {
        snprintf (err, errlen,
                  "cluster/key_file: %s: readable by others (mode %03o); "
                  "chmod 600 it",
                  path, (unsigned) (st.st_mode & 0777));
        fclose (fp);
        return -1;
    }
    char text[256] = "";
    size_t n = fread (text, 1, sizeof text - 1, fp);
    text[n] = '\0';
    fclose (fp);
    if (gl_key_parse (text, c->key)) {
        snprintf (err, errlen,
                  "cluster/key_file: %s: not a key (expected 64 hex digits; "
                  "glpeer keygen makes one)",
                  path);
        sodium_memzero (text, sizeof text);
        return -1;
    }
    sodium_memzero (text, sizeof text);
    return 0;
}

int gl_conf_finish (gl_conf_t *c, char *err, size_t errlen)
{
    const char *where = c->file[0] ? c->file : "configuration";
    if (c->policy[0]) { /* relative to the file, as key_file */
        char path[GL_PATH_MAX];
        beside_conf (c, c->policy, path, sizeof path);
        if (strlen (path) >= sizeof c->policy) {
            snprintf (err, errlen, "%s: sched/policy: path too long", where);
            return -1;
        }
        gl_strlcpy (c->policy, path, sizeof c->policy);
    }
    if (!c->cluster[0]) {
        snprintf (err, errlen, "%s: cluster/name is required", where);
        return -1;
    }
    static const uint8_t zero[GL_KEY_BYTES];
    if (c->key_file[0]) {
        if (load_key_file (c, err, errlen))
            return -1;
    }
    else if (!memcmp (c->key, zero, sizeof zero)) {
        snprintf (err, errlen, "%s: cluster/key or cluster/key_file is required", where);
        return -1;
    }
    else if (c->file[0]) {
        /* an inline key deserves the same care as a key file */
        struct stat st;
        if (stat (c->file, &st) == 0 && (st.st_mode & 0077)) {
            snprintf (err, errlen,
                      "%s: holds cluster/key but is readable by others (mode %03o); "
                      "chmod 600 it, or move the key to a key_file",
                      c->file, (unsigned) (st.st_mode & 0777));
            return -1;
        }
    }
    if (!c->name[0]) {
        char host[256] = "";
        gethostname (host, sizeof host - 1);
        host[strcspn (host, ".")] = '\0';
        if (!gl_name_valid (host)) {
            snprintf (err, errlen, "host name '%s' is not a valid node name: set node/name", host);
            return -1;
        }
        snprintf (c->name, sizeof c->name, "%.63s", host);
    }
    if (!c->advertise[0]) {
        if (endpoint_wildcard (c->bind)) {
            snprintf (err, errlen,
                      "%s: node/advertise is required when node/bind (%s) "
                      "is a wildcard: other nodes need an address to reach this one",
                      where, c->bind);
            return -1;
        }
        gl_strlcpy (c->advertise, c->bind, sizeof c->advertise);
    }
    if (endpoint_wildcard (c->advertise)) {
        snprintf (err, errlen,
                  "%s: node/advertise (%s) must be a reachable address, not a wildcard", where,
                  c->advertise);
        return -1;
    }
    if (!c->runtime_dir[0])
        gl_default_runtime_dir (c->runtime_dir, sizeof c->runtime_dir);
    if (!c->state_dir[0]) {
        const char *xdg = getenv ("XDG_STATE_HOME");
        if (getuid () == 0)
            snprintf (c->state_dir, sizeof c->state_dir, "/var/lib/glunix/%s", c->name);
        else if (xdg && *xdg)
            snprintf (c->state_dir, sizeof c->state_dir, "%.3000s/glunix/%s", xdg, c->name);
        else
            snprintf (c->state_dir, sizeof c->state_dir, "%.3000s/.local/state/glunix/%s",
                      home_dir (), c->name);
    }
    if (c->probe_timeout_ms >= c->probe_interval_ms) {
        snprintf (err, errlen,
                  "%s: gossip/probe_timeout (%u ms) must be shorter than "
                  "gossip/probe_interval (%u ms)",
                  where, c->probe_timeout_ms, c->probe_interval_ms);
        return -1;
    }
    if (c->suspicion_max_mult < 1) {
        snprintf (err, errlen, "%s: gossip/suspicion_max_mult must be at least 1", where);
        return -1;
    }
    return 0;
}
