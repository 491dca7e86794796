/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * spapr-info --app PREFIX: the IOMMU containers of a running DPDK application (its
 * spapr bus's own devices and DPDK's bus/pci devices it serves), read from the
 * application's telemetry socket: the groups are the application's, so they cannot be
 * opened from here while it runs.
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "live.h"

/* DPDK's runtime directory: /var/run/dpdk for root, else $XDG_RUNTIME_DIR/dpdk (or /tmp). */
static void socket_path(const char *prefix, char *out, size_t len)
{
	const char *base = "/var/run";
	const char *xdg = getenv("XDG_RUNTIME_DIR");

	if (getuid() != 0)
		base = xdg && *xdg ? xdg : "/tmp";
	snprintf(out, len, "%s/dpdk/%s/dpdk_telemetry.v2", base, prefix);
}

static int ask(int fd, const char *cmd, char *buf, size_t len)
{
	ssize_t n;

	if (write(fd, cmd, strlen(cmd)) < 0)
		return -errno;
	n = read(fd, buf, len - 1);
	if (n <= 0)
		return n < 0 ? -errno : -EPIPE;
	buf[n] = '\0';
	return 0;
}

int show_live(const char *prefix)
{
	static const char *const cmds[] = { "/spapr/containers", "/spapr/windows", "/spapr/stats" };
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	char buf[65536];
	int fd, ret = 0;

	socket_path(prefix, sun.sun_path, sizeof(sun.sun_path));
	fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sun, sizeof(sun)) != 0) {
		fprintf(stderr, "spapr-info: cannot reach the DPDK application with file prefix '%s' (%s: %s):"
			" is it running, with telemetry (DPDK's default)?\n", prefix, sun.sun_path, strerror(errno));
		if (fd >= 0)
			close(fd);
		return 1;
	}
	if (read(fd, buf, sizeof(buf) - 1) <= 0) { /* the greeting: version, pid, max output */
		fprintf(stderr, "spapr-info: %s closed the connection\n", sun.sun_path);
		close(fd);
		return 1;
	}
	for (size_t i = 0; i < sizeof(cmds) / sizeof(cmds[0]) && ret == 0; i++) {
		if (ask(fd, cmds[i], buf, sizeof(buf)) != 0) {
			fprintf(stderr, "spapr-info: %s did not answer %s\n", sun.sun_path, cmds[i]);
			ret = 1;
		} else if (strstr(buf, ":null}") != NULL) {
			fprintf(stderr, "spapr-info: the application has no %s endpoint: the spapr bus plugin is"
				" not loaded there\n", cmds[i]);
			ret = 1;
		} else {
			printf("%s\n", buf);
		}
	}
	close(fd);
	return ret;
}
