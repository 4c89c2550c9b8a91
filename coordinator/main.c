/*  coordinator/main.c: ferry-coordinator entry point.

        ferry-coordinator run JOB.yaml [options]    plan, load, verify, publish
        ferry-coordinator plan JOB.yaml             print the plan, move no data

    A run: prepare the target (schema ferry, the run's row, an UNLOGGED
    staging table), check the query's columns against the final table,
    plan key ranges inside the run's exported snapshot, dispatch them to
    workers over ZeroMQ, check that every row is accounted for, publish in
    one transaction, report. Exit status per common/exit_codes.h. */
#include "auth.h"
#include "catalog.h"
#include "endpoint.h"
#include "exit_codes.h"
#include "log.h"
#include "publish.h"
#include "publish_why.h"
#include "report.h"
#include "run.h"
#include "schema.h"
#include "tick.h"
#include "util.h"
#include "verify.h"

#include <czmq.h>
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static volatile int s_stop = 0;

static void
s_on_signal (int sig)
{
    (void) sig;
    if (s_stop)
        _exit (EXIT_CODE_INTERRUPTED);     /* second signal: abort at once */
    s_stop = 1;
}

static void
s_usage (FILE *out)
{
    fprintf (out,
"Usage:\n"
"  ferry-coordinator run JOB.yaml [--local-workers N] [--slots N] [--report FILE.json]\n"
"                                 [--run-id ID] [--sequential]\n"
"  ferry-coordinator plan JOB.yaml [--sequential]\n"
"  ferry-coordinator resume RUN_ID --job JOB.yaml [--local-workers N] [--slots N]\n"
"                                 [--report FILE.json]\n"
"\n"
"run   plans the job as key-range chunks, hands them to workers over ZeroMQ\n"
"      (cluster.bind), checks that every row is accounted for, and publishes\n"
"      into target.table in one transaction (target.publish: merge), or\n"
"      copies straight into an empty final table (target.publish: direct).\n"
"plan  prints the chunks (bounds and row counts) and moves no data.\n"
"resume  continues a run that was interrupted, failed or lost its coordinator:\n"
"      reads its plan (ferry.chunks) and ledger (ferry.chunk_commits), copies\n"
"      only the chunks not committed yet, then verifies and publishes.\n"
"\n"
"Options:\n"
"  --local-workers N  start N ferry-worker processes on this host (loopback);\n"
"                     without it, wait for external workers:\n"
"                       ferry-worker --coordinator tcp://HOST:PORT [--slots N]\n"
"  --slots N          chunk slots per local worker (default pipeline.writers)\n"
"  --report FILE      write the JSON report there\n"
"  --run-id ID        run id (default: a new one, YYYYMMDD_HHMMSS_xxxx)\n"
"  --sequential       one chunk, one slot, whatever the row count\n"
"  --job FILE         the job file (resume)\n"
"  -h, --help         this help\n"
"\n"
"Environment: FERRY_SOURCE_DSN, FERRY_TARGET_DSN override the job file's\n"
"conninfo; FERRY_CLUSTER_SECRET is the secret workers must prove (overrides\n"
"cluster.secret_file; required without --local-workers); FERRY_WORKER_BIN\n"
"names the worker executable; FERRY_LOG_LEVEL.\n"
"\n"
"Exit status: 0 published (or planned), 1 failed (nothing published),\n"
"2 usage, 3 bad job file, 4 source unreachable, 5 target unreachable,\n"
"8 interrupted (resumable).\n");
}

static int
s_parse_args (int argc, char **argv, args_t *a)
{
    static struct option opts[] = {
        { "help", no_argument, NULL, 'h' },
        { "local-workers", required_argument, NULL, 'w' },
        { "slots", required_argument, NULL, 's' },
        { "report", required_argument, NULL, 'r' },
        { "run-id", required_argument, NULL, 'R' },
        { "sequential", no_argument, NULL, 'q' },
        { "job", required_argument, NULL, 'j' },
        { "version", no_argument, NULL, 'V' },
        { NULL, 0, NULL, 0 }
    };
    int c;
    while ((c = getopt_long (argc, argv, "h", opts, NULL)) != -1) {
        switch (c) {
        case 'h': s_usage (stdout); exit (EXIT_CODE_OK);
        case 'V': printf ("ferry-coordinator %s\n", FERRY_VERSION); exit (EXIT_CODE_OK);
        case 'w':
            if (util_parse_int64 (optarg, 0, 64, &a->local_workers) != 0) {
                fprintf (stderr, "ferry-coordinator: --local-workers: expected 0..64, got '%s'\n", optarg);
                return -1;
            }
            break;
        case 's':
            if (util_parse_int64 (optarg, 1, 256, &a->slots) != 0) {
                fprintf (stderr, "ferry-coordinator: --slots: expected 1..256, got '%s'\n", optarg);
                return -1;
            }
            break;
        case 'r': a->report = optarg; break;
        case 'R': a->run_id = optarg; break;
        case 'q': a->sequential = true; break;
        case 'j': a->job = optarg; break;
        default:
            fprintf (stderr, "Try 'ferry-coordinator --help'.\n");
            return -1;
        }
    }
    if (argc - optind != 2) {
        fprintf (stderr, "ferry-coordinator: expected a command and its argument\n"
                 "Try 'ferry-coordinator --help'.\n");
        return -1;
    }
    a->command = argv[optind];
    if (strcmp (a->command, "resume") == 0) {
        a->resume_id = argv[optind + 1];
        a->run_id = a->resume_id;
        if (!a->job) {
            fprintf (stderr, "ferry-coordinator: resume needs --job JOB.yaml\n");
            return -1;
        }
    }
    else if (a->job) {
        fprintf (stderr, "ferry-coordinator: --job is for resume; give the job file after '%s'\n",
                 a->command);
        return -1;
    }
    else
        a->job = argv[optind + 1];
    if (strcmp (a->command, "run") != 0 && strcmp (a->command, "plan") != 0
    &&  strcmp (a->command, "resume") != 0) {
        fprintf (stderr, "ferry-coordinator: unknown command '%s' (run, plan, resume)\n", a->command);
        return -1;
    }
    if (a->run_id && !util_run_id_is_valid (a->run_id)) {
        fprintf (stderr, "ferry-coordinator: --run-id '%s': use 1..48 characters of A-Z a-z 0-9 _ -\n",
                 a->run_id);
        return -1;
    }
    return 0;
}

