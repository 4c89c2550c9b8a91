/*  common/job/config_value.c: one job file value of each kind of rule
    (config_int.h), read from its YAML node into its config_t member.

    Each reader checks the node's kind first (a mapping where a string is
    expected, ...), then the text, then the bounds, and writes one message
    naming the key path. A value is quoted in a message only by the
    readers of values that cannot be conninfos: a string's reader names
    the kind of node it got, never its text.
*/
#include "config_int.h"
#include "log.h"
#include "util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/*  The scalar text of node, or NULL after an error if node is not a
    scalar (null included) or holds a NUL byte. `what` is the expected
    kind for the message; only the node's kind is shown, never its value,
    so this is safe for conninfo keys. */
static const char *
s_scalar (config_ctx_t *ctx, yaml_node_t *node, const char *path, const char *what)
{
    if (node->type != YAML_SCALAR_NODE || config_ctx_is_null (node)) {
        config_ctx_error (ctx, node, "%s: must be %s, got %s", path, what,
                          config_ctx_kind_of (node));
        return NULL;
    }
    const char *v = (const char *) node->data.scalar.value;
    if (strlen (v) != node->data.scalar.length) {
        config_ctx_error (ctx, node, "%s: must not contain NUL characters", path);
        return NULL;
    }
    return v;
}

/*  A string into a new copy in *out (caller frees), "" only with
    `empty` (and then a bare null is "" too). */
static int
s_string (config_ctx_t *ctx, yaml_node_t *node, const char *path, bool empty, char **out)
{
    const char *v = empty && config_ctx_is_null (node)
                  ? "" : s_scalar (ctx, node, path, "a string");
    if (!v)
        return -1;
    if (*v == '\0' && !empty) {
        config_ctx_error (ctx, node, "%s: must not be empty", path);
        return -1;
    }
    *out = xstrdup (v);
    return 0;
}

/*  CONFIG_STRING and CONFIG_NAME: replaces *member. */
static int
s_read_string (config_ctx_t *ctx, yaml_node_t *node, const char *path,
               const config_rule_t *rule, char **member)
{
    char *v = NULL;
    if (s_string (ctx, node, path, rule->empty, &v))
        return -1;
    for (size_t i = 0; rule->kind == CONFIG_NAME && v[i]; i++)
        if (!((v[i] >= 'A' && v[i] <= 'Z') || (v[i] >= 'a' && v[i] <= 'z')
        ||    (v[i] >= '0' && v[i] <= '9') || v[i] == '_' || v[i] == '-')
        ||  i >= 32) {
            config_ctx_error (ctx, node, "%s: must be %s", path, rule->hint);
            free (v);
            return -1;
        }
    free (*member);
    *member = v;
    return 0;
}

/*  True if text is -?[0-9]+. */
static bool
s_is_integer_text (const char *text)
{
    const char *p = text;
    if (*p == '-')
        p++;
    if (!*p)
        return false;
    for (; *p; p++)
        if (*p < '0' || *p > '9')
            return false;
    return true;
}

/*  True if text is a plain decimal number: -?digits[.digits][e[+-]digits]
    (either side of the point may be empty, not both). No nan, inf, hex. */
static bool
s_is_number_text (const char *text)
{
    const char *p = text;
    if (*p == '-' || *p == '+')
        p++;
    size_t digits = 0;
    while (*p >= '0' && *p <= '9') {
        p++;
        digits++;
    }
    if (*p == '.') {
        p++;
        while (*p >= '0' && *p <= '9') {
            p++;
            digits++;
        }
    }
    if (digits == 0)
        return false;
    if (*p == 'e' || *p == 'E') {
        p++;
        if (*p == '-' || *p == '+')
            p++;
        if (*p < '0' || *p > '9')
            return false;
        while (*p >= '0' && *p <= '9')
            p++;
    }
    return *p == '\0';
}

