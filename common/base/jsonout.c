/*  common/base/jsonout.c: see jsonout.h. */
#include "jsonout.h"
#include "utf8.h"
#include "util.h"

#include <stdio.h>
#include <stdlib.h>

void
jsonout_str (json_object *o, const char *key, const char *raw)
{
    if (!raw) {
        json_object_object_add (o, key, NULL);
        return;
    }
    char *clean = utf8_sanitize (raw);
    json_object_object_add (o, key, json_object_new_string (clean));
    free (clean);
}

void
jsonout_num_g (json_object *o, const char *key, double value)
{
    char text[64];
    snprintf (text, sizeof text, "%.6g", value);
    json_object_object_add (o, key, json_object_new_double_s (value, text));
}

void
jsonout_num (json_object *o, const char *key, double value, int decimals)
{
    char text[64];
    snprintf (text, sizeof text, "%.*f", decimals, value);
    json_object_object_add (o, key, json_object_new_double_s (value, text));
}

void
jsonout_int (json_object *o, const char *key, int64_t value)
{
    json_object_object_add (o, key, json_object_new_int64 (value));
}

json_object *
jsonout_parsed (char *text)
{
    json_object *o = text ? json_tokener_parse (text) : NULL;
    free (text);
    return o;
}

char *
jsonout_finish (json_object *o, int newline)
{
    char *out = util_strdupf ("%s%s", json_object_to_json_string_ext (o, JSON_C_TO_STRING_SPACED
                                                                         | JSON_C_TO_STRING_NOSLASHESCAPE),
                              newline ? "\n" : "");
    json_object_put (o);
    return out;
}
