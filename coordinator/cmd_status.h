/*  coordinator/cmd_status.h: `ferry-coordinator status [RUN_ID] --job
    JOB.yaml [--json]`: a run's state read from the target's ferry schema
    (ferry.runs, ferry.chunks, ferry.chunk_commits, pg_stat_activity), from
    any host, while the run goes or after it. */
#ifndef FERRY_COORDINATOR_CMD_STATUS_H
#define FERRY_COORDINATOR_CMD_STATUS_H

/*  argv[0] is "status". Returns the exit status: 0 shown, 1 no such run
    (or no ferry schema on the target), 2 usage, 3 bad job file, 5 target
    unreachable. */
int cmd_status_main (int argc, char **argv);

#endif