/*  The secret every worker must prove (common/auth.h): the operator's
    (FERRY_CLUSTER_SECRET or cluster.secret_file), else, when all workers
    are ours, a random one for this run. External workers with no secret
    configured: refuse. 0 or -1 (logged). */
static int
s_cluster_secret (run_t *r)
{
    char err[1400];
    int rc = auth_secret_load (r->cfg->cluster.secret_file, &r->secret, err, sizeof err);
    if (rc < 0) {
        log_error ("%s", err);
        return -1;
    }
    if (rc == 1)
        return 0;
    if (r->args->local_workers > 0) {
        char hex[AUTH_HEX_LEN + 1];
        if (auth_random_hex (hex) != 0) {
            log_error ("cannot draw the run's cluster secret (getrandom): %s", strerror (errno));
            return -1;
        }
        r->secret = xstrdup (hex);
        explicit_bzero (hex, sizeof hex);
        return 0;
    }
    log_error ("no cluster secret: without --local-workers the coordinator waits for external "
               "workers, and each must prove a secret it shares with the coordinator. Set "
               "FERRY_CLUSTER_SECRET (e.g. the output of 'openssl rand -hex 32') in the "
               "environment of the coordinator and of every worker, or name a file holding it "
               "in the job file (cluster.secret_file) and start each worker with --secret-file FILE");
    return -1;
}

static void
s_run_cleanup (run_t *r)
{
    if (r->secret)
        explicit_bzero (r->secret, strlen (r->secret));
    free (r->secret);
    r->secret = NULL;
    vacuum_guard_destroy (&r->guard);
    claim_destroy (&r->claim);
    dispatch_destroy (&r->dispatch);
    if (r->spawn) {
        spawner_stop (r->spawn, 5000);
        spawner_destroy (&r->spawn);
    }
    zsock_destroy (&r->router);
    free (r->endpoint);
    free (r->file_columns);
    chunktab_destroy (&r->chunks);
    plan_destroy (&r->plan);
    fileplan_destroy (&r->fplan);
    copyjob_destroy (&r->job);
    source_destroy (&r->source);
    ledger_destroy (&r->ledger);
    free (r->staging);
    free (r->final_q);
    free (r->run_id);
    config_destroy (&r->cfg);
}

/*  Binds the ROUTER to cluster.bind. Done before the run is recorded or
    anything is created on the target, so a port already in use (a second
    run on the default port) fails with nothing to clean up. 0, or -1
    with message. */
static int
s_bind (run_t *r, char *message, size_t size)
{
    r->router = zsock_new (ZMQ_ROUTER);
    if (!r->router) {
        snprintf (message, size, "cluster.bind: cannot create a ZeroMQ socket: %s",
                  zmq_strerror (zmq_errno ()));
        log_error ("%s", message);
        return -1;
    }
    zsock_set_router_mandatory (r->router, 1);
    /*  Anything may connect to this port: refuse absurd frames before
        libzmq allocates them (a ZMTP 1.0 header can claim any size). */
    zsock_set_maxmsgsize (r->router, PROTOCOL_MAX_FRAME);
    int port = zsock_bind (r->router, "%s", r->cfg->cluster.bind);
    if (port < 0) {
        snprintf (message, size, "cluster.bind: cannot bind %s: %s (another ferry run on this "
                  "port? give this job another cluster.bind); nothing was changed on the target",
                  r->cfg->cluster.bind, zmq_strerror (zmq_errno ()));
        log_error ("%s", message);
        return -1;
    }
    if (port == 0) {
        const char *colon = strrchr (r->cfg->cluster.bind, ':');
        port = colon ? atoi (colon + 1) : 0;
    }
    r->port = port;
    return 0;
}

