/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The spapr bus's device strings (drivers/bus/spapr/spapr_devstr.c) through EAL's own
 * devargs parser, EAL's device iterator and ethdev's port iterator, without rte_eal_init:
 * each syntax (global, global with a class layer, legacy, bare addresses, garbage) parsed
 * with a bus that takes any PCI address (as bus/pci does) registered before and after
 * this one. What must hold: no string crashes anything; a bare address is never this
 * bus's; the legacy name is renamed to the device's; ethdev's iterator refuses what it
 * cannot iterate with an error, not a crash.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <bus_driver.h>
#include <dev_driver.h>
#include <rte_devargs.h>
#include <rte_errno.h>
#include <rte_ethdev.h>

#include "check.h"
#include "spapr_private.h"
#include "tce.h"
#include "tce_pci.h"

int spapr_logtype; /* the bus registers it; here it is EAL's */

/* The devices the bus lists, as its scan would have found them. */
static struct rte_device devs[2] = { { .name = "0000:00:01.0" }, { .name = "0000:00:02.0" } };

struct rte_device *spapr_bus_find_device(SPAPR_CONST_BUS_PARAM(bus) const struct rte_device *start, rte_dev_cmp_t cmp,
					 const void *data)
{
	size_t i = start ? (size_t)(start - devs) + 1 : 0;

	for (; i < RTE_DIM(devs); i++)
		if (cmp(&devs[i], data) == 0)
			return &devs[i];
	return NULL;
}

static int no_scan(void) { return 0; }
static int no_probe(SPAPR_BUS_PARAM(bus)) { return 0; }
static int no_unplug(struct rte_device *d) { (void)d; return 0; }
#if SPAPR_BUS_2607
static bool no_match(const struct rte_driver *drv, const struct rte_device *d) { (void)drv; (void)d; return false; }
static int no_plug(struct rte_driver *drv, struct rte_device *d) { (void)drv; (void)d; return 0; }
#define TEST_BUS_PLUG_OPS .match = no_match, .probe_device = no_plug, .unplug_device = no_unplug
#else
static int no_plug(struct rte_device *d) { (void)d; return 0; }
#define TEST_BUS_PLUG_OPS .plug = no_plug, .unplug = no_unplug
#endif

/* A bus EAL can parse names for and iterate (no scan or probe here). */
static struct rte_bus test_bus(const char *name, rte_bus_find_device_t find, rte_bus_parse_t parse)
{
	return (struct rte_bus){ .name = name, .scan = no_scan, .probe = no_probe, TEST_BUS_PLUG_OPS,
				 .find_device = find, .parse = parse };
}

static struct rte_bus spapr, pci_like;

/* bus/pci's parse takes any well-formed PCI address, present or not. */
static int pci_like_parse(const char *name, void *addr)
{
	char bare[RTE_DEV_NAME_MAX_LEN];
	size_t n = strcspn(name, ",");

	if (n >= sizeof(bare))
		return 1;
	memcpy(bare, name, n);
	bare[n] = '\0';
	if (!tce_pci_is_addr(bare))
		return 1;
	if (addr)
		snprintf(addr, RTE_DEV_NAME_MAX_LEN, "%s", bare);
	return 0;
}

static struct rte_device *none_found(SPAPR_CONST_BUS_PARAM(bus) const struct rte_device *s, rte_dev_cmp_t c,
				     const void *d)
{
	(void)s; (void)c; (void)d;
	return NULL;
}

struct parse_case {
	const char *str;
	int ret;          /* of rte_devargs_parse */
	const char *bus;  /* the bus it went to (ret 0) */
	const char *name; /* da->name */
	const char *drv;  /* da->drv_str */
};

