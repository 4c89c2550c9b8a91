/*  common/job/config_alerts.c: the job file's `alerts:` section, the
    thresholds a run is checked against at its end and, for throughput,
    while it runs (coordinator/alerts.h), as a rule table read by
    config_walk (config_int.h). Defaults are the tuning guides'
    thresholds: execution time over 2x the job's baseline, throughput
    under 50% of it, error rate over 5%, connections over 80% of a
    server's max_connections, a worker's memory over 80% of its limit.
    Every ratio may be 0, which turns that check off. */
#include "config_int.h"

static const config_rule_t s_alerts_rules[] = {
    CONFIG_R_NUMBER ("wall_ratio", alerts.wall_ratio, 0, 1000, 2.0),
    CONFIG_R_NUMBER ("throughput_ratio", alerts.throughput_ratio, 0, 1, 0.5),
    CONFIG_R_NUMBER ("error_rate", alerts.error_rate, 0, 1, 0.05),
    CONFIG_R_NUMBER ("connections", alerts.connections, 0, 1, 0.8),
    CONFIG_R_NUMBER ("memory", alerts.memory, 0, 1, 0.8),
    CONFIG_R_BOOL ("fail_run", alerts.fail_run),
};

const config_section_t config_alerts_section =
    CONFIG_SECTION_OF (s_alerts_rules, "alerts", NULL);
