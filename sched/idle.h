/*  idle.h -- how idle is this machine?  (idle-resource detection)

    Samples, every time it is asked:
      - cores (online CPUs) and the 1-minute load (<proc>/loadavg);
      - recent load: runnable tasks averaged over the last sample interval,
        from the procs_running line of <proc>/stat and busy CPU time;
      - guest load: CPU used by processes registered as glunix guests
        (<proc>/<pid>/stat), subtracted to get the owner's load;
      - memory available (<proc>/meminfo, MemAvailable);
      - owner idle time: seconds since the newest access or modification
        time of the configured activity files (input devices, terminals),
        as HTCondor's KeyboardIdle;
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

typedef struct {
    char     proc_dir[256];                /* "/proc" */
    uint32_t n_activity;
    char     activity[IDLE_PATHS_MAX][256];/* files or directories (their entries
                                              are checked, one level); globs ok:
                                              "/dev/input/event*" "/dev/pts"
                                              "/dev/tty[0-9]*" */
    uint32_t owner_idle_min_s;             /* 900 */
    uint32_t owner_load_max_milli;         /* 300 */
    uint64_t min_mem_avail_kb;             /* 65536 */
} idle_config_t;

void idle_config_default (idle_config_t *config);

typedef struct idle_t idle_t;

idle_t *idle_new (const idle_config_t *config);
void idle_destroy (idle_t **self_p);

/* Processes whose CPU time counts as guest load. */
void idle_add_guest (idle_t *self, int pid);
void idle_remove_guest (idle_t *self, int pid);

/* Take a sample at monotonic time now_ms, wall time wall_s.  Returns 0, or
   -1 with a message in err when a source could not be read (then out->state
   is GL_RES_UNAVAILABLE and the fields that could be read are filled). */
int idle_sample (idle_t *self, uint64_t now_ms, uint64_t wall_s, gl_res_t *out,
                 char *err, size_t errlen);

/* Why the last sample's state is what it is, e.g. "owner active 12 s ago". */
const char *idle_reason (idle_t *self);
const char *idle_state_name (int state);   /* "idle", "busy", "unavailable" */

#endif
