/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The checks every C test uses: a failed check prints where, what and the values (as
 * signed and hex), counts, and the test goes on; RUN prints one line per case;
 * test_result() is the exit status.
 */
#ifndef TEST_CHECK_H
#define TEST_CHECK_H

#include <stdio.h>
#include <string.h>

static int failures;

#define CHECK(cond) do { \
	if (!(cond)) { \
		fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__, #cond); \
		failures++; \
	} } while (0)

#define CHECK_EQ(a, b) do { \
	unsigned long long _a = (unsigned long long)(a), _b = (unsigned long long)(b); \
	if (_a != _b) { \
		fprintf(stderr, "%s:%d: %s == %lld (0x%llx), expected %s == %lld (0x%llx)\n", \
			__FILE__, __LINE__, #a, (long long)_a, _a, #b, (long long)_b, _b); \
		failures++; \
	} } while (0)

/* the kernel's answer is -errno: compare with the name */
#define CHECK_ERR(expr, err) CHECK_EQ((expr), -(err))

#define CHECK_STR(a, b) do { \
	if (strcmp((a), (b)) != 0) { \
		fprintf(stderr, "%s:%d: got\n  \"%s\"\nexpected\n  \"%s\"\n", __FILE__, __LINE__, (a), (b)); \
		failures++; \
	} } while (0)

#define RUN(test) do { \
	int _before = failures; \
	test(); \
	printf("%-50s %s\n", #test, failures == _before ? "ok" : "FAILED"); \
	fflush(stdout); \
	} while (0)

static inline int test_result(void)
{
	if (failures)
		fprintf(stderr, "%d check(s) failed\n", failures);
	return failures ? 1 : 0;
}

#endif
