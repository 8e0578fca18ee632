/*  gangs.h -- the gang plane in the simulator: sched/gang.c and
    sched/matrix.c on every node, driven as glpeer's agent drives them,
    and the invariants of coscheduling checked as the run goes.

    Every node has a gang_t for its life (a restart starts a fresh one),
    told of nodes by its own swim's events (JOINED and ALIVE: alive, DEAD
    and LEFT: not), ticked at its deadlines, and handed GL_MSG_GANG
    messages that travel the simulated network like gossip's (latency,
    loss, partitions, pauses, crashes; random draws of their own, so that
    gangs never shift gossip's).  Each gang of the scenario has a home and
    one process on each of its nodes, and both roles follow sched/'s
    rules: the home tells every node that hosted the gang who hosts it
    (MEMBERS, said at once on a change and again every
    JOBS_GANG_RESEND_MS), drops a host its swim declares dead or that said
    its process ended, says the gang ended when none is left, and pings
    each host every JOBS_PING_MS; a host kills its process when the home
    stopped pinging for JOBS_ORPHAN_MS or its swim declares the home dead
    (the pings and ends travel as a job's stream does: delayed, cut by
    partitions, not lost at random).  A crash takes the node's processes
    with it.  While a node hosts processes, it decides at every slice
    boundary of its own clock (gang_decide) what each of them does.

    Checked as the run goes, reported like the other invariants:
      "gang-fence"   no node obeys an order (a slice decided RUN or STOP)
                     or acts as leader (elected, placed) under a (term,
                     leader) lower than one it accepted for that gang in
                     this life, and its promise never goes back;
      "gang-leaders" never two nodes elected in the same term of a gang;
      "gang-run"     a gang whose home and hosts are up, unpaused and
                     connected runs coordinated (every host decides RUN
                     in one slice) within the bound after the last fault
                     and after its start;
      "gang-matrix"  within the bound after the last disturbance (a
                     fault, a heal, a gang starting, ending or losing a
                     host), every live node holds one matrix: the same
                     gangs in the same rows on the same peers;
      "gang-stopped" no host decides STOP for a gang continuously longer
                     than the failure-detection time plus a slice after
                     the leader it follows crashed, paused or was cut off.
    Failure detection is the longest suspicion plus two probe periods and
    a second; the bound is gang-bound, else failure detection, a gossip
    push-pull interval (to find the other side of a healed partition),
    two of the matrix's and a resend of the membership.               */
#ifndef GLSIM_GANGS_H
#define GLSIM_GANGS_H

#include "conf.h"
#include "swim.h"
#include "world.h"

#include <stdio.h>

gangs_t *gangs_new (world_t *w, const gl_conf_t *conf);
void gangs_free (gangs_t **self_p);

/* Hooks called by world.c. */
void gangs_node_start (gangs_t *self, uint32_t node);
void gangs_node_crash (gangs_t *self, uint32_t node); /* before it goes down */
void gangs_swim_event (gangs_t *self, uint32_t node, const swim_event_t *ev);
void gangs_recv (gangs_t *self, uint32_t to, uint32_t from, int plane, uint32_t gang,
                 const gl_msg_t *msg);
void gangs_event (gangs_t *self, const ev_t *ev);    /* EV_GTICK, EV_SLICE, EV_GEXIT */
void gangs_scen (gangs_t *self, const scen_ev_t *e); /* SE_GANG, SE_GANG_END */
void gangs_net_changed (gangs_t *self, bool healed);
void gangs_second (gangs_t *self);
void gangs_finish (gangs_t *self);

/* The node leading the gang named so now (the highest term a node leads
   and still hosts it), or UINT32_MAX. */
uint32_t gangs_leader (gangs_t *self, const char *name);

void gangs_report_text (FILE *f, const gangs_t *self);
void gangs_report_json (FILE *f, const gangs_t *self);

#endif
