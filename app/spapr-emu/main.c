/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * spapr-emu: run an unmodified program on an emulated POWER machine.
 *
 *   spapr-emu run [OPTIONS] -- COMMAND [ARGS...]
 *   spapr-emu sysfs [OPTIONS] DIR
 *   spapr-emu presets
 *
 * `run` validates the options, writes the platform configuration and a sysfs tree
 * into a private directory, and runs COMMAND with the LD_PRELOAD shim, so that its
 * libc calls on /dev/vfio/<name> reach the emulated kernel (SPAPR_EMU_CONFIG) and its sysfs
 * lookups find the emulated devices (SYSFS_PCI_DEVICES). The exit status is
 * COMMAND's; 2 for bad options.
 */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <getopt.h>
#include <libgen.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "spapr_emu.h"
#include "emu_sysfs.h"

#define PRELOAD_NAME "libspapr-emu-preload.so"

static void usage(FILE *out)
{
	fprintf(out,
		"usage: spapr-emu run [OPTIONS] -- COMMAND [ARGS...]\n"
		"       spapr-emu sysfs [OPTIONS] DIR\n"
		"       spapr-emu presets\n"
		"options:\n"
		"  --platform NAME      pseries-ddw (default), pseries-noddw, powernv\n"
		"  --devices N          number of emulated PCI functions (default 1)\n"
		"  --group-size K       functions per IOMMU group (default 1)\n"
		"  --numa-nodes M       spread IOMMU groups over M NUMA nodes (default 1)\n"
		"  --device SPEC        ADDR[,group=G][,node=N][,model=none]; repeatable,\n"
		"                       replaces the generated devices\n"
		"  --set KEY=VALUE      override one platform property (see doc/emulator.md)\n"
		"  --config FILE        read KEY=VALUE lines (the same keys)\n"
		"  --stats FILE         write counters and a leak report as JSON at exit\n"
		"  --sysfs DIR          build the sysfs tree in DIR and keep it\n");
}

static int fail(const char *fmt, const char *arg)
{
	fprintf(stderr, "spapr-emu: ");
	fprintf(stderr, fmt, arg);
	fputc('\n', stderr);
	return 2;
}

static int set_opt(struct emu_config *cfg, const char *key, const char *value)
{
	char err[512];

	if (emu_config_set(cfg, key, value, err, sizeof(err)) != 0)
		return fail("%s", err);
	return 0;
}

/* Parse options up to "--" (run) or the first operand; returns the index of the
 * first operand, or -1 after printing an error. */
