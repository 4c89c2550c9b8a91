/*  coordinator/admit.c: who becomes a worker (the dispatcher's HELLO,
    CHALLENGE and AUTH; state in gate.c, proofs in common/wire/auth.c).

        W -> C  HELLO      admit_hello: a fresh nonce, C -> W CHALLENGE
        W -> C  AUTH       admit_auth: right proof -> dispatch_join (JOB);
                           wrong proof -> logged once, C -> W STOP
        W -> C  DONE       admit_done: counts only if the ledger row holds
                           what it claims (coordinator/donecheck.h)
        anything else from a link that has not proven the secret:
                           admit_unproven: dropped, logged once per link
        no AUTH within liveness x heartbeat_ms:
                           admit_expire: logged once (a right AUTH later
                           still counts; an honest worker that hears
                           nothing reconnects and is challenged again)

    With CURVE (dispatch_set_handshake_auth) the handshake already proved
    the peer's key (zauth, coordinator/curve.c): HELLO joins at once.

    Until a link proves the cluster secret it gets no JOB (no query, no
    snapshot, no conninfo) and no ASSIGN; the run goes on with the workers
    that did prove it. The secret itself is never sent or logged. */
#include "dispatch_int.h"
#include "donecheck.h"
#include "log.h"
#include "util.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#define S_REFUSED "authentication failed: this worker did not prove the cluster secret; " \
                  "give it the coordinator's secret (FERRY_CLUSTER_SECRET, or --secret-file " \
                  "with the job's cluster.secret_file)"

/*  "peer 00a1b2c3 (127.0.0.1)": how log lines name a link. */
static void
s_who (const char *peer, const char *addr, char *out, size_t size)
{
    snprintf (out, size, "peer %s (%s)", peer, addr && *addr ? addr : "address unknown");
}

static void
s_refuse (dispatch_t *self, zframe_t *identity, const char *to)
{
    protocol_msg_t stop;
    protocol_msg_init (&stop, PROTO_MSG_STOP);
    stop.reason = (char *) S_REFUSED;
    dispatch_send_to (self, identity, to, &stop);     /* borrowed: no reset */
}

void
dispatch_set_handshake_auth (dispatch_t *self)
{
    gate_destroy (&self->gate);
    self->handshake_auth = true;
}

void
admit_hello (dispatch_t *self, zframe_t *identity, const char *peer, const char *addr,
             const protocol_msg_t *msg)
{
    worker_t *w = dispatch_find (self, identity);
    if (w && w->proven)
        dispatch_restart (self, w);
    if (self->handshake_auth) {
        log_debug ("%s (%s) says HELLO as worker %s; authenticated by its CURVE key", peer,
                   addr ? addr : "?", msg->name);
        dispatch_join (self, identity, msg);
        return;
    }
    gate_peer_t *p = gate_hello (self->gate, zframe_data (identity), zframe_size (identity), msg,
                                 addr, util_now_ms ());
    if (!p)
        return;         /* already logged */
    log_debug ("%s says HELLO as worker %s (%s pid %" PRId64 ", build %s); challenged", peer,
               msg->name, msg->host, msg->pid, msg->build);
    protocol_msg_t c;
    protocol_msg_init (&c, PROTO_MSG_CHALLENGE);
    c.nonce = p->nonce;
    dispatch_send_to (self, identity, peer, &c);      /* borrowed: no reset */
}

void
admit_auth (dispatch_t *self, zframe_t *identity, const char *peer, const char *addr,
            const protocol_msg_t *msg)
{
    protocol_msg_t hello;
    gate_peer_t *p = NULL;
    if (!self->gate) {
        self->garbage++;
        log_warn ("peer %s: AUTH without a CHALLENGE (CURVE is on); dropped", peer);
        return;
    }
    int rc = gate_auth (self->gate, zframe_data (identity), zframe_size (identity), msg->proof,
                        &hello, &p);
    if (rc == 1) {
        dispatch_join (self, identity, &hello);
        protocol_msg_reset (&hello);
        return;
    }
    self->garbage++;
    if (rc == 0) {
        admit_unproven (self, identity, peer, addr, PROTO_MSG_AUTH);
        return;
    }
    char who[160];
    s_who (peer, addr, who, sizeof who);
    log_warn ("%s said HELLO as worker %s (%s pid %" PRId64 ", build %s) but its proof of the "
              "cluster secret is wrong; it gets no JOB and no chunk (check FERRY_CLUSTER_SECRET "
              "or --secret-file on that worker)", who, p->name, p->host, p->pid, p->build);
    p->logged = true;
    s_refuse (self, identity, peer);
}

