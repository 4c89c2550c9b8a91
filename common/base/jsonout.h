/*  common/base/jsonout.h: building JSON documents with json-c, the way every
    JSON ferry prints is built (the run report, alerts, status, history,
    tune --json).

    Strings are made valid UTF-8 first (invalid bytes become U+FFFD,
    common/base/utf8.h: json-c copies bytes as they are); NULL is JSON null.
    Numbers keep the text they are given (json_object_new_double_s), so a
    figure prints with the precision its caller chose. */
#ifndef FERRY_JSONOUT_H
#define FERRY_JSONOUT_H

#include <json-c/json.h>
#include <stdint.h>

/*  o[key] = the string raw (UTF-8 sanitized), or null when raw is NULL. */
void jsonout_str (json_object *o, const char *key, const char *raw);

/*  o[key] = value with 6 significant digits ("%.6g"). */
void jsonout_num_g (json_object *o, const char *key, double value);

/*  o[key] = value with `decimals` digits after the point. */
void jsonout_num (json_object *o, const char *key, double value, int decimals);

/*  o[key] = value, an integer. */
void jsonout_int (json_object *o, const char *key, int64_t value);

/*  A JSON text another module made, as an object, or NULL (JSON null)
    when it is NULL or does not parse. Frees text. */
json_object *jsonout_parsed (char *text);

/*  The text of o ("key": value with spaces, '/' not escaped), with a
    final newline when newline is non-zero; drops o. The caller frees the
    text. */
char *jsonout_finish (json_object *o, int newline);

#endif
