/*  coordinator/run_plan.c: the run's first phases. run_open reads
    nothing but opens everything the plan needs: the target (ledger), the
    source (its exported snapshot and the column check) or the files
    (fileplan and the column mapping). run_plan splits the source into
    chunks (by key, by heap block, or one chunk) and, for the plan command,
    prints them. run_record claims a direct run's table, records the run
    in ferry.runs, creates staging and writes the plan to ferry.chunks. */
#include "catalog.h"
#include "exit_codes.h"
#include "log.h"
#include "run.h"
#include "schema.h"
#include "util.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void
s_print_file_plan (run_t *r)
{
    printf ("plan for %s: %zu file(s), %" PRId64 " bytes, %" PRId64 " lines, %zu chunk(s)\n",
            r->cfg->target.table, r->fplan->files, r->fplan->total_bytes, r->fplan->total_lines,
            r->fplan->count);
    printf ("%6s  %-40s %14s %14s %10s %10s\n", "chunk", "file", "offset", "bytes", "line", "lines");
    for (size_t i = 0; i < r->fplan->count; i++) {
        fileplan_range_t *p = &r->fplan->ranges[i];
        printf ("%6zu  %-40s %14" PRId64 " %14" PRId64 " %10" PRId64 " %10" PRId64 "\n", i, p->path,
                p->offset, p->length, p->first_line, p->est_rows);
    }
}

/*  A file source: plan the files, map file columns to target columns,
    check them against the final table (before any data moves). Returns 0
    or -1 with err. */
static int
s_prepare_file (run_t *r, ferr_t *err)
{
    config_t *cfg = r->cfg;
    csv_format_t fmt = {
        .delimiter = cfg->source.format.delimiter, .quote = cfg->source.format.quote,
        .escape = cfg->source.format.escape, .header = cfg->source.format.header,
        .null_marker = cfg->source.format.null_marker };
    char msg[1024];
    /*  The slots are known when the workers are ours (--local-workers). */
    int slots = 0;
    if (r->args->local_workers > 0)
        slots = (int) r->args->local_workers
              * (r->args->slots ? (int) r->args->slots : cfg->pipeline.writers);
    r->fplan = fileplan_build (cfg->source.path, &fmt, cfg->pipeline.chunk_size,
                               cfg->pipeline.min_rows_for_parallel, r->args->sequential,
                               slots, msg, sizeof msg);
    if (!r->fplan) {
        ferr_set (err, NULL, false, "%s", msg);
        return -1;
    }
    r->job = copyjob_from_config (cfg, r->run_id, "coordinator", r->staging ? r->staging : r->final_q);
    char **targets = NULL, **owned = NULL;
    int count = 0;
    if (cfg->source.column_count > 0) {
        targets = cfg->source.columns;
        count = (int) cfg->source.column_count;
    }
    else if (r->fplan->header) {
        targets = r->fplan->header;
        count = r->fplan->header_count;
    }
    else {
        /*  No header, no mapping: the file holds the table's columns in order. */
        pg_conn_t *c = ledger_conn (r->ledger);
        if (!c)
            return -1;      /* logged */
        if (catalog_columns (c, cfg->target.table, &owned, &count) != 0) {
            pg_ferr (c, err, "target");
            ferr_prefix (err, "cannot read the columns of %s", cfg->target.table);
            return -1;
        }
        targets = owned;
    }
    int rc = 0;
    for (int i = 0; i < count && rc == 0; i++)
        if (targets[i] && strchr (targets[i], PROTOCOL_COLUMN_SEP)) {
            ferr_set (err, NULL, false, "column %d: the name holds a control character (0x1f)", i + 1);
            rc = -1;
        }
    if (rc == 0)
        copyjob_set_file_columns (r->job, targets, count);
    catalog_names_free (owned, owned ? count : 0);
    if (rc != 0)
        return -1;
    bool retryable = false;
    pg_conn_t *c = ledger_conn (r->ledger);
    if (!c || copyjob_prepare_csv (r->job, c, msg, sizeof msg, &retryable) != 0) {
        ferr_set (err, NULL, retryable, "%s", c ? msg : "target unreachable");
        return -1;
    }
    log_info ("%zu file(s), %" PRId64 " bytes, %" PRId64 " lines; %d file column(s), %d loaded",
              r->fplan->files, r->fplan->total_bytes, r->fplan->total_lines,
              r->job->nfile_columns, r->job->nfields);
    return 0;
}