void
admit_unproven (dispatch_t *self, zframe_t *identity, const char *peer, const char *addr,
                protocol_type_t type)
{
    gate_peer_t *p = self->gate ? gate_find (self->gate, zframe_data (identity),
                                             zframe_size (identity)) : NULL;
    if (!p) {
        log_warn ("peer %s: %s before HELLO; dropped", peer, protocol_type_name (type));
        return;
    }
    if (p->logged)
        return;         /* once per link */
    p->logged = true;
    char who[160];
    s_who (peer, addr, who, sizeof who);
    log_warn ("%s: %s from worker %s (%s pid %" PRId64 ", build %s) before it proved the cluster "
              "secret; dropped, as is everything it sends until it does", who,
              protocol_type_name (type), p->name, p->host, p->pid, p->build);
}

void
admit_expire (dispatch_t *self, int64_t max_ms)
{
    gate_peer_t *p;
    if (!self->gate)
        return;
    while ((p = gate_expire (self->gate, util_now_ms (), max_ms)) != NULL) {
        if (p->logged)
            continue;
        char peer[80] = "";
        for (size_t i = 0, o = 0; i < p->id_size && o + 3 < sizeof peer; i++)
            o += (size_t) snprintf (peer + o, sizeof peer - o, "%02x", p->id[i]);
        char who[160];
        s_who (peer, p->addr, who, sizeof who);
        log_warn ("%s said HELLO as worker %s (%s pid %" PRId64 ", build %s) and did not "
                  "prove the cluster secret within %" PRId64 " ms; it gets no JOB and no "
                  "chunk until it does", who, p->name, p->host, p->pid, p->build, max_ms);
        p->logged = true;
    }
}

bool
admit_done (dispatch_t *self, worker_t *w, const protocol_msg_t *msg)
{
    donecheck_claim_t claim = { .chunk_id = msg->chunk_id, .attempt = msg->attempt,
                                .worker = w->name, .rows = msg->rows, .bytes = msg->bytes,
                                .rejected = msg->rejected, .checksum = msg->checksum };
    donecheck_row_t row;
    pg_conn_t *c = ledger_conn (self->ledger);
    if (!c || donecheck_read (c, self->run_id, msg->chunk_id, &row) != 0) {
        /*  Cannot look: don't count it. A new attempt meets the ledger row
            (FR001, counted from the ledger) or commits the chunk. */
        log_warn ("chunk %" PRId64 ": cannot read its ledger row to check the DONE of worker %s "
                  "(%s); requeued", msg->chunk_id, w->name,
                  c ? pg_conn_error (c)->message : "no target connection");
        chunktab_unassign (self->chunks, msg->chunk_id, msg->attempt, util_now_ms (), 200);
        return false;
    }
    char why[512];
    if (donecheck_compare (&claim, &row, why, sizeof why) == 0)
        return true;
    /*  No row, and the target connection was lost and made again since
        the chunk was handed out: a restart or crash of the target may have
        undone a commit that had not reached disk (workers commit with
        synchronous_commit off). Copy it again. */
    chunk_t *chunk = chunktab_get (self->chunks, msg->chunk_id);
    if (!row.found && chunk && ledger_reconnected_ms (self->ledger) > chunk->assigned_ms) {
        log_warn ("chunk %" PRId64 ": the target connection was lost after worker %s "
                  "committed it (a target restart or crash) and its commit did not survive; "
                  "requeued", msg->chunk_id, w->name);
        chunktab_unassign (self->chunks, msg->chunk_id, msg->attempt, util_now_ms (), 0);
        return false;
    }
    self->garbage++;
    char reason[1024];
    snprintf (reason, sizeof reason, "chunk %" PRId64 ": worker %s (%s pid %" PRId64 ") reported "
              "DONE for attempt %d with %" PRId64 " rows that the ledger does not hold (%s); a "
              "worker reported work it did not commit, so the run stops and nothing is "
              "published (check that worker; ferry.chunk_commits holds what was committed)",
              msg->chunk_id, w->name, w->host, w->pid, msg->attempt, msg->rows, why);
    log_error ("%s", reason);
    dispatch_fail (self, reason);
    return false;
}
