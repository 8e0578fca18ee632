/*  conf.h -- cluster.conf, the one file that describes a cluster.

    The file is ZPL (czmq's zconfig): sections, and indented `key = value`
    lines, four spaces per level.  Every field is listed in cluster.conf(5);
    an unknown field, a value of the wrong form or out of range is an error
    that names the file, the line and the field.  Command-line flags of
    `glpeer join` override the file (gl_conf_set), so one file can serve
    several peers on one machine.

        cluster
            name = "lab"
            key_file = "cluster.key"        # relative to this file
            seed = "tcp://10.0.0.1:7946"    # repeat for more seeds
        node
            bind = "tcp://0.0.0.0:7946"
            advertise = "tcp://10.0.0.2:7946"
        gossip
            probe_interval = 1s
*/
#ifndef GL_CONF_H
#define GL_CONF_H

#include <limits.h>
#include <stdint.h>
#include <stdbool.h>
#include "wire.h"
#include "seal.h"
#include "str.h"

#define GL_SEEDS_MAX    64
#define GL_PATH_MAX     4096
#define GL_ACTIVITY_MAX 16
#define GL_USERS_MAX    1024 /* node/allow_users, node/deny_users: bytes */
#define GL_UID_RANGES   16   /* node/uids: ranges */

typedef struct {
    char file[GL_PATH_MAX]; /* where it was read from, or "" */

    /* cluster */
    char cluster[GL_NAME_MAX + 1];
    uint8_t key[GL_KEY_BYTES];
    char key_file[GL_PATH_MAX]; /* "" when the key is inline */
    uint32_t n_seeds;
    char seeds[GL_SEEDS_MAX][GL_ADDR_MAX + 1];
    uint32_t clock_window_ms; /* packets older or newer are stale */
    bool root_jobs;           /* nodes run jobs of root (default no) */

    /* node */
    char name[GL_NAME_MAX + 1];
    char bind[GL_ADDR_MAX + 1];
    char advertise[GL_ADDR_MAX + 1];
    char runtime_dir[GL_PATH_MAX];
    char state_dir[GL_PATH_MAX];
    /* who this node runs jobs for, when it serves many users: user names
       separated by spaces or commas ("": anyone), and uid ranges */
    char allow_users[GL_USERS_MAX];
    char deny_users[GL_USERS_MAX];
    char uids[256];                       /* "1000-60000 70000-70999" */
    char agent_user[GL_JOB_USER_MAX + 1]; /* a machine's agent drops to it */

    /* gossip: the fields of swim_config_t, same names */
    uint32_t probe_interval_ms, probe_timeout_ms, indirect_checks;
    uint32_t suspicion_mult, suspicion_max_mult, retransmit_mult;
    uint32_t gossip_interval_ms, gossip_nodes, pushpull_interval_ms;
    uint32_t awareness_max, dead_reap_ms, join_retry_ms, max_piggyback, gossip_peers, probe_rings;

    /* idle: the fields of idle_config_t, plus how often to sample */
    char proc_dir[256];
    uint32_t n_activity;
    char activity[GL_ACTIVITY_MAX][256];
    uint32_t owner_idle_min_s;
    uint32_t owner_load_max_milli;
    uint64_t min_mem_avail_kb;
    uint32_t sample_interval_ms;
    uint32_t refresh_interval_ms; /* re-spread an unchanged estimate this often */

    /* transport: the agent's outgoing connections (cmd/links.h) */
    uint32_t max_links;    /* open at once, links held for jobs aside */
    uint32_t link_idle_ms; /* close a link unused this long */
    uint32_t send_queue;   /* messages queued per link (ZMQ_SNDHWM) */
    bool move_direct;      /* a moved job's image comes straight to its restorer */

    /* sched: a placement policy module (glsfi-cc), "" for none */
    char policy[GL_PATH_MAX];
    uint32_t policy_budget_ms; /* per call, then the policy is off */
    /* sched: coscheduling of gangs (sched/gang.h) */
    uint32_t gang_slice_ms; /* a row's turn: 10 ms .. 30 s */
    uint32_t gang_depth;    /* gang processes a core takes, one per row */
    char gang_stop[16];     /* "auto", "freezer", "signals" or "none" */
    /* sched: when the owner comes back (sched/jobs.h) */
    char owner_return[16];   /* "migrate", "suspend", "kill" or "stay" */
    uint32_t owner_grace_ms; /* how long guests may stay once the owner is back */
    /* sched: recovery (sched/jobs_recover.c): a job's latest checkpoint
       kept in its home's memory this often, 0 off; all kept images
       together at most this much */
    uint32_t checkpoint_every_ms;
    uint64_t checkpoint_memory_kb;

    /* log */
    char log_level[16]; /* error, warning, info, debug */
} gl_conf_t;

/* Defaults for every field (no file). */
void gl_conf_defaults (gl_conf_t *conf);

/* Read a file over the defaults.  Returns 0, or -1 with a message like
   "cluster.conf:7: gossip/probe_interval: '10x' is not a duration". */
int gl_conf_load (gl_conf_t *conf, const char *file, char *err, size_t errlen);

/* Override one field by its path ("node/name", "cluster/seed" appends).
   Same checks and messages as the file, without a line number. */
int gl_conf_set (gl_conf_t *conf, const char *path, const char *value, char *err, size_t errlen);

/* After loading and overrides: fill what is derived (node name from the
   host name, directories from the user, the key from key_file) and check
   that the whole is usable.  0 or -1 with a message. */
int gl_conf_finish (gl_conf_t *conf, char *err, size_t errlen);

/* Parse helpers, shared with the command line (durations are str.h's,
   gl_parse_duration_ms): "64M", "2G", "512k", "1024" (KiB) -> KiB;
   "0.3" -> 300 milli. */
int gl_parse_size_kb (const char *text, uint64_t *kb);
int gl_parse_milli (const char *text, uint64_t *milli);

/* node/uids: "LO-HI" or "UID", separated by spaces or commas, into
   ranges[n][2] (at most max).  0, or -1 when the text is not that. */
int gl_parse_uid_ranges (const char *text, uint32_t (*ranges)[2], size_t max, size_t *n);

/* Each word of a node/allow_users or node/deny_users list, in turn: the
   next word's length and *at moved to it, or 0 at the end. */
size_t gl_users_next (const char **at);

/* The runtime directory a client should use when none is given:
   $GLUNIX_RUNTIME_DIR, else the default for this user. */
void gl_default_runtime_dir (char *out, size_t len);

#endif
