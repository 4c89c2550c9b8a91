/*  tests/unit/test_queue.c: the bounded blocking queue: order, blocking,
    close, multi-producer close, abort, high water, and a many-thread
    stress test that checks every item arrives exactly once. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <time.h>

#include "queue.h"
#include "util.h"

static void
s_nap_ms (int ms)
{
    struct timespec ts = { ms / 1000, (long) (ms % 1000) * 1000000L };
    nanosleep (&ts, NULL);
}

/*  Items are small heap ints so that ASan sees leaks and double frees. */
static int *
s_item_new (int value)
{
    int *item = xmalloc (sizeof (int));
    *item = value;
    return item;
}

static atomic_int s_freed;

static void
s_item_free (void *item)
{
    atomic_fetch_add (&s_freed, 1);
    free (item);
}

static void
test_fifo_order (void **state)
{
    queue_t *queue = queue_new (8, 1, s_item_free);
    for (int i = 0; i < 8; i++)
        assert_int_equal (queue_push (queue, s_item_new (i)), 0);
    assert_int_equal (queue_size (queue), 8);
    for (int i = 0; i < 8; i++) {
        int *item = queue_pop (queue);
        assert_non_null (item);
        assert_int_equal (*item, i);
        free (item);
    }
    assert_int_equal (queue_size (queue), 0);
    /*  Wrap around the ring a few times. */
    for (int round = 0; round < 5; round++) {
        for (int i = 0; i < 5; i++)
            assert_int_equal (queue_push (queue, s_item_new (round * 10 + i)), 0);
        for (int i = 0; i < 5; i++) {
            int *item = queue_pop (queue);
            assert_int_equal (*item, round * 10 + i);
            free (item);
        }
    }
    queue_destroy (&queue);
    assert_null (queue);
    queue_destroy (&queue);     /* NULL is fine */
}

typedef struct {
    queue_t *queue;
    int first;
    int n;
    atomic_int pushed;          /* how many pushes returned */
    int last_rc;
} pusher_t;

static void *
s_pusher (void *arg)
{
    pusher_t *self = arg;
    for (int i = 0; i < self->n; i++) {
        int *item = s_item_new (self->first + i);
        int rc = queue_push (self->queue, item);
        self->last_rc = rc;
        if (rc) {
            free (item);        /* not taken: still ours */
            break;
        }
        atomic_fetch_add (&self->pushed, 1);
    }
    return NULL;
}

static void
test_capacity_blocks (void **state)
{
    queue_t *queue = queue_new (2, 1, s_item_free);
    pusher_t pusher = { .queue = queue, .first = 0, .n = 5 };
    pthread_t thread;
    assert_int_equal (pthread_create (&thread, NULL, s_pusher, &pusher), 0);
    /*  The pusher fills both slots, then blocks on the third item. */
    s_nap_ms (100);
    assert_int_equal (atomic_load (&pusher.pushed), 2);
    assert_int_equal (queue_size (queue), 2);
    /*  Each pop makes room for exactly one more push. */
    for (int i = 0; i < 5; i++) {
        int *item = queue_pop (queue);
        assert_non_null (item);
        assert_int_equal (*item, i);
        free (item);
    }
    pthread_join (thread, NULL);
    assert_int_equal (atomic_load (&pusher.pushed), 5);
    assert_int_equal (queue_high_water (queue), 2);
    queue_destroy (&queue);
}

static void
test_close_drains (void **state)
{
    queue_t *queue = queue_new (4, 1, s_item_free);
    assert_int_equal (queue_push (queue, s_item_new (1)), 0);
    assert_int_equal (queue_push (queue, s_item_new (2)), 0);
    queue_close (queue);
    queue_close (queue);        /* idempotent */
    assert_false (queue_is_aborted (queue));

    /*  A push after close fails and leaves the item with the caller. */
    int *late = s_item_new (3);
    assert_int_equal (queue_push (queue, late), -1);
    assert_int_equal (*late, 3);
    free (late);

    int *item = queue_pop (queue);
    assert_int_equal (*item, 1);
    free (item);
    item = queue_pop (queue);
    assert_int_equal (*item, 2);
    free (item);
    assert_null (queue_pop (queue));
    assert_null (queue_pop (queue));
    queue_destroy (&queue);
}

typedef struct {
    queue_t *queue;
    void *result;
    atomic_int done;
} popper_t;

static void *
s_popper (void *arg)
{
    popper_t *self = arg;
    self->result = queue_pop (self->queue);
    atomic_store (&self->done, 1);
    return NULL;
}

static void
test_close_wakes_popper (void **state)
{
    queue_t *queue = queue_new (4, 1, s_item_free);
    popper_t popper = { .queue = queue };
    pthread_t thread;
    assert_int_equal (pthread_create (&thread, NULL, s_popper, &popper), 0);
    s_nap_ms (50);
    assert_int_equal (atomic_load (&popper.done), 0);
    queue_close (queue);
    pthread_join (thread, NULL);
    assert_null (popper.result);
    queue_destroy (&queue);
}

