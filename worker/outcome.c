/*  worker/outcome.c: exit status from STOP.outcome, and --give-up-after;
    see outcome.h. */
#include "outcome.h"
#include "exit_codes.h"
#include "protocol.h"
#include "util.h"

#include <stdio.h>
#include <string.h>

int
outcome_exit_code (const char *outcome)
{
    if (!outcome || strcmp (outcome, PROTOCOL_OUTCOME_PUBLISHED) == 0)
        return EXIT_CODE_OK;
    if (strcmp (outcome, PROTOCOL_OUTCOME_CANCELLED) == 0)
        return EXIT_CODE_RUN_CANCELLED;
    return EXIT_CODE_RUN_FAILED;
}

int
outcome_should_give_up (int64_t heard_ms, int64_t now_ms, int64_t give_up_ms)
{
    return give_up_ms > 0 && now_ms - heard_ms >= give_up_ms;
}

int
outcome_give_up_parse (const char *arg, const char *env, int64_t *ms, char *message, size_t size)
{
    const char *text = arg ? arg : env && *env ? env : NULL;
    const char *what = arg ? "--give-up-after" : "FERRY_GIVE_UP_AFTER";
    if (!text) {
        *ms = OUTCOME_GIVE_UP_DEFAULT_MS;
        return 0;
    }
    if (util_parse_duration_ms (text, OUTCOME_GIVE_UP_MAX_MS, ms) != 0) {
        snprintf (message, size, "%s '%s': expected a duration such as 600, 90s, 10m or 1h "
                  "(at most 168h; 0 never gives up)", what, text);
        return -1;
    }
    return 0;
}
