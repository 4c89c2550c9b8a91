/*  common/job/config_walk.c: the one walker of the job file's sections.

    config_walk reads a YAML mapping by a section's rule table
    (config_int.h): it checks that the node is a mapping whose keys are
    names the section knows, none repeated (an unknown key gets a "did you
    mean" or the list of valid keys), then reads each value in file order
    by its rule (config_value.c, or a subsection by the same walk), then
    runs the section's cross-key check. The tables also give config_new
    its defaults and config_destroy what to free. The messages' common
    shape, "<origin>[:<line>]: <key path>: <problem>", is written here.
*/
#include "config_int.h"
#include "util.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>


/* --------------------------------------------------------------------- */
/*  Messages                                                              */

/*  See config_int.h. */
void
config_ctx_error (config_ctx_t *ctx, const yaml_node_t *node, const char *format, ...)
{
    if (!ctx->err || ctx->errlen == 0)
        return;
    int n;
    if (node)
        n = snprintf (ctx->err, ctx->errlen, "%s:%lu: ", ctx->origin,
                      (unsigned long) node->start_mark.line + 1);
    else
        n = snprintf (ctx->err, ctx->errlen, "%s: ", ctx->origin);
    if (n < 0 || (size_t) n >= ctx->errlen)
        return;
    va_list args;
    va_start (args, format);
    vsnprintf (ctx->err + n, ctx->errlen - (size_t) n, format, args);
    va_end (args);
}

/*  See config_int.h. */
void
config_ctx_show (const char *text, bool quoted, char *buf, size_t size)
{
    size_t n = 0;
    size_t limit = size - 6;            /* room for "...", quote, NUL */
    if (quoted)
        buf[n++] = '"';
    for (const unsigned char *p = (const unsigned char *) text; *p; p++) {
        if ((size_t) (p - (const unsigned char *) text) >= CONFIG_ECHO_MAX
        ||  n + 4 > limit) {
            memcpy (buf + n, "...", 3);
            n += 3;
            break;
        }
        if (*p == '"' || *p == '\\') {
            buf[n++] = '\\';
            buf[n++] = (char) *p;
        }
        else
        if (*p < 0x20 || *p == 0x7f) {
            snprintf (buf + n, 5, "\\x%02x", *p);
            n += 4;
        }
        else
            buf[n++] = (char) *p;
    }
    if (quoted)
        buf[n++] = '"';
    buf[n] = '\0';
}

/*  See config_int.h. */
bool
config_ctx_is_null (const yaml_node_t *node)
{
    if (node->type != YAML_SCALAR_NODE
    ||  node->data.scalar.style != YAML_PLAIN_SCALAR_STYLE)
        return false;
    const char *v = (const char *) node->data.scalar.value;
    return strcmp (v, "") == 0 || strcmp (v, "~") == 0
        || strcmp (v, "null") == 0 || strcmp (v, "Null") == 0
        || strcmp (v, "NULL") == 0;
}

/*  See config_int.h. */
const char *
config_ctx_kind_of (const yaml_node_t *node)
{
    if (node->type == YAML_MAPPING_NODE)
        return "a mapping";
    if (node->type == YAML_SEQUENCE_NODE)
        return "a sequence";
    if (config_ctx_is_null (node))
        return "null";
    return "a scalar";
}

/*  Levenshtein distance, for "did you mean" suggestions. Returns a large
    number for strings too long to bother with. */
static size_t
s_edit_distance (const char *a, const char *b)
{
    size_t la = strlen (a), lb = strlen (b);
    if (la > 63 || lb > 63)
        return 1000;
    size_t row[64];
    for (size_t j = 0; j <= lb; j++)
        row[j] = j;
    for (size_t i = 1; i <= la; i++) {
        size_t diag = row[0];
        row[0] = i;
        for (size_t j = 1; j <= lb; j++) {
            size_t up = row[j];
            size_t cost = a[i - 1] == b[j - 1] ? 0 : 1;
            size_t best = diag + cost;
            if (up + 1 < best)
                best = up + 1;
            if (row[j - 1] + 1 < best)
                best = row[j - 1] + 1;
            row[j] = best;
            diag = up;
        }
    }
    return row[lb];
}