static void
s_print_file_plan (run_t *r)
{
    printf ("plan for %s: %zu file(s), %" PRId64 " bytes, %" PRId64 " lines, %zu chunk(s)\n",
            r->cfg->target.table, r->fplan->files, r->fplan->total_bytes, r->fplan->total_lines,
            r->fplan->count);
    printf ("%6s  %-40s %14s %14s %10s %10s\n", "chunk", "file", "offset", "bytes", "line", "lines");
    for (size_t i = 0; i < r->fplan->count; i++) {
        fileplan_range_t *p = &r->fplan->ranges[i];
        printf ("%6zu  %-40s %14" PRId64 " %14" PRId64 " %10" PRId64 " %10" PRId64 "\n", i, p->path,
                p->offset, p->length, p->first_line, p->est_rows);
    }
}

/*  A file source: plan the files, map file columns to target columns,
    check them against the final table (before any data moves). Returns 0
    or -1 with message. */
static int
s_prepare_file (run_t *r, char *message, size_t size)
{
    config_t *cfg = r->cfg;
    csv_format_t fmt = {
        .delimiter = cfg->source.format.delimiter, .quote = cfg->source.format.quote,
        .escape = cfg->source.format.escape, .header = cfg->source.format.header,
        .null_marker = cfg->source.format.null_marker };
    char err[1024];
    /*  The slots are known when the workers are ours (--local-workers). */
    int slots = 0;
    if (r->args->local_workers > 0)
        slots = (int) r->args->local_workers
              * (r->args->slots ? (int) r->args->slots : cfg->pipeline.writers);
    r->fplan = fileplan_build (cfg->source.path, &fmt, cfg->pipeline.chunk_size,
                               cfg->pipeline.min_rows_for_parallel, r->args->sequential,
                               slots, err, sizeof err);
    if (!r->fplan) {
        snprintf (message, size, "%s", err);
        log_error ("%s", message);
        return -1;
    }
    r->job = copyjob_from_config (cfg, r->run_id, "coordinator", r->staging ? r->staging : r->final_q);
    char **targets = NULL, **owned = NULL;
    int count = 0;
    if (cfg->source.column_count > 0) {
        targets = cfg->source.columns;
        count = (int) cfg->source.column_count;
    }
    else if (r->fplan->header) {
        targets = r->fplan->header;
        count = r->fplan->header_count;
    }
    else {
        /*  No header, no mapping: the file holds the table's columns in order. */
        pg_conn_t *c = ledger_conn (r->ledger);
        if (!c || catalog_columns (c, cfg->target.table, &owned, &count) != 0) {
            if (c)
                ledger_log_error (r->ledger, cfg->target.table);
            snprintf (message, size, "cannot read the columns of %s", cfg->target.table);
            return -1;
        }
        targets = owned;
    }
    int rc = 0;
    for (int i = 0; i < count && rc == 0; i++)
        if (targets[i] && strchr (targets[i], PROTOCOL_COLUMN_SEP)) {
            snprintf (message, size, "column %d: the name holds a control character (0x1f)", i + 1);
            log_error ("%s", message);
            rc = -1;
        }
    if (rc == 0)
        copyjob_set_file_columns (r->job, targets, count);
    catalog_names_free (owned, owned ? count : 0);
    if (rc != 0)
        return -1;
    bool retryable = false;
    pg_conn_t *c = ledger_conn (r->ledger);
    if (!c || copyjob_prepare_csv (r->job, c, err, sizeof err, &retryable) != 0) {
        snprintf (message, size, "%s", c ? err : "target unreachable");
        log_error ("%s", message);
        return -1;
    }
    log_info ("%zu file(s), %" PRId64 " bytes, %" PRId64 " lines; %d file column(s), %d loaded",
              r->fplan->files, r->fplan->total_bytes, r->fplan->total_lines,
              r->job->nfile_columns, r->job->nfields);
    return 0;
}

/*  How to split a postgres source: 1 = by heap block (ctid), 0 = by key,
    -1 = error (message set). ctid needs the shared snapshot (a row that an
    update moves to another block must not be read twice or missed) and a
    query that scans one table whole (source_ctid_probe); source.split: auto
    takes it when it can, and says why not at debug level. */
static int
s_choose_split (run_t *r, bool shared, char *message, size_t size)
{
    split_mode_t mode = r->cfg->source.split;
    if (mode == SPLIT_KEY) {
        snprintf (r->split_why, sizeof r->split_why, "source.split: key");
        return 0;
    }
    if (!shared) {
        snprintf (r->split_why, sizeof r->split_why, "source.split: auto: snapshot none (block "
                  "ranges need one snapshot)");
        return 0;
    }
    char why[1024] = "";
    int rc = source_ctid_probe (r->source, r->job, &r->heap, why, sizeof why);
    if (rc < 0) {
        snprintf (message, size, "source: connection lost while planning the split (%s)",
                  pg_conn_error (source_conn (r->source))->message);
        return -1;
    }
    if (rc == 0) {
        if (mode == SPLIT_CTID) {
            snprintf (message, size, "source.split: ctid: %s", why);
            log_error ("%s", message);
            return -1;
        }
        snprintf (r->split_why, sizeof r->split_why, "source.split: auto: %s", why);
        log_info ("splitting by key %s, not by heap block (%s)", r->job->key, r->split_why);
        return 0;
    }
    snprintf (r->split_why, sizeof r->split_why, "source.split: %s: a plain scan of one table; "
              "resumable while nobody inserts or updates its rows, else set source.split: key",
              mode == SPLIT_CTID ? "ctid" : "auto");
    log_info ("splitting %s by heap block (ctid): %" PRId64 " blocks, about %" PRId64 " rows (%s)",
              r->heap.relation, r->heap.nblocks, r->heap.est_rows, r->split_why);
    return 1;
}

