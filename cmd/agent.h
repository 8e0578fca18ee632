/*  agent.h -- the glpeer agent: the wiring of one node.

    It owns the sockets and the clock, and feeds the protocol state
    machines (gossip/swim.h) and the idle sampler (sched/idle.h):

      links (one ROUTER: bound, and its own links) --open (seal.h)-->
          decode (wire.h) --> swim_recv
      swim_pop --> encode --> seal --> links: a member's route or a link
          to it (links.h)
      every sample_interval: idle_sample --> swim_set_res
      <runtime_dir>/glpeer.sock: status, leave (ctl.h)
      SIGTERM, SIGINT: leave gracefully, then exit

    All of it on one event loop (loop.h), a callback per source: the
    transport's sockets, the control socket's clients (ctl.c), the job pipes (jobs.c
    says which), the signals, and timers; the protocol machines run
    before every wait and say how long it may be.  Status output is
    rendered by status.c.

    Nothing protocol-specific is decided here.                          */
#ifndef GL_AGENT_H
#define GL_AGENT_H

#include "conf.h"

/* Run the agent until it leaves.  Returns the process exit status.
   When ready_fd >= 0 the agent writes "ok" to it once it is up, or the
   reason it could not start, and closes it (glpeer join -d waits on it). */
int agent_run (const gl_conf_t *conf, int ready_fd);

/* Make dir (and its parents) for the agent's private files: it must end
   up owned by us and closed to others.  0, or -1 with a message. */
int agent_mkdir_private (const char *dir, char *err, size_t errlen);

#endif
