/*  tests/fuzz/fuzz_protocol.c: libFuzzer target for the FERRY/1 codec.

    Whatever the bytes, protocol_decode must return without crashing,
    leaking or reading out of bounds; on failure it leaves a zeroed message
    and a "protocol: " reason. Whatever it accepts must re-encode, and the
    re-encoding must decode to an equal message and re-encode to the same
    bytes (encode is deterministic). Built as a libFuzzer binary with
    FERRY_FUZZ=ON, and always with replay_main.c as fuzz.protocol_replay. */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "protocol.h"
#include "../unit/protocol_eq.h"

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

static void __attribute__ ((noreturn))
s_die (const char *what, const char *err)
{
    fprintf (stderr, "fuzz_protocol: %s%s%s\n", what, err ? ": " : "", err ? err : "");
    abort ();
}

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
    char err [256];
    protocol_msg_t msg;
    memset (&msg, 0xa5, sizeof msg);        /* decode must not rely on a zeroed msg */
    if (protocol_decode (data, size, &msg, err, sizeof err) != 0) {
        protocol_msg_t zero;
        memset (&zero, 0, sizeof zero);
        if (memcmp (&msg, &zero, sizeof msg) != 0)
            s_die ("failed decode left data in the message", err);
        if (strncmp (err, "protocol: ", 10) != 0)
            s_die ("failed decode without a reason", NULL);
        return 0;
    }

    char *encoded = NULL;
    size_t encoded_size = 0;
    if (protocol_encode (&msg, &encoded, &encoded_size, err, sizeof err) != 0)
        s_die ("decoded message does not re-encode", err);

    protocol_msg_t back;
    if (protocol_decode (encoded, encoded_size, &back, err, sizeof err) != 0)
        s_die ("re-encoded message does not decode", err);
    if (!eq_msg (&msg, &back))
        s_die ("round trip changed the message", protocol_type_name (msg.type));

    char *again = NULL;
    size_t again_size = 0;
    if (protocol_encode (&back, &again, &again_size, err, sizeof err) != 0)
        s_die ("second encode failed", err);
    if (again_size != encoded_size || memcmp (again, encoded, encoded_size) != 0)
        s_die ("encode is not deterministic", protocol_type_name (msg.type));

    free (again);
    free (encoded);
    protocol_msg_reset (&back);
    protocol_msg_reset (&msg);
    return 0;
}