/* --------------------------------------------------------------------- */
/*  Nodes                                                                 */

/*  See config_int.h. */
yaml_node_t *
config_ctx_node (config_ctx_t *ctx, int index)
{
    return yaml_document_get_node (ctx->doc, index);
}

/*  The name of a pair's key; only after s_check_mapping accepted the
    mapping (so every key is a scalar). */
static const char *
s_key (config_ctx_t *ctx, const yaml_node_pair_t *pair)
{
    return (const char *) config_ctx_node (ctx, pair->key)->data.scalar.value;
}

/*  See config_int.h. */
yaml_node_t *
config_ctx_lookup (config_ctx_t *ctx, yaml_node_t *map, const char *key)
{
    if (!map || map->type != YAML_MAPPING_NODE)
        return NULL;
    for (yaml_node_pair_t *pair = map->data.mapping.pairs.start;
         pair < map->data.mapping.pairs.top; pair++)
        if (strcmp (s_key (ctx, pair), key) == 0)
            return config_ctx_node (ctx, pair->value);
    return NULL;
}

static const config_rule_t *
s_rule (const config_section_t *section, const char *key)
{
    for (size_t i = 0; i < section->count; i++)
        if (strcmp (section->rules[i].key, key) == 0)
            return &section->rules[i];
    return NULL;
}

/*  The "unknown key" message: the nearest valid key when one is close
    enough to be a typo, else the list of valid keys. */
static void
s_unknown_key (config_ctx_t *ctx, yaml_node_t *key, const char *name,
               const config_section_t *section, const char *prefix, const char *sep)
{
    char shown [CONFIG_ECHO_MAX + 16];
    config_ctx_show (name, true, shown, sizeof shown);
    const char *suggestion = NULL;
    size_t best = 1000;
    size_t limit = strlen (name) > 4 ? 2 : 1;
    for (size_t i = 0; i < section->count; i++) {
        size_t d = s_edit_distance (name, section->rules[i].key);
        if (d <= limit && d < best) {
            best = d;
            suggestion = section->rules[i].key;
        }
    }
    if (suggestion) {
        config_ctx_error (ctx, key, "%s%sunknown key %s (did you mean \"%s\"?)",
                          prefix, sep, shown, suggestion);
        return;
    }
    char list [256] = "";
    size_t n = 0;
    for (size_t i = 0; i < section->count && n < sizeof list; i++)
        n += (size_t) snprintf (list + n, sizeof list - n, "%s%s",
                                i ? ", " : "", section->rules[i].key);
    config_ctx_error (ctx, key, "%s%sunknown key %s (valid keys: %s)",
                      prefix, sep, shown, list);
}

/*  Checks that node is a mapping whose keys are scalars, each one of the
    section's and none repeated. Returns 0 for a mapping, 1 for null (an
    empty section: all defaults), -1 on error. */
static int
s_check_mapping (config_ctx_t *ctx, yaml_node_t *node, const config_section_t *section)
{
    const char *path = section->path;
    if (config_ctx_is_null (node))
        return 1;
    if (node->type != YAML_MAPPING_NODE) {
        if (*path)
            config_ctx_error (ctx, node, "%s: must be a mapping, got %s", path,
                              config_ctx_kind_of (node));
        else
            config_ctx_error (ctx, node, "the job file must be a mapping of sections, got %s",
                              config_ctx_kind_of (node));
        return -1;
    }
    const char *sep = *path ? ": " : "";
    yaml_node_pair_t *start = node->data.mapping.pairs.start;
    yaml_node_pair_t *top = node->data.mapping.pairs.top;
    for (yaml_node_pair_t *pair = start; pair < top; pair++) {
        yaml_node_t *key = config_ctx_node (ctx, pair->key);
        if (key->type != YAML_SCALAR_NODE) {
            config_ctx_error (ctx, key, "%s%skeys must be names, got %s", path, sep,
                              config_ctx_kind_of (key));
            return -1;
        }
        const char *name = (const char *) key->data.scalar.value;
        if (!s_rule (section, name)) {
            s_unknown_key (ctx, key, name, section, path, sep);
            return -1;
        }
        for (yaml_node_pair_t *prev = start; prev < pair; prev++) {
            yaml_node_t *other = config_ctx_node (ctx, prev->key);
            if (strcmp ((const char *) other->data.scalar.value, name) == 0) {
                char shown [CONFIG_ECHO_MAX + 16];
                config_ctx_show (name, true, shown, sizeof shown);
                config_ctx_error (ctx, key, "%s%sduplicate key %s (first at line %lu)",
                                  path, sep, shown,
                                  (unsigned long) other->start_mark.line + 1);
                return -1;
            }
        }
    }
    return 0;
}


