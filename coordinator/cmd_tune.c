/*  coordinator/cmd_tune.c: ferry-coordinator tune, the tuning workflow as
    one command (issue 14).

    On a sample of the job's source (coordinator/tune_job.h: the first
    --rows rows in key order), never touching the final table: first the
    sequential baseline, then every configuration of the matrix
    --chunk-sizes x --workers (local workers, --slots each, concurrency
    pinned at workers x slots), --repeat times, interleaved (round 1 runs
    each once, then round 2, ...), the target checkpointed before each
    run; then concurrency: auto with the best chunk size on the most
    workers. Each run is a child coordinator loading a scratch UNLOGGED
    table that is dropped after it (and, whatever happens, at the end,
    SIGINT included: the handler only sets a flag, the child gets one
    SIGINT, and every path goes through the cleanup). The runs are
    recorded in ferry.runs as kind 'tune' (never the job's published
    runs); the sequential one is recorded in ferry.baselines for the job.
    The figures and the recommendation follow coordinator/tune_rules.h. */
#include "baseline.h"
#include "cmd.h"
#include "config.h"
#include "exit_codes.h"
#include "jobprint.h"
#include "log.h"
#include "pg.h"
#include "schema.h"
#include "tune_job.h"
#include "tune_report.h"
#include "tune_rules.h"
#include "util.h"

#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#define TUNE_MAX_LIST 16

static volatile sig_atomic_t s_stop = 0;

static void
s_on_signal (int sig)
{
    (void) sig;
    s_stop = 1;
}

typedef struct {
    const char *job_path;
    int64_t rows;               /* 0: min(source rows, 1,000,000) */
    int64_t chunk_sizes[TUNE_MAX_LIST];
    int nchunk_sizes;
    int64_t workers[TUNE_MAX_LIST];
    int nworkers;
    int64_t slots;              /* 0: pipeline.writers */
    int64_t repeat;
    bool json;
    const char *write;
} opts_t;

typedef struct {
    opts_t *o;
    config_t *cfg;
    jobprint_t print;
    pg_conn_t *src, *tgt;
    char *final_q;
    char id[24];                /* tune_<hex>: run ids and scratch tables start with it */
    char seq_run[48];           /* a measured sequential run */
    char *dir;                  /* private temp dir: scratch job files and child logs */
    tune_sample_t sample;
    tune_config_t *configs;     /* [0] sequential, [1..nfixed] fixed, [nfixed + 1] auto */
    size_t nfixed;
    int runs_done, runs_total;
    double started;
    bool checkpoint_warned;
} tune_t;

static void
s_usage (FILE *out)
{
    fprintf (out,
"Usage: ferry-coordinator tune JOB.yaml [--rows N] [--chunk-sizes 25000,50000,100000,200000]\n"
"                              [--workers 1,2,4] [--slots N] [--repeat K] [--json]\n"
"                              [--write FILE]\n"
"\n"
"Measures the job on a sample of its source, never touching the final table:\n"
"the sequential baseline, every chunk size x worker count (local workers on\n"
"this host, concurrency pinned at workers x slots), then concurrency: auto;\n"
"each run loads a scratch UNLOGGED table on the target (dropped after it, also\n"
"on failure or SIGINT). Prints each configuration's median wall, rows/s, MB/s,\n"
"speedup, efficiency, chunks, retries and worker peak RSS, marks the best and\n"
"those within noise of it, and recommends the pipeline: settings, the\n"
"min_rows_for_parallel crossover and what bounds the job.\n"
"\n"
"  --rows N           sample size (default min(source rows, 1000000)): the\n"
"                     first N rows in key order, the same for every run\n"
"  --chunk-sizes LIST rows per chunk to try (default 25000,50000,100000,200000)\n"
"  --workers LIST     local worker counts to try (default 1,2,4)\n"
"  --slots N          chunk slots per worker (default pipeline.writers)\n"
"  --repeat K         runs of each configuration, interleaved (default 1)\n"
"  --json             one JSON document on stdout instead of the table\n"
"  --write FILE       write a copy of JOB.yaml with the recommended pipeline:\n"
"  -h, --help         this help\n"
"\n"
"Runs are recorded in the target's ferry.runs as kind 'tune' (history --all\n"
"shows them), never as the job's published runs; the sequential run is kept\n"
"as the job's tune baseline (ferry.baselines). Postgres sources only.\n"
"\n"
"Exit status: 0 measured, 1 a run failed (see its log), 2 usage, 3 bad job\n"
"file, 4 source unreachable, 5 target unreachable, 8 interrupted.\n");
}

