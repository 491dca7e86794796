/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The --stats file of a run (SPAPR_EMU_STATS), however the program ends:
 *  - it exits: written at exit ("exit": {"how": "exited"}; spapr-emu adds the status);
 *  - a catchable signal it leaves at the default action kills it (SIGINT is how DPDK's
 *    skeleton stops; SIGTERM, SIGHUP): written before the default action is taken
 *    ("how": "signal");
 *  - anything else (SIGKILL, a crash, _exit): a snapshot kept in FILE.live, rewritten
 *    every SNAPSHOT_MS while the program has VFIO files, is what spapr-emu turns into
 *    the stats file ("how": "running" here; spapr-emu says how it died).
 * The snapshot thread exists from the first VFIO open on; before it, the program has
 * done nothing the stats count.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "preload_stats.h"
#include "spapr_emu.h"

#define SNAPSHOT_MS 250

static const int fatal_signals[] = { SIGINT, SIGTERM, SIGHUP };

static struct emu_platform *platform;
static const char *stats_path;
static int (*real_sigaction)(int, const struct sigaction *, struct sigaction *);
static bool ours[NSIG];           /* our handler is installed for this signal */
static int wake[2] = { -1, -1 };  /* handler/exit -> snapshot thread */
static pthread_t thread;
static bool thread_running;
static volatile sig_atomic_t stopping;

static void write_to(const char *path, const char *exit_json)
{
	char tmp[600];
	FILE *f;

	/* write then rename: a reader never sees half a file */
	snprintf(tmp, sizeof(tmp), "%s.%d.tmp", path, (int)getpid());
	f = fopen(tmp, "we");
	if (f == NULL) {
		fprintf(stderr, "spapr-emu: cannot write stats %s: %s\n", tmp, strerror(errno));
		return;
	}
	emu_write_stats_exit(platform, f, exit_json);
	if (fclose(f) != 0 || rename(tmp, path) != 0)
		fprintf(stderr, "spapr-emu: cannot write stats %s: %s\n", path, strerror(errno));
}

static void live_path(char *buf, size_t len)
{
	snprintf(buf, len, "%s.live", stats_path);
}

/* Written by the signal's thread of choice: async-signal-safe calls only. */
static void on_fatal(int sig)
{
	unsigned char c = (unsigned char)sig;

	if (thread_running && write(wake[1], &c, 1) == 1)
		return; /* the snapshot thread writes the stats, then takes the default action */
	struct sigaction dfl = { .sa_handler = SIG_DFL };
	real_sigaction(sig, &dfl, NULL);
	ours[sig] = false;
	raise(sig); /* delivered when this handler returns */
}

static void die_by(int sig)
{
	char json[96], live[600];
	sigset_t set;

	snprintf(json, sizeof(json), "{\"how\": \"signal\", \"signal\": %d}", sig);
	write_to(stats_path, json);
	live_path(live, sizeof(live));
	unlink(live);
	struct sigaction dfl = { .sa_handler = SIG_DFL };
	real_sigaction(sig, &dfl, NULL);
	sigemptyset(&set);
	sigaddset(&set, sig);
	pthread_sigmask(SIG_UNBLOCK, &set, NULL);
	kill(getpid(), sig);
}

static void *snapshots(void *arg)
{
	char live[600];
	struct pollfd pfd = { .fd = wake[0], .events = POLLIN };

	(void)arg;
	live_path(live, sizeof(live));
	while (!stopping) {
		write_to(live, "{\"how\": \"running\"}");
		if (poll(&pfd, 1, SNAPSHOT_MS) > 0) {
			unsigned char c;
			if (read(wake[0], &c, 1) == 1 && c != 0) {
				die_by(c);
				pause(); /* the default action of c ends the process */
			}
		}
	}
	return NULL;
}

void preload_stats_init(struct emu_platform *p)
{
	const char *path = getenv("SPAPR_EMU_STATS");

	real_sigaction = dlsym(RTLD_NEXT, "sigaction");
	platform = p;
	if (path == NULL || *path == '\0')
		return;
	stats_path = strdup(path);
	for (unsigned int i = 0; i < sizeof(fatal_signals) / sizeof(fatal_signals[0]); i++) {
		int sig = fatal_signals[i];
		struct sigaction now, sa = { .sa_handler = on_fatal };
		sigemptyset(&sa.sa_mask);
		/* only where the program has the default action: an inherited SIG_IGN stays */
		if (real_sigaction(sig, NULL, &now) == 0 && now.sa_handler == SIG_DFL &&
		    real_sigaction(sig, &sa, NULL) == 0)
			ours[sig] = true;
	}
}

void preload_stats_touched(void)
{
	sigset_t all, old;

	if (stats_path == NULL || thread_running || pipe2(wake, O_CLOEXEC) != 0)
		return;
	/* the thread takes no signal of the program's */
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, &old);
	thread_running = pthread_create(&thread, NULL, snapshots, NULL) == 0;
	pthread_sigmask(SIG_SETMASK, &old, NULL);
}

void preload_stats_exit(bool touched)
{
	char live[600];

	if (stats_path == NULL)
		return;
	if (thread_running) {
		unsigned char c = 0;
		stopping = 1;
		if (write(wake[1], &c, 1) != 1)
			fprintf(stderr, "spapr-emu: cannot stop the stats thread\n");
		pthread_join(thread, NULL);
		thread_running = false;
	}
	if (touched)
		write_to(stats_path, "{\"how\": \"exited\"}");
	live_path(live, sizeof(live));
	unlink(live);
}

bool preload_stats_sigaction(int sig, const struct sigaction *act, struct sigaction *old, int *ret)
{
	if (sig <= 0 || sig >= NSIG || !ours[sig])
		return false;
	/* the program sees the default action it had, and what it sets replaces ours */
	if (old) {
		memset(old, 0, sizeof(*old));
		old->sa_handler = SIG_DFL;
	}
	*ret = 0;
	if (act) {
		*ret = real_sigaction(sig, act, NULL);
		if (*ret == 0)
			ours[sig] = false;
	}
	return true;
}