/*  CONFIG_INT: into an int or an int64_t member, by its width. */
static int
s_read_int (config_ctx_t *ctx, yaml_node_t *node, const char *path,
            const config_rule_t *rule, void *member)
{
    int64_t v = 0;
    if (rule->word && node->type == YAML_SCALAR_NODE
    &&  strcmp ((const char *) node->data.scalar.value, rule->word) == 0)
        v = 0;
    else {
        /*  "must be auto or 1..4096": the word is the other choice. */
        char or_word [40] = "";
        if (rule->word)
            snprintf (or_word, sizeof or_word, "%s or ", rule->word);
        char what [64];
        snprintf (what, sizeof what, "%san integer", or_word);
        const char *text = s_scalar (ctx, node, path, what);
        if (!text)
            return -1;
        char shown [CONFIG_ECHO_MAX + 16];
        if (!s_is_integer_text (text)) {
            config_ctx_show (text, true, shown, sizeof shown);
            config_ctx_error (ctx, node, "%s: must be %s, got %s", path, what, shown);
            return -1;
        }
        if (util_parse_int64 (text, rule->min, rule->max, &v)) {
            config_ctx_show (text, false, shown, sizeof shown);
            config_ctx_error (ctx, node, "%s: must be %s%lld..%lld, got %s", path, or_word,
                              (long long) rule->min, (long long) rule->max, shown);
            return -1;
        }
    }
    if (rule->width == sizeof (int64_t))
        *(int64_t *) member = v;
    else {
        FERRY_ASSERT (rule->width == sizeof (int));
        *(int *) member = (int) v;
    }
    return 0;
}

/*  CONFIG_NUMBER. */
static int
s_read_number (config_ctx_t *ctx, yaml_node_t *node, const char *path,
               const config_rule_t *rule, double *member)
{
    const char *v = s_scalar (ctx, node, path, "a number");
    if (!v)
        return -1;
    char shown [CONFIG_ECHO_MAX + 16];
    if (!s_is_number_text (v)) {
        config_ctx_show (v, true, shown, sizeof shown);
        config_ctx_error (ctx, node, "%s: must be a number, got %s", path, shown);
        return -1;
    }
    if (util_parse_double (v, rule->dmin, rule->dmax, member)) {
        config_ctx_show (v, false, shown, sizeof shown);
        config_ctx_error (ctx, node, "%s: must be %g..%g, got %s", path, rule->dmin,
                          rule->dmax, shown);
        return -1;
    }
    return 0;
}

/*  CONFIG_ENUM: the scalar's index in rule->names. */
static int
s_read_enum (config_ctx_t *ctx, yaml_node_t *node, const char *path,
             const config_rule_t *rule, int *member)
{
    const char *const *names = rule->names;
    char list [128] = "";
    size_t n = 0;
    for (size_t i = 0; names[i] && n < sizeof list; i++)
        n += (size_t) snprintf (list + n, sizeof list - n, "%s%s",
                                i ? ", " : "", names[i]);
    if (node->type != YAML_SCALAR_NODE || config_ctx_is_null (node)) {
        config_ctx_error (ctx, node, "%s: must be one of %s; got %s", path, list,
                          config_ctx_kind_of (node));
        return -1;
    }
    const char *v = (const char *) node->data.scalar.value;
    for (int i = 0; names[i]; i++)
        if (strcmp (v, names[i]) == 0) {
            *member = i;
            return 0;
        }
    char shown [CONFIG_ECHO_MAX + 16];
    config_ctx_show (v, true, shown, sizeof shown);
    config_ctx_error (ctx, node, "%s: must be one of %s; got %s", path, list, shown);
    return -1;
}

/*  CONFIG_BOOL: a YAML boolean (true/false/yes/no/on/off, any case). */
static int
s_read_bool (config_ctx_t *ctx, yaml_node_t *node, const char *path, bool *member)
{
    const char *v = s_scalar (ctx, node, path, "a boolean");
    if (!v)
        return -1;
    static const char *const yes[] = { "true", "yes", "on", NULL };
    static const char *const no[] = { "false", "no", "off", NULL };
    for (int i = 0; yes[i]; i++)
        if (strcasecmp (v, yes[i]) == 0) {
            *member = true;
            return 0;
        }
    for (int i = 0; no[i]; i++)
        if (strcasecmp (v, no[i]) == 0) {
            *member = false;
            return 0;
        }
    char shown [CONFIG_ECHO_MAX + 16];
    config_ctx_show (v, true, shown, sizeof shown);
    config_ctx_error (ctx, node, "%s: must be true or false, got %s", path, shown);
    return -1;
}