static void
s_print_plan (run_t *r)
{
    if (r->job->ctid_split)
        printf ("plan for %s: about %" PRId64 " rows, %zu chunk(s), split by heap block (ctid) "
                "of %s\n", r->cfg->target.table, r->plan->total_rows, r->plan->count, r->heap.relation);
    else
        printf ("plan for %s: %s%" PRId64 " rows, %zu chunk(s), key %s (%s)\n", r->cfg->target.table,
                r->plan_estimated ? "about " : "", r->plan->total_rows, r->plan->count, r->job->key,
                r->job->key_type);
    if (r->split_why[0])
        printf ("split: %s (%s)\n", r->job->ctid_split ? "ctid" : "key", r->split_why);
    printf ("%6s  %-28s %-28s %12s\n", "chunk", "from (>=)", "to (<)", "rows");
    for (size_t i = 0; i < r->plan->count; i++) {
        plan_range_t *p = &r->plan->ranges[i];
        printf ("%6zu  %-28s %-28s %12" PRId64 "\n", i, p->lo ? p->lo : "(start)",
                p->hi ? p->hi : "(end)", p->est_rows);
    }
}

/*  Checks that every row is accounted for (verify_ledger). Returns 0, or
    -1 with err. */
static int
s_verify (run_t *r, int64_t *loaded, char *err, size_t errlen)
{
    size_t n = chunktab_size (r->chunks);
    int64_t *ledger_rows = xcalloc (n + 1, sizeof *ledger_rows);
    int64_t *ledger_rejected = xcalloc (n + 1, sizeof *ledger_rejected);
    int rc = -1;
    r->rejected = 0;
    if (ledger_committed_rows (r->ledger, r->run_id, n, ledger_rows, ledger_rejected) != 0)
        snprintf (err, errlen, "cannot read the ledger to verify the run");
    else
        rc = verify_ledger (r->chunks, ledger_rows, ledger_rejected, r->snapshot_exact,
                            r->rows_source, loaded, &r->rejected, err, errlen);
    free (ledger_rows);
    free (ledger_rejected);
    return rc;
}

/*  What the report says of the concurrency: the mode, and the
    controller's changes. Caller frees both. */
static void
s_concurrency_text (run_t *r, char **mode, char **log)
{
    *mode = *log = NULL;
    if (!r->dispatch)
        return;
    if (r->args->sequential)
        *mode = xstrdup ("--sequential: one chunk");
    else if (r->cfg->pipeline.concurrency > 0)
        *mode = util_strdupf ("pinned at %d (pipeline.concurrency)", r->cfg->pipeline.concurrency);
    else {
        *mode = util_strdupf ("auto: ended at %d, at most %d", cc_limit (&r->cc), r->cc.peak_limit);
        *log = cc_history_text (&r->cc, r->cc_started_ms);
    }
}

/*  True when some chunk was ever handed to a worker (it may have
    committed rows). */
static bool
s_any_handed_out (chunktab_t *chunks)
{
    for (size_t i = 0; chunks && i < chunktab_size (chunks); i++)
        if (chunktab_get (chunks, (int64_t) i)->attempt > 0)
            return true;
    return false;
}