static int
s_parse (int argc, char **argv, opts_t *o)
{
    static struct option opts[] = {
        { "help", no_argument, NULL, 'h' },
        { "rows", required_argument, NULL, 'r' },
        { "chunk-sizes", required_argument, NULL, 'c' },
        { "workers", required_argument, NULL, 'w' },
        { "slots", required_argument, NULL, 's' },
        { "repeat", required_argument, NULL, 'k' },
        { "json", no_argument, NULL, 'J' },
        { "write", required_argument, NULL, 'o' },
        { NULL, 0, NULL, 0 }
    };
    o->nchunk_sizes = tune_parse_list ("25000,50000,100000,200000", 1, 1000000000,
                                       o->chunk_sizes, TUNE_MAX_LIST);
    o->nworkers = tune_parse_list ("1,2,4", 1, 64, o->workers, TUNE_MAX_LIST);
    o->repeat = 1;
    int c;
    optind = 1;
    while ((c = getopt_long (argc, argv, "h", opts, NULL)) != -1) {
        const char *bad = NULL;
        switch (c) {
        case 'h': s_usage (stdout); exit (EXIT_CODE_OK);
        case 'r':
            if (util_parse_int64 (optarg, 1, 1000000000000LL, &o->rows) != 0)
                bad = "--rows: expected 1..1000000000000";
            break;
        case 'c':
            o->nchunk_sizes = tune_parse_list (optarg, 1, 1000000000, o->chunk_sizes,
                                               TUNE_MAX_LIST);
            if (o->nchunk_sizes < 1)
                bad = "--chunk-sizes: expected 1 to 16 comma-separated row counts (1..1000000000)";
            break;
        case 'w':
            o->nworkers = tune_parse_list (optarg, 1, 64, o->workers, TUNE_MAX_LIST);
            if (o->nworkers < 1)
                bad = "--workers: expected 1 to 16 comma-separated worker counts (1..64)";
            break;
        case 's':
            if (util_parse_int64 (optarg, 1, 256, &o->slots) != 0)
                bad = "--slots: expected 1..256";
            break;
        case 'k':
            if (util_parse_int64 (optarg, 1, TUNE_MAX_REPEAT, &o->repeat) != 0)
                bad = "--repeat: expected 1..16";
            break;
        case 'J': o->json = true; break;
        case 'o': o->write = optarg; break;
        default:
            fprintf (stderr, "Try 'ferry-coordinator tune --help'.\n");
            return -1;
        }
        if (bad) {
            fprintf (stderr, "ferry-coordinator tune: %s, got '%s'\n", bad, optarg);
            return -1;
        }
    }
    if (argc - optind != 1) {
        fprintf (stderr, "ferry-coordinator tune: expected one job file\n"
                 "Try 'ferry-coordinator tune --help'.\n");
        return -1;
    }
    o->job_path = argv[optind];
    return 0;
}

/*  Drops every scratch table of this tune and forgets its runs' plans and
    ledger rows (their ferry.runs rows stay, kind 'tune'). Best effort. */
static void
s_cleanup_target (tune_t *t)
{
    if (!t->tgt || !t->id[0])
        return;
    if (!pg_is_connected (t->tgt) && pg_connect (t->tgt, NULL, NULL) != 0) {
        log_error ("tune: cannot reach the target to drop the scratch tables ferry.%s_*: %s",
                   t->id, pg_conn_error (t->tgt)->message);
        return;
    }
    pg_exec (t->tgt, "SET lock_timeout = '30s'");
    char *pattern = util_strdupf ("%s\\_%%", t->id);
    const char *params[1] = { pattern };
    PGresult *res = NULL;
    if (pg_exec_params (t->tgt, "SELECT format('%I.%I', schemaname, tablename) FROM pg_tables "
                        "WHERE schemaname = 'ferry' AND tablename LIKE $1", 1, params,
                        &res) == 0) {
        for (int i = 0; i < PQntuples (res); i++) {
            char *sql = util_strdupf ("DROP TABLE IF EXISTS %s", PQgetvalue (res, i, 0));
            if (pg_exec (t->tgt, sql) != 0)
                log_error ("tune: cannot drop the scratch table %s: %s (drop it by hand)",
                           PQgetvalue (res, i, 0), pg_conn_error (t->tgt)->message);
            free (sql);
        }
        PQclear (res);
    }
    if (pg_exec_params (t->tgt, "DELETE FROM ferry.chunks WHERE run_id LIKE $1", 1, params,
                        NULL) != 0
    ||  pg_exec_params (t->tgt, "DELETE FROM ferry.chunk_commits WHERE run_id LIKE $1", 1,
                        params, NULL) != 0)
        log_warn ("tune: cannot forget the plans of its runs: %s",
                  pg_conn_error (t->tgt)->message);
    free (pattern);
}

