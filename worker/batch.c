/*  worker/batch.c: rows in flight and rejected records; see batch.h. */
#include "batch.h"
#include "util.h"

#include <stdlib.h>
#include <string.h>

batch_t *
batch_new (size_t cap)
{
    batch_t *b = xmalloc (sizeof *b + cap);
    b->len = 0;
    b->cap = cap;
    b->rows = 0;
    b->first_line = 0;
    b->lines = NULL;
    b->rejects = NULL;
    b->nrejects = 0;
    b->oversize = 0;
    b->member = 0;
    return b;
}

void
batch_free (void *batch)
{
    batch_t *b = batch;
    if (!b)
        return;
    free (b->lines);
    reject_free_list (&b->rejects);
    free (b);
}

batch_t *
batch_reserve (batch_t *b, size_t more)
{
    if (b->len + more <= b->cap)
        return b;
    size_t cap = b->cap * 2 > b->len + more ? b->cap * 2 : b->len + more;
    b = xrealloc (b, sizeof *b + cap);
    b->cap = cap;
    return b;
}

reject_t *
reject_new (int64_t line, const char *raw, size_t rawlen, const char *reason)
{
    size_t rl = strlen (reason);
    reject_t *r = xmalloc (sizeof *r + rl + 1);
    r->next = NULL;
    r->line = line;
    r->rawlen = rawlen;
    r->raw = xmalloc (rawlen + 1);
    memcpy (r->raw, raw, rawlen);
    r->raw[rawlen] = 0;
    memcpy (r->reason, reason, rl + 1);
    return r;
}

void
reject_free_list (reject_t **list_p)
{
    reject_t *r = *list_p;
    while (r) {
        reject_t *next = r->next;
        free (r->raw);
        free (r);
        r = next;
    }
    *list_p = NULL;
}
