/* SPDX-License-Identifier: BSD-3-Clause */
/* The parsers of outside text lib/tce and its users share: sizes given by users, numbers
 * the kernel writes into sysfs. */
#ifndef TCE_PARSE_H
#define TCE_PARSE_H

#include <stdint.h>

/* "4096", "0x1000", "64K", "2M", "1G": 0, or -EINVAL (also for 0). */
int tce_parse_size(const char *s, uint64_t *out);

/* A sysfs number as the kernel writes it ("0x1af4\n", "-1\n", "12\n"), within
 * [min, max]: 0 or -EINVAL. */
int tce_parse_number(const char *text, long long min, long long max, long long *out);

#endif
