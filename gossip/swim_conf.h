/*  swim_conf.h -- swim_config_t from cluster.conf.

    The gossip section of cluster.conf has the fields of swim_config_t
    under the same names; glpeer and glsim both configure their state
    machines through this one function, so a simulation runs with exactly
    the timing a deployed peer would use.                               */
#ifndef GL_SWIM_CONF_H
#define GL_SWIM_CONF_H

#include "conf.h"
#include "swim.h"

void swim_config_from_conf (swim_config_t *config, const gl_conf_t *conf);

#endif
