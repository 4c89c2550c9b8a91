/*  common/job/jobprint.c: see jobprint.h. */
#include "jobprint.h"
#include "util.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define FNV_OFFSET 0xcbf29ce484222325ULL
#define FNV_PRIME  0x100000001b3ULL

static uint64_t
s_fnv (uint64_t h, const void *data, size_t len)
{
    const unsigned char *p = data;
    for (size_t i = 0; i < len; i++) {
        h ^= p[i];
        h *= FNV_PRIME;
    }
    return h;
}

/*  A value is hashed with a tag saying whether it is set, so that NULL,
    "" and a list of one empty string stay different. */
static uint64_t
s_str (uint64_t h, const char *s)
{
    if (!s)
        return s_fnv (h, "\x01", 1);
    h = s_fnv (h, "\x02", 1);
    return s_fnv (h, s, strlen (s) + 1);
}

static void
s_add (jobprint_t *p, const char *key, uint64_t h)
{
    if (p->count >= JOBPRINT_MAX_KEYS)
        return;
    jobprint_entry_t *e = &p->entries[p->count++];
    e->key = key;
    snprintf (e->hash, sizeof e->hash, "%016" PRIx64, h);
}

static void
s_add_str (jobprint_t *p, const char *key, const char *value)
{
    s_add (p, key, s_str (FNV_OFFSET, value));
}

static void
s_add_int (jobprint_t *p, const char *key, int64_t value)
{
    char text[32];
    snprintf (text, sizeof text, "%" PRId64, value);
    s_add_str (p, key, text);
}

static void
s_add_list (jobprint_t *p, const char *key, char **items, size_t count)
{
    uint64_t h = FNV_OFFSET;
    h = s_fnv (h, &count, sizeof count);
    for (size_t i = 0; i < count; i++)
        h = s_str (h, items[i]);
    s_add (p, key, h);
}

void
jobprint_compute (const config_t *cfg, jobprint_t *p)
{
    memset (p, 0, sizeof *p);
    bool file = cfg->source.kind == SOURCE_KIND_CSV;
    s_add_int (p, "source.kind", cfg->source.kind);
    if (file) {
        s_add_str (p, "source.path", cfg->source.path);
        uint64_t h = FNV_OFFSET;
        char seps[4] = { cfg->source.format.delimiter, cfg->source.format.quote,
                         cfg->source.format.escape, cfg->source.format.header ? 'h' : '-' };
        h = s_fnv (h, seps, sizeof seps);
        h = s_str (h, cfg->source.format.null_marker);
        h = s_str (h, cfg->source.format.encoding);
        s_add (p, "source.format", h);
        s_add_list (p, "source.columns", cfg->source.columns, cfg->source.column_count);
    }
    else {
        s_add_str (p, "source.query", cfg->source.query);
        s_add_int (p, "source.split", cfg->source.split);
    }
    s_add_str (p, "source.key", cfg->source.key);
    s_add_str (p, "target.table", cfg->target.table);
    s_add_int (p, "target.publish", cfg->target.publish);
    s_add_list (p, "target.merge.key", cfg->target.merge_key, cfg->target.merge_key_count);
    s_add_int (p, "target.merge.on_match", cfg->target.on_match);

    uint64_t all = FNV_OFFSET;
    for (size_t i = 0; i < p->count; i++) {
        all = s_str (all, p->entries[i].key);
        all = s_str (all, p->entries[i].hash);
    }
    snprintf (p->hash, sizeof p->hash, "%016" PRIx64, all);
}

char *
jobprint_keys_text (const jobprint_t *p)
{
    size_t cap = 1;
    for (size_t i = 0; i < p->count; i++)
        cap += strlen (p->entries[i].key) + 1 + 16 + 1;
    char *text = xmalloc (cap);
    size_t n = 0;
    text[0] = 0;
    for (size_t i = 0; i < p->count; i++)
        n += (size_t) snprintf (text + n, cap - n, "%s%s=%s", i ? ";" : "", p->entries[i].key,
                                p->entries[i].hash);
    return text;
}

static void
s_append (char *buf, size_t size, size_t *n, const char *key)
{
    if (*n >= size)
        return;
    int w = snprintf (buf + *n, size - *n, "%s%s", *n ? ", " : "", key);
    if (w > 0)
        *n += (size_t) w;
    if (*n >= size)
        *n = size;
}

/*  Finds key in the stored text; copies its hash into hash. */
static bool
s_lookup (const char *stored, const char *key, char hash[17])
{
    size_t kl = strlen (key);
    for (const char *p = stored; p && *p; ) {
        const char *end = strchr (p, ';');
        size_t len = end ? (size_t) (end - p) : strlen (p);
        if (len == kl + 17 && strncmp (p, key, kl) == 0 && p[kl] == '=') {
            memcpy (hash, p + kl + 1, 16);
            hash[16] = 0;
            return true;
        }
        p = end ? end + 1 : NULL;
    }
    return false;
}

int
jobprint_diff (const char *stored, const jobprint_t *p, char *changed, size_t size)
{
    if (size)
        changed[0] = 0;
    if (!stored || !strchr (stored, '='))
        return -1;
    /*  Every stored entry must be "key=<16 hex>". */
    for (const char *q = stored; q && *q; ) {
        const char *end = strchr (q, ';');
        size_t len = end ? (size_t) (end - q) : strlen (q);
        const char *eq = memchr (q, '=', len);
        if (!eq || (size_t) (q + len - eq - 1) != 16)
            return -1;
        q = end ? end + 1 : NULL;
    }
    int differ = 0;
    size_t n = 0;
    for (size_t i = 0; i < p->count; i++) {
        char hash[17];
        if (s_lookup (stored, p->entries[i].key, hash) && strcmp (hash, p->entries[i].hash) == 0)
            continue;
        differ++;
        s_append (changed, size, &n, p->entries[i].key);
    }
    /*  Keys only the stored side has (e.g. source.query of a postgres run
        resumed with a csv job). */
    for (const char *q = stored; q && *q; ) {
        const char *end = strchr (q, ';');
        const char *eq = strchr (q, '=');
        char key[64];
        size_t kl = (size_t) (eq - q);
        if (kl < sizeof key) {
            memcpy (key, q, kl);
            key[kl] = 0;
            bool known = false;
            for (size_t i = 0; i < p->count; i++)
                known = known || strcmp (p->entries[i].key, key) == 0;
            if (!known) {
                differ++;
                s_append (changed, size, &n, key);
            }
        }
        q = end ? end + 1 : NULL;
    }
    return differ;
}