static const struct parse_case parse_cases[] = {
	{ "bus=spapr,addr=0000:00:01.0", 0, "spapr", "0000:00:01.0", "" },
	{ "bus=spapr,addr=0000:00:01.0,iommu=v1,pagesize=2M", 0, "spapr", "0000:00:01.0", "" },
	{ "bus=spapr,addr=0000:00:01.0/class=eth", 0, "spapr", "0000:00:01.0", "" },
	{ "bus=spapr,addr=0000:00:01.0/class=eth,mac=52:54:00:12:34:56", 0, "spapr", "0000:00:01.0", "" },
	{ "bus=spapr,addr=0000:00:01.0/driver=net_spapr_virtio", 0, "spapr", "0000:00:01.0",
	  "driver=net_spapr_virtio" },
	{ "bus=spapr", 0, "spapr", "", "" },       /* addr= missing: said at the scan */
	{ "spapr:0000:00:01.0", 0, "spapr", "spapr:0000:00:01.0", "" }, /* renamed at the scan */
	{ "spapr:0000:00:01.0,iommu=v1", 0, "spapr", "spapr:0000:00:01.0", "iommu=v1" },
	{ "0000:00:01.0", 0, "pcilike", "0000:00:01.0", "" },  /* bare: never this bus's */
	{ "0000:00:01.0,iommu=v1", 0, "pcilike", "0000:00:01.0", "iommu=v1" },
	{ "bus=spapr,addr=00:01.0", -EINVAL, NULL, NULL, NULL },
	{ "bus=spapr,addr=nonsense", -EINVAL, NULL, NULL, NULL },
	{ "bus=spapr,addr=0000:00:01.0,iommu=v9", -EINVAL, NULL, NULL, NULL },
	{ "bus=spapr,addr", -EINVAL, NULL, NULL, NULL },
	{ "bus=spapr,addr=", -EINVAL, NULL, NULL, NULL },
	{ "bus=spapr,addr=0000:00:01.0,addr=0000:00:02.0", -EINVAL, NULL, NULL, NULL },
	{ "bus=spapr,addr=0000:00:01.0,addr", -EINVAL, NULL, NULL, NULL },
	{ "bus=spapr,addr=0000:0A:1F.0", 0, "spapr", "0000:0a:1f.0", "" },   /* as sysfs names it */
	{ "bus=spapr,,,", 0, "spapr", "", "" },    /* as "bus=spapr" */
	{ "spapr:", -EFAULT, NULL, NULL, NULL },
	{ "spapr:0000", -EFAULT, NULL, NULL, NULL },
	{ "spapr:spapr:0000:00:01.0", 0, "spapr", "spapr:0000:00:01.0", "" }, /* as "spapr:ADDR" */
	{ "", -EFAULT, NULL, NULL, NULL },
	{ "garbage", -EFAULT, NULL, NULL, NULL },
	{ "bus=nosuchbus,addr=0000:00:01.0", -EFAULT, NULL, NULL, NULL },
};

static void parse_all(const char *order)
{
	for (size_t i = 0; i < RTE_DIM(parse_cases); i++) {
		const struct parse_case *c = &parse_cases[i];
		struct rte_devargs da;
		int before = failures;
		int ret = rte_devargs_parse(&da, c->str);

		if (c->ret < 0)
			CHECK(ret < 0); /* EAL's own codes vary by release: refused is what counts */
		else
			CHECK_EQ(ret, c->ret);
		if (ret == 0 && c->ret == 0) {
			CHECK(da.bus != NULL);
			if (da.bus != NULL)
				CHECK_STR(da.bus->name, c->bus);
			CHECK_STR(da.name, c->name);
			CHECK(da.drv_str != NULL);
			if (da.drv_str != NULL)
				CHECK_STR(da.drv_str, c->drv);
		}
		rte_devargs_reset(&da);
		printf("  %-8s parse %-64s %s\n", order, c->str, failures == before ? "ok" : "FAILED");
	}
	spapr_devopts_forget();
}

/* ethdev's iterator on every string: no crash; our bus's forms refused as stock ethdev
 * cannot iterate them (it converts bus arguments for the buses it names only). */
