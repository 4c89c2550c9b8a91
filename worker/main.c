/*  worker/main.c: ferry-worker entry point.

    Two modes:
      --standalone   run one chunk from a job file, without a coordinator
      --coordinator  join a coordinator over ZeroMQ and run what it assigns
    The exit status follows common/base/exit_codes.h. */
#include "copyjob.h"
#include "auth.h"
#include "exit_codes.h"
#include "keygen.h"
#include "log.h"
#include "outcome.h"
#include "pipeline.h"
#include "schema.h"
#include "session.h"
#include "stopsig.h"
#include "util.h"

#include <getopt.h>
#if defined (__GLIBC__)
#   include <malloc.h>
#endif
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void
s_usage (FILE *out)
{
    fprintf (out,
"Usage:\n"
"  ferry-worker --coordinator ENDPOINT [--slots N] [--name NAME] [--secret-file FILE]\n"
"               [--give-up-after DURATION] [--curve-key FILE --coordinator-key FILE]\n"
"  ferry-worker keygen DIR [--name NAME]\n"
"  ferry-worker --standalone --job JOB.yaml (--range LO:HI | --lo LO --hi HI)\n"
"               [--run-id ID] [--chunk-id N] [--attempt N] [--name NAME]\n"
"               [--snapshot ID] [--into TABLE]\n"
"\n"
"Copies key ranges of an ordered source query from a source PostgreSQL into\n"
"a target PostgreSQL, each chunk in one transaction with its ledger row.\n"
"\n"
"Coordinated mode:\n"
"  --coordinator ENDPOINT  the coordinator's ROUTER: tcp://HOST:PORT (e.g.\n"
"                          tcp://10.0.0.5:5570) or ipc://PATH\n"
"  --slots N               chunks in flight at once (default 2)\n"
"  --name NAME             worker name in reports (default: host-pid)\n"
"  --orphan-exit           leave when the parent process (a coordinator that\n"
"                          started this worker) goes away; such a worker also\n"
"                          connects to the servers of FERRY_SOURCE_DSN and\n"
"                          FERRY_TARGET_DSN at once, before its job arrives\n"
"  --secret-file FILE      the cluster secret to prove to the coordinator\n"
"                          (default: $FERRY_CLUSTER_SECRET); never give it in argv\n"
"  --give-up-after D       leave (exit 13) after D without a word from any\n"
"                          coordinator: 600, 90s, 10m, 1h; 0 = never (default\n"
"                          10m, or $FERRY_GIVE_UP_AFTER)\n"
"  --curve-key FILE        this worker's secret CURVE certificate (default:\n"
"                          $FERRY_CURVE_KEY): the link is encrypted, and the\n"
"                          coordinator lets in only keys it authorized\n"
"  --coordinator-key FILE  the coordinator's public certificate (default:\n"
"                          $FERRY_COORDINATOR_KEY); needed with --curve-key\n"
"  keygen DIR [--name NAME]  writes a certificate pair (DIR/NAME and\n"
"                          DIR/NAME_secret, default name: the host name)\n"
"\n"
"Standalone mode (one chunk, no coordinator):\n"
"  --job FILE              the job file (YAML)\n"
"  --range LO:HI           half-open key range [LO, HI); an empty side is\n"
"                          unbounded (\":\" = everything). Use --lo/--hi when a\n"
"                          key value contains ':'\n"
"  --lo LO, --hi HI        the bounds one by one ('' = unbounded)\n"
"  --run-id ID             run id (default: standalone); rows go to the\n"
"                          staging table ferry.\"stage_<ID>\", created with\n"
"                          target.table's columns when missing\n"
"  --chunk-id N            chunk id in the ledger (default 0)\n"
"  --attempt N             attempt number recorded in the ledger (default 1)\n"
"  --snapshot ID           read in this exported snapshot (pg_export_snapshot)\n"
"  --into TABLE            COPY into this existing table instead of staging\n"
"\n"
"Logs:\n"
"  --log-format F          text (default) or json: one JSON object per line\n"
"                          on stderr (time, level, role, run_id, worker, chunk,\n"
"                          sqlstate, message, source)\n"
"\n"
"Environment: FERRY_SOURCE_DSN, FERRY_TARGET_DSN override the job file's\n"
"conninfo; FERRY_GIVE_UP_AFTER (--give-up-after); FERRY_LOG_LEVEL=debug|info|\n"
"warn|error; FERRY_LOG_FORMAT=text|json; FERRY_RUN_ID (set by a coordinator\n"
"for the workers it starts) names the connections opened before the job.\n"
"\n"
"Exit status: 0 committed (standalone) or the run published (coordinated),\n"
"1 failed (permanent error), 2 usage, 3 bad job file or refused, 4 source\n"
"unreachable, 5 target unreachable, 6 chunk already committed, 7 retries\n"
"exhausted, 8 interrupted, 9 cannot start its threads or socket (ulimit),\n"
"10 the run failed, 11 the run was cancelled (its coordinator was\n"
"interrupted; resumable), 13 gave up: no coordinator (--give-up-after).\n");
}