/*  How to split a postgres source: 1 = by heap block (ctid), 0 = by key,
    -1 = error (err set). ctid needs the shared snapshot (a row that an
    update moves to another block must not be read twice or missed) and a
    query that scans one table whole (source_ctid_probe); source.split: auto
    takes it when it can, and says why not at debug level. */
static int
s_choose_split (run_t *r, bool shared, ferr_t *err)
{
    split_mode_t mode = r->cfg->source.split;
    if (mode == SPLIT_KEY) {
        snprintf (r->split_why, sizeof r->split_why, "source.split: key");
        return 0;
    }
    if (!shared) {
        snprintf (r->split_why, sizeof r->split_why, "source.split: auto: snapshot none (block "
                  "ranges need one snapshot)");
        return 0;
    }
    char why[1024] = "";
    int rc = source_ctid_probe (r->source, r->job, &r->heap, why, sizeof why);
    if (rc < 0) {
        ferr_copy (err, source_error (r->source));
        ferr_prefix (err, "planning the split");
        return -1;
    }
    if (rc == 0) {
        if (mode == SPLIT_CTID) {
            ferr_set (err, NULL, false, "source.split: ctid: %s", why);
            return -1;
        }
        snprintf (r->split_why, sizeof r->split_why, "source.split: auto: %s", why);
        log_info ("splitting by key %s, not by heap block (%s)", r->job->key, r->split_why);
        return 0;
    }
    snprintf (r->split_why, sizeof r->split_why, "source.split: %s: a plain scan of one table; "
              "resumable while nobody inserts or updates its rows, else set source.split: key",
              mode == SPLIT_CTID ? "ctid" : "auto");
    log_info ("splitting %s by heap block (ctid): %" PRId64 " blocks, about %" PRId64 " rows (%s)",
              r->heap.relation, r->heap.nblocks, r->heap.est_rows, r->split_why);
    return 1;
}

static void
s_print_plan (run_t *r)
{
    if (r->job->ctid_split)
        printf ("plan for %s: about %" PRId64 " rows, %zu chunk(s), split by heap block (ctid) "
                "of %s\n", r->cfg->target.table, r->plan->total_rows, r->plan->count, r->heap.relation);
    else
        printf ("plan for %s: %s%" PRId64 " rows, %zu chunk(s), key %s (%s)\n", r->cfg->target.table,
                r->plan_estimated ? "about " : "", r->plan->total_rows, r->plan->count, r->job->key,
                r->job->key_type);
    if (r->split_why[0])
        printf ("split: %s (%s)\n", r->job->ctid_split ? "ctid" : "key", r->split_why);
    printf ("%6s  %-28s %-28s %12s\n", "chunk", "from (>=)", "to (<)", "rows");
    for (size_t i = 0; i < r->plan->count; i++) {
        plan_range_t *p = &r->plan->ranges[i];
        printf ("%6zu  %-28s %-28s %12" PRId64 "\n", i, p->lo ? p->lo : "(start)",
                p->hi ? p->hi : "(end)", p->est_rows);
    }
}