static void ethdev_iterator(void)
{
	static const char *const strs[] = {
		"bus=spapr,addr=0000:00:01.0", "bus=spapr,addr=0000:00:01.0/class=eth",
		"bus=spapr,addr=0000:00:01.0/class=eth,mac=52:54:00:12:34:56", "spapr:0000:00:01.0",
		"spapr:0000:00:01.0,iommu=v1", "bus=spapr", "bus=spapr,addr=0000:00:01.0/driver=x",
		"0000:00:01.0", "bus=spapr,addr=bad", "garbage", "", "spapr:",
	};

	for (size_t i = 0; i < RTE_DIM(strs); i++) {
		struct rte_dev_iterator it;
		int ret = rte_eth_iterator_init(&it, strs[i]);

		if (ret == 0)
			fprintf(stderr, "ethdev iterates '%s'\n", strs[i]);
		CHECK(ret < 0);
		if (ret == 0)
			rte_eth_iterator_cleanup(&it);
	}
	/* the class-only form every bus can be found by */
	{
		struct rte_dev_iterator it;

		CHECK_EQ(rte_eth_iterator_init(&it, "class=eth,mac=52:54:00:12:34:56"), 0);
		CHECK_EQ(rte_eth_iterator_next(&it), RTE_MAX_ETHPORTS); /* no ports here */
		rte_eth_iterator_cleanup(&it);
	}
	spapr_devopts_forget();
}

static int count_devices(const char *str, int *err)
{
	struct rte_dev_iterator it;
	struct rte_device *d;
	int n = 0;

	rte_errno = 0;
	if (rte_dev_iterator_init(&it, str) != 0) {
		*err = rte_errno;
		return -1;
	}
	RTE_DEV_FOREACH(d, str, &it)
		n++;
	*err = rte_errno;
	return n;
}

/* EAL's generic iterator reaches the bus's dev_iterate with the bus layer's arguments. */
static void eal_iterator(void)
{
	int err;

	CHECK_EQ(count_devices("bus=spapr", &err), 2);
	CHECK_EQ(count_devices("bus=spapr,addr=0000:00:02.0", &err), 1);
	CHECK_EQ(count_devices("bus=spapr,addr=0000:00:07.0", &err), 0);
	CHECK_EQ(count_devices("bus=spapr,colour=blue", &err), 0);
	CHECK_EQ(err, EINVAL);
	/* the string that attached a device finds it: its options are no filter */
	CHECK_EQ(count_devices("bus=spapr,addr=0000:00:02.0,iommu=v1,pagesize=64K", &err), 1);
	CHECK_EQ(count_devices("bus=spapr,addr=0000:00:02.0,addr", &err), -1);  /* addr= twice: refused */
	spapr_devopts_forget();
}

static struct rte_devargs *listed(const char *name)
{
	struct rte_devargs *da;

	RTE_EAL_DEVARGS_FOREACH("spapr", da)
		if (strcmp(da->name, name) == 0)
			return da;
	return NULL;
}

static int count_listed(void)
{
	struct rte_devargs *da;
	int n = 0;

	RTE_EAL_DEVARGS_FOREACH("spapr", da)
		n++;
	return n;
}

/* What the scan's callback is told: a device on the older devargs moves to the newer. */
static struct rte_devargs *in_use;

static void moved(struct rte_devargs *old, struct rte_devargs *da)
{
	if (in_use == old)
		in_use = da;
}

/* Before each scan: a legacy devargs is renamed to its device, its options kept; a newer
 * one for the same device replaces the older one, the device moved to it first; one with
 * bad options is neither renamed nor allowed to remove the device's own; options are kept
 * from the listed devargs only, not from strings EAL parses and throws away. */
