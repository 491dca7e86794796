/* SPDX-License-Identifier: BSD-3-Clause */
/* Parsers of outside text (tce_parse.h): pure functions. */
#include <errno.h>
#include <stdlib.h>

#include "tce_parse.h"

int tce_parse_size(const char *s, uint64_t *out)
{
	char *end;
	uint64_t v;

	errno = 0;
	v = strtoull(s, &end, 0);
	if (errno || end == s)
		return -EINVAL;
	switch (*end) {
	case 'K': case 'k': v <<= 10; end++; break;
	case 'M': case 'm': v <<= 20; end++; break;
	case 'G': case 'g': v <<= 30; end++; break;
	default: break;
	}
	if (*end != '\0' || v == 0)
		return -EINVAL;
	*out = v;
	return 0;
}

int tce_parse_number(const char *text, long long min, long long max, long long *out)
{
	char *end;
	long long v;

	errno = 0;
	v = strtoll(text, &end, 0);
	if (errno || end == text || (*end != '\n' && *end != '\0') || (*end == '\n' && end[1] != '\0') ||
	    v < min || v > max)
		return -EINVAL;
	*out = v;
	return 0;
}
