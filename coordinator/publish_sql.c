/*  coordinator/publish_sql.c: see publish_sql.h. */
#include "publish_sql.h"
#include "pg.h"
#include "util.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

/*  A growable string. */
typedef struct { char *s; size_t len, cap; } sbuf_t;

static void
s_add (sbuf_t *b, const char *text)
{
    size_t n = strlen (text);
    if (b->len + n + 1 > b->cap) {
        b->cap = (b->len + n + 1) * 2;
        b->s = xrealloc (b->s, b->cap);
    }
    memcpy (b->s + b->len, text, n + 1);
    b->len += n;
}

/*  Appends sep (unless b is empty), then before, q, and (when mid is
    given) mid and q again, then after: "f.q = s.q", "s.q IS NULL". */
static void
s_add_part (sbuf_t *b, const char *sep, const char *before, const char *q, const char *mid,
            const char *after)
{
    if (b->len)
        s_add (b, sep);
    s_add (b, before);
    s_add (b, q);
    if (mid) {
        s_add (b, mid);
        s_add (b, q);
    }
    s_add (b, after);
}

/*  The string built so far, never NULL. */
static char *
s_take (sbuf_t *b)
{
    return b->s ? b->s : xstrdup ("");
}

static bool
s_is_key (const publish_sql_in_t *in, const char *name)
{
    for (size_t i = 0; i < in->nkeys; i++)
        if (strcmp (in->keys[i], name) == 0)
            return true;
    return false;
}

publish_sql_t *
publish_sql_new (const publish_sql_in_t *in)
{
    publish_sql_t *self = xcalloc (1, sizeof *self);
    self->in = *in;
    sbuf_t keys = { 0 }, on = { 0 }, nul = { 0 }, ins = { 0 }, sel = { 0 }, set = { 0 },
           mset = { 0 };
    for (size_t i = 0; i < in->nkeys; i++) {
        char *q = pg_quote_ident (in->keys[i]);
        s_add_part (&keys, ", ", "", q, NULL, "");
        s_add_part (&on, " AND ", "f.", q, " = s.", "");
        s_add_part (&nul, " OR ", "s.", q, NULL, " IS NULL");
        free (q);
    }
    for (size_t i = 0; i < in->ncols; i++) {
        char *q = pg_quote_ident (in->cols[i]);
        s_add_part (&ins, ", ", "", q, NULL, "");
        s_add_part (&sel, ", ", "s.", q, NULL, "");
        if (!s_is_key (in, in->cols[i])) {
            s_add_part (&set, ", ", "", q, " = EXCLUDED.", "");
            s_add_part (&mset, ", ", "", q, " = s.", "");
            self->nset++;
        }
        free (q);
    }
    self->keys = s_take (&keys);
    self->on = s_take (&on);
    self->null_cond = s_take (&nul);
    self->ins = s_take (&ins);
    self->sel = s_take (&sel);
    self->set = s_take (&set);
    self->mset = s_take (&mset);
    return self;
}

void
publish_sql_destroy (publish_sql_t **self_p)
{
    if (*self_p) {
        publish_sql_t *self = *self_p;
        free (self->keys);
        free (self->on);
        free (self->null_cond);
        free (self->ins);
        free (self->sel);
        free (self->set);
        free (self->mset);
        free (self);
        *self_p = NULL;
    }
}

char *
publish_sql_statement (const publish_sql_t *self, const publish_plan_t *plan)
{
    const publish_sql_in_t *in = &self->in;
    bool update = plan->statement == PUBLISH_SQL_UPSERT
               || (plan->statement == PUBLISH_SQL_MERGE && in->on_match == ON_MATCH_UPDATE
                   && self->nset > 0);
    /*  No match is possible for a plain INSERT: the index refuses
        duplicates, or the existence check proved none under the lock. */
    if (plan->statement == PUBLISH_SQL_INSERT)
        return util_strdupf ("INSERT INTO %s (%s) SELECT %s FROM %s s", in->final, self->ins,
                             self->sel, in->staging);
    if (plan->statement != PUBLISH_SQL_MERGE)
        return util_strdupf ("INSERT INTO %s (%s) SELECT %s FROM %s s ON CONFLICT (%s) %s%s",
                             in->final, self->ins, self->sel, in->staging, self->keys,
                             update ? "DO UPDATE SET " : "DO NOTHING", update ? self->set : "");
    return util_strdupf ("MERGE INTO %s f USING %s s ON (%s) WHEN MATCHED THEN %s%s "
                         "WHEN NOT MATCHED THEN INSERT (%s) VALUES (%s)", in->final,
                         in->staging, self->on, update ? "UPDATE SET " : "DO NOTHING",
                         update ? self->mset : "", self->ins, self->sel);
}

char *
publish_sql_duplicates (const publish_sql_t *self)
{
    /*  Qualify nothing: keys are staging's own columns. */
    return util_strdupf ("SELECT (%s)::text, count(*) FROM %s s GROUP BY %s "
                         "HAVING count(*) > 1 LIMIT 3", self->keys, self->in.staging,
                         self->keys);
}

char *
publish_sql_existing (const publish_sql_t *self)
{
    return util_strdupf ("SELECT count(*) FROM %s s WHERE EXISTS "
                         "(SELECT 1 FROM %s f WHERE %s)", self->in.staging, self->in.final,
                         self->on);
}

char *
publish_sql_null_keys (const publish_sql_t *self)
{
    return util_strdupf ("SELECT count(*) FROM %s s WHERE %s", self->in.staging,
                         self->null_cond);
}

char *
publish_sql_count (const publish_sql_t *self)
{
    return util_strdupf ("SELECT count(*) FROM %s", self->in.staging);
}