typedef struct {
    const char *job;
    const char *coordinator;
    const char *lo, *hi;
    bool have_range;
    const char *run_id;
    int64_t chunk_id;
    int64_t attempt;
    int64_t slots;
    const char *name;
    const char *snapshot;
    const char *into;
    const char *secret_file;
    const char *give_up_after;
    const char *curve_key;
    const char *coordinator_key;
    bool standalone;
    bool orphan_exit;
} args_t;

/*  True when `ep` is an endpoint a worker can connect to: tcp://HOST:PORT
    (a non-empty host, a port 1..65535) or ipc://PATH (a non-empty path).
    libzmq would accept other strings only to fail every connect, and the
    worker would retry for ever. */
static bool
s_endpoint_is_valid (const char *ep)
{
    for (const char *p = ep; *p; p++)
        if ((unsigned char) *p <= ' ')
            return false;
    if (strncmp (ep, "ipc://", 6) == 0)
        return ep[6] != 0;
    if (strncmp (ep, "tcp://", 6) != 0)
        return false;
    const char *host = ep + 6;
    const char *colon = strrchr (host, ':');
    int64_t port = 0;
    return colon && colon > host && util_parse_int64 (colon + 1, 1, 65535, &port) == 0
        && strspn (colon + 1, "0123456789") == strlen (colon + 1);
}

