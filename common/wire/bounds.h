/*  common/wire/bounds.h: the interior bounds of a group of adjacent key ranges
    as one string (FERRY/1 ASSIGN's group_bounds): each bound as its length
    in decimal, ':', then its bytes ("5:12345" "3:abc" -> "5:123453:abc").
    Any byte but NUL may appear in a bound; nothing is escaped. */
#ifndef FERRY_COMMON_BOUNDS_H
#define FERRY_COMMON_BOUNDS_H

#include <stddef.h>

/*  The n bounds joined (n may be 0: ""). Caller frees. Can't fail. */
char *bounds_join (char *const *bounds, size_t n);

/*  Splits s into exactly n bounds (each a new string, NUL-terminated),
    into out[0..n-1]. Returns 0, or -1 when s does not hold exactly n
    well-formed bounds (nothing allocated then). */
int bounds_split (const char *s, size_t n, char **out);

/*  Frees the n strings of out (bounds_split's). */
void bounds_free (char **out, size_t n);

#endif
