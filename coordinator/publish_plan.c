/*  coordinator/publish_plan.c: see publish_plan.h. */
#include "publish_plan.h"

publish_plan_t
publish_plan (bool unique, bool empty, on_match_t on_match, int nset)
{
    publish_plan_t p = { 0 };
    bool update = on_match == ON_MATCH_UPDATE && nset > 0;
    if ((empty && unique) || (!unique && (on_match == ON_MATCH_ERROR || empty))) {
        p.statement = PUBLISH_SQL_INSERT;
        p.name = "insert";
    }
    else if (unique && on_match != ON_MATCH_ERROR) {
        p.statement = update ? PUBLISH_SQL_UPSERT : PUBLISH_SQL_INSERT_IGNORE;
        p.name = update ? "upsert" : "insert-ignore";
    }
    else {
        p.statement = PUBLISH_SQL_MERGE;
        p.name = "merge";
    }
    /*  Only a plain INSERT into a unique index (empty table, or on_match
        error after the existence check) and a real DO UPDATE fail on
        duplicate keys by themselves; DO NOTHING and MERGE would not. */
    p.check_duplicates = !(unique && (empty || update || on_match == ON_MATCH_ERROR));
    p.check_existing = on_match == ON_MATCH_ERROR && !empty;
    p.counts_all = p.statement == PUBLISH_SQL_INSERT || p.statement == PUBLISH_SQL_UPSERT;
    return p;
}
