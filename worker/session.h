/*  worker/session.h: the worker's side of FERRY/1 (DEALER loop). */
#ifndef FERRY_WORKER_SESSION_H
#define FERRY_WORKER_SESSION_H

/*  Joins the coordinator at `endpoint` as `name` with `slots` chunk slots
    (0: the job's pipeline.writers), runs what it assigns until STOP or
    *stop, and returns an exit code (exit_codes.h). */
int session_run (const char *endpoint, const char *name, int slots, volatile int *stop);

#endif
