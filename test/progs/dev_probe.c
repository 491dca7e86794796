/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Which bus and driver a device string reaches, as an application that hot-plugs
 * devices sees it (Open vSwitch does exactly this). Links EAL and ethdev only, not
 * bus/pci, so that the order the buses register in is the plugins' order on the command
 * line (-d) or in a driver directory. A plain DPDK program: it knows nothing of the
 * emulator.
 *
 *   dev-probe [EAL options] -- [probe STR | remove STR | iterate STR | ports]...
 *
 * probe:   rte_dev_probe(STR), then the ports ethdev's iterator finds for STR
 * remove:  the ports of that device closed (as an application does), rte_dev_remove
 * iterate: RTE_ETH_FOREACH_MATCHING_DEV(STR) alone
 * ports:   every port: id, bus, device name, driver
 * Prints one line per step and per port; exit 0 when EAL started (the steps' results
 * are the output).
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <rte_bus.h>
#include <rte_dev.h>
#include <rte_eal.h>
#include <rte_ethdev.h>

static const char *bus_of(struct rte_device *dev)
{
	const struct rte_bus *bus = rte_bus_find_by_device(dev);

	return bus != NULL ? rte_bus_name(bus) : "?";
}

static void print_port(const char *what, uint16_t port)
{
	struct rte_eth_dev_info info;
	int ret = rte_eth_dev_info_get(port, &info);

	if (ret != 0) {
		printf("%s port %u: dev_info_get %d\n", what, port, ret);
		return;
	}
	printf("%s port %u: bus=%s device=%s driver=%s\n", what, port, bus_of(info.device),
	       rte_dev_name(info.device), info.driver_name);
}

static void iterate(const char *str)
{
	struct rte_dev_iterator it;
	uint16_t port;
	int n = 0;
	int ret = rte_eth_iterator_init(&it, str);

	if (ret != 0) {
		printf("iterate %s: refused (%s)\n", str, strerror(-ret));
		return;
	}
	for (port = rte_eth_iterator_next(&it); port != RTE_MAX_ETHPORTS; port = rte_eth_iterator_next(&it)) {
		print_port("iterate", port);
		n++;
	}
	rte_eth_iterator_cleanup(&it);
	printf("iterate %s: %d port(s)\n", str, n);
}

static void probe(const char *str)
{
	int ret = rte_dev_probe(str);

	printf("probe %s: %d (%s)\n", str, ret, ret ? strerror(-ret) : "ok");
	if (ret == 0)
		iterate(str);
}

/* The device behind the ports a device string names: closed first, then removed. */
static void remove_dev(const char *str)
{
	struct rte_devargs da;
	uint16_t port;
	int ret;

	if (rte_devargs_parse(&da, str) != 0) {
		printf("remove %s: cannot parse\n", str);
		return;
	}
	RTE_ETH_FOREACH_DEV(port) {
		struct rte_eth_dev_info info;

		if (rte_eth_dev_info_get(port, &info) == 0 && strcmp(rte_dev_name(info.device), da.name) == 0) {
			rte_eth_dev_stop(port);
			rte_eth_dev_close(port);
		}
	}
	ret = rte_eal_hotplug_remove(rte_bus_name(da.bus), da.name);
	printf("remove %s: %d (%s)\n", str, ret, ret ? strerror(-ret) : "ok");
	rte_devargs_reset(&da);
}

int main(int argc, char **argv)
{
	int n = rte_eal_init(argc, argv);
	uint16_t port;

	if (n < 0) {
		printf("EAL init failed: %s\n", strerror(rte_errno));
		return 1;
	}
	argc -= n;
	argv += n;
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "ports") == 0) {
			printf("ports: %u\n", rte_eth_dev_count_avail());
			RTE_ETH_FOREACH_DEV(port)
				print_port("ports", port);
		} else if (i + 1 < argc && strcmp(argv[i], "probe") == 0) {
			probe(argv[++i]);
		} else if (i + 1 < argc && strcmp(argv[i], "remove") == 0) {
			remove_dev(argv[++i]);
		} else if (i + 1 < argc && strcmp(argv[i], "iterate") == 0) {
			iterate(argv[++i]);
		} else {
			printf("unknown step '%s'\n", argv[i]);
			break;
		}
		fflush(stdout);
	}
	RTE_ETH_FOREACH_DEV(port)
		rte_eth_dev_close(port);
	rte_eal_cleanup();
	return 0;
}
