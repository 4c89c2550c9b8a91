/*  tests/tools/delay_proxy.c: a small delaying TCP proxy for the fault
    scenarios (this kernel has tbf but no netem, so latency is added here).

        delay_proxy [-v] LISTEN_ADDR:PORT TARGET_ADDR:PORT DELAY_MS [RATE_MBIT]

    Accepts connections on LISTEN_ADDR:PORT and connects each one to
    TARGET_ADDR:PORT. Bytes are forwarded in both directions; every chunk of
    bytes read from one side is written to the other side DELAY_MS after it
    was read (a one-way delay: 25 ms each way is a 50 ms round trip), in
    order. With RATE_MBIT, each direction (summed over all connections) is
    also limited to RATE_MBIT Mbit/s by a token bucket.

    - Single thread, poll-based (ppoll), non-blocking sockets, TCP_NODELAY on
      both legs (so a released chunk goes out at once, not after an ACK).
    - Bounded buffering: a direction stops reading from its source socket
      while more than QUEUE_LIMIT bytes are queued in it, so a slow receiver
      pushes back on the sender through TCP flow control.
    - Close propagation: an EOF read from one side is passed on, after the
      same delay and after every byte queued before it, as shutdown(SHUT_WR)
      on the other side (half-close); the pair is closed once both
      directions have ended. A reset or error on either side closes both,
      the other one with a reset (SO_LINGER 0).
    - Any number of concurrent connections (bounded by the fd limit).
    - An IPv6 address is written in brackets: [::1]:5432. PORT 0 listens on
      a free port; the line printed on stdout at start-up names it:
          delay_proxy: listening on 10.77.0.12:6432 -> 10.77.0.12:5432, ...
    - SIGINT/SIGTERM: closes everything, prints totals on stderr, exits 0.
      Exit status 2 on a bad command line, 1 when it cannot listen or resolve.

    Not an emulation of a long TCP path: each leg's own TCP sees a short
    round trip, so the proxy adds latency to request/response exchanges and
    to the start of streams, while windows are governed by QUEUE_LIMIT (a
    100 Mbit/s x 25 ms leg needs only about 320 kB in flight).  */

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <time.h>
#include <unistd.h>

#define READ_MAX    (64 * 1024)        /* bytes per read() */
#define QUEUE_LIMIT (4 * 1024 * 1024)  /* per direction and connection */

typedef struct chunk {
    struct chunk *next;
    int64_t due_ns;    /* release time */
    size_t len, off;
    char data[];
} chunk_t;

/*  One direction of a connection: bytes read from fd[from] are written to
    fd[to]. */
typedef struct {
    int from, to;
    chunk_t *head, *tail;
    size_t queued;
    bool blocked;      /* last write hit EAGAIN: wait for POLLOUT */
    bool eof_read;     /* EOF seen on fd[from] */
    int64_t eof_due;   /* when to pass the EOF on */
    bool eof_sent;     /* shutdown (fd[to], SHUT_WR) done */
    uint64_t bytes;    /* forwarded */
} dir_t;

typedef struct {
    uint64_t id;
    int fd[2];         /* 0: client, 1: target */
    bool connecting;   /* fd[1]'s connect() in progress */
    bool dead;
    dir_t d[2];        /* 0: client -> target, 1: target -> client */
} pair_t;

typedef struct {
    double rate;       /* bytes per ns; 0: unlimited */
    double burst;      /* bytes */
    double tokens;
    int64_t last_ns;
} bucket_t;

static volatile sig_atomic_t s_stop = 0;
static bool s_verbose = false;
static int64_t s_delay_ns;
static bucket_t s_bucket[2];
static struct sockaddr_storage s_target;
static socklen_t s_target_len;
static char s_target_text[128];

static pair_t **s_pairs;
static size_t s_npairs, s_cap;
static uint64_t s_next_id = 1, s_accepted, s_connect_failures;
static uint64_t s_total[2];

static void
s_on_signal (int sig)
{
    (void) sig;
    s_stop = 1;
}

