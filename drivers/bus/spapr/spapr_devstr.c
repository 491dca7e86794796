/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The device strings that name this bus's devices, in every syntax EAL accepts:
 *   bus=spapr,addr=ADDR[,options][/class=...][/driver=...]   (the global syntax)
 *   spapr:ADDR[,options]                                     (the legacy syntax)
 * A bare PCI address is never this bus's: it is bus/pci's, whatever order the two
 * plugins registered in (EAL gives a bare name to the first bus whose parse takes it).
 * Also the bus's iterator (RTE_DEV_FOREACH, and ethdev's where it asks: addr=ADDR).
 * No EAL state beyond the devargs list: the unit test drives these through EAL's own
 * parser and ethdev's iterator.
 */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include <bus_driver.h>
#include <rte_devargs.h>
#include <rte_errno.h>
#include <rte_kvargs.h>
#include <rte_string_fns.h>

#include "spapr_private.h"
#include "tce_pci.h"

#define LEGACY_PREFIX "spapr:"

/* PCI addresses as sysfs names the functions: lower-case hex. */
static void lower(char *s)
{
	for (; *s; s++)
		*s = (char)tolower((unsigned char)*s);
}

/* The PCI address of a legacy name ("spapr:ADDR" or "spapr:ADDR,options"), or NULL. */
static const char *legacy_addr(const char *name, char *addr, size_t len)
{
	size_t n;

	if (strncmp(name, LEGACY_PREFIX, strlen(LEGACY_PREFIX)) != 0)
		return NULL;
	name += strlen(LEGACY_PREFIX);
	n = strcspn(name, ",");
	if (n >= len)
		return NULL;
	memcpy(addr, name, n);
	addr[n] = '\0';
	if (!tce_pci_is_addr(addr))
		return NULL;
	lower(addr);
	return addr;
}

/* bus->parse: EAL asks every bus, in registration order, whether a name is its own.
 * Only "spapr:ADDR" is: EAL's legacy parser falls back to asking for the whole name
 * once no bus took the bare address for this one. Whether ADDR is a vfio-pci function
 * is checked at the scan, where a secondary process can say it is not an error. */
int spapr_devstr_parse(const char *name, void *addr)
{
	char bare[RTE_DEV_NAME_MAX_LEN];

	if (legacy_addr(name, bare, sizeof(bare)) == NULL)
		return 1;
	if (addr != NULL)
		strlcpy(addr, bare, RTE_DEV_NAME_MAX_LEN);
	return 0;
}

/* bus->devargs_parse, for the global syntax: the name is addr=. Sets the driver layer
 * to "" when there is none: ethdev's iterator (and PMDs) read da->drv_str as a string.
 * The options are checked, not kept: EAL parses device strings it throws away (its
 * iterators'); the scan keeps those of the devargs EAL lists. A missing addr= is said at
 * the scan (EAL's generic iterator parses "bus=spapr" alone); a malformed one, a repeated
 * one or a bad option stops here (EAL init, or the hot-plug). */
int spapr_devstr_devargs_parse(struct rte_devargs *da)
{
	struct spapr_devopts o;
	struct rte_kvargs *kv;
	const char *addr;
	unsigned int n;
	int ret = 0;

	if (da->drv_str == NULL)
		da->drv_str = "";
	if (da->bus_str == NULL)
		return 0;
	kv = rte_kvargs_parse(da->bus_str, NULL);
	if (kv == NULL) {
		SPAPR_LOG(ERR, "devargs '%s': not a list of key=value", da->bus_str);
		return -EINVAL;
	}
	n = rte_kvargs_count(kv, "addr");
	addr = rte_kvargs_get(kv, "addr");
	if (n > 1) {
		SPAPR_LOG(ERR, "devargs '%s': addr= given %u times: give it once", da->bus_str, n);
		ret = -EINVAL;
	} else if (n == 1 && (addr == NULL || !tce_pci_is_addr(addr))) {
		SPAPR_LOG(ERR, "devargs '%s': addr= takes a PCI address, DDDD:BB:DD.F", da->bus_str);
		ret = -EINVAL;
	} else if (n == 1) {
		strlcpy(da->name, addr, sizeof(da->name));
		lower(da->name);
		ret = spapr_devopts_parse_str(da->name, da->bus_str, &o);
	}
	rte_kvargs_free(kv);
	return ret;
}