static int
s_parse_args (int argc, char **argv, args_t *args)
{
    static struct option opts[] = {
        { "help", no_argument, NULL, 'h' },
        { "standalone", no_argument, NULL, 'S' },
        { "coordinator", required_argument, NULL, 'c' },
        { "job", required_argument, NULL, 'j' },
        { "range", required_argument, NULL, 'r' },
        { "lo", required_argument, NULL, 'l' },
        { "hi", required_argument, NULL, 'u' },
        { "run-id", required_argument, NULL, 'R' },
        { "chunk-id", required_argument, NULL, 'C' },
        { "attempt", required_argument, NULL, 'A' },
        { "slots", required_argument, NULL, 's' },
        { "name", required_argument, NULL, 'n' },
        { "snapshot", required_argument, NULL, 'P' },
        { "into", required_argument, NULL, 'i' },
        { "version", no_argument, NULL, 'V' },
        { "orphan-exit", no_argument, NULL, 'O' },
        { "secret-file", required_argument, NULL, 'K' },
        { "give-up-after", required_argument, NULL, 'G' },
        { "log-format", required_argument, NULL, 'L' },
        { "curve-key", required_argument, NULL, 'Y' },
        { "coordinator-key", required_argument, NULL, 'Z' },
        { NULL, 0, NULL, 0 }
    };
    static char range_buf[4096];
    bool have_lo = false, have_hi = false;
    args->run_id = "standalone";
    args->attempt = 1;
    int c;
    while ((c = getopt_long (argc, argv, "h", opts, NULL)) != -1) {
        switch (c) {
        case 'h': s_usage (stdout); exit (EXIT_CODE_OK);
        case 'V': printf ("ferry-worker %s\n", FERRY_VERSION); exit (EXIT_CODE_OK);
        case 'S': args->standalone = true; break;
        case 'c': args->coordinator = optarg; break;
        case 'K': args->secret_file = optarg; break;
        case 'G': args->give_up_after = optarg; break;
        case 'Y': args->curve_key = optarg; break;
        case 'Z': args->coordinator_key = optarg; break;
        case 'j': args->job = optarg; break;
        case 'r': {
            snprintf (range_buf, sizeof range_buf, "%s", optarg);
            char *colon = strchr (range_buf, ':');
            if (!colon || strchr (colon + 1, ':')) {
                fprintf (stderr, "ferry-worker: --range %s: expected LO:HI with exactly one ':' "
                         "(use --lo/--hi for values containing ':')\n", optarg);
                return -1;
            }
            *colon = 0;
            args->lo = *range_buf ? range_buf : NULL;
            args->hi = colon[1] ? colon + 1 : NULL;
            args->have_range = true;
            break;
        }
        case 'l': args->lo = *optarg ? optarg : NULL; have_lo = true; break;
        case 'u': args->hi = *optarg ? optarg : NULL; have_hi = true; break;
        case 'R': args->run_id = optarg; break;
        case 'C':
            if (util_parse_int64 (optarg, 0, INT64_MAX, &args->chunk_id) != 0) {
                fprintf (stderr, "ferry-worker: --chunk-id: expected an integer >= 0, got '%s'\n", optarg);
                return -1;
            }
            break;
        case 'A':
            if (util_parse_int64 (optarg, 1, 1000000, &args->attempt) != 0) {
                fprintf (stderr, "ferry-worker: --attempt: expected an integer >= 1, got '%s'\n", optarg);
                return -1;
            }
            break;
        case 's':
            if (util_parse_int64 (optarg, 1, 256, &args->slots) != 0) {
                fprintf (stderr, "ferry-worker: --slots: expected 1..256, got '%s'\n", optarg);
                return -1;
            }
            break;
        case 'n': args->name = optarg; break;
        case 'P': args->snapshot = optarg; break;
        case 'i': args->into = optarg; break;
        case 'O': args->orphan_exit = true; break;
        case 'L':
            if (log_cli_format ("ferry-worker", optarg) != 0)
                return -1;
            break;
        default:
            fprintf (stderr, "Try 'ferry-worker --help'.\n");
            return -1;
        }
    }
    if (optind < argc) {
        fprintf (stderr, "ferry-worker: unexpected argument '%s'\nTry 'ferry-worker --help'.\n", argv[optind]);
        return -1;
    }
    if (args->coordinator && !s_endpoint_is_valid (args->coordinator)) {
        fprintf (stderr, "ferry-worker: --coordinator '%s': not an endpoint; expected "
                 "tcp://HOST:PORT (port 1-65535) or ipc://PATH\n", args->coordinator);
        return -1;
    }
    if (!args->curve_key && getenv ("FERRY_CURVE_KEY") && *getenv ("FERRY_CURVE_KEY"))
        args->curve_key = getenv ("FERRY_CURVE_KEY");
    if (!args->coordinator_key && getenv ("FERRY_COORDINATOR_KEY")
    &&  *getenv ("FERRY_COORDINATOR_KEY"))
        args->coordinator_key = getenv ("FERRY_COORDINATOR_KEY");
    if (args->coordinator && !args->curve_key != !args->coordinator_key) {
        fprintf (stderr, "ferry-worker: CURVE needs both --curve-key (this worker's secret "
                 "certificate, or FERRY_CURVE_KEY) and --coordinator-key (the coordinator's "
                 "public certificate, or FERRY_COORDINATOR_KEY)\n");
        return -1;
    }
    if (args->standalone == (args->coordinator != NULL)) {
        fprintf (stderr, "ferry-worker: give exactly one of --standalone or --coordinator ENDPOINT\n"
                 "Try 'ferry-worker --help'.\n");
        return -1;
    }
    if (args->standalone) {
        if (!args->job) {
            fprintf (stderr, "ferry-worker: --standalone needs --job FILE\n");
            return -1;
        }
        if (args->have_range && (have_lo || have_hi)) {
            fprintf (stderr, "ferry-worker: give --range or --lo/--hi, not both\n");
            return -1;
        }
        if (!args->have_range && !have_lo && !have_hi) {
            fprintf (stderr, "ferry-worker: --standalone needs --range LO:HI (or --lo/--hi; ':' copies everything)\n");
            return -1;
        }
        if (!util_run_id_is_valid (args->run_id)) {
            fprintf (stderr, "ferry-worker: --run-id '%s': use 1..48 characters of A-Z a-z 0-9 _ -\n", args->run_id);
            return -1;
        }
    }
    return 0;
}

