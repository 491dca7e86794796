/* SPDX-License-Identifier: BSD-3-Clause */
/* One line per message, to the caller's log function or to stderr. */
#include <stdarg.h>
#include <stdio.h>

#include "tce_internal.h"

static void log_stderr(void *ctx, enum tce_log_level level, const char *msg)
{
	(void)ctx;
	if (level <= TCE_LOG_WARN)
		fprintf(stderr, "tce: %s\n", msg);
}

static tce_log_fn log_fn = log_stderr;
static void *log_ctx;

void tce_set_log(tce_log_fn fn, void *ctx)
{
	log_fn = fn ? fn : log_stderr;
	log_ctx = ctx;
}

void tce_log(enum tce_log_level level, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	log_fn(log_ctx, level, msg);
}
