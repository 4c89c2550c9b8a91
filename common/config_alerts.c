/*  common/config_alerts.c: the job file's `alerts:` section, the
    thresholds a run is checked against at its end and, for throughput,
    while it runs (coordinator/alerts.h). Defaults are the tuning guides'
    thresholds: execution time over 2x the job's baseline, throughput
    under 50% of it, error rate over 5%, connections over 80% of a
    server's max_connections, a worker's memory over 80% of its limit.
    Every ratio may be 0, which turns that check off. */
#include "config_int.h"

#include <string.h>

static const char *const s_alerts_keys[] =
    { "wall_ratio", "throughput_ratio", "error_rate", "connections", "memory", "fail_run",
      NULL };

void
config_alerts_default (config_t *cfg)
{
    cfg->alerts.wall_ratio = 2.0;
    cfg->alerts.throughput_ratio = 0.5;
    cfg->alerts.error_rate = 0.05;
    cfg->alerts.connections = 0.8;
    cfg->alerts.memory = 0.8;
    cfg->alerts.fail_run = false;
}

int
config_parse_alerts (config_ctx_t *ctx, yaml_node_t *map, config_t *cfg)
{
    int rc = config_ctx_check_mapping (ctx, map, "alerts", s_alerts_keys);
    if (rc)
        return rc < 0 ? -1 : 0;
    for (yaml_node_pair_t *pair = map->data.mapping.pairs.start;
         pair < map->data.mapping.pairs.top; pair++) {
        const char *key = config_ctx_key (ctx, pair);
        yaml_node_t *value = config_ctx_node (ctx, pair->value);
        if (strcmp (key, "wall_ratio") == 0)
            rc = config_ctx_get_double (ctx, value, "alerts.wall_ratio", 0, 1000,
                                        &cfg->alerts.wall_ratio);
        else
        if (strcmp (key, "throughput_ratio") == 0)
            rc = config_ctx_get_double (ctx, value, "alerts.throughput_ratio", 0, 1,
                                        &cfg->alerts.throughput_ratio);
        else
        if (strcmp (key, "error_rate") == 0)
            rc = config_ctx_get_double (ctx, value, "alerts.error_rate", 0, 1,
                                        &cfg->alerts.error_rate);
        else
        if (strcmp (key, "connections") == 0)
            rc = config_ctx_get_double (ctx, value, "alerts.connections", 0, 1,
                                        &cfg->alerts.connections);
        else
        if (strcmp (key, "memory") == 0)
            rc = config_ctx_get_double (ctx, value, "alerts.memory", 0, 1,
                                        &cfg->alerts.memory);
        else
        if (strcmp (key, "fail_run") == 0)
            rc = config_ctx_get_bool (ctx, value, "alerts.fail_run", &cfg->alerts.fail_run);
        if (rc)
            return -1;
    }
    return 0;
}
