/*  common/pg/pg_int.h: what pg.c and pg_connect.c share, private to
    common/pg (callers use pg.h). */
#ifndef FERRY_PG_INT_H
#define FERRY_PG_INT_H

#include "pg.h"

#include <pthread.h>

struct pg_conn_t {
    char *conninfo;
    char *label;
    char *appname;
    double connect_timeout;     /* <= 0: libpq's default */
    double statement_timeout;   /* < 0: the server's */
    PGconn *conn;
    pg_error_t error;
    pthread_t pending;          /* pg_connect_begin's thread, while has_pending */
    bool has_pending;
    int pending_rc;             /* its result, once joined */
};

/*  Waits for a connect pg_connect_begin started (no-op without one). */
void pg_join_pending (pg_conn_t *self);

/*  Copies the first line of text into dst, without the trailing newline. */
void pg_copy_line (char *dst, size_t size, const char *text);

/*  Captures the error carried by res (borrowed: the caller clears it). */
void pg_capture_result (pg_conn_t *self, const PGresult *res);

#endif
