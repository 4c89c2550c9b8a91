/*  worker/outcome.h: a coordinated worker's exit status from how the run
    it served ended (STOP.outcome, docs/PROTOCOL.md), and its bounded wait
    for a coordinator (--give-up-after). Pure: no socket, no clock. */
#ifndef FERRY_WORKER_OUTCOME_H
#define FERRY_WORKER_OUTCOME_H

#include <stddef.h>
#include <stdint.h>

/*  --give-up-after's default: 10 minutes without a word from any
    coordinator (a Job controller or systemd restarts the coordinator in
    far less; a coordinator that publishes still heartbeats). */
#define OUTCOME_GIVE_UP_DEFAULT_MS (10 * 60 * 1000)
#define OUTCOME_GIVE_UP_MAX_MS     ((int64_t) 7 * 24 * 3600 * 1000)

/*  The exit status for a STOP whose outcome is `outcome` (NULL: none
    said, as from an older coordinator): published or none 0, failed
    EXIT_CODE_RUN_FAILED, cancelled EXIT_CODE_RUN_CANCELLED; an outcome
    this worker does not know counts as failed. Can't fail. */
int outcome_exit_code (const char *outcome);

/*  True when a worker that last heard from a coordinator at heard_ms has
    waited long enough at now_ms to give up (give_up_ms 0: never). */
int outcome_should_give_up (int64_t heard_ms, int64_t now_ms, int64_t give_up_ms);

/*  --give-up-after / FERRY_GIVE_UP_AFTER: arg wins, then env, then the
    default. Sets *ms; returns 0, or -1 with message (naming the option or
    the variable and the text given). */
int outcome_give_up_parse (const char *arg, const char *env, int64_t *ms, char *message,
                           size_t size);

#endif
