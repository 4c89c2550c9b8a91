/*  coordinator/spawner.h: local worker processes (--local-workers N).

    Workers are separate executables (ZeroMQ sockets do not survive fork):
    started with posix_spawn, which execs at once in the child, so no
    ZeroMQ state is ever used across a fork. Each runs
        ferry-worker --coordinator ENDPOINT --name local-<i> --slots S --orphan-exit
    and is reaped here; a worker that dies is restarted while the run
    needs it (up to a budget), and all are signalled at the end. */
#ifndef FERRY_COORDINATOR_SPAWNER_H
#define FERRY_COORDINATOR_SPAWNER_H

#include <stdbool.h>

typedef struct spawner_t spawner_t;

/*  Finds the ferry-worker executable: $FERRY_WORKER_BIN, next to this
    executable, ../worker/ (build tree), then PATH. Caller frees; NULL when
    not found (logged). */
char *spawner_find_worker (void);

spawner_t *spawner_new (const char *worker_bin, const char *endpoint, int count, int slots,
                    const char *run_id);
void spawner_destroy (spawner_t **self_p);

/*  Conninfos handed to the workers as FERRY_SOURCE_DSN / FERRY_TARGET_DSN
    in their environment (copied; NULL leaves the variable as inherited). */
void spawner_set_dsns (spawner_t *self, const char *source, const char *target);

/*  The cluster secret the workers prove (copied); they get it in their
    environment as FERRY_CLUSTER_SECRET, never in argv. */
void spawner_set_secret (spawner_t *self, const char *secret);

/*  CURVE (coordinator/curve.h): the workers' secret certificate and the
    coordinator's public one (file names, copied), as FERRY_CURVE_KEY and
    FERRY_COORDINATOR_KEY in their environment. */
void spawner_set_curve (spawner_t *self, const char *key_file, const char *coordinator_file);

/*  Starts every worker. Returns 0 or -1 (logged). */
int spawner_start (spawner_t *self);

/*  Reaps exited workers without blocking; with `respawn`, restarts them
    while the restart budget lasts. Returns how many are running. */
int spawner_reap (spawner_t *self, bool respawn);

/*  SIGTERM to all, waits up to wait_ms, then SIGKILL. */
void spawner_stop (spawner_t *self, int wait_ms);

#endif