static int64_t
s_now_ns (void)
{
    struct timespec ts;
    clock_gettime (CLOCK_MONOTONIC, &ts);
    return (int64_t) ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static void
s_log (const char *fmt, ...) __attribute__ ((format (printf, 1, 2)));

static void
s_log (const char *fmt, ...)
{
    va_list ap;
    va_start (ap, fmt);
    fputs ("delay_proxy: ", stderr);
    vfprintf (stderr, fmt, ap);
    fputc ('\n', stderr);
    va_end (ap);
}

static void
s_usage (void)
{
    fprintf (stderr, "usage: delay_proxy [-v] LISTEN_ADDR:PORT TARGET_ADDR:PORT DELAY_MS [RATE_MBIT]\n"
                     "  forwards TCP both ways, releasing each chunk DELAY_MS after it was read\n"
                     "  (one-way delay); RATE_MBIT limits each direction (all connections).\n");
}

/*  Splits "host:port" or "[v6]:port"; resolves numerically when it can. */
static int
s_resolve (const char *spec, bool passive, struct sockaddr_storage *out, socklen_t *outlen)
{
    char host[256];
    const char *port;
    if (spec[0] == '[') {
        const char *close = strchr (spec, ']');
        if (!close || close[1] != ':' || (size_t) (close - spec - 1) >= sizeof host)
            return -1;
        memcpy (host, spec + 1, (size_t) (close - spec - 1));
        host[close - spec - 1] = '\0';
        port = close + 2;
    }
    else {
        const char *colon = strrchr (spec, ':');
        if (!colon || (size_t) (colon - spec) >= sizeof host)
            return -1;
        memcpy (host, spec, (size_t) (colon - spec));
        host[colon - spec] = '\0';
        port = colon + 1;
    }
    char *end;
    long p = strtol (port, &end, 10);
    if (*port == '\0' || *end != '\0' || p < 0 || p > 65535)
        return -1;
    struct addrinfo hints, *res = NULL;
    memset (&hints, 0, sizeof hints);
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_NUMERICSERV | (passive ? AI_PASSIVE : 0);
    int rc = getaddrinfo (host[0] ? host : NULL, port, &hints, &res);
    if (rc != 0) {
        s_log ("cannot resolve '%s': %s", spec, gai_strerror (rc));
        return -2;
    }
    memcpy (out, res->ai_addr, res->ai_addrlen);
    *outlen = res->ai_addrlen;
    freeaddrinfo (res);
    return 0;
}

static void
s_addr_text (const struct sockaddr_storage *sa, char *buf, size_t len)
{
    char host[INET6_ADDRSTRLEN] = "?";
    int port = 0;
    if (sa->ss_family == AF_INET) {
        const struct sockaddr_in *in = (const struct sockaddr_in *) sa;
        inet_ntop (AF_INET, &in->sin_addr, host, sizeof host);
        port = ntohs (in->sin_port);
        snprintf (buf, len, "%s:%d", host, port);
    }
    else if (sa->ss_family == AF_INET6) {
        const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *) sa;
        inet_ntop (AF_INET6, &in6->sin6_addr, host, sizeof host);
        port = ntohs (in6->sin6_port);
        snprintf (buf, len, "[%s]:%d", host, port);
    }
    else
        snprintf (buf, len, "?");
}