static int parse_options(int argc, char **argv, struct emu_config *cfg)
{
	static const struct option opts[] = {
		{ "platform", required_argument, NULL, 'p' },
		{ "devices", required_argument, NULL, 'n' },
		{ "group-size", required_argument, NULL, 'g' },
		{ "numa-nodes", required_argument, NULL, 'm' },
		{ "device", required_argument, NULL, 'd' },
		{ "set", required_argument, NULL, 's' },
		{ "config", required_argument, NULL, 'c' },
		{ "stats", required_argument, NULL, 'S' },
		{ "sysfs", required_argument, NULL, 'y' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	char err[512];
	int c;

	optind = 1;
	while ((c = getopt_long(argc, argv, "+h", opts, NULL)) != -1) {
		const char *key = NULL;
		switch (c) {
		case 'p': key = "platform"; break;
		case 'n': key = "devices"; break;
		case 'g': key = "group-size"; break;
		case 'm': key = "numa-nodes"; break;
		case 'd': key = "device"; break;
		case 'S': key = "stats"; break;
		case 'y': key = "sysfs"; break;
		case 's': {
			char buf[512], *eq;
			snprintf(buf, sizeof(buf), "%s", optarg);
			eq = strchr(buf, '=');
			if (eq == NULL) {
				fail("--set %s: expected KEY=VALUE", optarg);
				return -1;
			}
			*eq = '\0';
			if (set_opt(cfg, buf, eq + 1))
				return -1;
			continue;
		}
		case 'c':
			if (emu_config_load(cfg, optarg, err, sizeof(err)) != 0) {
				fail("%s", err);
				return -1;
			}
			continue;
		case 'h':
			usage(stdout);
			exit(0);
		default:
			usage(stderr);
			return -1;
		}
		if (set_opt(cfg, key, optarg))
			return -1;
	}
	if (emu_config_finish(cfg, err, sizeof(err)) != 0) {
		fail("%s", err);
		return -1;
	}
	return optind;
}

static int rm_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
	(void)sb; (void)flag; (void)ftw;
	return remove(path);
}

static void find_preload(char *out, size_t len)
{
	char exe[PATH_MAX];
	ssize_t n;
	const char *env = getenv("SPAPR_EMU_PRELOAD");

	if (env && *env) {
		snprintf(out, len, "%s", env);
		return;
	}
	n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	if (n > 0) {
		exe[n] = '\0';
		snprintf(out, len, "%s/%s", dirname(exe), PRELOAD_NAME);
		if (access(out, R_OK) == 0)
			return;
	}
	snprintf(out, len, "%s", EMU_PRELOAD_INSTALLED);
}

static int build_tree(struct emu_config *cfg, const char *root)
{
	struct emu_platform *p;
	char err[512];
	int ret = emu_platform_create(cfg, &p, err, sizeof(err));

	if (ret)
		return fail("%s", err);
	ret = emu_sysfs_build(p, root);
	emu_platform_destroy(p);
	if (ret) {
		fprintf(stderr, "spapr-emu: cannot build sysfs tree in %s: %s\n", root, strerror(-ret));
		return 2;
	}
	return 0;
}

static pid_t child;

static void forward_signal(int sig)
{
	if (child > 0)
		kill(child, sig);
}

static void setup_env(const char *dir, const char *root, const struct emu_config *cfg)
{
	char path[PATH_MAX + 64], preload[PATH_MAX], buf[2 * PATH_MAX + 8];
	const char *old = getenv("LD_PRELOAD");

	snprintf(path, sizeof(path), "%s/config", dir);
	setenv("SPAPR_EMU_CONFIG", path, 1);
	snprintf(path, sizeof(path), "%s/bus/pci/devices", root);
	setenv("SYSFS_PCI_DEVICES", path, 1);
	setenv("SPAPR_EMU_SYSFS", root, 1);
	if (cfg->stats_path[0])
		setenv("SPAPR_EMU_STATS", cfg->stats_path, 1);
	else
		unsetenv("SPAPR_EMU_STATS");
	find_preload(preload, sizeof(preload));
	if (old && *old)
		snprintf(buf, sizeof(buf), "%s:%s", preload, old);
	else
		snprintf(buf, sizeof(buf), "%s", preload);
	setenv("LD_PRELOAD", buf, 1);
}

/* How COMMAND ended, for the stats file's "exit". */
static void exit_json(int status, const char *extra, char *buf, size_t len)
{
	if (WIFSIGNALED(status))
		snprintf(buf, len, "{\"how\": \"%s\", \"signal\": %d%s}", extra ? "died" : "signal",
			 WTERMSIG(status), extra ? extra : "");
	else
		snprintf(buf, len, "{\"how\": \"%s\", \"status\": %d%s}", extra ? "died" : "exited",
			 WEXITSTATUS(status), extra ? extra : "");
}

/* The stats file when COMMAND never touched VFIO: the untouched platform's counters. */
static void write_idle_stats(const struct emu_config *cfg, int status)
{
	struct emu_platform *p;
	char err[256], how[160];
	FILE *f;

	if (emu_platform_create(cfg, &p, err, sizeof(err)) != 0)
		return;
	exit_json(status, NULL, how, sizeof(how));
	f = fopen(cfg->stats_path, "w");
	if (f) {
		emu_write_stats_exit(p, f, how);
		fclose(f);
	}
	emu_platform_destroy(p);
}

static char *read_text(const char *path)
{
	FILE *f = fopen(path, "r");
	char *buf = NULL;
	size_t cap = 0, n = 0, got;

	if (f == NULL)
		return NULL;
	do {
		if (n + 4096 + 1 > cap) {
			char *nb = realloc(buf, cap = n + 65536);
			if (nb == NULL) {
				free(buf);
				fclose(f);
				return NULL;
			}
			buf = nb;
		}
		got = fread(buf + n, 1, cap - n - 1, f);
		n += got;
	} while (got > 0);
	fclose(f);
	buf[n] = '\0';
	return buf;
}

/* Write `text` to path with the first `from` replaced by `to`. */
static int write_replaced(const char *path, const char *text, const char *from, const char *to)
{
	const char *at = strstr(text, from);
	FILE *f;

	if (at == NULL)
		return -1;
	f = fopen(path, "w");
	if (f == NULL)
		return -1;
	fprintf(f, "%.*s%s%s", (int)(at - text), text, to, at + strlen(from));
	return fclose(f);
}

/* The stats file as COMMAND's end left it: its own (exit, or a signal it was killed by
 * at the default action: the shim wrote it), else its last snapshot (SIGKILL, a crash,
 * _exit), else the untouched platform's. The exit status is added here. */
static void finish_stats(const struct emu_config *cfg, int status)
{
	char live[PATH_MAX + 16], how[300];
	char *text;

	if (cfg->stats_path[0] == '\0')
		return;
	snprintf(live, sizeof(live), "%s.live", cfg->stats_path);
	if ((text = read_text(cfg->stats_path)) != NULL) {
		exit_json(status, NULL, how, sizeof(how));
		if (WIFEXITED(status))
			write_replaced(cfg->stats_path, text, "{\"how\": \"exited\"}", how);
	} else if ((text = read_text(live)) != NULL) {
		exit_json(status, ", \"recorded\": \"the last snapshot before the program died (taken every"
			  " 250 ms): what it did after it is not counted\"", how, sizeof(how));
		if (write_replaced(cfg->stats_path, text, "{\"how\": \"running\"}", how) != 0)
			fprintf(stderr, "spapr-emu: cannot write stats %s\n", cfg->stats_path);
	} else {
		write_idle_stats(cfg, status);
	}
	free(text);
	unlink(live);
}

/* A process that outlives spapr-emu if spapr-emu is killed (SIGKILL included): it then
 * waits for COMMAND to go (COMMAND gets SIGKILL at spapr-emu's death) and removes the
 * run's directory. Killed by spapr-emu when it ends normally. */
static pid_t start_janitor(const char *dir, pid_t cmd)
{
	pid_t parent = getpid(), j;
	sigset_t set;

	sigemptyset(&set);
	sigaddset(&set, SIGUSR2);
	sigprocmask(SIG_BLOCK, &set, NULL);
	j = fork();
	if (j != 0) {
		sigprocmask(SIG_UNBLOCK, &set, NULL);
		return j;
	}
	int null = open("/dev/null", O_RDWR);
	if (null >= 0) {
		/* nobody waits for the janitor's output: it must not hold spapr-emu's pipes */
		dup2(null, 0);
		dup2(null, 1);
		dup2(null, 2);
		close(null);
	}
	signal(SIGINT, SIG_IGN); /* a terminal's ^C is for COMMAND and spapr-emu */
	signal(SIGHUP, SIG_IGN);
	signal(SIGTERM, SIG_IGN);
	prctl(PR_SET_PDEATHSIG, SIGUSR2);
	if (getppid() == parent) {
		int sig;
		sigwait(&set, &sig);
	}
	for (int i = 0; i < 500 && kill(cmd, 0) == 0; i++)
		usleep(10000);
	nftw(dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
	_exit(0);
}

static int cmd_run(int argc, char **argv)
{
	struct emu_config cfg;
	char dir[PATH_MAX], root[PATH_MAX + 8], path[PATH_MAX + 16];
	const char *tmp = getenv("TMPDIR");
	bool keep_tree;
	pid_t janitor;
	int first, status, ret;

	emu_config_init(&cfg, NULL);
	first = parse_options(argc, argv, &cfg);
	if (first < 0)
		return 2;
	if (first >= argc)
		return fail("run: no COMMAND given (spapr-emu run [OPTIONS] -- COMMAND)%s", "");
	if (cfg.stats_path[0]) {
		/* absolute, because COMMAND may change directory */
		if (cfg.stats_path[0] != '/' && getcwd(path, sizeof(path)) != NULL) {
			char abs[PATH_MAX + 300];
			snprintf(abs, sizeof(abs), "%s/%s", path, cfg.stats_path);
			if (strlen(abs) >= sizeof(cfg.stats_path))
				return fail("stats path too long: %s", abs);
			memcpy(cfg.stats_path, abs, strlen(abs) + 1);
		}
		if (unlink(cfg.stats_path) != 0 && errno != ENOENT)
			return fail("cannot replace stats file %s", cfg.stats_path);
		/* find out now, not after COMMAND ran, that the file cannot be written */
		int fd = open(cfg.stats_path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
		if (fd < 0) {
			char why[PATH_MAX + 100];
			snprintf(why, sizeof(why), "cannot write stats file %s: %s", cfg.stats_path, strerror(errno));
			return fail("%s", why);
		}
		close(fd);
		unlink(cfg.stats_path);
	}
	snprintf(dir, sizeof(dir), "%s/spapr-emu.XXXXXX", tmp && *tmp ? tmp : "/tmp");
	if (mkdtemp(dir) == NULL)
		return fail("cannot create a directory in %s", tmp && *tmp ? tmp : "/tmp");
	keep_tree = cfg.sysfs_root[0] != '\0';
	snprintf(root, sizeof(root), "%s", keep_tree ? cfg.sysfs_root : dir);
	if (!keep_tree)
		snprintf(root + strlen(root), sizeof(root) - strlen(root), "/sys");
	ret = build_tree(&cfg, root);
	snprintf(path, sizeof(path), "%s/config", dir);
	if (ret == 0 && emu_config_save(&cfg, path) != 0)
		ret = fail("cannot write %s", path);
	if (ret) {
		nftw(dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
		return ret;
	}
	setup_env(dir, root, &cfg);

	signal(SIGINT, forward_signal);
	signal(SIGTERM, forward_signal);
	pid_t self = getpid();
	child = fork();
	if (child == 0) {
		/* COMMAND does not outlive spapr-emu (its platform's directory goes with it) */
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (getppid() != self)
			_exit(137);
		execvp(argv[first], &argv[first]);
		fprintf(stderr, "spapr-emu: cannot run %s: %s\n", argv[first], strerror(errno));
		_exit(127);
	}
	janitor = start_janitor(dir, child);
	while (waitpid(child, &status, 0) < 0 && errno == EINTR)
		;
	unsetenv("LD_PRELOAD");
	finish_stats(&cfg, status);
	nftw(dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
	if (janitor > 0) {
		kill(janitor, SIGKILL);
		waitpid(janitor, NULL, 0);
	}
	if (WIFSIGNALED(status))
		return 128 + WTERMSIG(status);
	return WEXITSTATUS(status);
}

static int cmd_sysfs(int argc, char **argv)
{
	struct emu_config cfg;
	int first;

	emu_config_init(&cfg, NULL);
	first = parse_options(argc, argv, &cfg);
	if (first < 0)
		return 2;
	if (first != argc - 1)
		return fail("sysfs: expected one directory%s", "");
	return build_tree(&cfg, argv[first]);
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		usage(stderr);
		return 2;
	}
	if (strcmp(argv[1], "run") == 0)
		return cmd_run(argc - 1, argv + 1);
	if (strcmp(argv[1], "sysfs") == 0)
		return cmd_sysfs(argc - 1, argv + 1);
	if (strcmp(argv[1], "presets") == 0) {
		emu_config_list_presets(stdout);
		return 0;
	}
	if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
		usage(stdout);
		return 0;
	}
	usage(stderr);
	return fail("unknown command '%s'", argv[1]);
}