static int
s_run (args_t *args)
{
    run_t r;
    memset (&r, 0, sizeof r);
    r.args = args;
    r.rows_source = -1;
    bool plan_only = strcmp (args->command, "plan") == 0;
    bool resume = args->resume_id != NULL;
    int exit_code = EXIT_CODE_FAILED;
    const char *status = "failed";
    char message[2600] = "";
    char err[2048];
    double t_start = util_now_s (), t_load = 0, t_loaded = 0, t_verified = 0;
    publish_result_t pub;
    memset (&pub, 0, sizeof pub);
    int64_t loaded = 0;
    bool run_recorded = false;

    r.cfg = config_load (args->job, err, sizeof err);
    if (!r.cfg) {
        log_error ("%s", err);
        return EXIT_CODE_BAD_CONFIG;
    }
    r.file = r.cfg->source.kind == SOURCE_KIND_CSV;
    jobprint_compute (r.cfg, &r.print);
    log_first_error_reset ();
    r.run_id = args->run_id ? xstrdup (args->run_id) : util_run_id_new ();
    log_set_ident (r.run_id);
    r.final_q = pg_quote_qualified (r.cfg->target.table);
    if (!r.final_q) {
        log_error ("%s: target.table: '%s' is not a valid table name", args->job, r.cfg->target.table);
        s_run_cleanup (&r);
        return EXIT_CODE_BAD_CONFIG;
    }
    /*  A new run needs its workers: refuse before anything is recorded. A
        resume may have nothing left to copy: it asks when it does. */
    if (!plan_only && !resume && s_cluster_secret (&r) != 0) {
        s_run_cleanup (&r);
        return EXIT_CODE_BAD_CONFIG;
    }
    bool direct = r.cfg->target.publish == PUBLISH_DIRECT;
    if (!direct)
        r.staging = schema_staging_name (r.run_id);
    retry_policy_t policy = {
        .max_retries = r.cfg->retry.max_retries, .initial_delay = r.cfg->retry.initial_delay,
        .backoff = r.cfg->retry.backoff, .max_delay = r.cfg->retry.max_delay };

    /*  1. Target, and the run's row. */
    r.ledger = ledger_new (r.cfg->target.conninfo, &policy, &s_stop);
    if (!ledger_conn (r.ledger)) {
        exit_code = EXIT_CODE_TARGET;
        goto out;
    }
    /*  2. Source: the consistent cut, and the column check. */
    bool shared = !r.file && r.cfg->source.snapshot == SNAPSHOT_SHARED;
    if (r.file) {
        if (s_prepare_file (&r, message, sizeof message) != 0)
            goto out;
    }
    else {
        r.source = source_new (r.cfg->source.conninfo);
        if (source_open (r.source, &policy, shared && !plan_only, &s_stop) != 0) {
            exit_code = pg_is_connected (source_conn (r.source)) ? EXIT_CODE_FAILED
                                                                 : EXIT_CODE_SOURCE;
            goto out;
        }
        r.job = copyjob_from_config (r.cfg, r.run_id, "coordinator", r.final_q);
        bool retryable = false;
        if (copyjob_prepare (r.job, source_conn (r.source), ledger_conn (r.ledger), err,
                             sizeof err, &retryable) != 0) {
            log_error ("%s", err);
            snprintf (message, sizeof message, "%s", err);
            goto out;
        }
        if (!r.job->binary)
            log_info ("column types differ (%s): chunks move as text COPY, the target casts",
                      r.job->text_columns);
    }

    if (!plan_only && s_bind (&r, message, sizeof message) != 0)
        goto out;
    if (resume) {
        int rrc = resume_prepare (&r, &policy, &s_stop, message, sizeof message, &exit_code);
        if (rrc != 0)
            goto out;
        if (exit_code == EXIT_CODE_OK) {
            /*  Already published: leave its record and report alone. */
            s_run_cleanup (&r);
            return EXIT_CODE_OK;
        }
        run_recorded = true;
    }
    else {
        /*  3. Plan. */
        int64_t null_keys = 0;
        int split = 0;
        if (r.file) {
            r.plan = plan_single (r.fplan->total_lines);   /* for totals only */
            r.plan_estimated = true;
        }
        else if (args->sequential) {
            /*  One chunk reads everything: its row count is the source count
                (in the shared snapshot), so no counting pass is needed. */
            int64_t estimate = 0;
            if (source_estimate (r.source, r.job, &estimate) != 0)
                goto out;
            r.plan = plan_single (estimate);
            r.plan_estimated = true;
        }
        else if ((split = s_choose_split (&r, shared, message, sizeof message)) < 0)
            goto out;
        else if (split == 1) {
            r.plan = plan_blocks (r.heap.nblocks, r.heap.est_rows, r.cfg->pipeline.chunk_size,
                                  r.cfg->pipeline.min_rows_for_parallel);
            r.plan_estimated = true;
            r.job->ctid_split = r.plan->count > 1;
        }
        else {
            r.plan = source_plan (r.source, r.job, r.cfg->pipeline.chunk_size, &r.rows_source,
                                  &null_keys);
            if (!r.plan)
                goto out;
            r.snapshot_exact = shared;
            if (r.rows_source < r.cfg->pipeline.min_rows_for_parallel && r.plan->count > 1) {
                plan_destroy (&r.plan);
                r.plan = plan_single (r.rows_source);
            }
            if (r.plan->count > 1 && null_keys > 0) {
                snprintf (message, sizeof message, "source.key: %" PRId64 " rows have a NULL %s; "
                          "key ranges cannot hold them (use a NOT NULL key, or --sequential)",
                          null_keys, r.job->key);
                log_error ("%s", message);
                goto out;
            }
        }
        if (plan_only) {
            if (r.file)
                s_print_file_plan (&r);
            else
                s_print_plan (&r);
            exit_code = EXIT_CODE_OK;
            goto out;
        }
        if (direct) {
            /*  Before the emptiness check, and held until the run ends: a
                second direct run into the same table is refused. */
            r.claim = claim_take (r.cfg->target.conninfo, r.cfg->target.table, r.run_id, &policy,
                                  &s_stop, message, sizeof message);
            if (!r.claim) {
                log_error ("%s", message);
                goto out;
            }
        }
        char *job_keys = jobprint_keys_text (&r.print);
        int brc = ledger_begin_run (r.ledger, r.run_id, r.cfg->target.table, r.staging,
                                    direct ? "direct" : "merge",
                                    r.file ? "file" : r.job->ctid_split ? "ctid" : "key",
                                    r.print.hash, job_keys);
        free (job_keys);
        if (brc != 0)
            goto out;
        run_recorded = true;
        if (shared && !args->sequential) {
            /*  With which a resume checks that a ctid plan still holds. */
            char *snap = source_txid_snapshot (r.source);
            if (!snap || ledger_set_source_snapshot (r.ledger, r.run_id, snap) != 0) {
                free (snap);
                goto out;
            }
            free (snap);
        }
        if (direct) {
            bool empty = false;
            if (ledger_table_is_empty (r.ledger, r.final_q, &empty) != 0)
                goto out;
            if (!empty) {
                snprintf (message, sizeof message, "target.publish is direct but %s is not empty; "
                          "direct is for fresh loads only (use publish: merge)", r.cfg->target.table);
                log_error ("%s", message);
                goto out;
            }
        }
        else if (schema_create_staging (ledger_conn (r.ledger), r.staging, r.cfg->target.table) != 0) {
            ledger_log_error (r.ledger, "creating the staging table");
            goto out;
        }
        r.chunks = chunktab_new (&policy, retry_seed ());
        if (r.file)
            for (size_t i = 0; i < r.fplan->count; i++) {
                fileplan_range_t *f = &r.fplan->ranges[i];
                chunktab_add_file (r.chunks, f->path, f->offset, f->length, f->first_line,
                                   f->est_rows);
            }
        else
            for (size_t i = 0; i < r.plan->count && (r.rows_source > 0 || r.plan_estimated); i++)
                chunktab_add (r.chunks, r.plan->ranges[i].lo, r.plan->ranges[i].hi,
                              r.plan->ranges[i].est_rows);
        if (ledger_write_plan (r.ledger, r.run_id, r.chunks) != 0
        ||  ledger_set_status (r.ledger, r.run_id, "loading") != 0)
            goto out;
        if (r.file)
            log_info ("planned %zu chunk(s) over %zu file(s), about %" PRId64 " records "
                      "(publish %s)", chunktab_size (r.chunks), r.fplan->files,
                      r.fplan->total_lines, direct ? "direct" : "merge");
        else
            log_info ("planned %zu chunk(s) over %s%" PRId64 " rows (%s%s, publish %s)",
                      r.plan->count, r.plan_estimated ? "about " : "", r.plan->total_rows,
                      r.job->ctid_split ? "heap blocks of " : "ranges of key ",
                      r.job->ctid_split ? r.heap.relation : r.job->key,
                      direct ? "direct" : "merge");

    }
    if (!shared && !r.file && chunktab_size (r.chunks) > 1)
        log_warn ("source.snapshot is none and the plan has %zu chunks: each chunk reads its own "
                  "snapshot, so rows written while the load runs may be loaded twice (a row "
                  "whose key moved between chunks), missed, or mixed old and new. Use snapshot: "
                  "shared unless the source is not written during the load",
                  chunktab_size (r.chunks));
    /*  Without a shared snapshot nothing needs the planning transaction:
        don't hold it open (and hold back vacuum) for the whole load. */
    if (r.source && !shared)
        source_close (r.source);

    /*  4. Load. */
    t_load = util_now_s ();
    if (!chunktab_all_done (r.chunks) && !r.secret && s_cluster_secret (&r) != 0) {
        exit_code = EXIT_CODE_BAD_CONFIG;
        goto out;
    }
    if (!chunktab_all_done (r.chunks)) {
        r.endpoint = endpoint_for_local_workers (r.cfg->cluster.bind, r.port);
        /*  Judge the BIND address: a wildcard (0.0.0.0, *) accepts remote
            peers even though local workers reach it on 127.0.0.1. */
        bool local = endpoint_is_local (r.cfg->cluster.bind);

        protocol_job_t *pj = &r.pjob;
        char *file_columns = NULL;
        copyjob_to_protocol (r.job, r.cfg, direct ? r.final_q : r.staging,
                             r.source ? source_snapshot (r.source) : NULL, local, pj,
                             &file_columns);

        r.dispatch = dispatch_new (r.router, r.run_id, pj, r.chunks, r.ledger,
                                   r.cfg->cluster.heartbeat_ms, r.cfg->cluster.liveness, &s_stop);
        r.file_columns = file_columns;
        if (r.file)
            dispatch_set_max_errors (r.dispatch, r.cfg->source.max_errors);
        dispatch_set_fence_lost (r.dispatch, direct);
        dispatch_set_secret (r.dispatch, r.secret);
        dispatch_set_stall_timeout (r.dispatch,
                                    (int64_t) (r.cfg->cluster.chunk_stall_timeout * 1000.0));
        if (args->local_workers > 0) {
            char *bin = spawner_find_worker ();
            if (!bin)
                goto out;
            int slots = args->slots ? (int) args->slots : r.cfg->pipeline.writers;
            if (args->sequential)
                slots = 1;
            r.spawn = spawner_new (bin, r.endpoint, (int) args->local_workers, slots, r.run_id);
            /*  Local workers get the conninfos through their environment
                (never argv, never the wire), whatever the bind address. */
            spawner_set_dsns (r.spawn, r.file ? NULL : r.cfg->source.conninfo,
                              r.cfg->target.conninfo);
            spawner_set_secret (r.spawn, r.secret);
            free (bin);
            if (spawner_start (r.spawn) != 0)
                goto out;
        }
        else
            log_info ("waiting for workers; start them with:  ferry-worker --coordinator %s "
                      "[--slots N] [--name NAME] (with the cluster secret: FERRY_CLUSTER_SECRET "
                      "or --secret-file)%s", r.endpoint,
                      local ? "" : "  (with FERRY_SOURCE_DSN and FERRY_TARGET_DSN set: "
                                   "conninfos are not sent over a non-loopback link)");
        if (direct)     /* before the budget: it holds a target connection */
            r.guard = vacuum_guard_new (r.cfg->target.conninfo, r.final_q, r.run_id);
        /*  How many chunks in flight: measured (auto) or pinned, within the
            slots offered and the servers' connection budget. */
        int pinned = args->sequential ? 1 : r.cfg->pipeline.concurrency;
        r.cc_started_ms = util_now_ms ();
        if (pinned == 0) {
            cc_config_t ccc = cc_config_default (1);
            cc_init (&r.cc, &ccc, r.cc_started_ms);
        }
        dispatch_set_concurrency (r.dispatch, pinned == 0 ? &r.cc : NULL, pinned);
        tick_t tick;
        int budget = tick_init (&tick, r.spawn, r.source, r.dispatch, r.ledger, r.run_id, args->job);
        if (budget > 0)
            log_info ("concurrency %s, at most %d chunk(s) in flight by the servers' free "
                      "connections", pinned ? "pinned" : "auto", budget);
        dispatch_set_tick (r.dispatch, tick_run, &tick);
        progress_t progress;
        int64_t total = r.rows_source;
        if (total < 0) {            /* resumed or sequential: the plan's estimate */
            total = 0;
            for (size_t i = 0; i < chunktab_size (r.chunks); i++)
                total += chunktab_get (r.chunks, (int64_t) i)->est_rows;
        }
        progress_init (&progress, total);
        dispatch_set_progress (r.dispatch, progress_print, &progress);
        int drc = dispatch_run (r.dispatch);
        vacuum_guard_destroy (&r.guard);
        progress_finish (&progress);
        dispatch_stop_workers (r.dispatch, drc == 0 ? "run complete" : dispatch_error (r.dispatch),
                               2000);
        if (drc != 0) {
            snprintf (message, sizeof message, "%s", dispatch_error (r.dispatch));
            r.rejected = dispatch_rejected (r.dispatch);
            if (s_stop) {
                status = "interrupted";
                exit_code = EXIT_CODE_INTERRUPTED;
                log_error ("run %s interrupted; nothing was published. Resume with: "
                           "ferry-coordinator resume %s --job %s", r.run_id, r.run_id, args->job);
            }
            else if (direct)
                log_error ("run %s failed: %s. publish is direct: the rows of the chunks "
                           "committed so far are in %s (direct is not atomic; see "
                           "ferry.chunk_commits); once the cause is fixed: ferry-coordinator "
                           "resume %s --job %s", r.run_id, message, r.cfg->target.table,
                           r.run_id, args->job);
            else
                log_error ("run %s failed: %s; nothing was published (staging kept for "
                           "inspection; once the cause is fixed: ferry-coordinator resume %s "
                           "--job %s)", r.run_id, message, r.run_id, args->job);
            goto out;
        }
    }
    if (r.source)
        source_close (r.source);
    t_loaded = util_now_s ();

    /*  5. Every row accounted for, then publish. */
    if (r.claim && claim_check (r.claim, err, sizeof err) != 0) {
        snprintf (message, sizeof message, "%s; the rows committed so far stay in %s", err,
                  r.cfg->target.table);
        log_error ("%s", message);
        goto out;
    }
    if (s_verify (&r, &loaded, err, sizeof err) != 0) {
        snprintf (message, sizeof message, "verification failed: %s; nothing was published", err);
        log_error ("%s", message);
        goto out;
    }
    t_verified = util_now_s ();
    if (r.plan_estimated)
        r.rows_source = loaded + r.rejected;  /* what the chunks read is the source */
    if (r.file) {
        if (r.cfg->source.rejects_file) {
            int64_t n = ledger_write_rejects_file (r.ledger, r.run_id, r.cfg->source.rejects_file);
            if (n >= 0 && r.rejected > 0)
                log_info ("%" PRId64 " rejected record(s) written to %s", n,
                          r.cfg->source.rejects_file);
        }
        double rate = r.rows_source > 0 ? (double) r.rejected / (double) r.rows_source : 0;
        if (r.rejected > 0)
            log_warn ("%" PRId64 " of %" PRId64 " records rejected (%.3f%%); reasons in "
                      "ferry.rejects (run %s)", r.rejected, r.rows_source, 100.0 * rate, r.run_id);
        if (publish_why_nothing_loaded (r.ledger, r.run_id, loaded, r.rejected, message,
                                        sizeof message) != 0) {
            log_error ("%s", message);
            goto out;
        }
        if (r.cfg->source.max_errors >= 0 && r.rejected > r.cfg->source.max_errors) {
            snprintf (message, sizeof message, "source.max_errors: %" PRId64 " records rejected "
                      "(limit %" PRId64 "); nothing was published", r.rejected,
                      r.cfg->source.max_errors);
            log_error ("%s", message);
            goto out;
        }
        if (rate > r.cfg->source.max_error_rate) {
            snprintf (message, sizeof message, "source.max_error_rate: %.4f of the records were "
                      "rejected (limit %.4f); nothing was published", rate,
                      r.cfg->source.max_error_rate);
            log_error ("%s", message);
            goto out;
        }
    }
    if (!direct) {
        publish_opts_t po = { .run_id = r.run_id, .job_file = args->job, .expected_rows = loaded,
                              .policy = &policy, .stop = &s_stop };
        if (publish_merge (r.ledger, r.cfg, r.job, r.staging, &po, &pub, err, sizeof err) != 0) {
            snprintf (message, sizeof message, "%s", err);
            log_error ("publish failed: %s", message);
            goto out;
        }
        log_info ("published %" PRId64 " rows into %s by %s in %.2fs", loaded, r.cfg->target.table,
                  pub.strategy, pub.seconds);
    }
    {
        char *an = util_strdupf ("ANALYZE %s", r.final_q);
        pg_conn_t *c = ledger_conn (r.ledger);
        if (c && pg_exec (c, an) != 0)
            log_warn ("ANALYZE %s failed: %s", r.cfg->target.table, pg_conn_error (c)->message);
        free (an);
    }
    status = "published";
    exit_code = EXIT_CODE_OK;

out:
    /*  The reason travels to the run's record even when it was logged
        where it happened (a ledger or spawner failure). */
    if (exit_code != EXIT_CODE_OK && !message[0])
        log_first_error (message, sizeof message);
    /*  A new run that failed before any chunk was handed out loaded
        nothing: drop what it created (staging, plan); its ferry.runs row
        stays, failed, with the reason. */
    if (run_recorded && !resume && !s_any_handed_out (r.chunks) && exit_code != EXIT_CODE_OK
    &&  ledger_drop_unloaded (r.ledger, r.run_id, r.staging) == 0 && r.staging)
        log_info ("dropped the staging table %s (nothing was loaded)", r.staging);
    if (!plan_only && r.cfg) {
        double now = util_now_s ();
        report_t rep = {
            .run_id = r.run_id, .status = status, .publish = direct ? "direct" : "merge",
            .strategy = pub.strategy, .atomic = !direct, .message = message[0] ? message : NULL,
            .rows_source = r.rows_source, .rows_loaded = loaded,
            .rows_rejected = r.file ? r.rejected : -1,
            .wall_seconds = now - t_start,
            .load_seconds = t_load > 0 ? (t_loaded > 0 ? t_loaded : now) - t_load : 0,
            .merge_seconds = pub.seconds, .chunks = r.chunks,
            .coordinator_peak_rss_kb = util_peak_rss_kb (),
            .plan_seconds = (t_load > 0 ? t_load : now) - t_start, .load_started = t_load,
            .verify_seconds = t_verified > 0 ? t_verified - t_loaded : 0,
            .sequential = args->sequential };
        if (r.dispatch) {
            rep.workers = dispatch_workers (r.dispatch, &rep.nworkers);
            rep.peak_inflight = dispatch_peak_inflight (r.dispatch);
        }
        char *baseline = NULL, *cmode = NULL, *clog = NULL;
        s_concurrency_text (&r, &cmode, &clog);
        rep.concurrency_mode = cmode;
        rep.concurrency_log = clog;
        if (exit_code == EXIT_CODE_OK && !args->sequential && run_recorded
        &&  ledger_baseline (r.ledger, r.print.hash, r.run_id, &baseline, &rep.baseline_wall) == 0)
            rep.baseline_run = baseline;
        char *json = report_json (&rep);
        if (run_recorded)
            ledger_end_run (r.ledger, r.run_id, status, rep.message, r.rows_source, loaded,
                            r.chunks ? (int64_t) chunktab_size (r.chunks) : 0, json);
        if (r.run_id)
            report_print (&rep, stdout);
        if (args->report) {
            FILE *f = fopen (args->report, "w");
            if (!f || fputs (json, f) < 0 || fclose (f) != 0) {
                log_error ("--report %s: %s", args->report, strerror (errno));
                if (exit_code == EXIT_CODE_OK)
                    exit_code = EXIT_CODE_FAILED;
            }
        }
        free (json);
        free (baseline);
        free (cmode);
        free (clog);
    }
    s_run_cleanup (&r);
    return exit_code;
}

int
main (int argc, char **argv)
{
    args_t args;
    memset (&args, 0, sizeof args);
    log_init ("coordinator", NULL);
    if (s_parse_args (argc, argv, &args) != 0)
        return EXIT_CODE_USAGE;
    /*  czmq installs its own SIGINT handler unless told not to; ferry
        handles signals itself. */
    zsys_handler_set (NULL);
    struct sigaction sa;
    memset (&sa, 0, sizeof sa);
    sa.sa_handler = s_on_signal;
    sigemptyset (&sa.sa_mask);
    sigaction (SIGINT, &sa, NULL);
    sigaction (SIGTERM, &sa, NULL);
    signal (SIGPIPE, SIG_IGN);
    int rc = s_run (&args);
    zsys_shutdown ();
    return rc;
}
