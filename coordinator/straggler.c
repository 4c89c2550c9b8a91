/*  coordinator/straggler.c: see straggler.h. */
#include "straggler.h"
#include "util.h"

#include <stdlib.h>

static int
s_cmp_double (const void *a, const void *b)
{
    double x = *(const double *) a, y = *(const double *) b;
    return (x > y) - (x < y);
}

double
straggler_rate (const int64_t *rows, const int64_t *busy_ms, size_t n)
{
    double *rates = xcalloc (n + 1, sizeof *rates);
    size_t k = 0;
    for (size_t i = 0; i < n; i++)
        if (rows[i] > 0 && busy_ms[i] > 0)
            rates[k++] = (double) rows[i] / (double) busy_ms[i];
    double rate = 0;
    if (k >= STRAGGLER_MIN_DONE) {
        qsort (rates, k, sizeof *rates, s_cmp_double);
        rate = k % 2 ? rates[k / 2] : (rates[k / 2 - 1] + rates[k / 2]) / 2.0;
    }
    free (rates);
    return rate;
}

int
straggler_pick (const straggler_chunk_t *running, size_t n, double rate,
                int64_t *remaining_ms)
{
    if (rate <= 0)
        return -1;
    int best = -1;
    int64_t best_left = 0;
    for (size_t i = 0; i < n; i++) {
        const straggler_chunk_t *c = &running[i];
        if (!c->eligible)
            continue;
        double fresh = (double) (c->est_rows > 0 ? c->est_rows : 0) / rate;
        double wait = STRAGGLER_SLOWER * fresh;
        if ((double) c->elapsed_ms < (wait > STRAGGLER_MIN_ELAPSED_MS ? wait
                                                                     : STRAGGLER_MIN_ELAPSED_MS))
            continue;
        int64_t left = INT64_MAX;
        if (c->rows > 0) {
            int64_t todo = c->est_rows - c->rows;
            left = todo <= 0 ? 0 : (int64_t) ((double) todo * (double) c->elapsed_ms
                                              / (double) c->rows);
        }
        if ((double) left <= wait)
            continue;
        if (best < 0 || left > best_left) {
            best = (int) i;
            best_left = left;
        }
    }
    if (best >= 0 && remaining_ms)
        *remaining_ms = best_left;
    return best;
}

bool
straggler_loser (int32_t done, int prior_worker, int32_t prior_attempt, int current_worker,
                 int32_t current_attempt, int *worker, int32_t *attempt)
{
    if (prior_worker >= 0 && prior_attempt > 0 && done != prior_attempt) {
        *worker = prior_worker;
        *attempt = prior_attempt;
        return true;
    }
    if (current_worker >= 0 && current_attempt > 0 && done != current_attempt) {
        *worker = current_worker;
        *attempt = current_attempt;
        return true;
    }
    return false;
}
