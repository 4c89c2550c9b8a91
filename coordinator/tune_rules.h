/*  coordinator/tune_rules.h: the rules `ferry-coordinator tune` decides by
    (issue 14). Pure: no I/O; coordinator/cmd_tune.c measures, these judge.

    - Each configuration's figure is the median of its repeats' wall
      seconds (tune_median).
    - The best is the fixed configuration (not sequential, not auto) with
      the lowest median wall. The noise is the relative spread of the best
      one's repeats ((max - min) / median), at least TUNE_MIN_NOISE: any
      configuration whose median is within best x (1 + noise) is marked as
      within noise of it (tune_rank).
    - Speedup = the sequential median / a configuration's median;
      efficiency = speedup / the chunks it ran in flight at most.
    - The crossover (tune_crossover): each run's wall splits into a fixed
      part (overhead_seconds: time with no chunk running: plan, dispatch
      start, verify, publish) and a per-row part ((wall - fixed) / rows).
      Parallel pays from the row count where the sequential and the best
      line cross: (fixed_p - fixed_s) / (per_row_s - per_row_p); 0 when
      parallel costs no more fixed time; when its per-row cost is not
      lower, 0 if it was faster on the sample all the same (its gain is in
      fixed costs), else -1 (it never pays).
    - The bound (tune_bound): from the workers' stage times over the best
      configuration's chunk time: target = COPY writes + commits, ferry =
      processing, source = the rest (the writer waiting for rows). The
      largest share names what limits the job.
    - The recommendation (tune_recommend): the best one's chunk_size and
      writers (slots per worker); concurrency auto when the auto run is
      within noise of the best, else pinned at the best one's slots in
      flight; min_rows_for_parallel = the crossover rounded up to 1,000
      (1,000,000,000,000 when parallel never paid). */
#ifndef FERRY_COORDINATOR_TUNE_RULES_H
#define FERRY_COORDINATOR_TUNE_RULES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define TUNE_MAX_REPEAT 16
#define TUNE_MIN_NOISE 0.05
#define TUNE_NEVER_PARALLEL 1000000000000LL

typedef enum { TUNE_SEQUENTIAL = 0, TUNE_FIXED, TUNE_AUTO } tune_kind_t;

/*  One configuration and what its runs measured. */
typedef struct {
    tune_kind_t kind;
    int64_t chunk_size;
    int workers, slots;
    char label[64];             /* "sequential", "50000 x 2w x 2s", "auto ..." */
    int n;                      /* runs measured (failed ones not counted) */
    int failures;
    double walls[TUNE_MAX_REPEAT];
    /*  Of the last run measured (the rows and megabytes are the same for
        every run of the sample): */
    int64_t rows;
    double megabytes;           /* read from the source */
    double rows_per_second, mb_per_second;  /* rows and MB over the median wall (tune_rank) */
    int chunks, retries, slots_used;
    double peak_rss_mb;
    double overhead_seconds;
    double busy_seconds, read_seconds, process_seconds, write_seconds, commit_seconds;
    /*  Set by tune_rank: */
    double wall;                /* median */
    double speedup, efficiency; /* 0 when unknown */
    bool best, within_noise;
} tune_config_t;

typedef struct {
    int64_t chunk_size;
    int writers;
    int workers;
    int concurrency;            /* 0 = auto */
    int64_t min_rows_for_parallel;
    int64_t crossover_rows;     /* -1: parallel never paid */
    const char *bound;          /* static: "source", "target", "ferry" */
    double source_share, target_share, ferry_share;
    double noise;
} tune_recommendation_t;

/*  The median of v[0..n) (n >= 1; sorts a copy). 0 for n == 0. */
double tune_median (const double *v, int n);

/*  Adds one run's wall to c (ignored beyond TUNE_MAX_REPEAT). */
void tune_add_wall (tune_config_t *c, double wall);

/*  Medians, speedups, efficiency, the best fixed configuration and those
    within noise of it. seq may be NULL (no speedups). Returns the index of
    the best in configs, or -1 when none succeeded; *noise the noise used. */
int tune_rank (tune_config_t *configs, size_t n, const tune_config_t *seq, double *noise);

/*  The crossover in rows (see above): >= 0, or -1 when parallel never pays. */
int64_t tune_crossover (const tune_config_t *seq, const tune_config_t *best);

/*  What limits c: "source", "target" or "ferry", with the three shares
    (NULL pointers allowed). */
const char *tune_bound (const tune_config_t *c, double *source, double *target, double *ferry);

/*  The recommendation from the ranked configurations. auto_run may be
    NULL (not measured). */
void tune_recommend (const tune_config_t *seq, const tune_config_t *best,
                     const tune_config_t *auto_run, double noise, tune_recommendation_t *rec);

/*  Parses a comma-separated list of integers in [min, max] ("25000,50000")
    into out (at most max_n). Returns the count, or -1 on a bad list. */
int tune_parse_list (const char *text, int64_t min, int64_t max, int64_t *out, int max_n);

#endif