int
run_open (run_t *r)
{
    char err[2048];
    r->cfg = config_load (r->args->job, err, sizeof err);
    if (!r->cfg) {
        ferr_set (&r->err, NULL, false, "%s", err);
        r->exit_code = EXIT_CODE_BAD_CONFIG;
        return -1;
    }
    config_t *cfg = r->cfg;
    r->file = cfg->source.kind == SOURCE_KIND_CSV;
    jobprint_compute (cfg, &r->print);
    pg_set_default_timeouts ("source", cfg->source.connect_timeout, -1);
    pg_set_default_timeouts ("target", cfg->target.connect_timeout, cfg->target.statement_timeout);
    r->final_q = pg_quote_qualified (cfg->target.table);
    if (!r->final_q) {
        ferr_set (&r->err, NULL, false, "%s: target.table: '%s' is not a valid table name",
                  r->args->job, cfg->target.table);
        r->exit_code = EXIT_CODE_BAD_CONFIG;
        return -1;
    }
    /*  A new run needs its workers: refuse before anything is recorded. A
        resume may have nothing left to copy: it asks when it does. */
    if (!r->plan_only && !r->resume && run_cluster_secret (r) != 0) {
        r->exit_code = EXIT_CODE_BAD_CONFIG;
        return -1;
    }
    r->direct = cfg->target.publish == PUBLISH_DIRECT;
    if (!r->plan_only) {
        const args_t *a = r->args;
        r->obs = observe_new (a->metrics ? a->metrics : cfg->cluster.metrics,
                              a->metrics_linger_set ? a->metrics_linger
                                                    : cfg->cluster.metrics_linger,
                              err, sizeof err);
        if (!r->obs) {
            ferr_set (&r->err, NULL, false, "%s: %s", a->metrics ? "--metrics" : "cluster.metrics",
                      err);
            r->exit_code = EXIT_CODE_BAD_CONFIG;
            return -1;
        }
        observe_set_run (r->obs, r->run_id, r->print.hash, r->direct ? "direct" : "merge",
                         r->file ? "file" : "key");
    }
    if (!r->direct)
        r->staging = schema_staging_name (r->run_id);
    r->policy = (retry_policy_t) {
        .max_retries = cfg->retry.max_retries, .initial_delay = cfg->retry.initial_delay,
        .backoff = cfg->retry.backoff, .max_delay = cfg->retry.max_delay };

    /*  The target, where the run's row will be; the source; a direct run's
        claim: their connections open together (each a backend start). */
    r->ledger = ledger_new (cfg->target.conninfo, &r->policy, r->stop);
    ledger_connect_begin (r->ledger, r->run_id);
    r->shared = !r->file && cfg->source.snapshot == SNAPSHOT_SHARED;
    if (!r->file) {
        r->source = source_new (cfg->source.conninfo);
        char *app = util_strdupf ("ferry/%s/coordinator-source", r->run_id);
        source_connect_begin (r->source, app);
        free (app);
    }
    if (r->direct && !r->plan_only)
        r->claim = claim_new (cfg->target.conninfo, cfg->target.table, r->run_id);
    if (!ledger_conn (r->ledger)) {
        r->exit_code = EXIT_CODE_TARGET;
        return -1;
    }
    /*  The source: the consistent cut, and the column check. */
    if (r->file)
        return s_prepare_file (r, &r->err);
    if (source_open (r->source, &r->policy, r->shared && !r->plan_only, r->stop) != 0) {
        ferr_copy (&r->err, source_error (r->source));
        r->exit_code = pg_is_connected (source_conn (r->source)) ? EXIT_CODE_FAILED
                                                                 : EXIT_CODE_SOURCE;
        return -1;
    }
    r->job = copyjob_from_config (cfg, r->run_id, "coordinator", r->final_q);
    bool retryable = false;
    if (copyjob_prepare (r->job, source_conn (r->source), ledger_conn (r->ledger), err,
                         sizeof err, &retryable) != 0) {
        ferr_set (&r->err, NULL, retryable, "%s", err);
        return -1;
    }
    if (!r->job->binary)
        log_info ("column types differ (%s): chunks move as text COPY, the target casts",
                  r->job->text_columns);
    return 0;
}

/*  By key: count and cut the key ranges in the snapshot. */
static int
s_plan_by_key (run_t *r)
{
    int64_t null_keys = 0;
    r->plan = source_plan (r->source, r->job, r->cfg->pipeline.chunk_size, &r->rows_source,
                           &null_keys);
    if (!r->plan) {
        ferr_copy (&r->err, source_error (r->source));
        return -1;
    }
    r->snapshot_exact = r->shared;
    if (r->rows_source < r->cfg->pipeline.min_rows_for_parallel && r->plan->count > 1) {
        plan_destroy (&r->plan);
        r->plan = plan_single (r->rows_source);
    }
    if (r->plan->count > 1 && null_keys > 0) {
        ferr_set (&r->err, NULL, false, "source.key: %" PRId64 " rows have a NULL %s; "
                  "key ranges cannot hold them (use a NOT NULL key, or --sequential)",
                  null_keys, r->job->key);
        return -1;
    }
    return 0;
}

