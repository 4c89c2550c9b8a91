/*  coordinator/phase.c: see phase.h. */
#include "phase.h"
#include "log.h"
#include "util.h"

#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

struct phase_t {
    pthread_t thread;
    pthread_mutex_t lock;
    pthread_cond_t wake;
    bool stop;
    char what[160];
    double started;
};

static void
s_line (phase_t *self, char *buf, size_t size)
{
    pthread_mutex_lock (&self->lock);
    snprintf (buf, size, "%s: %.1f s", self->what, util_now_s () - self->started);
    pthread_mutex_unlock (&self->lock);
}

static void *
s_thread (void *arg)
{
    phase_t *self = arg;
    bool live = log_status_live ();
    double interval = live ? 0.5 : 10.0;
    pthread_mutex_lock (&self->lock);
    while (!self->stop) {
        struct timespec until;
        clock_gettime (CLOCK_REALTIME, &until);
        long ns = until.tv_nsec + (long) (interval * 1e9);
        until.tv_sec += ns / 1000000000L;
        until.tv_nsec = ns % 1000000000L;
        int rc = 0;
        while (!self->stop && rc != ETIMEDOUT)
            rc = pthread_cond_timedwait (&self->wake, &self->lock, &until);
        if (self->stop)
            break;
        char line[200];
        snprintf (line, sizeof line, "%s: %.1f s%s", self->what, util_now_s () - self->started,
                  live ? "" : " so far");
        pthread_mutex_unlock (&self->lock);
        if (live)
            log_status_set (line);
        else
            log_info ("%s", line);
        pthread_mutex_lock (&self->lock);
    }
    pthread_mutex_unlock (&self->lock);
    return NULL;
}

phase_t *
phase_new (const char *what)
{
    phase_t *self = xcalloc (1, sizeof *self);
    pthread_mutex_init (&self->lock, NULL);
    pthread_cond_init (&self->wake, NULL);
    snprintf (self->what, sizeof self->what, "%s", what);
    self->started = util_now_s ();
    char line[200];
    s_line (self, line, sizeof line);
    log_status_set (line);
    if (pthread_create (&self->thread, NULL, s_thread, self) != 0) {
        log_warn ("%s: cannot start the progress thread; no progress is shown until it ends",
                  what);
        pthread_cond_destroy (&self->wake);
        pthread_mutex_destroy (&self->lock);
        free (self);
        return NULL;
    }
    return self;
}

void
phase_set_what (phase_t *self, const char *what)
{
    if (!self)
        return;
    pthread_mutex_lock (&self->lock);
    snprintf (self->what, sizeof self->what, "%s", what);
    pthread_mutex_unlock (&self->lock);
    char line[200];
    s_line (self, line, sizeof line);
    log_status_set (line);
}

void
phase_destroy (phase_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    phase_t *self = *self_p;
    pthread_mutex_lock (&self->lock);
    self->stop = true;
    pthread_cond_signal (&self->wake);
    pthread_mutex_unlock (&self->lock);
    pthread_join (self->thread, NULL);
    char line[200];
    s_line (self, line, sizeof line);
    log_status_set (line);
    log_status_end ();
    pthread_cond_destroy (&self->wake);
    pthread_mutex_destroy (&self->lock);
    free (self);
    *self_p = NULL;
}