static void
s_cleanup_dir (tune_t *t)
{
    if (!t->dir)
        return;
    char *cmd = NULL;
    /*  Only files tune wrote: job_<n>.yaml and run_<n>.log. */
    for (int n = 0; n <= t->runs_total; n++) {
        cmd = util_strdupf ("%s/job_%d.yaml", t->dir, n);
        unlink (cmd);
        free (cmd);
        cmd = util_strdupf ("%s/run_%d.log", t->dir, n);
        unlink (cmd);
        free (cmd);
    }
    rmdir (t->dir);
    free (t->dir);
    t->dir = NULL;
}

/*  Waits for the child; passes one SIGINT on when tune is interrupted.
    Returns its exit status (128 + signal when killed). */
static int
s_wait (pid_t pid)
{
    bool forwarded = false;
    for (;;) {
        int status = 0;
        pid_t w = waitpid (pid, &status, 0);
        if (w == pid)
            return WIFEXITED (status) ? WEXITSTATUS (status) : 128 + WTERMSIG (status);
        if (w < 0 && errno != EINTR)
            return 127;
        if (s_stop && !forwarded) {
            kill (pid, SIGINT);
            forwarded = true;
        }
    }
}

/*  Prints the last lines of a child's log on stderr. */
static void
s_log_tail (const char *path)
{
    FILE *f = fopen (path, "r");
    if (!f)
        return;
    char lines[6][512];
    int n = 0;
    while (fgets (lines[n % 6], sizeof lines[0], f))
        n++;
    fclose (f);
    for (int i = n > 6 ? n - 6 : 0; i < n; i++)
        fprintf (stderr, "  | %s", lines[i % 6]);
}

/*  One run of configuration c. 0 measured, 1 the run failed, -1
    interrupted, -2 tune cannot go on (logged: a scratch table or job file
    could not be made, the child could not start, the target is gone). */
static int
s_run_one (tune_t *t, tune_config_t *c)
{
    if (s_stop)
        return -1;
    int n = ++t->runs_done;
    char err[2048];
    char *table = util_strdupf ("ferry.%s_%d", t->id, n);
    char *run_id = util_strdupf ("%s_%d", t->id, n);
    char *job = util_strdupf ("%s/job_%d.yaml", t->dir, n);
    char *logp = util_strdupf ("%s/run_%d.log", t->dir, n);
    int rc = -2;
    double elapsed = util_now_s () - t->started;
    int left = t->runs_total - n + 1;
    char eta[32] = "--";
    if (n > 1)
        snprintf (eta, sizeof eta, "%.0f s", elapsed / (n - 1) * left);
    fprintf (stderr, "tune: run %d of %d: %s (%d configuration run(s) left, ETA %s)\n", n,
             t->runs_total, c->label, left, eta);
    char *sql = util_strdupf ("CREATE UNLOGGED TABLE %s (LIKE %s INCLUDING DEFAULTS)", table,
                              t->final_q);
    if (pg_exec (t->tgt, sql) != 0) {
        log_error ("tune: cannot create the scratch table %s: %s", table,
                   pg_conn_error (t->tgt)->message);
        free (sql);
        goto out;
    }
    free (sql);
    if (tune_job_write (t->cfg, &t->sample, c, table, job, err, sizeof err) != 0) {
        log_error ("tune: %s", err);
        goto out;
    }
    /*  Each run starts from a checkpointed target: the last run's dirty
        pages are not this one's cost. */
    if (pg_exec (t->tgt, "CHECKPOINT") != 0 && !t->checkpoint_warned) {
        log_warn ("tune: CHECKPOINT on the target failed (%s); runs go on without (grant "
                  "pg_checkpoint to the job's user for steadier figures)",
                  pg_conn_error (t->tgt)->message);
        t->checkpoint_warned = true;
    }
    pid_t pid = tune_job_spawn (t->cfg, c, job, run_id, logp, err, sizeof err);
    if (pid < 0) {
        log_error ("tune: %s", err);
        goto out;
    }
    int status = s_wait (pid);
    if (s_stop)
        goto out;
    int frc = tune_job_figures (t->tgt, run_id, c, err, sizeof err);
    if (frc < 0) {
        log_error ("tune: %s", err);
        goto out;
    }
    if (frc > 0 || status != 0) {
        c->failures++;
        log_error ("tune: run %s (%s) failed (exit status %d): %s; its log ends:", run_id,
                   c->label, status, frc > 0 ? err : "see its log");
        s_log_tail (logp);
        rc = 1;
    }
    else {
        if (c->kind == TUNE_SEQUENTIAL)
            snprintf (t->seq_run, sizeof t->seq_run, "%s", run_id);
        rc = 0;
    }
out:
    sql = util_strdupf ("DROP TABLE IF EXISTS %s", table);
    if (!s_stop && pg_exec (t->tgt, sql) != 0)
        log_warn ("tune: cannot drop %s now: %s (tried again at the end)", table,
                  pg_conn_error (t->tgt)->message);
    free (sql);
    free (table);
    free (run_id);
    free (job);
    free (logp);
    return s_stop ? -1 : rc;
}

