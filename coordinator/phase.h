/*  coordinator/phase.h: keeps the progress line moving while one long
    step runs (verify, publish), e.g. "publishing by insert: 3.1 s".

    A phase owns a thread that redraws the status line (common/base/log.h)
    every 0.5 s on a terminal, or logs "<what>: N s so far" every 10 s
    otherwise, until phase_destroy, which prints the phase's final time
    and ends the line. The step itself runs on the caller's thread, in
    blocking libpq calls; the thread only reads the label and the clock. */
#ifndef FERRY_COORDINATOR_PHASE_H
#define FERRY_COORDINATOR_PHASE_H

typedef struct phase_t phase_t;

/*  Starts showing `what` (copied) and the seconds since now. Returns NULL
    when the thread cannot start (the step runs without a progress line).
    */
phase_t *phase_new (const char *what);

/*  Changes the label (e.g. once the publish statement is chosen). NULL
    self does nothing. */
void phase_set_what (phase_t *self, const char *what);

/*  Stops the thread, leaves "<what>: N.N s" on the screen (terminal), and
    nulls the pointer. Accepts NULL. */
void phase_destroy (phase_t **self_p);

#endif