static void
test_multi_producer_close (void **state)
{
    queue_t *queue = queue_new (8, 3, s_item_free);
    assert_int_equal (queue_push (queue, s_item_new (1)), 0);
    queue_producer_done (queue);
    assert_int_equal (queue_push (queue, s_item_new (2)), 0);
    queue_producer_done (queue);
    /*  One producer left: still open. */
    assert_int_equal (queue_push (queue, s_item_new (3)), 0);
    queue_producer_done (queue);
    /*  Now closed. */
    int *late = s_item_new (4);
    assert_int_equal (queue_push (queue, late), -1);
    free (late);
    for (int i = 1; i <= 3; i++) {
        int *item = queue_pop (queue);
        assert_non_null (item);
        assert_int_equal (*item, i);
        free (item);
    }
    assert_null (queue_pop (queue));
    queue_destroy (&queue);
}

static void
test_abort_wakes_pusher (void **state)
{
    atomic_store (&s_freed, 0);
    queue_t *queue = queue_new (2, 1, s_item_free);
    pusher_t pusher = { .queue = queue, .first = 0, .n = 3 };
    pthread_t thread;
    assert_int_equal (pthread_create (&thread, NULL, s_pusher, &pusher), 0);
    s_nap_ms (100);
    assert_int_equal (atomic_load (&pusher.pushed), 2);
    queue_abort (queue);
    pthread_join (thread, NULL);
    /*  The blocked push failed (and the pusher freed its item itself); the
        two queued items went to free_fn. */
    assert_int_equal (pusher.last_rc, -1);
    assert_int_equal (atomic_load (&s_freed), 2);
    assert_true (queue_is_aborted (queue));
    assert_int_equal (queue_size (queue), 0);
    assert_null (queue_pop (queue));
    queue_abort (queue);        /* idempotent */
    queue_destroy (&queue);
    assert_int_equal (atomic_load (&s_freed), 2);
}

static void
test_abort_wakes_popper (void **state)
{
    queue_t *queue = queue_new (2, 1, s_item_free);
    popper_t popper = { .queue = queue };
    pthread_t thread;
    assert_int_equal (pthread_create (&thread, NULL, s_popper, &popper), 0);
    s_nap_ms (50);
    assert_int_equal (atomic_load (&popper.done), 0);
    queue_abort (queue);
    pthread_join (thread, NULL);
    assert_null (popper.result);
    int *late = s_item_new (1);
    assert_int_equal (queue_push (queue, late), -1);
    free (late);
    queue_destroy (&queue);
}

static void
test_abort_after_close_discards (void **state)
{
    /*  Closed with items left, then aborted: pops must not drain them. */
    atomic_store (&s_freed, 0);
    queue_t *queue = queue_new (4, 1, s_item_free);
    assert_int_equal (queue_push (queue, s_item_new (1)), 0);
    assert_int_equal (queue_push (queue, s_item_new (2)), 0);
    queue_close (queue);
    queue_abort (queue);
    assert_int_equal (atomic_load (&s_freed), 2);
    assert_null (queue_pop (queue));
    queue_destroy (&queue);
}

static void
test_destroy_frees_items (void **state)
{
    atomic_store (&s_freed, 0);
    queue_t *queue = queue_new (4, 1, s_item_free);
    assert_int_equal (queue_push (queue, s_item_new (1)), 0);
    assert_int_equal (queue_push (queue, s_item_new (2)), 0);
    assert_int_equal (queue_push (queue, s_item_new (3)), 0);
    queue_destroy (&queue);
    assert_int_equal (atomic_load (&s_freed), 3);
}

static void
test_high_water (void **state)
{
    queue_t *queue = queue_new (10, 1, s_item_free);
    assert_int_equal (queue_high_water (queue), 0);
    for (int i = 0; i < 7; i++)
        assert_int_equal (queue_push (queue, s_item_new (i)), 0);
    for (int i = 0; i < 5; i++)
        free (queue_pop (queue));
    assert_int_equal (queue_size (queue), 2);
    assert_int_equal (queue_high_water (queue), 7);
    for (int i = 0; i < 3; i++)
        assert_int_equal (queue_push (queue, s_item_new (i)), 0);
    assert_int_equal (queue_size (queue), 5);
    assert_int_equal (queue_high_water (queue), 7);
    queue_destroy (&queue);
}

/*  A gauge shared by two queues follows their summed size through push,
    pop, abort (discard) and destroy, and is left at zero. */
