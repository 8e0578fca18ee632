/*  net.c -- the simulated network (see net.h). */
#include "net.h"

#include <stdlib.h>

int net_init (net_t *net, uint32_t n, uint64_t seed, double loss, uint64_t delay_min_us,
              uint64_t delay_mean_us)
{
    net->n = n;
    net->loss = loss;
    net->delay_min_us = delay_min_us;
    net->delay_mean_us = delay_mean_us;
    net->group = calloc (n, sizeof *net->group);
    net->n_groups = 0;
    net->partitioned = false;
    net->rules = NULL;
    net->n_rules = 0;
    net->loss_rng = rng_stream (seed, RNG_LOSS);
    net->delay_rng = rng_stream (seed, RNG_DELAY);
    return net->group ? 0 : -1;
}

void net_free (net_t *net)
{
    free (net->group);
    free (net->rules);
    net->group = NULL;
    net->rules = NULL;
}

void net_partition (net_t *net, uint32_t a, uint32_t b)
{
    uint32_t g = ++net->n_groups;
    for (uint32_t i = a; i <= b && i < net->n; i++)
        net->group[i] = g;
    net->partitioned = true;
}

void net_heal (net_t *net)
{
    for (uint32_t i = 0; i < net->n; i++)
        net->group[i] = 0;
    net->partitioned = false;
}

int net_link_loss (net_t *net, uint32_t from, uint32_t from_end, uint32_t to, uint32_t to_end,
                   double loss)
{
    for (size_t i = 0; i < net->n_rules; i++) {
        link_rule_t *r = &net->rules[i];
        if (r->from == from && r->from_end == from_end && r->to == to && r->to_end == to_end) {
            r->loss = loss;
            return 0;
        }
    }
    link_rule_t *rules = realloc (net->rules, (net->n_rules + 1) * sizeof *rules);
    if (!rules)
        return -1;
    net->rules = rules;
    net->rules[net->n_rules++] = (link_rule_t){ from, from_end, to, to_end, loss };
    return 0;
}

bool net_reachable (const net_t *net, uint32_t from, uint32_t to)
{
    return !net->partitioned || net->group[from] == net->group[to];
}

double net_loss_between (const net_t *net, uint32_t from, uint32_t to)
{
    double keep = 1.0 - net->loss;
    for (size_t i = 0; i < net->n_rules; i++) {
        const link_rule_t *r = &net->rules[i];
        if (from >= r->from && from <= r->from_end && to >= r->to && to <= r->to_end)
            keep *= 1.0 - r->loss;
    }
    return 1.0 - keep;
}

bool net_send_on (net_t *net, rng_t *loss_rng, rng_t *delay_rng, bool lossy, uint32_t from,
                  uint32_t to, uint64_t *delay_us)
{
    /* Draw both numbers for every message, lost or not, so the draws of
       one message never depend on the fate of another. */
    double u = rng_unit (loss_rng);
    double tail = rng_exp (delay_rng, (double) (net->delay_mean_us - net->delay_min_us));
    *delay_us = net->delay_min_us + (uint64_t) tail;
    if (!net_reachable (net, from, to))
        return false;
    if (!lossy)
        return true;
    double loss = net->n_rules ? net_loss_between (net, from, to) : net->loss;
    return u >= loss;
}

bool net_send (net_t *net, uint32_t from, uint32_t to, uint64_t *delay_us)
{
    return net_send_on (net, &net->loss_rng, &net->delay_rng, true, from, to, delay_us);
}
