/*  swim_conf.c -- swim_config_t from cluster.conf (see swim_conf.h). */
#include "swim_conf.h"

void swim_config_from_conf (swim_config_t *config, const gl_conf_t *conf)
{
    swim_config_default (config);
    config->probe_interval_ms = conf->probe_interval_ms;
    config->probe_timeout_ms = conf->probe_timeout_ms;
    config->indirect_checks = conf->indirect_checks;
    config->suspicion_mult = conf->suspicion_mult;
    config->suspicion_max_mult = conf->suspicion_max_mult;
    config->retransmit_mult = conf->retransmit_mult;
    config->gossip_interval_ms = conf->gossip_interval_ms;
    config->gossip_nodes = conf->gossip_nodes;
    config->pushpull_interval_ms = conf->pushpull_interval_ms;
    config->awareness_max = conf->awareness_max;
    config->dead_reap_ms = conf->dead_reap_ms;
    config->join_retry_ms = conf->join_retry_ms;
    config->max_piggyback = conf->max_piggyback;
    config->gossip_peers = conf->gossip_peers;
    config->probe_rings = conf->probe_rings;
    /* random targets beyond the links an agent keeps are a connection
       set-up each (gossip in swim.c) */
    config->news_random_max = conf->max_links;
}