/*  CONFIG_CHAR: one character (a single byte); with rule->empty, "" is 0. */
static int
s_read_char (config_ctx_t *ctx, yaml_node_t *node, const char *path,
             const config_rule_t *rule, char *member)
{
    const char *v = s_scalar (ctx, node, path, "one character");
    if (!v)
        return -1;
    size_t n = strlen (v);
    if (n == 1 || (n == 0 && rule->empty)) {
        *member = v[0];
        return 0;
    }
    char shown [CONFIG_ECHO_MAX + 16];
    config_ctx_show (v, true, shown, sizeof shown);
    config_ctx_error (ctx, node, "%s: must be one character%s, got %s", path,
                      rule->empty ? " (or \"\" for none)" : "", shown);
    return -1;
}

/*  CONFIG_LIST: a non-empty sequence of names (or, with rule->one, a single
    name) into a new array; rule->skip leaves its place NULL, and a list
    that skips every place is refused. A name may not come twice. */
static int
s_read_list (config_ctx_t *ctx, yaml_node_t *node, const char *path,
             const config_rule_t *rule, config_t *cfg)
{
    yaml_node_item_t *start = NULL, *top = NULL;
    bool one = false;
    if (node->type == YAML_SEQUENCE_NODE) {
        start = node->data.sequence.items.start;
        top = node->data.sequence.items.top;
        if (start == top) {
            config_ctx_error (ctx, node, "%s: must not be empty", path);
            return -1;
        }
    }
    else
    if (rule->one && node->type == YAML_SCALAR_NODE && !config_ctx_is_null (node))
        one = true;
    else {
        config_ctx_error (ctx, node, "%s: must be %s, got %s", path, rule->hint,
                          config_ctx_kind_of (node));
        return -1;
    }
    size_t n = one ? 1 : (size_t) (top - start), mapped = 0;
    char **names = xcalloc (n, sizeof (char *));
    for (size_t i = 0; i < n; i++) {
        char item_path [160];
        if (one)
            snprintf (item_path, sizeof item_path, "%s", path);
        else
            snprintf (item_path, sizeof item_path, "%s[%zu]", path, i);
        yaml_node_t *child = one ? node : config_ctx_node (ctx, start[i]);
        char *name = NULL;
        if (s_string (ctx, child, item_path, false, &name))
            goto error;
        if (rule->skip && strcmp (name, rule->skip) == 0) {
            free (name);
            continue;
        }
        for (size_t j = 0; j < i; j++)
            if (names[j] && strcmp (names[j], name) == 0) {
                char shown [CONFIG_ECHO_MAX + 16];
                config_ctx_show (name, true, shown, sizeof shown);
                config_ctx_error (ctx, child, "%s: %s%s%s", item_path, rule->dup_prefix,
                                  shown, rule->dup_suffix);
                free (name);
                goto error;
            }
        names[i] = name;
        mapped++;
    }
    if (mapped == 0) {
        config_ctx_error (ctx, node, "%s: skips every %s", path, rule->skip_what);
        goto error;
    }
    char ***member = (char ***) ((char *) cfg + rule->offset);
    size_t *count = (size_t *) ((char *) cfg + rule->count_offset);
    for (size_t i = 0; i < *count; i++)
        free ((*member)[i]);
    free (*member);
    *member = names;
    *count = n;
    return 0;
error:
    for (size_t i = 0; i < n; i++)
        free (names[i]);
    free (names);
    return -1;
}

/*  See config_int.h. */
int
config_value_read (config_ctx_t *ctx, yaml_node_t *node, const char *path,
                   const config_rule_t *rule, config_t *cfg)
{
    void *member = (char *) cfg + rule->offset;
    switch (rule->kind) {
        case CONFIG_STRING:
        case CONFIG_NAME:
            return s_read_string (ctx, node, path, rule, (char **) member);
        case CONFIG_INT:
            return s_read_int (ctx, node, path, rule, member);
        case CONFIG_NUMBER:
            return s_read_number (ctx, node, path, rule, (double *) member);
        case CONFIG_BOOL:
            return s_read_bool (ctx, node, path, (bool *) member);
        case CONFIG_ENUM:
            FERRY_ASSERT (rule->width == sizeof (int));
            return s_read_enum (ctx, node, path, rule, (int *) member);
        case CONFIG_CHAR:
            return s_read_char (ctx, node, path, rule, (char *) member);
        case CONFIG_LIST:
            return s_read_list (ctx, node, path, rule, cfg);
        case CONFIG_SECTION:
            break;
    }
    FERRY_ASSERT (!"config_value_read: a section is walked, not read");
    return -1;
}
