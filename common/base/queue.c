/*  common/base/queue.c: bounded blocking FIFO of pointers, with close and abort.

    A ring buffer of `capacity` slots under one mutex, with two condition
    variables: `not_full` wakes pushers, `not_empty` wakes poppers. Close
    and abort broadcast on both so that no thread stays asleep on a queue
    that will never change again. See queue.h for the contract. */
#include "log.h"
#include "queue.h"
#include "util.h"

#include <assert.h>
#include <pthread.h>
#include <stdlib.h>

struct queue_t {
    pthread_mutex_t lock;
    pthread_cond_t not_full;        /* signalled when a slot frees up */
    pthread_cond_t not_empty;       /* signalled when an item arrives */
    void **ring;                    /* capacity slots */
    size_t capacity;
    size_t head;                    /* index of the oldest item */
    size_t count;                   /* items queued */
    size_t high_water;              /* most items ever queued at once */
    int producers_left;             /* queue_producer_done calls to go */
    int closed;
    int aborted;
    queue_free_fn *free_fn;
    _Atomic int64_t *gauge;         /* NULL, or follows count (queue_set_gauge) */
};

/*  Moves the gauge by delta. Lock held. */
static void
s_gauge (queue_t *self, int64_t delta)
{
    if (self->gauge)
        atomic_fetch_add (self->gauge, delta);
}

/*  Frees every queued item with free_fn and empties the ring. Called with
    the lock held (or with no other thread left, from destroy). */
static void
s_queue_discard (queue_t *self)
{
    while (self->count > 0) {
        void *item = self->ring[self->head];
        self->ring[self->head] = NULL;
        self->head = (self->head + 1) % self->capacity;
        self->count--;
        s_gauge (self, -1);
        if (self->free_fn)
            self->free_fn (item);
    }
    self->head = 0;
}

queue_t *
queue_new (size_t capacity, int producers, queue_free_fn *free_fn)
{
    FERRY_ASSERT (capacity >= 1);
    FERRY_ASSERT (producers >= 1);
    queue_t *self = xcalloc (1, sizeof (queue_t));
    self->ring = xcalloc (capacity, sizeof (void *));
    self->capacity = capacity;
    self->producers_left = producers;
    self->free_fn = free_fn;
    /*  Default attributes can only fail on resource exhaustion, which we
        treat like OOM. */
    if (pthread_mutex_init (&self->lock, NULL)
    ||  pthread_cond_init (&self->not_full, NULL)
    ||  pthread_cond_init (&self->not_empty, NULL))
        abort ();
    return self;
}

void
queue_destroy (queue_t **self_p)
{
    FERRY_ASSERT (self_p);
    if (*self_p) {
        queue_t *self = *self_p;
        s_queue_discard (self);
        pthread_cond_destroy (&self->not_empty);
        pthread_cond_destroy (&self->not_full);
        pthread_mutex_destroy (&self->lock);
        free (self->ring);
        free (self);
        *self_p = NULL;
    }
}

int
queue_push (queue_t *self, void *item)
{
    FERRY_ASSERT (self);
    pthread_mutex_lock (&self->lock);
    while (self->count == self->capacity && !self->closed)
        pthread_cond_wait (&self->not_full, &self->lock);
    if (self->closed) {
        /*  Closed or aborted (abort implies closed): the caller keeps the
            item, so nothing is lost or freed twice. */
        pthread_mutex_unlock (&self->lock);
        return -1;
    }
    self->ring[(self->head + self->count) % self->capacity] = item;
    self->count++;
    s_gauge (self, 1);
    if (self->count > self->high_water)
        self->high_water = self->count;
    pthread_cond_signal (&self->not_empty);
    pthread_mutex_unlock (&self->lock);
    return 0;
}

void *
queue_pop (queue_t *self)
{
    FERRY_ASSERT (self);
    pthread_mutex_lock (&self->lock);
    while (self->count == 0 && !self->closed)
        pthread_cond_wait (&self->not_empty, &self->lock);
    void *item = NULL;
    /*  After abort the ring is empty (discarded), so this also covers
        "aborted: NULL at once". */
    if (self->count > 0 && !self->aborted) {
        item = self->ring[self->head];
        self->ring[self->head] = NULL;
        self->head = (self->head + 1) % self->capacity;
        self->count--;
        s_gauge (self, -1);
        pthread_cond_signal (&self->not_full);
    }
    pthread_mutex_unlock (&self->lock);
    return item;
}

/*  Marks the queue closed and wakes everybody. Lock held. */
static void
s_queue_close_locked (queue_t *self)
{
    if (!self->closed) {
        self->closed = 1;
        pthread_cond_broadcast (&self->not_empty);
        pthread_cond_broadcast (&self->not_full);
    }
}

void
queue_producer_done (queue_t *self)
{
    FERRY_ASSERT (self);
    pthread_mutex_lock (&self->lock);
    FERRY_ASSERT (self->producers_left > 0);
    if (self->producers_left > 0 && --self->producers_left == 0)
        s_queue_close_locked (self);
    pthread_mutex_unlock (&self->lock);
}

void
queue_close (queue_t *self)
{
    FERRY_ASSERT (self);
    pthread_mutex_lock (&self->lock);
    s_queue_close_locked (self);
    pthread_mutex_unlock (&self->lock);
}

void
queue_abort (queue_t *self)
{
    FERRY_ASSERT (self);
    pthread_mutex_lock (&self->lock);
    self->aborted = 1;
    s_queue_close_locked (self);
    /*  free_fn runs under the lock; it must not call back into this
        queue. Doing it here keeps abort atomic: no popper can grab an item
        between "aborted" and "discarded". */
    s_queue_discard (self);
    pthread_cond_broadcast (&self->not_empty);
    pthread_cond_broadcast (&self->not_full);
    pthread_mutex_unlock (&self->lock);
}

int
queue_is_aborted (queue_t *self)
{
    FERRY_ASSERT (self);
    pthread_mutex_lock (&self->lock);
    int aborted = self->aborted;
    pthread_mutex_unlock (&self->lock);
    return aborted;
}

size_t
queue_size (queue_t *self)
{
    FERRY_ASSERT (self);
    pthread_mutex_lock (&self->lock);
    size_t count = self->count;
    pthread_mutex_unlock (&self->lock);
    return count;
}

void
queue_set_gauge (queue_t *self, _Atomic int64_t *gauge)
{
    FERRY_ASSERT (self);
    pthread_mutex_lock (&self->lock);
    if (self->gauge)
        atomic_fetch_sub (self->gauge, (int64_t) self->count);
    self->gauge = gauge;
    s_gauge (self, (int64_t) self->count);
    pthread_mutex_unlock (&self->lock);
}

size_t
queue_high_water (queue_t *self)
{
    FERRY_ASSERT (self);
    pthread_mutex_lock (&self->lock);
    size_t high_water = self->high_water;
    pthread_mutex_unlock (&self->lock);
    return high_water;
}