int
run_plan (run_t *r)
{
    int split = 0;
    if (r->file) {
        r->plan = plan_single (r->fplan->total_lines);   /* for totals only */
        r->plan_estimated = true;
    }
    else if (r->args->sequential) {
        /*  One chunk reads everything: its row count is the source count
            (in the shared snapshot), so no counting pass is needed. */
        int64_t estimate = 0;
        if (source_estimate (r->source, r->job, &estimate) != 0) {
            ferr_copy (&r->err, source_error (r->source));
            return -1;
        }
        r->plan = plan_single (estimate);
        r->plan_estimated = true;
    }
    else if ((split = s_choose_split (r, r->shared, &r->err)) < 0)
        return -1;
    else if (split == 1) {
        r->plan = plan_blocks (r->heap.nblocks, r->heap.est_rows, r->cfg->pipeline.chunk_size,
                               r->cfg->pipeline.min_rows_for_parallel);
        r->plan_estimated = true;
        r->job->ctid_split = r->plan->count > 1;
    }
    else if (s_plan_by_key (r) != 0)
        return -1;
    if (r->plan_only) {
        if (r->file)
            s_print_file_plan (r);
        else
            s_print_plan (r);
    }
    return 0;
}

/*  Direct: the final table must be empty. Merge: create staging. */
static int
s_prepare_target (run_t *r)
{
    if (r->direct) {
        bool empty = false;
        if (ledger_table_is_empty (r->ledger, r->final_q, &empty) != 0)
            return -1;
        if (!empty) {
            ferr_set (&r->err, NULL, false, "target.publish is direct but %s is not "
                      "empty; direct is for fresh loads only (use publish: merge)",
                      r->cfg->target.table);
            return -1;
        }
        return 0;
    }
    pg_conn_t *c = ledger_conn (r->ledger);
    if (!c)
        return -1;      /* logged */
    if (schema_create_staging (c, r->staging, r->cfg->target.table) != 0) {
        pg_ferr (c, &r->err, "target: creating the staging table");
        return -1;
    }
    return 0;
}

int
run_claim (run_t *r)
{
    if (!r->direct)
        return 0;
    /*  Before the emptiness check, and held until the run ends: a second
        direct run into the same table is refused. */
    if (!r->claim)
        r->claim = claim_new (r->cfg->target.conninfo, r->cfg->target.table, r->run_id);
    return claim_take (r->claim, &r->policy, r->stop, r->err.message, sizeof r->err.message);
}

int
run_record (run_t *r)
{
    char *job_keys = jobprint_keys_text (&r->print);
    int brc = ledger_begin_run (r->ledger, r->run_id, r->cfg->target.table, r->staging,
                                r->direct ? "direct" : "merge",
                                r->file ? "file" : r->job->ctid_split ? "ctid" : "key",
                                r->print.hash, job_keys);
    free (job_keys);
    if (brc != 0)
        return -1;
    r->run_recorded = true;
    if (r->shared && !r->args->sequential) {
        /*  With which a resume checks that a ctid plan still holds. */
        char *snap = source_txid_snapshot (r->source);
        if (!snap)
            ferr_copy (&r->err, source_error (r->source));
        int src = !snap ? -1 : ledger_set_source_snapshot (r->ledger, r->run_id, snap);
        free (snap);
        if (src != 0)
            return -1;
    }
    if (s_prepare_target (r) != 0)
        return -1;
    r->chunks = chunktab_new (&r->policy, retry_seed ());
    if (r->file)
        for (size_t i = 0; i < r->fplan->count; i++) {
            fileplan_range_t *f = &r->fplan->ranges[i];
            chunktab_add_file (r->chunks, f->path, f->offset, f->length, f->first_line,
                               f->est_rows);
        }
    else
        for (size_t i = 0; i < r->plan->count && (r->rows_source > 0 || r->plan_estimated); i++)
            chunktab_add (r->chunks, r->plan->ranges[i].lo, r->plan->ranges[i].hi,
                          r->plan->ranges[i].est_rows);
    if (ledger_write_plan (r->ledger, r->run_id, r->chunks) != 0
    ||  ledger_set_status (r->ledger, r->run_id, "loading") != 0)
        return -1;
    if (r->file)
        log_info ("planned %zu chunk(s) over %zu file(s), about %" PRId64 " records "
                  "(publish %s)", chunktab_size (r->chunks), r->fplan->files,
                  r->fplan->total_lines, r->direct ? "direct" : "merge");
    else
        log_info ("planned %zu chunk(s) over %s%" PRId64 " rows (%s%s, publish %s)",
                  r->plan->count, r->plan_estimated ? "about " : "", r->plan->total_rows,
                  r->job->ctid_split ? "heap blocks of " : "ranges of key ",
                  r->job->ctid_split ? r->heap.relation : r->job->key,
                  r->direct ? "direct" : "merge");
    return 0;
}