/*  The exit status for a run's outcome that stops tune. */
static int
s_stop_status (int rc)
{
    return rc == -1 ? EXIT_CODE_INTERRUPTED : EXIT_CODE_FAILED;
}

/*  Measures every configuration, ranks, recommends, prints. Returns the
    exit status. */
static int
s_measure (tune_t *t)
{
    opts_t *o = t->o;
    int slots = o->slots ? (int) o->slots : t->cfg->pipeline.writers;
    t->nfixed = (size_t) o->nchunk_sizes * (size_t) o->nworkers;
    size_t n = t->nfixed + 2;
    t->configs = xcalloc (n, sizeof *t->configs);
    tune_config_t *seq = &t->configs[0], *fixed = &t->configs[1], *autoc = &t->configs[n - 1];
    *seq = (tune_config_t) { .kind = TUNE_SEQUENTIAL, .chunk_size = t->sample.rows,
                             .workers = 1, .slots = 1 };
    snprintf (seq->label, sizeof seq->label, "sequential");
    int max_workers = 1;
    for (int i = 0; i < o->nchunk_sizes; i++)
        for (int j = 0; j < o->nworkers; j++) {
            tune_config_t *c = &fixed[i * o->nworkers + j];
            *c = (tune_config_t) { .kind = TUNE_FIXED, .chunk_size = o->chunk_sizes[i],
                                   .workers = (int) o->workers[j], .slots = slots };
            snprintf (c->label, sizeof c->label, "%" PRId64 " rows/chunk x %d worker(s) x %d slots",
                      c->chunk_size, c->workers, c->slots);
            if (c->workers > max_workers)
                max_workers = c->workers;
        }
    t->runs_total = (int) (o->repeat * (int64_t) (t->nfixed + 2));
    t->started = util_now_s ();
    int failed = 0, rc;
    for (int64_t r = 0; r < o->repeat; r++) {
        if ((rc = s_run_one (t, seq)) < 0)
            return s_stop_status (rc);
        failed += rc;
        for (size_t i = 0; i < t->nfixed; i++) {
            if ((rc = s_run_one (t, &fixed[i])) < 0)
                return s_stop_status (rc);
            failed += rc;
        }
    }
    double noise = 0;
    int best = tune_rank (fixed, t->nfixed, seq, &noise);
    if (best < 0) {
        log_error ("tune: no configuration of the matrix completed a run; nothing to recommend");
        return EXIT_CODE_FAILED;
    }
    *autoc = (tune_config_t) { .kind = TUNE_AUTO, .chunk_size = fixed[best].chunk_size,
                               .workers = max_workers, .slots = slots };
    snprintf (autoc->label, sizeof autoc->label, "auto: %" PRId64 " rows/chunk, up to %d x %d slots",
              autoc->chunk_size, autoc->workers, autoc->slots);
    for (int64_t r = 0; r < o->repeat; r++) {
        if ((rc = s_run_one (t, autoc)) < 0)
            return s_stop_status (rc);
        failed += rc;
    }
    best = tune_rank (fixed, t->nfixed + 1, seq, &noise);
    tune_rank (seq, 1, NULL, &(double) { 0 });    /* its median and rates */
    seq->speedup = seq->n ? 1.0 : 0;
    seq->efficiency = seq->speedup;
    tune_recommendation_t rec;
    tune_recommend (seq->n ? seq : NULL, &fixed[best], autoc, noise, &rec);
    if (seq->n > 0 && t->seq_run[0]
    &&  baseline_record_tune (t->tgt, t->print.hash, t->seq_run, seq->rows, seq->wall,
                              seq->rows_per_second) != 0)
        log_warn ("tune: cannot record the sequential baseline in ferry.baselines: %s",
                  pg_conn_error (t->tgt)->message);
    tune_result_t res = {
        .job_path = o->job_path, .job_hash = t->print.hash, .table = t->cfg->target.table,
        .key = t->cfg->source.key, .bound = t->sample.bound, .sample_rows = t->sample.rows,
        .repeat = (int) o->repeat, .configs = t->configs, .n = n, .rec = &rec,
        .write_path = o->write };
    if (o->json) {
        char *json = tune_report_json (&res);
        fputs (json, stdout);
        free (json);
    }
    else
        tune_report_print (&res, stdout);
    fflush (stdout);
    if (o->write) {
        char err[2600];
        if (tune_job_write_recommended (o->job_path, t->cfg, &rec, o->write, err,
                                        sizeof err) != 0) {
            log_error ("tune: %s", err);
            return EXIT_CODE_FAILED;
        }
        log_info ("tune: wrote %s (the job with the recommended pipeline:)", o->write);
    }
    return failed ? EXIT_CODE_FAILED : EXIT_CODE_OK;
}

