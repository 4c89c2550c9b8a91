/*  coordinator/main.c: ferry-coordinator's command line: the commands,
    their options and the signals. The run itself is coordinator/run.c.

        ferry-coordinator run JOB.yaml [options]    plan, load, verify, publish
        ferry-coordinator plan JOB.yaml             print the plan, move no data

    A run: prepare the target (schema ferry, the run's row, an UNLOGGED
    staging table), check the query's columns against the final table,
    plan key ranges inside the run's exported snapshot, dispatch them to
    workers over ZeroMQ, check that every row is accounted for, publish in
    one transaction, report. Exit status per common/base/exit_codes.h. */
#include "cmd_status.h"
#include "cmd.h"
#include "exit_codes.h"
#include "keygen.h"
#include "log.h"
#include "run.h"
#include "stopsig.h"
#include "util.h"

#include <czmq.h>
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void
s_usage (FILE *out)
{
    fprintf (out,
"Usage:\n"
"  ferry-coordinator run JOB.yaml [--local-workers N] [--slots N] [--report FILE.json]\n"
"                                 [--run-id ID] [--sequential] [--metrics ADDR]\n"
"                                 [--metrics-linger S]\n"
"  ferry-coordinator plan JOB.yaml [--sequential]\n"
"  ferry-coordinator resume RUN_ID --job JOB.yaml [--local-workers N] [--slots N]\n"
"                                 [--report FILE.json]\n"
"  ferry-coordinator status [RUN_ID] --job JOB.yaml [--json]   (see status --help)\n"
"  ferry-coordinator tune JOB.yaml [--rows N] [--chunk-sizes LIST] [--workers LIST]\n"
"                                 [--slots N] [--repeat K] [--json] [--write FILE]\n"
"  ferry-coordinator history [--job JOB.yaml | --target CONNINFO] [--last N] [--all] [--json]\n"
"  ferry-coordinator verify JOB.yaml [--chunk-size N | --run RUN_ID] [--show N] [--allow-extra]\n"
"                                 [--json]\n"
"  ferry-coordinator keygen DIR [--name NAME]\n"
"\n"
"run   plans the job as key-range chunks, hands them to workers over ZeroMQ\n"
"      (cluster.bind), checks that every row is accounted for, and publishes\n"
"      into target.table in one transaction (target.publish: merge), or\n"
"      copies straight into an empty final table (target.publish: direct).\n"
"plan  prints the chunks (bounds and row counts) and moves no data.\n"
"resume  continues a run that was interrupted, failed or lost its coordinator:\n"
"      reads its plan (ferry.chunks) and ledger (ferry.chunk_commits), copies\n"
"      only the chunks not committed yet, then verifies and publishes.\n"
"tune  measures the job on a sample into scratch tables (sequential, a matrix\n"
"      of chunk sizes x workers, concurrency auto) and recommends pipeline:\n"
"      settings (ferry-coordinator tune --help).\n"
"history  lists the runs in the target's ferry.runs with their figures, alerts\n"
"      and, with --job, the job's baseline (ferry-coordinator history --help).\n"
"verify  compares the job's source query with its target table row for row (a\n"
"      count and a hash of every row per key range; the keys that differ) and\n"
"      exits 0 only when they hold the same rows (ferry-coordinator verify --help).\n"
"keygen  writes a CURVE certificate pair (DIR/NAME, DIR/NAME_secret) for the\n"
"      encrypted control link (cluster.curve); see 'ferry-coordinator keygen --help'.\n"
"\n"
"Options:\n"
"  --local-workers N  start N ferry-worker processes on this host (loopback);\n"
"                     without it, wait for external workers:\n"
"                       ferry-worker --coordinator tcp://HOST:PORT [--slots N]\n"
"  --slots N          chunk slots per local worker (default pipeline.writers)\n"
"  --report FILE      write the JSON report there\n"
"  --run-id ID        run id (default: a new one, YYYYMMDD_HHMMSS_xxxx); when ID\n"
"                     exists in ferry.runs, run goes on with it: resumed unless\n"
"                     published (then nothing to do, exit 0), so the same\n"
"                     command can be started again (a Kubernetes Job's retry)\n"
"  --sequential       one chunk, one slot, whatever the row count\n"
"  --job FILE         the job file (resume)\n"
"  --metrics ADDR     serve /metrics, /healthz, /readyz on HOST:PORT (overrides\n"
"                     cluster.metrics; e.g. 127.0.0.1:9187)\n"
"  --metrics-linger S keep serving the final values S seconds after the run\n"
"                     (overrides cluster.metrics_linger; default 0)\n"
"  --log-format F     text (default) or json: one JSON object per line on\n"
"                     stderr, for the coordinator and its local workers\n"
"  -h, --help         this help\n"
"\n"
"Environment: FERRY_SOURCE_DSN, FERRY_TARGET_DSN override the job file's\n"
"conninfo; FERRY_CLUSTER_SECRET is the secret workers must prove (overrides\n"
"cluster.secret_file; required without --local-workers); FERRY_WORKER_BIN\n"
"names the worker executable; FERRY_LOG_LEVEL; FERRY_LOG_FORMAT (text|json).\n"
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
        { "metrics", required_argument, NULL, 'M' },
        { "metrics-linger", required_argument, NULL, 'L' },
        { "log-format", required_argument, NULL, 'F' },
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
        case 'M': a->metrics = optarg; break;
        case 'L':
            if (util_parse_double (optarg, 0, 3600, &a->metrics_linger) != 0) {
                fprintf (stderr, "ferry-coordinator: --metrics-linger: expected 0..3600 "
                         "seconds, got '%s'\n", optarg);
                return -1;
            }
            a->metrics_linger_set = true;
            break;
        case 'F':
            if (log_cli_format ("ferry-coordinator", optarg) != 0)
                return -1;
            break;
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
        fprintf (stderr, "ferry-coordinator: unknown command '%s' (run, plan, resume, tune, history)\n", a->command);
        return -1;
    }
    if (a->run_id && !util_run_id_is_valid (a->run_id)) {
        fprintf (stderr, "ferry-coordinator: --run-id '%s': use 1..48 characters of A-Z a-z 0-9 _ -\n",
                 a->run_id);
        return -1;
    }
    return 0;
}

int
main (int argc, char **argv)
{
    if (argc >= 2 && strcmp (argv[1], "keygen") == 0)
        return keygen_main ("ferry-coordinator", "coordinator", argc - 1, argv + 1);
    args_t args;
    memset (&args, 0, sizeof args);
    log_init ("coordinator", NULL);
    if (argc > 1 && strcmp (argv[1], "status") == 0)
        return cmd_status_main (argc - 1, argv + 1);
    if (argc > 1 && strcmp (argv[1], "tune") == 0)        /* before czmq: tune forks */
        return cmd_tune_main (argc - 1, argv + 1);
    if (argc > 1 && strcmp (argv[1], "history") == 0)
        return cmd_history_main (argc - 1, argv + 1);
    if (argc > 1 && strcmp (argv[1], "verify") == 0)
        return cmd_verify_main (argc - 1, argv + 1);
    if (s_parse_args (argc, argv, &args) != 0)
        return EXIT_CODE_USAGE;
    /*  czmq installs its own SIGINT handler unless told not to; ferry
        handles signals itself. */
    zsys_handler_set (NULL);
    stopsig_install ();
    int rc = run_main (&args, &stopsig_raised);
    zsys_shutdown ();
    return rc;
}
