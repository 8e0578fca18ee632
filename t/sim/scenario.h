/*  scenario.h -- what a simulation run does, as flags or as a small file.

    A scenario is a cluster (size, timing, network) and a list of timed
    events.  Flags such as --crashes 20 draw their events from the seed
    when the run starts (scen_expand), so every run is a plain list of
    events that can be printed (scen_write), read back (scen_load) and
    cut down (the search mode's minimizer).  The file format, one item a
    line, '#' starts a comment:

        nodes 1000
        duration 10m
        seed 7
        loss 0.01                     # every message, both ways
        delay 200us 1ms               # minimum, mean (exponential tail)
        at 30s crash 17
        at 40s restart 17             # a new generation, same name
        at 50s pause 3 5s             # as under SIGSTOP
        at 60s partition 0-99         # these nodes, cut off from the rest
        at 90s heal
        at 10s loss 0.05              # change the loss rate
        at 10s linkloss 0-9 10-19 0.5 # from the first set to the second only
        at 0 skew 4 250ms 0.001       # clock offset, rate drift (0.1 %)
        at 70s update 12              # a fresh resource estimate from 12
        crashes 10                    # as the flags: drawn from the seed
        restart-after 30s             # (also pauses, pause-len, updates)

    The gang plane (gangs.h), when a scenario has gangs:

        gangs 200 2-8                 # 200 gangs of 2 to 8 nodes, drawn
        gang-life 60s                 # each ends after 30..90 s, replaced
        gang-bound 90s                # the bound of the gang checks
        gang-cores 2                  # slots of a node for gangs (1)
        at 20s gang g1 5 8-10,14      # gang g1, home n5, on n8..n10, n14
        at 80s gang-end g1            # its processes finish
        at 40s crash leader g1        # whoever leads g1 then (also
                                      # restart, pause, partition)

    Times take us, ms, s, m, h (a bare number is ms).                    */
#ifndef GLSIM_SCENARIO_H
#define GLSIM_SCENARIO_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

typedef enum {
    SE_CRASH = 1,
    SE_RESTART,
    SE_PAUSE,
    SE_PARTITION,
    SE_HEAL,
    SE_LOSS,
    SE_LINKLOSS,
    SE_SKEW,
    SE_UPDATE,
    SE_GANG,     /* a gang starts: gang, a = its home, list = its nodes */
    SE_GANG_END, /* its processes finish */
} scen_kind_t;

#define SCEN_NAME_MAX 23  /* a gang's name in a scenario */
#define SCEN_LIST_MAX 191 /* a gang's nodes: "8-10,14" */
#define SCEN_GANG_MAX 256 /* ... at most so many */

typedef struct {
    uint64_t at_us;
    uint8_t kind;      /* scen_kind_t */
    uint32_t a, a_end; /* a node, or the range a..a_end */
    uint32_t b, b_end; /* LINKLOSS: the receiving range */
    uint64_t len_us;   /* PAUSE: how long; SKEW: the offset */
    double value;      /* LOSS, LINKLOSS: a rate; SKEW: drift */
    /* GANG, GANG_END, and a CRASH, RESTART, PAUSE or PARTITION of the
       node leading a gang when it happens (leader true; a, a_end 0) */
    char gang[SCEN_NAME_MAX + 1];
    char list[SCEN_LIST_MAX + 1];
    bool leader;
} scen_ev_t;

typedef struct {
    uint32_t nodes;
    uint64_t duration_us;
    uint64_t seed;
    double loss;
    uint64_t delay_min_us, delay_mean_us;
    uint64_t start_spread_us; /* nodes start at random times in [0, this) */
    uint64_t warmup_us;       /* drawn faults and measures start after it;
                                       0: 30 s + 0.1 s per node, for the joins */
    uint64_t settle_us;       /* quiet time before the final convergence check;
                                       0: derived from the timing */
    /* Faults drawn from the seed by scen_expand. */
    uint32_t crashes, pauses, updates;
    uint64_t restart_after_us; /* 0: crashed nodes stay down */
    uint64_t pause_len_us;
    /* Gangs drawn from the seed by scen_expand: n_gangs of gang_min to
       gang_max nodes at the end of the warmup; with gang_life, each ends
       after half to one and a half of it and a new one starts. */
    uint32_t n_gangs, gang_min, gang_max;
    uint64_t gang_life_us;
    uint64_t gang_bound_us; /* the gang checks' bound; 0: derived */
    uint32_t gang_cores;    /* slots a node has for gangs; 0: 1 */

    scen_ev_t *evs;
    size_t n_evs, cap_evs;
} scen_t;

void scen_init (scen_t *s); /* defaults: 64 nodes, 5 minutes, LAN */
void scen_free (scen_t *s);
int scen_add (scen_t *s, const scen_ev_t *ev);
void scen_copy (scen_t *dst, const scen_t *src);

/* Read a file over s; 0, or -1 with "file:line: reason" in err. */
int scen_load (scen_t *s, const char *file, char *err, size_t errlen);
/* One line of the format above (without "at T" for settings). */
int scen_line (scen_t *s, const char *line, char *err, size_t errlen);
void scen_write (const scen_t *s, FILE *f);

/* Turn --crashes, --pauses, --updates into events, then sort all events
   by time (stable).  Clears the counts, so expanding twice is harmless. */
void scen_expand (scen_t *s);
uint64_t scen_warmup (const scen_t *s);

/* A gang's node list ("8-10,14") into nodes (up to max, in order);
   how many, or -1 when malformed or a node is not below n_nodes. */
int scen_parse_list (const char *list, uint32_t n_nodes, uint32_t *nodes, size_t max);

/* "1.5s" -> 1500000; "250" -> 250000 (ms); -1 when malformed. */
int scen_parse_time (const char *text, uint64_t *us);
void scen_format_time (uint64_t us, char *out, size_t len);
const char *scen_kind_name (int kind);

#endif