int
cmd_tune_main (int argc, char **argv)
{
    opts_t o;
    memset (&o, 0, sizeof o);
    if (s_parse (argc, argv, &o) != 0)
        return EXIT_CODE_USAGE;
    tune_t t;
    memset (&t, 0, sizeof t);
    t.o = &o;
    char err[2048];
    int rc = EXIT_CODE_FAILED;
    t.cfg = config_load (o.job_path, err, sizeof err);
    if (!t.cfg) {
        log_error ("%s", err);
        return EXIT_CODE_BAD_CONFIG;
    }
    if (t.cfg->source.kind != SOURCE_KIND_POSTGRES) {
        log_error ("tune: %s: source.kind csv: tune measures postgres sources only (a file "
                   "sample would need its own record-aligned cut)", o.job_path);
        config_destroy (&t.cfg);
        return EXIT_CODE_BAD_CONFIG;
    }
    jobprint_compute (t.cfg, &t.print);
    t.final_q = pg_quote_qualified (t.cfg->target.table);
    struct sigaction sa;
    memset (&sa, 0, sizeof sa);
    sa.sa_handler = s_on_signal;            /* no SA_RESTART: waitpid returns EINTR */
    sigemptyset (&sa.sa_mask);
    sigaction (SIGINT, &sa, NULL);
    sigaction (SIGTERM, &sa, NULL);
    signal (SIGPIPE, SIG_IGN);

    t.src = pg_conn_new (t.cfg->source.conninfo, "source");
    t.tgt = pg_conn_new (t.cfg->target.conninfo, "target");
    pg_conn_set_application_name (t.src, "ferry/tune");
    pg_conn_set_application_name (t.tgt, "ferry/tune");
    if (pg_connect (t.src, NULL, NULL) != 0) {
        log_error ("source: cannot connect: %s", pg_conn_error (t.src)->message);
        rc = EXIT_CODE_SOURCE;
        goto out;
    }
    if (pg_connect (t.tgt, NULL, NULL) != 0) {
        log_error ("target: cannot connect: %s", pg_conn_error (t.tgt)->message);
        rc = EXIT_CODE_TARGET;
        goto out;
    }
    if (!t.final_q || schema_ensure (t.tgt) != 0) {
        log_error ("target: %s", t.final_q ? pg_conn_error (t.tgt)->message
                                           : "target.table is not a valid table name");
        goto out;
    }
    if (tune_sample_take (t.src, t.cfg, o.rows ? o.rows : 1000000, &t.sample, err,
                          sizeof err) != 0) {
        log_error ("tune: %s", err);
        goto out;
    }
    if (t.sample.rows == 0) {
        log_error ("tune: the source query returns no rows: nothing to measure");
        goto out;
    }
    snprintf (t.id, sizeof t.id, "tune_%08x", (unsigned) (util_wall_ms () ^ (getpid () << 16)));
    const char *tmpdir = getenv ("TMPDIR");
    char *dir_tmpl = util_strdupf ("%s/ferry-tune-XXXXXX", tmpdir && *tmpdir ? tmpdir : "/tmp");
    if (mkdtemp (dir_tmpl))
        t.dir = dir_tmpl;
    else
        free (dir_tmpl);
    if (!t.dir) {
        log_error ("tune: cannot make a private directory for the scratch job files: %s",
                   strerror (errno));
        goto out;
    }
    rc = s_measure (&t);
out:
    s_cleanup_target (&t);
    s_cleanup_dir (&t);
    if (s_stop) {
        log_error ("tune: interrupted; the scratch tables are dropped, the final table was "
                   "never touched");
        rc = EXIT_CODE_INTERRUPTED;
    }
    free (t.configs);
    tune_sample_free (&t.sample);
    free (t.final_q);
    pg_conn_destroy (&t.src);
    pg_conn_destroy (&t.tgt);
    config_destroy (&t.cfg);
    return rc;
}
