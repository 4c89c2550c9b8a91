/*  coordinator/compare.c: see compare.h. */
#include "compare.h"
#include "util.h"

#include <stdlib.h>
#include <string.h>

/*  NULL keys first, then by the key's bytes. */
static int
s_key_cmp (const char *a, const char *b)
{
    if (!a || !b)
        return (a != NULL) - (b != NULL);
    return strcmp (a, b);
}

static int
s_row_cmp (const void *pa, const void *pb)
{
    const compare_row_t *a = pa, *b = pb;
    int c = s_key_cmp (a->key, b->key);
    return c ? c : strcmp (a->hash, b->hash);
}

static void
s_add (compare_diff_t *out, size_t *n, compare_kind_t kind, const char *key,
       compare_counts_t *counts)
{
    out[(*n)++] = (compare_diff_t) { .kind = kind, .key = key };
    if (kind == COMPARE_MISSING)
        counts->missing++;
    else if (kind == COMPARE_EXTRA)
        counts->extra++;
    else
        counts->differs++;
}

size_t
compare_rows (compare_row_t *src, size_t nsrc, compare_row_t *tgt, size_t ntgt,
              compare_diff_t **out, compare_counts_t *counts)
{
    *counts = (compare_counts_t) { 0 };
    *out = NULL;
    if (nsrc)
        qsort (src, nsrc, sizeof *src, s_row_cmp);
    if (ntgt)
        qsort (tgt, ntgt, sizeof *tgt, s_row_cmp);
    compare_diff_t *diffs = xmalloc ((nsrc + ntgt + 1) * sizeof *diffs);
    size_t n = 0, i = 0, j = 0;
    while (i < nsrc || j < ntgt) {
        /*  The next key, and its group on each side. */
        const char *key = i < nsrc && (j >= ntgt || s_key_cmp (src[i].key, tgt[j].key) <= 0)
                          ? src[i].key : tgt[j].key;
        size_t si = i, tj = j;
        while (si < nsrc && s_key_cmp (src[si].key, key) == 0)
            si++;
        while (tj < ntgt && s_key_cmp (tgt[tj].key, key) == 0)
            tj++;
        /*  Both groups are sorted by hash: walk them together, pairing
            equal hashes; what does not pair is left over. */
        size_t left_src = 0, left_tgt = 0;
        while (i < si && j < tj) {
            int c = strcmp (src[i].hash, tgt[j].hash);
            if (c == 0) {
                i++;
                j++;
            }
            else if (c < 0) {
                left_src++;
                i++;
            }
            else {
                left_tgt++;
                j++;
            }
        }
        left_src += si - i;
        left_tgt += tj - j;
        i = si;
        j = tj;
        size_t pairs = left_src < left_tgt ? left_src : left_tgt;
        for (size_t k = 0; k < pairs; k++)
            s_add (diffs, &n, COMPARE_DIFFERS, key, counts);
        for (size_t k = pairs; k < left_src; k++)
            s_add (diffs, &n, COMPARE_MISSING, key, counts);
        for (size_t k = pairs; k < left_tgt; k++)
            s_add (diffs, &n, COMPARE_EXTRA, key, counts);
    }
    if (n == 0) {
        free (diffs);
        return 0;
    }
    *out = diffs;
    return n;
}

char *
compare_where (const char *key, const char *type, const char *elo, const char *ehi)
{
    if (elo && ehi)
        return util_strdupf (" WHERE ferry_q.%s >= %s::%s AND ferry_q.%s < %s::%s", key, elo,
                             type, key, ehi, type);
    if (elo)
        return util_strdupf (" WHERE ferry_q.%s >= %s::%s", key, elo, type);
    if (ehi)
        return util_strdupf (" WHERE (ferry_q.%s < %s::%s OR ferry_q.%s IS NULL)", key, ehi,
                             type, key);
    return xstrdup ("");
}

const char *
compare_kind_name (compare_kind_t kind)
{
    return kind == COMPARE_MISSING ? "missing" : kind == COMPARE_EXTRA ? "extra" : "differs";
}
