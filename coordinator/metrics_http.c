/*  coordinator/metrics_http.c: see metrics_http.h. */
#include "metrics_http.h"
#include "log.h"
#include "util.h"

#include <microhttpd.h>
#include <netdb.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

struct metrics_http_t {
    struct MHD_Daemon *daemon;
    pthread_mutex_t lock;
    metrics_snap_t snap;           /* under lock */
    _Atomic int64_t last_turn_ms;
    int port;
};

static enum MHD_Result
s_reply (struct MHD_Connection *conn, unsigned int status, const char *type, char *body)
{
    struct MHD_Response *r = MHD_create_response_from_buffer (strlen (body), body,
                                                              MHD_RESPMEM_MUST_FREE);
    if (!r) {
        free (body);
        return MHD_NO;
    }
    MHD_add_response_header (r, MHD_HTTP_HEADER_CONTENT_TYPE, type);
    enum MHD_Result rc = MHD_queue_response (conn, status, r);
    MHD_destroy_response (r);
    return rc;
}

static enum MHD_Result
s_handle (void *cls, struct MHD_Connection *conn, const char *url, const char *method,
          const char *version, const char *upload_data, size_t *upload_size, void **req_cls)
{
    (void) version;
    (void) upload_data;
    (void) upload_size;
    (void) req_cls;
    metrics_http_t *self = cls;
    if (strcmp (method, "GET") != 0 && strcmp (method, "HEAD") != 0)
        return s_reply (conn, MHD_HTTP_METHOD_NOT_ALLOWED, "text/plain",
                        xstrdup ("only GET\n"));
    const char *text = "text/plain; charset=utf-8";
    if (strcmp (url, "/metrics") == 0) {
        pthread_mutex_lock (&self->lock);
        char *body = metrics_render (&self->snap);
        pthread_mutex_unlock (&self->lock);
        return s_reply (conn, MHD_HTTP_OK, "text/plain; version=0.0.4; charset=utf-8", body);
    }
    if (strcmp (url, "/healthz") == 0 || strcmp (url, "/readyz") == 0) {
        char body[512];
        pthread_mutex_lock (&self->lock);
        int status = url[1] == 'h'
                   ? metrics_health (&self->snap, atomic_load (&self->last_turn_ms),
                                     util_now_ms (), METRICS_HTTP_STALL_MS, body, sizeof body)
                   : metrics_ready (&self->snap, body, sizeof body);
        pthread_mutex_unlock (&self->lock);
        return s_reply (conn, (unsigned int) status, text, xstrdup (body));
    }
    return s_reply (conn, MHD_HTTP_NOT_FOUND, text,
                    xstrdup ("not found; try /metrics, /healthz or /readyz\n"));
}

/*  Splits "HOST:PORT" or "[V6]:PORT" into host and port. */
static int
s_split (const char *addr, char *host, size_t hsize, char *port, size_t psize)
{
    const char *colon = NULL;
    if (addr[0] == '[') {
        const char *end = strchr (addr, ']');
        if (!end || end[1] != ':')
            return -1;
        snprintf (host, hsize, "%.*s", (int) (end - addr - 1), addr + 1);
        colon = end + 1;
    }
    else {
        colon = strrchr (addr, ':');
        if (!colon || colon == addr)
            return -1;
        snprintf (host, hsize, "%.*s", (int) (colon - addr), addr);
    }
    snprintf (port, psize, "%s", colon + 1);
    int64_t p;
    return util_parse_int64 (port, 0, 65535, &p) == 0 ? 0 : -1;
}

metrics_http_t *
metrics_http_new (const char *addr, char *err, size_t errlen)
{
    char host[256], port[16];
    if (s_split (addr, host, sizeof host, port, sizeof port) != 0) {
        snprintf (err, errlen, "metrics address '%s': expected HOST:PORT (e.g. 127.0.0.1:9187, "
                  "0.0.0.0:9187 or [::1]:9187)", addr);
        return NULL;
    }
    struct addrinfo hints, *ai = NULL;
    memset (&hints, 0, sizeof hints);
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_PASSIVE;
    int gai = getaddrinfo (host, port, &hints, &ai);
    if (gai != 0 || !ai) {
        snprintf (err, errlen, "metrics address '%s': %s", addr, gai_strerror (gai));
        return NULL;
    }
    metrics_http_t *self = xcalloc (1, sizeof *self);
    pthread_mutex_init (&self->lock, NULL);
    atomic_init (&self->last_turn_ms, util_now_ms ());
    unsigned int flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_ERROR_LOG;
    if (ai->ai_family == AF_INET6)
        flags |= MHD_USE_IPv6;
    self->daemon = MHD_start_daemon (flags, 0, NULL, NULL, s_handle, self,
                                     MHD_OPTION_SOCK_ADDR, ai->ai_addr,
                                     MHD_OPTION_CONNECTION_LIMIT, (unsigned int) 32,
                                     MHD_OPTION_CONNECTION_TIMEOUT, (unsigned int) 10,
                                     MHD_OPTION_END);
    freeaddrinfo (ai);
    if (!self->daemon) {
        snprintf (err, errlen, "metrics address '%s': cannot listen there (in use, or not an "
                  "address of this host)", addr);
        pthread_mutex_destroy (&self->lock);
        free (self);
        return NULL;
    }
    const union MHD_DaemonInfo *info = MHD_get_daemon_info (self->daemon,
                                                            MHD_DAEMON_INFO_BIND_PORT);
    self->port = info ? info->port : 0;
    return self;
}

void
metrics_http_destroy (metrics_http_t **self_p)
{
    FERRY_ASSERT (self_p);
    if (*self_p) {
        metrics_http_t *self = *self_p;
        MHD_stop_daemon (self->daemon);
        metrics_snap_clear (&self->snap);
        pthread_mutex_destroy (&self->lock);
        free (self);
        *self_p = NULL;
    }
}

int
metrics_http_port (metrics_http_t *self)
{
    return self->port;
}

void
metrics_http_update (metrics_http_t *self, metrics_snap_t *snap)
{
    pthread_mutex_lock (&self->lock);
    metrics_snap_move (&self->snap, snap);
    pthread_mutex_unlock (&self->lock);
}

void
metrics_http_touch (metrics_http_t *self, int64_t now_ms)
{
    atomic_store (&self->last_turn_ms, now_ms);
}
