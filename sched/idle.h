/*  idle.h -- how idle is this machine?  (idle-resource detection)

    Samples, every time it is asked:
      - cores (the cpuN lines of <proc>/stat: the online CPUs) and the
        1-minute load (<proc>/loadavg);
      - recent load: CPUs busy on average over the interval since the last
        sample, from the aggregate "cpu" line of <proc>/stat.  The first
        sample has no interval, so it takes procs_running less one (the
        agent itself), at most one per core;
      - guest load: CPU used by processes registered as glunix guests
        (<proc>/<pid>/stat, utime + stime), subtracted to get the owner's
        load; guests that have exited are dropped;
      - memory available (<proc>/meminfo, MemAvailable);
      - owner idle time: seconds since the newest time on the configured
        activity files (input devices, terminals), as HTCondor's
        KeyboardIdle.  A terminal counts by its access time alone: the
        kernel sets it on input, but sets the modification time on output,
        which our own jobs produce.  Other files count by the newer of the
        two.  /dev/tty, /dev/console and /dev/ptmx are skipped: nobody
        types on an alias; so is a guest's own terminal (its
        controlling terminal, <proc>/<pid>/stat's tty_nr: the pty of a
        glx -t job, which its user types into from another machine, and
        which would otherwise drive the job off every node it lands
        on).  With no activity file at all (a headless
        server) owner_idle_s is IDLE_NEVER;
    and derives a state (wire.h gl_res_state_t):
      - unavailable when memory available is below min_mem_avail_kb;
      - busy when the owner was active within owner_idle_min_s, or the
        owner's load exceeds owner_load_max_milli (per machine);
      - idle otherwise.
    Defaults follow HTCondor's desktop policy (owner away 15 minutes, owner
    load at most 0.3).  Paths can point anywhere, so tests simulate an
    owner typing (touch a file) or a load (a fake proc directory).      */
#ifndef GL_IDLE_H
#define GL_IDLE_H

#include "wire.h"

#define IDLE_PATHS_MAX 16
#define IDLE_NEVER     UINT32_MAX /* owner_idle_s: no activity file exists */

typedef struct {
    char proc_dir[256]; /* "/proc" */
    uint32_t n_activity;
    char activity[IDLE_PATHS_MAX][256]; /* files or directories (their entries
                                              are checked, one level); globs ok:
                                              "/dev/input/event*" "/dev/pts"
                                              "/dev/tty[0-9]*" */
    uint32_t owner_idle_min_s;          /* 900 */
    uint32_t owner_load_max_milli;      /* 300 */
    uint64_t min_mem_avail_kb;          /* 65536 */
} idle_config_t;

void idle_config_default (idle_config_t *config);

typedef struct idle_t idle_t;

/* NULL when memory is short or the config is unusable (no proc_dir,
   n_activity above IDLE_PATHS_MAX). */
idle_t *idle_new (const idle_config_t *config);
void idle_destroy (idle_t **self_p);

/* Processes whose CPU time counts as guest load.  Adding reads the
   process's CPU time at once, so its next sample counts only what it uses
   from now on.  Returns 0, or -1 when the process can't be read (it is
   gone) or memory is short: its load would then count as the owner's. */
int idle_add_guest (idle_t *self, int pid);
void idle_remove_guest (idle_t *self, int pid);

/* Take a sample at monotonic time now_ms, wall time wall_s.  Returns 0, or
   -1 with a message in err when a source could not be read (then out->state
   is GL_RES_UNAVAILABLE and the fields that could be read are filled). */
int idle_sample (idle_t *self, uint64_t now_ms, uint64_t wall_s, gl_res_t *out, char *err,
                 size_t errlen);

/* Whether the owner touched one of the activity sources the last sample
   found (no new scan of the patterns) since that sample: a stat or two,
   so that a keystroke can be seen between samples.  False before the
   first sample. */
bool idle_touched (idle_t *self);

/* Why the last sample's state is what it is, e.g. "owner active 12 s ago";
   valid until the next sample. */
const char *idle_reason (idle_t *self);
const char *idle_state_name (int state); /* "idle", "busy", "unavailable" */

/* Does b tell the cluster something a does not?  True when the state or
   the core count changed, the 1-minute load moved by IDLE_LOAD_STEP_MILLI
   or more, available memory moved by IDLE_MEM_STEP_PCT percent of the
   total or more, or the owner's idle time entered another octave (1024 s,
   2048 s, ... up to IDLE_OWNER_OCTAVE_MAX_S: from a little above the
   default owner_idle_min, since placement weighs it only on idle
   machines; an owner at work who pauses a minute or two must not make
   every member check a signature).  The recent and owner loads
   are left out on purpose: they jitter from second to second, and what of
   them matters (the owner's load crossing its threshold) shows as a change
   of state.  The agent spreads a new estimate only then (and on a refresh
   an hour apart), so steady machines cost the gossip nothing: what others
   hold of a live member is its estimate within these steps, the owner's
   idle time within half of it (or IDLE_OWNER_OCTAVE_MIN_S below),
   however long ago it was signed. */
#define IDLE_LOAD_STEP_MILLI    500
#define IDLE_MEM_STEP_PCT       5
#define IDLE_OWNER_OCTAVE_MIN_S 1024
#define IDLE_OWNER_OCTAVE_MAX_S 65536
bool idle_res_differs (const gl_res_t *a, const gl_res_t *b);

#endif
