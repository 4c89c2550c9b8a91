/*  common/format/csv_int.h: what the two halves of the CSV parser share (csv.c,
    the loader's csv_parse_record; csv_split.c, the planner's csv_split and
    the incremental csv_scanner). Not for any other module: everyone else
    includes csv.h. */
#ifndef FERRY_CSV_INT_H
#define FERRY_CSV_INT_H

#include "csv.h"

/*  CSV_NO_SIMD builds the plain loops alone (to test them on x86). */
#if defined (__SSE2__) && !defined (CSV_NO_SIMD)
#   include <emmintrin.h>
#   define CSV_SSE2 1
#endif

/*  Asserts the format rules config.c enforces (jobcheck.h): breaking them
    is a programmer error here. An escape of 0 means "same as the quote". */
void csv_format_check (const csv_format_t *fmt);

#endif
