/*  common/job/config_int.h: the job file's rule tables and the one walker that
    reads a YAML mapping by them, shared by the files of the job file
    parser (config.c, config_walk.c, config_value.c, config_rules.c,
    config_alerts.c). Not for any other module: everyone else calls
    config_load.

    A section of the job file is a config_section_t: its key path and one
    config_rule_t per key (in the order "valid keys:" lists them). A rule
    says what kind of value the key takes, where it goes in config_t
    (offsetof), its bounds or spellings, its default, and the words its
    messages use. To add a key: a member in config.h, a row in the
    section's table (config_rules.c), and the README's job file reference.
*/
#ifndef FERRY_CONFIG_INT_H
#define FERRY_CONFIG_INT_H

#include "config.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <yaml.h>

/*  Longest value echoed back in a message; longer ones end in "...". */
#define CONFIG_ECHO_MAX 48

typedef struct {
    const char *origin;
    char *err;
    size_t errlen;
    yaml_document_t *doc;
} config_ctx_t;

typedef enum {
    CONFIG_SECTION,     /* a mapping read by .section's rules */
    CONFIG_STRING,      /* a non-empty string (char *); with .empty "" too, and a
                           bare null is "" */
    CONFIG_NAME,        /* a CONFIG_STRING of letters, digits, _ and -, at most 32
                           bytes (it goes into SQL text); .hint says what */
    CONFIG_INT,         /* an integer in [min, max] (int or int64_t); with .word,
                           that word too, stored as 0 */
    CONFIG_NUMBER,      /* a plain decimal number in [dmin, dmax] (double) */
    CONFIG_BOOL,        /* true/false/yes/no/on/off, any case (bool) */
    CONFIG_ENUM,        /* one of .names, stored as its index (an enum) */
    CONFIG_CHAR,        /* one byte (char); with .empty "" too, stored as 0 */
    CONFIG_LIST         /* names: a sequence of non-empty strings (char **, the
                           count a size_t at .count_offset); see the LIST fields */
} config_kind_t;

typedef struct config_section_s config_section_t;

typedef struct {
    const char *key;
    config_kind_t kind;
    size_t offset;                      /* of the member in config_t */
    size_t width;                       /* sizeof the member */
    int64_t min, max;                   /* INT */
    double dmin, dmax;                  /* NUMBER */
    bool empty;                         /* STRING, CHAR: "" is a value */
    const char *word;                   /* INT: a word taken for 0 ("auto") */
    const char *const *names;           /* ENUM: spellings, by value, NULL-ended */
    const char *hint;                   /* NAME, LIST: "must be <hint>" */
    const config_section_t *section;    /* SECTION */
    /* LIST */
    size_t count_offset;                /* of the size_t count in config_t */
    bool one;                           /* a single name is a list of one */
    const char *skip;                   /* an item that leaves its place NULL... */
    const char *skip_what;              /* ...standing for one of these */
    const char *dup_prefix;             /* a repeated name: "<path>[i]: <prefix>"... */
    const char *dup_suffix;             /* ..."\"name\"<suffix>" */
    /* the default, set by config_new (0, false and NULL need none) */
    int64_t def;                        /* INT, BOOL, ENUM, CHAR */
    double ddef;                        /* NUMBER */
    const char *sdef;                   /* STRING, NAME */
} config_rule_t;

struct config_section_s {
    const char *path;                   /* key path, "source.format"; "" at the top */
    const config_rule_t *rules;
    size_t count;
    /*  Checks across the section's keys once all are read (NULL: none);
        map is the section's mapping. 0, or -1 with the error in ctx. */
    int (*finish) (config_ctx_t *ctx, yaml_node_t *map, config_t *cfg);
};

/*  Rows of a rule table: key, member of config_t, then bounds and default. */
#define CONFIG_MEMBER(k, f) \
    .key = (k), .offset = offsetof (config_t, f), .width = sizeof (((config_t *) 0)->f)
#define CONFIG_R_SECTION(k, s) { .key = (k), .kind = CONFIG_SECTION, .section = &(s) }
#define CONFIG_R_STRING(k, f)  { CONFIG_MEMBER (k, f), .kind = CONFIG_STRING }
#define CONFIG_R_INT(k, f, lo, hi, d) \
    { CONFIG_MEMBER (k, f), .kind = CONFIG_INT, .min = (lo), .max = (hi), .def = (d) }
#define CONFIG_R_NUMBER(k, f, lo, hi, d) \
    { CONFIG_MEMBER (k, f), .kind = CONFIG_NUMBER, .dmin = (lo), .dmax = (hi), .ddef = (d) }
#define CONFIG_R_BOOL(k, f)    { CONFIG_MEMBER (k, f), .kind = CONFIG_BOOL }
#define CONFIG_R_ENUM(k, f, n) { CONFIG_MEMBER (k, f), .kind = CONFIG_ENUM, .names = (n) }

/*  A section from its table. */
#define CONFIG_SECTION_OF(table, p, fin) \
    { .path = (p), .rules = (table), .count = sizeof (table) / sizeof (table)[0], \
      .finish = (fin) }

/*  The whole job file (config_rules.c) and its alerts section
    (config_alerts.c). */
extern const config_section_t config_job_section;
extern const config_section_t config_alerts_section;

/*  Writes "<origin>[:<line>]: <message>" into ctx->err (the line of node
    when given). Can't fail. */
void config_ctx_error (config_ctx_t *ctx, const yaml_node_t *node, const char *format, ...)
    __attribute__ ((format (printf, 3, 4)));

/*  A value as it may appear in a message: printable, bounded to
    CONFIG_ECHO_MAX bytes, and quoted when `quoted`. Non-printable bytes
    become \xNN. size must be at least CONFIG_ECHO_MAX + 16. */
void config_ctx_show (const char *text, bool quoted, char *buf, size_t size);

/*  True for a plain null scalar ("", ~, null, Null, NULL). */
bool config_ctx_is_null (const yaml_node_t *node);

/*  "a mapping", "a sequence", "null" or "a scalar": what a node is, for
    "must be X, got Y" messages. Never the value itself. */
const char *config_ctx_kind_of (const yaml_node_t *node);

/*  The node of an index. */
yaml_node_t *config_ctx_node (config_ctx_t *ctx, int index);

/*  The value of key in map, or NULL when map is not a mapping or has no
    such key. Only after the walk checked map (its keys are scalars). */
yaml_node_t *config_ctx_lookup (config_ctx_t *ctx, yaml_node_t *map, const char *key);

/*  Reads node, a mapping (or null: an empty section keeps its defaults),
    by the section's rules into cfg: every key checked for spelling and
    repetition, every value by its rule in file order, then the section's
    finish. 0, or -1 with the first problem in ctx. */
int config_walk (config_ctx_t *ctx, yaml_node_t *node, const config_section_t *section,
                 config_t *cfg);

/*  Sets the defaults of the section's rules (and its subsections') in
    cfg. Can't fail. */
void config_walk_defaults (const config_section_t *section, config_t *cfg);

/*  Frees the strings and lists the section's rules own in cfg and nulls
    them. Can't fail. */
void config_walk_free (const config_section_t *section, config_t *cfg);

/*  Reads one value (any kind but SECTION) by its rule into cfg; path is
    its key path, for messages. 0, or -1 with the error in ctx. */
int config_value_read (config_ctx_t *ctx, yaml_node_t *node, const char *path,
                       const config_rule_t *rule, config_t *cfg);

#endif