static void
test_gauge (void **state)
{
    _Atomic int64_t gauge = 0;
    queue_t *a = queue_new (10, 1, s_item_free);
    queue_t *b = queue_new (10, 1, s_item_free);
    assert_int_equal (queue_push (a, s_item_new (1)), 0);
    queue_set_gauge (a, &gauge);            /* counts what is already there */
    queue_set_gauge (b, &gauge);
    assert_int_equal (atomic_load (&gauge), 1);
    for (int i = 0; i < 4; i++)
        assert_int_equal (queue_push (b, s_item_new (i)), 0);
    assert_int_equal (atomic_load (&gauge), 5);
    free (queue_pop (b));
    assert_int_equal (atomic_load (&gauge), 4);
    queue_abort (b);
    assert_int_equal (atomic_load (&gauge), 1);
    queue_destroy (&a);
    queue_destroy (&b);
    assert_int_equal (atomic_load (&gauge), 0);
}

/*  Stress: 4 producers each push a disjoint range and call
    queue_producer_done; 4 consumers pop until NULL and tick each value. */
#define STRESS_PRODUCERS 4
#define STRESS_CONSUMERS 4
#define STRESS_PER_PRODUCER 20000

typedef struct {
    queue_t *queue;
    int id;
    atomic_int *seen;           /* one counter per value */
    long popped;
} worker_t;

static void *
s_stress_producer (void *arg)
{
    worker_t *self = arg;
    for (int i = 0; i < STRESS_PER_PRODUCER; i++) {
        int *item = s_item_new (self->id * STRESS_PER_PRODUCER + i);
        if (queue_push (self->queue, item)) {
            free (item);
            break;
        }
    }
    queue_producer_done (self->queue);
    return NULL;
}

static void *
s_stress_consumer (void *arg)
{
    worker_t *self = arg;
    int *item;
    int last [STRESS_PRODUCERS];
    for (int p = 0; p < STRESS_PRODUCERS; p++)
        last [p] = -1;
    while ((item = queue_pop (self->queue))) {
        int value = *item;
        free (item);
        atomic_fetch_add (&self->seen [value], 1);
        /*  FIFO: items of one producer reach any one consumer in order. */
        int producer = value / STRESS_PER_PRODUCER;
        if (value <= last [producer])
            atomic_fetch_add (&self->seen [value], 1000);   /* flags disorder */
        last [producer] = value;
        self->popped++;
    }
    return NULL;
}

static void
test_stress (void **state)
{
    const int total = STRESS_PRODUCERS * STRESS_PER_PRODUCER;
    atomic_int *seen = xcalloc ((size_t) total, sizeof (atomic_int));
    queue_t *queue = queue_new (16, STRESS_PRODUCERS, s_item_free);
    worker_t producers [STRESS_PRODUCERS];
    worker_t consumers [STRESS_CONSUMERS];
    pthread_t producer_threads [STRESS_PRODUCERS];
    pthread_t consumer_threads [STRESS_CONSUMERS];

    for (int i = 0; i < STRESS_CONSUMERS; i++) {
        consumers [i] = (worker_t) { .queue = queue, .id = i, .seen = seen };
        assert_int_equal (pthread_create (&consumer_threads [i], NULL,
                                          s_stress_consumer, &consumers [i]), 0);
    }
    for (int i = 0; i < STRESS_PRODUCERS; i++) {
        producers [i] = (worker_t) { .queue = queue, .id = i, .seen = seen };
        assert_int_equal (pthread_create (&producer_threads [i], NULL,
                                          s_stress_producer, &producers [i]), 0);
    }
    for (int i = 0; i < STRESS_PRODUCERS; i++)
        pthread_join (producer_threads [i], NULL);
    long popped = 0;
    for (int i = 0; i < STRESS_CONSUMERS; i++) {
        pthread_join (consumer_threads [i], NULL);
        popped += consumers [i].popped;
    }
    assert_int_equal (popped, total);
    int bad = 0;
    for (int i = 0; i < total; i++)
        if (atomic_load (&seen [i]) != 1)
            bad++;
    assert_int_equal (bad, 0);
    assert_true (queue_high_water (queue) <= 16);
    assert_true (queue_high_water (queue) >= 1);
    assert_int_equal (queue_size (queue), 0);
    queue_destroy (&queue);
    free (seen);
}

int
main (void)
{
    const struct CMUnitTest tests [] = {
        cmocka_unit_test (test_fifo_order),
        cmocka_unit_test (test_capacity_blocks),
        cmocka_unit_test (test_close_drains),
        cmocka_unit_test (test_close_wakes_popper),
        cmocka_unit_test (test_multi_producer_close),
        cmocka_unit_test (test_abort_wakes_pusher),
        cmocka_unit_test (test_abort_wakes_popper),
        cmocka_unit_test (test_abort_after_close_discards),
        cmocka_unit_test (test_destroy_frees_items),
        cmocka_unit_test (test_high_water),
        cmocka_unit_test (test_gauge),
        cmocka_unit_test (test_stress),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