static int
s_exit_for (const chunk_result_t *r)
{
    switch (r->status) {
    case CHUNK_OK: return EXIT_CODE_OK;
    case CHUNK_ALREADY_COMMITTED: return EXIT_CODE_ALREADY_COMMITTED;
    case CHUNK_INTERRUPTED: return EXIT_CODE_INTERRUPTED;
    case CHUNK_RETRIES_EXHAUSTED: return EXIT_CODE_RETRIES_EXHAUSTED;
    default: return EXIT_CODE_FAILED;
    }
}

/*  Connects with the job's retry policy; logs once on failure. */
static int
s_connect (pg_conn_t *conn, const retry_policy_t *policy)
{
    if (pg_connect (conn, policy, &stopsig_raised) == 0)
        return 0;
    const pg_error_t *e = pg_conn_error (conn);
    log_error_ctx (-1, e->sqlstate, "%s [%s]", e->message, e->sqlstate);
    return -1;
}

static int
s_run_standalone (const args_t *args, const char *name)
{
    char err[1024];
    config_t *cfg = config_load (args->job, err, sizeof err);
    if (!cfg) {
        log_error ("%s", err);
        return EXIT_CODE_BAD_CONFIG;
    }
    if (cfg->source.kind != SOURCE_KIND_POSTGRES) {
        log_error ("%s: source.kind: standalone mode copies PostgreSQL sources only", args->job);
        config_destroy (&cfg);
        return EXIT_CODE_BAD_CONFIG;
    }
    int exit_code = EXIT_CODE_FAILED;
    char *copy_table = NULL;
    if (args->into) {
        copy_table = pg_quote_qualified (args->into);
        if (!copy_table) {
            log_error ("--into %s: not a valid table name", args->into);
            config_destroy (&cfg);
            return EXIT_CODE_USAGE;
        }
    }
    else
        copy_table = schema_staging_name (args->run_id);

    copyjob_t *job = copyjob_from_config (cfg, args->run_id, name, copy_table);
    free (copy_table);
    if (args->snapshot)
        job->snapshot = xstrdup (args->snapshot);
    slot_t *slot = slot_new (job);
    retry_policy_t policy = job->retry;

    if (s_connect (slot->target, &policy) != 0) {
        exit_code = stopsig_raised ? EXIT_CODE_INTERRUPTED : EXIT_CODE_TARGET;
        goto cleanup;
    }
    if (schema_ensure (slot->target) != 0) {
        const pg_error_t *e = pg_conn_error (slot->target);
        log_error_ctx (-1, e->sqlstate, "target: cannot create schema ferry: [%s] %s", e->sqlstate, e->message);
        goto cleanup;
    }
    if (!args->into && schema_create_staging (slot->target, job->copy_table, cfg->target.table) != 0) {
        const pg_error_t *e = pg_conn_error (slot->target);
        log_error ("target: cannot create staging table %s for %s: [%s] %s",
                   job->copy_table, cfg->target.table, e->sqlstate, e->message);
        goto cleanup;
    }
    if (s_connect (slot->source, &policy) != 0) {
        exit_code = stopsig_raised ? EXIT_CODE_INTERRUPTED : EXIT_CODE_SOURCE;
        goto cleanup;
    }
    bool retryable = false;
    if (copyjob_prepare (job, slot->source, slot->target, err, sizeof err, &retryable) != 0) {
        log_error ("%s", err);
        exit_code = retryable ? EXIT_CODE_RETRIES_EXHAUSTED : EXIT_CODE_FAILED;
        goto cleanup;
    }
    if (!job->binary)
        log_info ("column types differ between source and target (%s): text COPY, the target casts",
                  job->text_columns);

    chunk_spec_t spec = { .chunk_id = args->chunk_id, .attempt = (int32_t) args->attempt,
                          .lo = args->lo, .hi = args->hi };
    chunk_result_t result;
    pipeline_run_chunk (job, slot, &spec, &result, &stopsig_raised);
    exit_code = s_exit_for (&result);

cleanup:
    slot_destroy (&slot);
    copyjob_destroy (&job);
    config_destroy (&cfg);
    return exit_code;
}

