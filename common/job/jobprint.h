/*  common/job/jobprint.h: a job's fingerprint, over what decides the data a
    run loads.

    A run records its fingerprint in ferry.runs (job_hash, and job_keys, one
    hash per job-file key) so that `resume` can refuse a job file that was
    edited in a way that changes the rows (a mix of two queries in one
    table) and name the keys that changed. Counted: source.kind,
    source.query, source.key, source.split, source.path, source.format.*,
    source.columns, target.table, target.publish, target.merge.key,
    target.merge.on_match. Not counted: conninfos (a password may be
    rotated, a host renamed), pipeline, retry and cluster settings (they
    change how, not what).

    Pure: no I/O. The hash is 64-bit FNV-1a, printed as 16 hex digits; it
    detects edits, it is no defence against a crafted collision.
*/
#ifndef FERRY_JOBPRINT_H
#define FERRY_JOBPRINT_H

#include "config.h"

#include <stddef.h>

#define JOBPRINT_MAX_KEYS 16

typedef struct {
    const char *key;            /* static: "source.query", ... */
    char hash[17];
} jobprint_entry_t;

typedef struct {
    size_t count;
    jobprint_entry_t entries[JOBPRINT_MAX_KEYS];
    char hash[17];              /* over every entry: ferry.runs.job_hash */
} jobprint_t;

/*  Fills p from cfg. Can't fail. */
void jobprint_compute (const config_t *cfg, jobprint_t *p);

/*  "source.kind=<hash>;source.query=<hash>;..." (ferry.runs.job_keys).
    Caller frees. */
char *jobprint_keys_text (const jobprint_t *p);

/*  Compares a stored job_keys text with p. Writes the names of the keys
    that differ (a key present on one side only counts as changed), joined
    by ", ", into changed (always NUL-terminated). Returns how many differ,
    or -1 when stored is not a job_keys text. */
int jobprint_diff (const char *stored, const jobprint_t *p, char *changed, size_t size);

#endif
