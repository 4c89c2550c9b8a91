/*  coordinator/tune_rules.c: see tune_rules.h. */
#include "tune_rules.h"
#include "util.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static int
s_cmp (const void *a, const void *b)
{
    double x = *(const double *) a, y = *(const double *) b;
    return x < y ? -1 : x > y;
}

double
tune_median (const double *v, int n)
{
    if (n <= 0)
        return 0;
    double copy[TUNE_MAX_REPEAT];
    if (n > TUNE_MAX_REPEAT)
        n = TUNE_MAX_REPEAT;
    memcpy (copy, v, (size_t) n * sizeof *copy);
    qsort (copy, (size_t) n, sizeof *copy, s_cmp);
    return n % 2 ? copy[n / 2] : (copy[n / 2 - 1] + copy[n / 2]) / 2;
}

void
tune_add_wall (tune_config_t *c, double wall)
{
    if (c->n < TUNE_MAX_REPEAT)
        c->walls[c->n++] = wall;
}

/*  (max - min) / median of c's walls. */
static double
s_spread (const tune_config_t *c)
{
    if (c->n < 2 || c->wall <= 0)
        return 0;
    double lo = c->walls[0], hi = c->walls[0];
    for (int i = 1; i < c->n; i++) {
        lo = c->walls[i] < lo ? c->walls[i] : lo;
        hi = c->walls[i] > hi ? c->walls[i] : hi;
    }
    return (hi - lo) / c->wall;
}

int
tune_rank (tune_config_t *configs, size_t n, const tune_config_t *seq, double *noise)
{
    double seq_wall = seq && seq->n > 0 ? tune_median (seq->walls, seq->n) : 0;
    int best = -1;
    for (size_t i = 0; i < n; i++) {
        tune_config_t *c = &configs[i];
        c->best = c->within_noise = false;
        c->wall = tune_median (c->walls, c->n);
        c->speedup = c->efficiency = 0;
        if (c->n == 0)
            continue;
        if (c->wall > 0) {
            c->rows_per_second = (double) c->rows / c->wall;
            c->mb_per_second = c->megabytes / c->wall;
        }
        if (seq_wall > 0 && c->wall > 0) {
            c->speedup = seq_wall / c->wall;
            int used = c->slots_used > 0 ? c->slots_used : 1;
            c->efficiency = c->speedup / used;
        }
        if (c->kind == TUNE_FIXED && (best < 0 || c->wall < configs[best].wall))
            best = (int) i;
    }
    *noise = TUNE_MIN_NOISE;
    if (best < 0)
        return -1;
    double spread = s_spread (&configs[best]);
    if (spread > *noise)
        *noise = spread;
    configs[best].best = true;
    for (size_t i = 0; i < n; i++)
        if (configs[i].n > 0 && configs[i].kind != TUNE_SEQUENTIAL
        &&  configs[i].wall <= configs[best].wall * (1 + *noise))
            configs[i].within_noise = true;
    return best;
}

int64_t
tune_crossover (const tune_config_t *seq, const tune_config_t *best)
{
    if (!seq || !best || seq->rows <= 0 || best->rows <= 0 || seq->n == 0 || best->n == 0)
        return -1;
    double ws = seq->wall > 0 ? seq->wall : tune_median (seq->walls, seq->n);
    double wp = best->wall > 0 ? best->wall : tune_median (best->walls, best->n);
    double fs = seq->overhead_seconds < ws ? seq->overhead_seconds : ws;
    double fp = best->overhead_seconds < wp ? best->overhead_seconds : wp;
    double bs = (ws - fs) / (double) seq->rows;
    double bp = (wp - fp) / (double) best->rows;
    /*  No lower per-row cost: the gain (if any) is in fixed costs, which
        the sample measured: parallel pays from the start when it was
        faster on the sample, else never. */
    if (bp >= bs)
        return wp < ws ? 0 : -1;
    if (fp <= fs)
        return 0;
    return (int64_t) ceil ((fp - fs) / (bs - bp));
}

const char *
tune_bound (const tune_config_t *c, double *source, double *target, double *ferry)
{
    double busy = c->busy_seconds;
    double t = 0, f = 0, s = 0;
    if (busy > 0) {
        t = (c->write_seconds + c->commit_seconds) / busy;
        f = c->process_seconds / busy;
        t = t > 1 ? 1 : t;
        f = f > 1 - t ? 1 - t : f;
        s = 1 - t - f;
    }
    if (source)
        *source = s;
    if (target)
        *target = t;
    if (ferry)
        *ferry = f;
    if (t >= s && t >= f)
        return "target";
    return s >= f ? "source" : "ferry";
}

void
tune_recommend (const tune_config_t *seq, const tune_config_t *best,
                const tune_config_t *auto_run, double noise, tune_recommendation_t *rec)
{
    memset (rec, 0, sizeof *rec);
    rec->noise = noise;
    rec->chunk_size = best->chunk_size;
    rec->writers = best->slots;
    rec->workers = best->workers;
    bool auto_ok = auto_run && auto_run->n > 0
                && tune_median (auto_run->walls, auto_run->n) <= best->wall * (1 + noise);
    rec->concurrency = auto_ok ? 0 : best->workers * best->slots;
    rec->crossover_rows = tune_crossover (seq, best);
    if (rec->crossover_rows < 0)
        rec->min_rows_for_parallel = TUNE_NEVER_PARALLEL;
    else
        rec->min_rows_for_parallel = (rec->crossover_rows + 999) / 1000 * 1000;
    rec->bound = tune_bound (best, &rec->source_share, &rec->target_share, &rec->ferry_share);
}

int
tune_parse_list (const char *text, int64_t min, int64_t max, int64_t *out, int max_n)
{
    if (!text || !*text)
        return -1;
    char *copy = xstrdup (text);
    int n = 0;
    char *save = NULL;
    for (char *tok = strtok_r (copy, ",", &save); tok; tok = strtok_r (NULL, ",", &save)) {
        if (n >= max_n || util_parse_int64 (tok, min, max, &out[n]) != 0) {
            free (copy);
            return -1;
        }
        n++;
    }
    free (copy);
    return n;
}
