/*  coordinator/tune_job.c: see tune_job.h. */
#include "tune_job.h"
#include "exit_codes.h"
#include "log.h"
#include "util.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <unistd.h>

void
tune_sample_free (tune_sample_t *s)
{
    free (s->query);
    free (s->bound);
    memset (s, 0, sizeof *s);
}

int
tune_sample_take (pg_conn_t *src, const config_t *cfg, int64_t wanted, tune_sample_t *s,
                  char *err, size_t errlen)
{
    memset (s, 0, sizeof *s);
    char *key = pg_quote_ident (cfg->source.key);
    char n[32];
    snprintf (n, sizeof n, "%" PRId64, wanted);
    const char *params[1] = { n };
    /*  Qualified: an unqualified ORDER BY name would sort by the text
        output column of the same name. */
    char *sql = util_strdupf ("SELECT ferry_tune.%s::text FROM (%s) AS ferry_tune "
                              "ORDER BY ferry_tune.%s OFFSET $1::bigint LIMIT 1", key,
                              cfg->source.query, key);
    PGresult *res = NULL;
    int rc = pg_exec_params (src, sql, 1, params, &res);
    free (sql);
    if (rc != 0) {
        snprintf (err, errlen, "source: finding the sample's end (row %s in order of %s): %s",
                  n, cfg->source.key, pg_conn_error (src)->message);
        free (key);
        return -1;
    }
    if (PQntuples (res) == 1 && !PQgetisnull (res, 0, 0))
        s->bound = xstrdup (PQgetvalue (res, 0, 0));
    PQclear (res);
    if (s->bound) {
        char *lit = PQescapeLiteral (pg_conn_handle (src), s->bound, strlen (s->bound));
        if (!lit) {
            snprintf (err, errlen, "source: cannot quote the sample's end key");
            free (key);
            return -1;
        }
        s->query = util_strdupf ("SELECT * FROM (%s) AS ferry_tune_sample WHERE %s < %s "
                                 "ORDER BY %s", cfg->source.query, key, lit, key);
        PQfreemem (lit);
    }
    else
        s->query = xstrdup (cfg->source.query);
    free (key);
    sql = util_strdupf ("SELECT count(*) FROM (%s) AS ferry_tune", s->query);
    char *count = NULL;
    rc = pg_query_value (src, sql, 0, NULL, &count);
    free (sql);
    if (rc != 0) {
        snprintf (err, errlen, "source: counting the sample: %s", pg_conn_error (src)->message);
        return -1;
    }
    s->rows = strtoll (count, NULL, 10);
    free (count);
    return 0;
}

/*  A YAML double-quoted scalar. */
static void
s_yaml_str (FILE *f, const char *s)
{
    fputc ('"', f);
    for (const unsigned char *p = (const unsigned char *) s; *p; p++) {
        if (*p == '"' || *p == '\\')
            fprintf (f, "\\%c", *p);
        else if (*p == '\n')
            fputs ("\\n", f);
        else if (*p == '\t')
            fputs ("\\t", f);
        else if (*p < 0x20)
            fprintf (f, "\\x%02x", *p);
        else
            fputc (*p, f);
    }
    fputc ('"', f);
}

/*  The pipeline keys that tune does not choose, as the job has them. */
static void
s_pipeline_rest (FILE *f, const config_t *cfg)
{
    fprintf (f, "  processors: %d\n  raw_queue_max: %d\n  processed_queue_max: %d\n"
             "  batch_size: %d\n  read_buffer: %d\n", cfg->pipeline.processors,
             cfg->pipeline.raw_queue_max, cfg->pipeline.processed_queue_max,
             cfg->pipeline.batch_size, cfg->pipeline.read_buffer);
}