static void scan_devargs(void)
{
	struct spapr_devopts o;
	int err;

	CHECK_EQ(rte_devargs_add(RTE_DEVTYPE_ALLOWED, "spapr:0000:00:01.0,iommu=v1"), 0);
	CHECK_EQ(spapr_devstr_scan_devargs(moved), 0);
	CHECK(listed("0000:00:01.0") != NULL);
	CHECK(listed("spapr:0000:00:01.0") == NULL);
	CHECK_EQ(spapr_devopts_of("0000:00:01.0", &o), 0);
	CHECK_EQ(o.iommu, TCE_IOMMU_V1);
	in_use = listed("0000:00:01.0");                  /* a probed device's */

	CHECK_EQ(rte_devargs_add(RTE_DEVTYPE_ALLOWED, "spapr:0000:00:01.0,pagesize=64K"), 0); /* attached again */
	CHECK_EQ(spapr_devstr_scan_devargs(moved), 0);
	CHECK_EQ(count_listed(), 1);
	CHECK(in_use == listed("0000:00:01.0"));          /* moved, then the old one freed */
	CHECK_EQ(spapr_devopts_of("0000:00:01.0", &o), 0);
	CHECK_EQ(o.iommu, TCE_IOMMU_AUTO);
	CHECK_EQ(o.page_shift, 16);

	/* bad options: said, not renamed, the device keeps its own devargs */
	CHECK_EQ(rte_devargs_add(RTE_DEVTYPE_ALLOWED, "spapr:0000:00:01.0,iommu=v7"), 0);
	CHECK_ERR(spapr_devstr_scan_devargs(moved), EINVAL);
	CHECK(in_use == listed("0000:00:01.0") && listed("spapr:0000:00:01.0") != NULL);
	CHECK_EQ(spapr_devopts_of("0000:00:01.0", &o), 0);
	CHECK_EQ(o.page_shift, 16);
	rte_devargs_remove(listed("spapr:0000:00:01.0")); /* as EAL's failed hot-plug does */

	/* an iterator's device string, parsed and thrown away, changes no device's options */
	CHECK_EQ(count_devices("bus=spapr,addr=0000:00:01.0,iommu=eal", &err), 1);
	CHECK_EQ(count_devices("bus=spapr,addr=0000:00:01.0,iommu=v2", &err), 1);
	CHECK_EQ(spapr_devopts_of("0000:00:01.0", &o), 0);
	CHECK_EQ(o.iommu, TCE_IOMMU_AUTO);
	CHECK_EQ(o.page_shift, 16);

	CHECK_EQ(rte_devargs_add(RTE_DEVTYPE_ALLOWED, "bus=spapr,addr=0000:00:03.0,dry_run=1"), 0);
	CHECK(listed("0000:00:03.0") != NULL);
	CHECK_EQ(spapr_devopts_of("0000:00:03.0", &o), 0);
	CHECK(o.dry_run);
	spapr_devopts_forget_one("0000:00:03.0");     /* its devargs gone: the defaults */
	rte_devargs_remove(listed("0000:00:03.0"));
	CHECK_EQ(spapr_devopts_of("0000:00:03.0", &o), 0);
	CHECK(!o.dry_run);

	while (rte_devargs_next("spapr", NULL) != NULL)
		rte_devargs_remove(rte_devargs_next("spapr", NULL));
	spapr_devopts_forget();
}

int main(void)
{
	spapr = test_bus("spapr", spapr_bus_find_device, spapr_devstr_parse);
	spapr.devargs_parse = spapr_devstr_devargs_parse;
	spapr.dev_iterate = spapr_devstr_iterate;
	pci_like = test_bus("pcilike", none_found, pci_like_parse);
	rte_bus_register(&pci_like); /* bus/pci first: linked into the application */
	rte_bus_register(&spapr);
	printf("bus/pci registered first\n");
	parse_all("pci 1st");
	rte_bus_unregister(&pci_like); /* ours first: plugins given with -d load before EAL's driver directory */
	rte_bus_register(&pci_like);
	printf("this bus registered first\n");
	parse_all("ours 1st");
	RUN(ethdev_iterator);
	RUN(eal_iterator);
	RUN(scan_devargs);
	return test_result();
}