/* A devargs of this bus listed before `da` under `name` (EAL lists them in the order
 * they came), or NULL. */
static struct rte_devargs *older_named(const char *name, const struct rte_devargs *da)
{
	struct rte_devargs *it;

	RTE_EAL_DEVARGS_FOREACH("spapr", it) {
		if (it == da)
			break;
		if (strcmp(it->name, name) == 0)
			return it;
	}
	return NULL;
}

/* Before each scan, the devargs EAL lists for this bus. EAL's legacy parser names a
 * "spapr:ADDR" devargs by the whole string; the device is ADDR: renamed, once its options
 * are known to be good (else it stays unnamed, said here, and EAL's hot-plug removes it
 * by that name), and an older devargs of the same device gives way, as EAL's own insert
 * does for one it can tell is the same (`replaced` first moves what points at it). Then
 * every devargs' options are kept by device name. -EINVAL: bad options in one. */
int spapr_devstr_scan_devargs(void (*replaced)(struct rte_devargs *old, struct rte_devargs *da))
{
	struct rte_devargs *da, *old;
	char addr[RTE_DEV_NAME_MAX_LEN];
	struct spapr_devopts o;
	int ret = 0;

	RTE_EAL_DEVARGS_FOREACH("spapr", da) {
		if (legacy_addr(da->name, addr, sizeof(addr)) == NULL)
			continue;
		if (spapr_devopts_parse_str(addr, da->drv_str, &o) != 0) {
			ret = -EINVAL;
			continue;
		}
		while ((old = older_named(addr, da)) != NULL) {
			replaced(old, da);
			rte_devargs_remove(old);
		}
		strlcpy(da->name, addr, sizeof(da->name));
	}
	RTE_EAL_DEVARGS_FOREACH("spapr", da)
		if (da->name[0] != '\0' && legacy_addr(da->name, addr, sizeof(addr)) == NULL)
			spapr_devopts_remember(da->name, da->bus_str != NULL ? da->bus_str : da->drv_str);
	return ret;
}

static int addr_differs(const char *key, const char *value, void *name)
{
	(void)key;
	return value == NULL || strcasecmp(value, name) != 0 ? -1 : 0; /* "addr" alone: no match */
}

static int match_kvargs(const struct rte_device *dev, const void *kv)
{
	if (kv == NULL)
		return 0; /* no bus arguments: every device */
	return rte_kvargs_process((struct rte_kvargs *)(uintptr_t)kv, "addr", addr_differs,
				  (void *)(uintptr_t)dev->name) != 0;
}

/* bus->dev_iterate: the next device after start that the bus layer's arguments match
 * (by addr=; the options are the device's, not a filter); EAL strips "bus=spapr," first. */
void *spapr_devstr_iterate(SPAPR_CONST_BUS_PARAM(bus) const void *start, const char *str,
			   const struct rte_dev_iterator *it)
{
	/* the bus layer's keys, as a device string that attached a device has them */
	static const char *const keys[] = { "addr", "iommu", "pagesize", "dry_run", NULL };
	struct rte_kvargs *kv = NULL;
	struct rte_device *dev;

	if (str != NULL && str[0] != '\0') {
		kv = rte_kvargs_parse(str, keys);
		if (kv == NULL) {
			SPAPR_LOG(ERR, "cannot iterate devices by '%s': this bus's keys are addr, iommu,"
				  " pagesize and dry_run (it matches by addr)", str);
			rte_errno = EINVAL;
			return NULL;
		}
	}
	(void)it; /* it->bus is the bus before this one while EAL walks the buses */
	dev = spapr_bus_find_device(SPAPR_BUS_ARG(NULL) start, match_kvargs, kv);
	rte_kvargs_free(kv);
	return dev;
}