static void
s_nodelay (int fd)
{
    int one = 1;
    setsockopt (fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
}

static void
s_refill (bucket_t *b, int64_t now)
{
    if (b->rate <= 0)
        return;
    b->tokens += (double) (now - b->last_ns) * b->rate;
    if (b->tokens > b->burst)
        b->tokens = b->burst;
    b->last_ns = now;
}

/*  Closes both sockets of a pair; with reset, the ones still open are
    reset rather than closed gracefully. */
static void
s_pair_kill (pair_t *p, bool reset, const char *why)
{
    if (p->dead)
        return;
    for (int i = 0; i < 2; i++) {
        if (p->fd[i] < 0)
            continue;
        if (reset) {
            struct linger lg = { 1, 0 };
            setsockopt (p->fd[i], SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
        }
        close (p->fd[i]);
        p->fd[i] = -1;
    }
    for (int k = 0; k < 2; k++) {
        chunk_t *c = p->d[k].head;
        while (c) {
            chunk_t *next = c->next;
            free (c);
            c = next;
        }
        p->d[k].head = p->d[k].tail = NULL;
        p->d[k].queued = 0;
        s_total[k] += p->d[k].bytes;
    }
    p->dead = true;
    if (s_verbose)
        s_log ("#%" PRIu64 " closed (%s): %" PRIu64 " bytes up, %" PRIu64 " bytes down", p->id, why,
               p->d[0].bytes, p->d[1].bytes);
}

/*  Accepts every pending client and starts its connect. Returns false when
    out of file descriptors (the caller pauses accepting for a while). */
static bool
s_accept (int lfd)
{
    for (;;) {
        struct sockaddr_storage peer;
        socklen_t plen = sizeof peer;
        int cfd = accept4 (lfd, (struct sockaddr *) &peer, &plen, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (cfd < 0) {
            if (errno == EINTR || errno == ECONNABORTED)
                continue;
            if (errno == EAGAIN || errno == EWOULDBLOCK)
                return true;
            s_log ("accept: %s", strerror (errno));
            return !(errno == EMFILE || errno == ENFILE);
        }
        s_accepted++;
        s_nodelay (cfd);
        int tfd = socket (s_target.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        if (tfd < 0) {
            s_log ("socket: %s; dropping a client", strerror (errno));
            close (cfd);
            continue;
        }
        s_nodelay (tfd);
        bool connecting = false;
        if (connect (tfd, (struct sockaddr *) &s_target, s_target_len) != 0) {
            if (errno != EINPROGRESS) {
                s_log ("connect %s: %s; dropping a client", s_target_text, strerror (errno));
                s_connect_failures++;
                close (tfd);
                close (cfd);
                continue;
            }
            connecting = true;
        }
        pair_t *p = calloc (1, sizeof *p);
        if (!p) {
            close (tfd);
            close (cfd);
            continue;
        }
        p->id = s_next_id++;
        p->fd[0] = cfd;
        p->fd[1] = tfd;
        p->connecting = connecting;
        p->d[0].from = 0;
        p->d[0].to = 1;
        p->d[1].from = 1;
        p->d[1].to = 0;
        if (s_npairs == s_cap) {
            size_t cap = s_cap ? s_cap * 2 : 64;
            pair_t **np = realloc (s_pairs, cap * sizeof *np);
            if (!np) {
                s_pair_kill (p, true, "out of memory");
                free (p);
                continue;
            }
            s_pairs = np;
            s_cap = cap;
        }
        s_pairs[s_npairs++] = p;
        if (s_verbose) {
            char text[128];
            s_addr_text (&peer, text, sizeof text);
            s_log ("#%" PRIu64 " from %s", p->id, text);
        }
    }
}

/*  Reads what fd[d->from] has (up to the queue limit). Returns -1 when the
    pair died. */
static int
s_read (pair_t *p, dir_t *d, int64_t now)
{
    static char buf[READ_MAX];
    while (!d->eof_read && d->queued < QUEUE_LIMIT) {
        ssize_t n = read (p->fd[d->from], buf, sizeof buf);
        if (n > 0) {
            chunk_t *c = malloc (sizeof *c + (size_t) n);
            if (!c) {
                s_pair_kill (p, true, "out of memory");
                return -1;
            }
            c->next = NULL;
            c->due_ns = now + s_delay_ns;
            c->len = (size_t) n;
            c->off = 0;
            memcpy (c->data, buf, (size_t) n);
            if (d->tail)
                d->tail->next = c;
            else
                d->head = c;
            d->tail = c;
            d->queued += (size_t) n;
            if ((size_t) n < sizeof buf)
                return 0;   /* drained for now */
        }
        else if (n == 0) {
            d->eof_read = true;
            d->eof_due = now + s_delay_ns;
            return 0;
        }
        else if (errno == EINTR)
            continue;
        else if (errno == EAGAIN || errno == EWOULDBLOCK)
            return 0;
        else {
            s_pair_kill (p, true, strerror (errno));
            return -1;
        }
    }
    return 0;
}

/*  Writes the due chunks of d (within the rate). Sets *wake to the earliest
    time something more becomes possible. Returns -1 when the pair died. */
static int
s_flush (pair_t *p, dir_t *d, bucket_t *b, int64_t now, int64_t *wake)
{
    if (p->connecting && d->to == 1)
        return 0;
    while (d->head && !d->blocked) {
        chunk_t *c = d->head;
        if (c->due_ns > now) {
            if (c->due_ns < *wake)
                *wake = c->due_ns;
            return 0;
        }
        size_t want = c->len - c->off;
        if (b->rate > 0) {
            s_refill (b, now);
            if (b->tokens < 1.0 || (b->tokens < (double) want && b->tokens < 1448.0)) {
                /*  Wait for a segment's worth (or the rest of the chunk). */
                double need = (want < 1448 ? (double) want : 1448.0) - b->tokens;
                int64_t at = now + (int64_t) (need / b->rate) + 1;
                if (at < *wake)
                    *wake = at;
                return 0;
            }
            if ((double) want > b->tokens)
                want = (size_t) b->tokens;
        }
        ssize_t n = send (p->fd[d->to], c->data + c->off, want, MSG_NOSIGNAL);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            if (errno == EAGAIN || errno == EWOULDBLOCK) {
                d->blocked = true;
                return 0;
            }
            s_pair_kill (p, true, strerror (errno));
            return -1;
        }
        if (b->rate > 0)
            b->tokens -= (double) n;
        c->off += (size_t) n;
        d->queued -= (size_t) n;
        d->bytes += (uint64_t) n;
        if (c->off == c->len) {
            d->head = c->next;
            if (!d->head)
                d->tail = NULL;
            free (c);
        }
    }
    if (!d->head && d->eof_read && !d->eof_sent) {
        if (d->eof_due > now) {
            if (d->eof_due < *wake)
                *wake = d->eof_due;
            return 0;
        }
        shutdown (p->fd[d->to], SHUT_WR);
        d->eof_sent = true;
    }
    return 0;
}

int
main (int argc, char **argv)
{
    int argi = 1;
    if (argi < argc && strcmp (argv[argi], "-v") == 0) {
        s_verbose = true;
        argi++;
    }
    if (argc - argi < 3 || argc - argi > 4) {
        s_usage ();
        return 2;
    }
    const char *listen_spec = argv[argi], *target_spec = argv[argi + 1];
    char *end;
    double delay_ms = strtod (argv[argi + 2], &end);
    if (*argv[argi + 2] == '\0' || *end != '\0' || delay_ms < 0 || delay_ms > 600000) {
        fprintf (stderr, "delay_proxy: DELAY_MS: expected 0..600000, got '%s'\n", argv[argi + 2]);
        return 2;
    }
    double rate_mbit = 0;
    if (argc - argi == 4) {
        rate_mbit = strtod (argv[argi + 3], &end);
        if (*argv[argi + 3] == '\0' || *end != '\0' || rate_mbit <= 0 || rate_mbit > 1e6) {
            fprintf (stderr, "delay_proxy: RATE_MBIT: expected a positive number, got '%s'\n",
                     argv[argi + 3]);
            return 2;
        }
    }
    s_delay_ns = (int64_t) (delay_ms * 1e6);

    struct sockaddr_storage laddr;
    socklen_t llen;
    int rc = s_resolve (listen_spec, true, &laddr, &llen);
    if (rc == -1 || (rc = s_resolve (target_spec, false, &s_target, &s_target_len)) == -1) {
        fprintf (stderr, "delay_proxy: expected ADDR:PORT or [V6ADDR]:PORT, got '%s'\n",
                 rc == -1 && s_target_len == 0 ? listen_spec : target_spec);
        s_usage ();
        return 2;
    }
    if (rc != 0)
        return 1;
    s_addr_text (&s_target, s_target_text, sizeof s_target_text);

    int lfd = socket (laddr.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    int one = 1;
    if (lfd < 0 || setsockopt (lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) != 0
    ||  bind (lfd, (struct sockaddr *) &laddr, llen) != 0 || listen (lfd, 512) != 0) {
        s_log ("cannot listen on %s: %s", listen_spec, strerror (errno));
        return 1;
    }
    llen = sizeof laddr;
    getsockname (lfd, (struct sockaddr *) &laddr, &llen);
    char ltext[128];
    s_addr_text (&laddr, ltext, sizeof ltext);

    struct sigaction sa;
    memset (&sa, 0, sizeof sa);
    sa.sa_handler = s_on_signal;
    sigemptyset (&sa.sa_mask);
    sigaction (SIGINT, &sa, NULL);
    sigaction (SIGTERM, &sa, NULL);
    signal (SIGPIPE, SIG_IGN);
    /*  The stop signals are blocked except inside ppoll, so one that arrives
        between the s_stop check and the wait still ends the wait. */
    sigset_t stopsigs, waitmask;
    sigemptyset (&stopsigs);
    sigaddset (&stopsigs, SIGINT);
    sigaddset (&stopsigs, SIGTERM);
    sigprocmask (SIG_BLOCK, &stopsigs, &waitmask);
    sigdelset (&waitmask, SIGINT);
    sigdelset (&waitmask, SIGTERM);

    int64_t now = s_now_ns ();
    for (int k = 0; k < 2; k++) {
        s_bucket[k].rate = rate_mbit * 1e6 / 8 / 1e9;
        double burst = rate_mbit * 1e6 / 8 / 200;   /* 5 ms worth */
        s_bucket[k].burst = burst < 16384 ? 16384 : burst;
        s_bucket[k].tokens = s_bucket[k].burst;
        s_bucket[k].last_ns = now;
    }
    if (rate_mbit > 0)
        printf ("delay_proxy: listening on %s -> %s, delay %g ms each way, %g Mbit/s each way\n",
                ltext, s_target_text, delay_ms, rate_mbit);
    else
        printf ("delay_proxy: listening on %s -> %s, delay %g ms each way\n", ltext, s_target_text,
                delay_ms);
    fflush (stdout);

    struct pollfd *pfds = NULL;
    size_t pcap = 0;
    size_t rr = 0;   /* round-robin start, for a fair share of the rate */
    int64_t listen_pause_until = 0;

    while (!s_stop) {
        now = s_now_ns ();
        int64_t wake = INT64_MAX;

        /*  1. Release what is due, pass EOFs on, drop finished pairs. */
        for (size_t k = 0; k < s_npairs; k++) {
            pair_t *p = s_pairs[(rr + k) % s_npairs];
            for (int i = 0; i < 2 && !p->dead; i++)
                s_flush (p, &p->d[i], &s_bucket[i], now, &wake);
            if (!p->dead && p->d[0].eof_sent && p->d[1].eof_sent)
                s_pair_kill (p, false, "both sides closed");
        }
        if (s_npairs)
            rr = (rr + 1) % s_npairs;
        size_t live = 0;
        for (size_t k = 0; k < s_npairs; k++) {
            if (s_pairs[k]->dead)
                free (s_pairs[k]);
            else
                s_pairs[live++] = s_pairs[k];
        }
        s_npairs = live;

        /*  2. What to wait for. */
        size_t need = 1 + 2 * s_npairs;
        if (need > pcap) {
            struct pollfd *np = realloc (pfds, need * 2 * sizeof *np);
            if (!np) {
                s_log ("out of memory");
                break;
            }
            pfds = np;
            pcap = need * 2;
        }
        pfds[0].fd = now >= listen_pause_until ? lfd : -1;
        pfds[0].events = POLLIN;
        pfds[0].revents = 0;
        if (pfds[0].fd < 0 && listen_pause_until < wake)
            wake = listen_pause_until;
        for (size_t k = 0; k < s_npairs; k++) {
            pair_t *p = s_pairs[k];
            for (int i = 0; i < 2; i++) {
                struct pollfd *pf = &pfds[1 + 2 * k + (size_t) i];
                dir_t *out = &p->d[i];       /* reads from fd[i] */
                dir_t *in = &p->d[1 - i];    /* writes to fd[i] */
                short ev = 0;
                if (p->connecting && i == 1)
                    ev = POLLOUT;
                else {
                    if (!out->eof_read && out->queued < QUEUE_LIMIT && !(p->connecting && i == 1))
                        ev |= POLLIN;
                    if (in->blocked)
                        ev |= POLLOUT;
                }
                pf->fd = ev ? p->fd[i] : -1;
                pf->events = ev;
                pf->revents = 0;
            }
        }

        /*  3. Wait. */
        struct timespec ts, *tsp = NULL;
        if (wake != INT64_MAX) {
            int64_t dt = wake - now;
            if (dt < 0)
                dt = 0;
            ts.tv_sec = (time_t) (dt / 1000000000);
            ts.tv_nsec = (long) (dt % 1000000000);
            tsp = &ts;
        }
        int n = ppoll (pfds, 1 + 2 * s_npairs, tsp, &waitmask);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            s_log ("poll: %s", strerror (errno));
            break;
        }
        now = s_now_ns ();

        /*  4. Handle what happened. */
        size_t npairs_polled = s_npairs;   /* accept below may grow s_pairs */
        for (size_t k = 0; k < npairs_polled; k++) {
            pair_t *p = s_pairs[k];
            for (int i = 0; i < 2 && !p->dead; i++) {
                short re = pfds[1 + 2 * k + (size_t) i].revents;
                if (!re)
                    continue;
                if (p->connecting && i == 1) {
                    int err = 0;
                    socklen_t elen = sizeof err;
                    getsockopt (p->fd[1], SOL_SOCKET, SO_ERROR, &err, &elen);
                    if (err != 0) {
                        s_log ("connect %s: %s; dropping a client", s_target_text, strerror (err));
                        s_connect_failures++;
                        s_pair_kill (p, true, "connect failed");
                    }
                    else
                        p->connecting = false;
                    continue;
                }
                if (re & POLLOUT)
                    p->d[1 - i].blocked = false;
                if (re & (POLLIN | POLLHUP | POLLERR)) {
                    if (!p->d[i].eof_read && p->d[i].queued < QUEUE_LIMIT)
                        s_read (p, &p->d[i], now);
                    else if (re & POLLERR) {
                        int err = 0;
                        socklen_t elen = sizeof err;
                        getsockopt (p->fd[i], SOL_SOCKET, SO_ERROR, &err, &elen);
                        s_pair_kill (p, true, err ? strerror (err) : "socket error");
                    }
                    else if (re & (POLLHUP | POLLERR))
                        p->d[1 - i].blocked = false;   /* the next write reports it */
                }
            }
        }
        if (pfds[0].fd >= 0 && (pfds[0].revents & POLLIN)) {
            if (!s_accept (lfd))
                listen_pause_until = now + 100 * 1000000LL;
        }
    }

    for (size_t k = 0; k < s_npairs; k++) {
        s_pair_kill (s_pairs[k], false, "proxy stopping");
        free (s_pairs[k]);
    }
    free (s_pairs);
    free (pfds);
    close (lfd);
    s_log ("stopped: %" PRIu64 " connection(s), %" PRIu64 " failed to connect, %" PRIu64
           " bytes up, %" PRIu64 " bytes down", s_accepted, s_connect_failures, s_total[0], s_total[1]);
    return 0;
}