/* --------------------------------------------------------------------- */
/*  The walk                                                              */

/*  See config_int.h. */
int
config_walk (config_ctx_t *ctx, yaml_node_t *node, const config_section_t *section,
             config_t *cfg)
{
    int rc = s_check_mapping (ctx, node, section);
    if (rc)
        return rc < 0 ? -1 : 0;
    for (yaml_node_pair_t *pair = node->data.mapping.pairs.start;
         pair < node->data.mapping.pairs.top; pair++) {
        const config_rule_t *rule = s_rule (section, s_key (ctx, pair));
        yaml_node_t *value = config_ctx_node (ctx, pair->value);
        if (rule->kind == CONFIG_SECTION)
            rc = config_walk (ctx, value, rule->section, cfg);
        else {
            char path [128];
            snprintf (path, sizeof path, "%s%s%s", section->path,
                      *section->path ? "." : "", rule->key);
            rc = config_value_read (ctx, value, path, rule, cfg);
        }
        if (rc)
            return -1;
    }
    return section->finish ? section->finish (ctx, node, cfg) : 0;
}

/*  See config_int.h. */
void
config_walk_defaults (const config_section_t *section, config_t *cfg)
{
    for (size_t i = 0; i < section->count; i++) {
        const config_rule_t *rule = &section->rules[i];
        void *member = (char *) cfg + rule->offset;
        switch (rule->kind) {
            case CONFIG_SECTION:
                config_walk_defaults (rule->section, cfg);
                break;
            case CONFIG_STRING:
            case CONFIG_NAME:
                if (rule->sdef)
                    *(char **) member = xstrdup (rule->sdef);
                break;
            case CONFIG_INT:
                if (rule->width == sizeof (int64_t))
                    *(int64_t *) member = rule->def;
                else
                    *(int *) member = (int) rule->def;
                break;
            case CONFIG_NUMBER:
                *(double *) member = rule->ddef;
                break;
            case CONFIG_BOOL:
                *(bool *) member = rule->def != 0;
                break;
            case CONFIG_ENUM:
                *(int *) member = (int) rule->def;
                break;
            case CONFIG_CHAR:
                *(char *) member = (char) rule->def;
                break;
            case CONFIG_LIST:
                break;
        }
    }
}

/*  See config_int.h. */
void
config_walk_free (const config_section_t *section, config_t *cfg)
{
    for (size_t i = 0; i < section->count; i++) {
        const config_rule_t *rule = &section->rules[i];
        void *member = (char *) cfg + rule->offset;
        if (rule->kind == CONFIG_SECTION)
            config_walk_free (rule->section, cfg);
        else
        if (rule->kind == CONFIG_STRING || rule->kind == CONFIG_NAME) {
            free (*(char **) member);
            *(char **) member = NULL;
        }
        else
        if (rule->kind == CONFIG_LIST) {
            char **list = *(char ***) member;
            size_t *count = (size_t *) ((char *) cfg + rule->count_offset);
            for (size_t j = 0; j < *count; j++)
                free (list[j]);
            free (list);
            *(char ***) member = NULL;
            *count = 0;
        }
    }
}
