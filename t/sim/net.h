/*  net.h -- the simulated network: delay, loss, asymmetric loss, partitions.

    Each message independently takes delay_min plus an exponential tail of
    mean (delay_mean - delay_min), so reordering happens as on a real LAN.
    It is lost with the global loss rate, with the rate of any link rule
    that covers (sender, receiver) in that direction, and always when the
    two ends sit in different partition groups.                          */
#ifndef GLSIM_NET_H
#define GLSIM_NET_H

#include "random.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct {
    uint32_t from, from_end, to, to_end;
    double loss;
} link_rule_t;

typedef struct {
    uint32_t n;
    double loss;
    uint64_t delay_min_us, delay_mean_us;
    uint32_t *group;   /* partition group per node; 0 = the main one */
    uint32_t n_groups; /* groups ever made, for fresh numbers */
    bool partitioned;
    link_rule_t *rules;
    size_t n_rules;
    rng_t loss_rng, delay_rng;
} net_t;

int net_init (net_t *net, uint32_t n, uint64_t seed, double loss, uint64_t delay_min_us,
              uint64_t delay_mean_us);
void net_free (net_t *net);

/* Cut nodes a..b off from everyone else (a new group), and heal all. */
void net_partition (net_t *net, uint32_t a, uint32_t b);
void net_heal (net_t *net);
/* Set the loss rate from one range to another (replaces an equal rule). */
int net_link_loss (net_t *net, uint32_t from, uint32_t from_end, uint32_t to, uint32_t to_end,
                   double loss);

bool net_reachable (const net_t *net, uint32_t from, uint32_t to);
/* The worst loss rate from `from` to `to`, all rules counted. */
double net_loss_between (const net_t *net, uint32_t from, uint32_t to);

/* Whether this message gets through, and after how long (µs). */
bool net_send (net_t *net, uint32_t from, uint32_t to, uint64_t *delay_us);
/* The same with the draws from these streams (another plane's, so that
   its messages never shift the fates of gossip's); loss false: only a
   partition loses it (a job's stream, which its link delivers). */
bool net_send_on (net_t *net, rng_t *loss_rng, rng_t *delay_rng, bool loss, uint32_t from,
                  uint32_t to, uint64_t *delay_us);

#endif