/*  --curve-key and --coordinator-key: loads both certificates and makes
    the session a CURVE client. 0 (nothing to do without them), or -1
    (logged). */
static int
s_curve (const args_t *args, zcert_t **cert, zcert_t **server)
{
    if (!args->curve_key)
        return 0;
    char err[1024];
    *cert = keygen_load_secret (args->curve_key, "--curve-key", err, sizeof err);
    if (*cert)
        *server = keygen_load_public (args->coordinator_key, "--coordinator-key", err, sizeof err);
    if (!*cert || !*server) {
        log_error ("%s", err);
        return -1;
    }
    session_set_curve (*cert, zcert_public_txt (*server));
    log_info ("CURVE on: encrypted link, coordinator key %s", zcert_public_txt (*server));
    return 0;
}

int
main (int argc, char **argv)
{
    if (argc >= 2 && strcmp (argv[1], "keygen") == 0)
        return keygen_main ("ferry-worker", util_hostname (), argc - 1, argv + 1);
    args_t args;
    memset (&args, 0, sizeof args);
    log_init ("worker", NULL);
    if (s_parse_args (argc, argv, &args) != 0)
        return EXIT_CODE_USAGE;
#if defined (__GLIBC__)
    /*  Batches (64-200 KiB) are allocated by one stage thread and freed by
        another. With glibc's defaults such blocks go to mmap, or the
        thread arenas hand freed tops back with madvise, and the next batch
        faults its pages in again: in the CSV bench's profile a fifth of a
        worker's CPU was the kernel handling that. Keep some freed memory
        for reuse instead (the queues bound how much is live), in two
        arenas so that the slack stays small. */
    mallopt (M_ARENA_MAX, 2);
    mallopt (M_MMAP_THRESHOLD, 4 << 20);
    mallopt (M_TRIM_THRESHOLD, 8 << 20);
#endif

    char *name = args.name ? xstrdup (args.name)
                           : util_strdupf ("%s-%d", util_hostname (), (int) getpid ());
    log_set_ident (name);
    log_set_worker (name);
    if (args.standalone)
        log_set_run (args.run_id);

    stopsig_install ();

    int rc;
    if (args.standalone)
        rc = s_run_standalone (&args, name);
    else {
        /*  The cluster secret: --secret-file, else FERRY_CLUSTER_SECRET.
            Without one the worker can still join a coordinator that asks
            for none; one that does tells it so (session.c). */
        char *secret = NULL;
        char err[1400];
        int64_t give_up_ms = 0;
        if (outcome_give_up_parse (args.give_up_after, getenv ("FERRY_GIVE_UP_AFTER"),
                                   &give_up_ms, err, sizeof err) != 0) {
            fprintf (stderr, "ferry-worker: %s\n", err);
            free (name);
            return EXIT_CODE_USAGE;
        }
        zcert_t *cert = NULL, *server = NULL;
        if (s_curve (&args, &cert, &server) != 0) {
            zcert_destroy (&cert);
            free (name);
            return EXIT_CODE_BAD_CONFIG;
        }
        int found = args.secret_file
                  ? (auth_secret_read_file (args.secret_file, &secret, err, sizeof err) == 0 ? 1 : -1)
                  : auth_secret_load (NULL, &secret, err, sizeof err);
        if (found < 0) {
            log_error ("%s", err);
            zcert_destroy (&cert);
            zcert_destroy (&server);
            free (name);
            return EXIT_CODE_BAD_CONFIG;
        }
        rc = session_run (args.coordinator, name, (int) args.slots, args.orphan_exit, secret,
                          give_up_ms, &stopsig_raised);
        zcert_destroy (&cert);
        zcert_destroy (&server);
        if (secret)
            explicit_bzero (secret, strlen (secret));
        free (secret);
    }
    free (name);
    return rc;
}
