/*  common/base/queue.h: bounded blocking FIFO of pointers, with close.

    The channel between pipeline threads. Producers block while the queue is
    full, consumers while it is empty: memory stays bounded whatever the data
    size. queue_close ends the stream: pushes fail from then on, pops drain
    what is left and then return NULL. With several producers, each calls
    queue_producer_done; the last one closes the queue. queue_abort closes
    and also makes pops return NULL at once (items left are handed to the
    free function given to queue_new). Thread-safe. */
#ifndef FERRY_QUEUE_H
#define FERRY_QUEUE_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

typedef struct queue_t queue_t;
typedef void (queue_free_fn) (void *item);

/*  Creates a queue holding at most `capacity` (>= 1) items, fed by
    `producers` (>= 1) producers. `free_fn` (may be NULL) disposes of items
    still queued at abort/destroy. Can't fail (aborts on OOM). */
queue_t *queue_new (size_t capacity, int producers, queue_free_fn *free_fn);

/*  Destroys the queue, freeing left items with free_fn; nulls the pointer.
    No thread may still be using it. Accepts NULL. */
void queue_destroy (queue_t **self_p);

/*  Appends item, blocking while full. Returns 0, or -1 if the queue is
    closed or aborted (the item is NOT taken: the caller still owns it). */
int queue_push (queue_t *self, void *item);

/*  Removes the oldest item, blocking while empty and open. Returns NULL
    when closed and drained, or aborted. The caller owns the item. */
void *queue_pop (queue_t *self);

/*  One producer is finished; the last call closes the queue. */
void queue_producer_done (queue_t *self);

/*  Closes at once (no more pushes; pops drain then NULL). Idempotent. */
void queue_close (queue_t *self);

/*  Closes and discards: pending and future pops return NULL, blocked
    pushers return -1, queued items are freed. Idempotent. */
void queue_abort (queue_t *self);

/*  True once queue_abort was called. */
int queue_is_aborted (queue_t *self);

/*  Items currently queued, and the most ever queued at once. */
size_t queue_size (queue_t *self);
size_t queue_high_water (queue_t *self);

/*  From now on *gauge (NULL: none) moves with the number of queued items:
    +1 on a push, -1 on a pop, a discard or destroy. Several queues may
    share one gauge (a worker's sum over its pipelines). The gauge must
    outlive the queue. */
void queue_set_gauge (queue_t *self, _Atomic int64_t *gauge);

#endif