int
tune_job_write (const config_t *cfg, const tune_sample_t *s, const tune_config_t *c,
                const char *table, const char *path, char *err, size_t errlen)
{
    int fd = open (path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    FILE *f = fd >= 0 ? fdopen (fd, "w") : NULL;
    if (!f) {
        snprintf (err, errlen, "cannot write %s: %s", path, strerror (errno));
        if (fd >= 0)
            close (fd);
        return -1;
    }
    fputs ("# written by ferry-coordinator tune: one measurement into a scratch table\n"
           "source:\n  query: ", f);
    s_yaml_str (f, s->query);
    fputs ("\n  key: ", f);
    s_yaml_str (f, cfg->source.key);
    fprintf (f, "\n  snapshot: %s\n  split: key\ntarget:\n  table: %s\n  publish: direct\n",
             cfg->source.snapshot == SNAPSHOT_NONE ? "none" : "shared", table);
    fprintf (f, "pipeline:\n  chunk_size: %" PRId64 "\n  min_rows_for_parallel: 0\n"
             "  writers: %d\n", c->chunk_size, c->slots);
    if (c->kind == TUNE_AUTO)
        fputs ("  concurrency: auto\n", f);
    else
        fprintf (f, "  concurrency: %d\n", c->workers * c->slots);
    s_pipeline_rest (f, cfg);
    fprintf (f, "retry: { max_retries: %d, initial_delay: %g, backoff: %g, max_delay: %g }\n",
             cfg->retry.max_retries, cfg->retry.initial_delay, cfg->retry.backoff,
             cfg->retry.max_delay);
    fprintf (f, "cluster:\n  bind: \"tcp://127.0.0.1:*\"\n  heartbeat_ms: %d\n  liveness: %d\n"
             "  chunk_stall_timeout: %g\n", cfg->cluster.heartbeat_ms, cfg->cluster.liveness,
             cfg->cluster.chunk_stall_timeout);
    if (cfg->cluster.secret_file) {
        fputs ("  secret_file: ", f);
        s_yaml_str (f, cfg->cluster.secret_file);
        fputc ('\n', f);
    }
    /*  A measurement has no baseline to be judged by; tune reports. */
    fputs ("alerts: { wall_ratio: 0, throughput_ratio: 0, error_rate: 0, connections: 0, "
           "memory: 0 }\n", f);
    if (fclose (f) != 0) {
        snprintf (err, errlen, "cannot write %s: %s", path, strerror (errno));
        return -1;
    }
    return 0;
}

pid_t
tune_job_spawn (const config_t *cfg, const tune_config_t *c, const char *job_path,
                const char *run_id, const char *log_path, char *err, size_t errlen)
{
    char workers[16], slots[16];
    snprintf (workers, sizeof workers, "%d", c->workers);
    snprintf (slots, sizeof slots, "%d", c->slots);
    pid_t parent = getpid ();
    pid_t pid = fork ();
    if (pid < 0) {
        snprintf (err, errlen, "fork: %s", strerror (errno));
        return -1;
    }
    if (pid > 0)
        return pid;
    /*  The child: its own process group (a terminal's Ctrl-C reaches tune,
        which passes one SIGINT on), interrupted when tune dies. */
    setpgid (0, 0);
    prctl (PR_SET_PDEATHSIG, SIGINT);
    if (getppid () != parent)
        _exit (EXIT_CODE_INTERRUPTED);
    int fd = open (log_path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    if (fd >= 0) {
        dup2 (fd, STDOUT_FILENO);
        dup2 (fd, STDERR_FILENO);
        close (fd);
    }
    setenv ("FERRY_RUN_KIND", "tune", 1);
    if (cfg->source.conninfo)
        setenv ("FERRY_SOURCE_DSN", cfg->source.conninfo, 1);
    if (cfg->target.conninfo)
        setenv ("FERRY_TARGET_DSN", cfg->target.conninfo, 1);
    signal (SIGINT, SIG_DFL);
    signal (SIGTERM, SIG_DFL);
    char *argv[12];
    int n = 0;
    argv[n++] = (char *) "ferry-coordinator";
    argv[n++] = (char *) "run";
    argv[n++] = (char *) job_path;
    argv[n++] = (char *) "--local-workers";
    argv[n++] = workers;
    argv[n++] = (char *) "--slots";
    argv[n++] = slots;
    argv[n++] = (char *) "--run-id";
    argv[n++] = (char *) run_id;
    if (c->kind == TUNE_SEQUENTIAL)
        argv[n++] = (char *) "--sequential";
    argv[n] = NULL;
    execv ("/proc/self/exe", argv);
    fprintf (stderr, "tune: cannot run /proc/self/exe: %s\n", strerror (errno));
    _exit (127);
}

int
tune_job_figures (pg_conn_t *tgt, const char *run_id, tune_config_t *c, char *err,
                  size_t errlen)
{
    const char *params[1] = { run_id };
    PGresult *res = NULL;
    if (pg_exec_params (tgt,
            "SELECT status, coalesce(message, ''), r->>'wall_seconds', r->>'rows_loaded', "
            "  r->>'rows_per_second', r->>'mb_per_second', r->>'chunks_total', "
            "  r->>'chunks_retried', r->>'slots_used', r->'overhead_seconds'->>'total', "
            "  r->'stage_seconds'->>'read', r->'stage_seconds'->>'process', "
            "  r->'stage_seconds'->>'write', r->'stage_seconds'->>'commit', "
            "  (SELECT max((w->>'peak_rss_mb')::float8) FROM jsonb_array_elements(r->'workers') w), "
            "  (SELECT sum((w->>'busy_seconds')::float8) FROM jsonb_array_elements(r->'workers') w) "
            "FROM (SELECT status, message, report AS r FROM ferry.runs WHERE run_id = $1) AS x",
            1, params, &res) != 0) {
        snprintf (err, errlen, "target: reading run %s: %s", run_id, pg_conn_error (tgt)->message);
        return -1;
    }
    if (PQntuples (res) != 1 || strcmp (PQgetvalue (res, 0, 0), "published") != 0
    ||  PQgetisnull (res, 0, 2)) {
        if (PQntuples (res) == 1)
            snprintf (err, errlen, "%s: %s", PQgetvalue (res, 0, 0), PQgetvalue (res, 0, 1));
        else
            snprintf (err, errlen, "the run was not recorded in ferry.runs");
        PQclear (res);
        return 1;
    }
    double v[16];
    for (int i = 2; i < 16; i++)
        v[i] = strtod (PQgetvalue (res, 0, i), NULL);
    PQclear (res);
    tune_add_wall (c, v[2]);
    c->rows = (int64_t) v[3];
    c->rows_per_second = v[4];
    c->megabytes = v[5] * v[2];
    c->chunks = (int) v[6];
    c->retries = (int) v[7];
    c->slots_used = (int) v[8];
    c->overhead_seconds = v[9];
    c->read_seconds = v[10];
    c->process_seconds = v[11];
    c->write_seconds = v[12];
    c->commit_seconds = v[13];
    c->peak_rss_mb = v[14] > c->peak_rss_mb ? v[14] : c->peak_rss_mb;
    c->busy_seconds = v[15];
    return 0;
}

/*  True when line starts a top-level `pipeline:` key. */
static bool
s_is_pipeline_line (const char *line)
{
    if (strncmp (line, "pipeline", 8) != 0)
        return false;
    const char *p = line + 8;
    while (*p == ' ' || *p == '\t')
        p++;
    return *p == ':';
}

int
tune_job_write_recommended (const char *job_path, const config_t *cfg,
                            const tune_recommendation_t *rec, const char *out_path,
                            char *err, size_t errlen)
{
    FILE *in = fopen (job_path, "r");
    if (!in) {
        snprintf (err, errlen, "--write: cannot read %s: %s", job_path, strerror (errno));
        return -1;
    }
    FILE *out = fopen (out_path, "w");
    if (!out) {
        snprintf (err, errlen, "--write %s: %s", out_path, strerror (errno));
        fclose (in);
        return -1;
    }
    /*  Copy every line except the top-level pipeline: block (its line and
        the indented or blank lines after it). */
    char *line = NULL;
    size_t cap = 0;
    bool skipping = false;
    while (getline (&line, &cap, in) > 0) {
        if (skipping && (line[0] == ' ' || line[0] == '\t' || line[0] == '\n'
                         || line[0] == '\r'))
            continue;
        skipping = s_is_pipeline_line (line);
        if (skipping)
            continue;
        fputs (line, out);
        if (line[strlen (line) - 1] != '\n')
            fputc ('\n', out);
    }
    free (line);
    fclose (in);
    fprintf (out, "# pipeline: as ferry-coordinator tune recommended (best: %" PRId64
             " rows/chunk, %d worker(s) x %d slot(s))\npipeline:\n  chunk_size: %" PRId64
             "\n  min_rows_for_parallel: %" PRId64 "\n  writers: %d\n", rec->chunk_size,
             rec->workers, rec->writers, rec->chunk_size, rec->min_rows_for_parallel,
             rec->writers);
    if (rec->concurrency == 0)
        fputs ("  concurrency: auto\n", out);
    else
        fprintf (out, "  concurrency: %d\n", rec->concurrency);
    s_pipeline_rest (out, cfg);
    if (fclose (out) != 0) {
        snprintf (err, errlen, "--write %s: %s", out_path, strerror (errno));
        return -1;
    }
    char lerr[2048];
    config_t *check = config_load (out_path, lerr, sizeof lerr);
    if (!check) {
        snprintf (err, errlen, "--write: the copy does not load (%s); edit the pipeline: "
                  "section of %s by hand", lerr, job_path);
        return -1;
    }
    config_destroy (&check);
    return 0;
}
