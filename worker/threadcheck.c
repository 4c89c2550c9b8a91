/*  worker/threadcheck.c: see threadcheck.h. */
#include "threadcheck.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    pthread_mutex_t lock;
    pthread_cond_t cond;
    bool release;
} s_gate_t;

static void *
s_wait (void *arg)
{
    s_gate_t *gate = arg;
    pthread_mutex_lock (&gate->lock);
    while (!gate->release)
        pthread_cond_wait (&gate->cond, &gate->lock);
    pthread_mutex_unlock (&gate->lock);
    return NULL;
}

bool
threadcheck_fault (const char *what)
{
    const char *fault = getenv ("FERRY_FAULT");
    return fault && what && strcmp (fault, what) == 0;
}

int
threadcheck_run (int count, char *err, size_t errlen)
{
    if (count < 1)
        return 0;
    s_gate_t gate = { .release = false };
    pthread_mutex_init (&gate.lock, NULL);
    pthread_cond_init (&gate.cond, NULL);
    /*  No malloc: under a tight ulimit -v that may fail too. */
    pthread_t threads[300];
    if (count > (int) (sizeof threads / sizeof threads[0]))
        count = (int) (sizeof threads / sizeof threads[0]);
    int started = 0, rc = 0;
    for (; started < count; started++) {
        int e = threadcheck_fault ("threads") ? EAGAIN
              : pthread_create (&threads[started], NULL, s_wait, &gate);
        if (e != 0) {
            snprintf (err, errlen, "pthread_create: %s (thread %d of %d)", strerror (e),
                      started + 1, count);
            rc = -1;
            break;
        }
    }
    /*  And some room beside them: libzmq allocates as it connects, and
        aborts when it cannot (not touched: address space only). */
    if (rc == 0) {
        void *room = threadcheck_fault ("memory") ? NULL : malloc (THREADCHECK_HEADROOM);
        if (!room) {
            snprintf (err, errlen, "cannot allocate %d MiB beside %d threads",
                      THREADCHECK_HEADROOM >> 20, count);
            rc = -1;
        }
        free (room);
    }
    pthread_mutex_lock (&gate.lock);
    gate.release = true;
    pthread_cond_broadcast (&gate.cond);
    pthread_mutex_unlock (&gate.lock);
    for (int i = 0; i < started; i++)
        pthread_join (threads[i], NULL);
    pthread_cond_destroy (&gate.cond);
    pthread_mutex_destroy (&gate.lock);
    return rc;
}
