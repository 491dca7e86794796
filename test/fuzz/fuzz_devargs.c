/* SPDX-License-Identifier: BSD-3-Clause */
/* libFuzzer: the spapr bus's device options (the bus layer of -a), as EAL hands them. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "spapr_private.h"
#include "tce.h"

int spapr_logtype; /* the bus registers it; here it is EAL's */

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s = malloc(size + 1);
	struct spapr_devopts o;

	if (s == NULL)
		return 0;
	memcpy(s, data, size);
	s[size] = '\0';
	if (spapr_devopts_parse_str("0000:00:01.0", s, &o) == 0) {
		/* what it accepted is one of the documented values */
		if (o.page_shift && (o.page_shift < 12 || o.page_shift > 63))
			abort();
	}
	free(s);
	return 0;
}
