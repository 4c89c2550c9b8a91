/*  common/config_int.h: what common/config.c shares with the files that
    parse a job file section of their own (common/config_alerts.c). Not for
    any other module: everyone else calls config_load. */
#ifndef FERRY_CONFIG_INT_H
#define FERRY_CONFIG_INT_H

#include "config.h"

#include <stdbool.h>
#include <stddef.h>
#include <yaml.h>

typedef struct {
    const char *origin;
    char *err;
    size_t errlen;
    yaml_document_t *doc;
} config_ctx_t;

/*  Checks that node is a mapping of known, unrepeated keys (`valid`);
    returns 0 for a mapping, 1 for null (an empty section), -1 after
    writing the error into ctx. */
int config_ctx_check_mapping (config_ctx_t *ctx, yaml_node_t *node, const char *path,
                              const char *const *valid);

/*  The key of a pair (a scalar: checked by config_ctx_check_mapping). */
const char *config_ctx_key (config_ctx_t *ctx, const yaml_node_pair_t *pair);

/*  The node of an index. */
yaml_node_t *config_ctx_node (config_ctx_t *ctx, int index);

/*  A number within [min, max] / a YAML boolean into *out. 0, or -1 with
    the error (naming path) in ctx. */
int config_ctx_get_double (config_ctx_t *ctx, yaml_node_t *node, const char *path, double min,
                           double max, double *out);
int config_ctx_get_bool (config_ctx_t *ctx, yaml_node_t *node, const char *path, bool *out);

/*  The alerts section's defaults into cfg (config_alerts.c). Can't fail. */
void config_alerts_default (config_t *cfg);

/*  Parses the alerts section (config_alerts.c). 0, or -1 with the error
    in ctx. */
int config_parse_alerts (config_ctx_t *ctx, yaml_node_t *map, config_t *cfg);

#endif
