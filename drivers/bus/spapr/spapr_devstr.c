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
	return tce_pci_is_addr(addr) ? addr : NULL;
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
 * to "" when there is none: ethdev's iterator (and PMDs) read da->drv_str as a string. A
 * missing addr= is said at the scan (EAL's generic iterator parses "bus=spapr" alone);
 * a malformed one stops here. */
int spapr_devstr_devargs_parse(struct rte_devargs *da)
{
	struct rte_kvargs *kv;
	const char *addr;
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
	addr = rte_kvargs_get(kv, "addr");
	if (rte_kvargs_count(kv, "addr") > 0 && (addr == NULL || !tce_pci_is_addr(addr))) {
		SPAPR_LOG(ERR, "devargs '%s': addr= must name a PCI function bound to vfio-pci",
			  da->bus_str);
		ret = -EINVAL;
	} else if (addr != NULL) { /* else: no addr= */
		strlcpy(da->name, addr, sizeof(da->name));
		/* parsed once, here: bad options stop EAL init before anything */
		ret = spapr_devopts_remember(da->name, da->bus_str);
	}
	rte_kvargs_free(kv);
	return ret;
}

static struct rte_devargs *named(const char *name, const struct rte_devargs *other)
{
	struct rte_devargs *da;

	RTE_EAL_DEVARGS_FOREACH("spapr", da)
		if (da != other && strcmp(da->name, name) == 0)
			return da;
	return NULL;
}

/* EAL's legacy parser names a "spapr:ADDR" devargs by the whole string; the device is
 * ADDR. Renamed before the scan matches devargs to devices; an older devargs of the same
 * device gives way, as EAL's own insert does for one it can tell is the same. Options
 * parsed here, so that bad ones stop EAL init (or the hot-plug) as the global syntax's do. */
int spapr_devstr_canonicalize(void)
{
	struct rte_devargs *da, *old;
	char addr[RTE_DEV_NAME_MAX_LEN];
	int ret = 0;

	RTE_EAL_DEVARGS_FOREACH("spapr", da) {
		if (legacy_addr(da->name, addr, sizeof(addr)) == NULL)
			continue;
		old = named(addr, da);
		if (old != NULL)
			rte_devargs_remove(old);
		strlcpy(da->name, addr, sizeof(da->name));
		if (spapr_devopts_remember(da->name, da->drv_str) != 0)
			ret = -EINVAL;
	}
	return ret;
}

static int addr_differs(const char *key, const char *value, void *name)
{
	(void)key;
	return strcasecmp(value, name) != 0 ? -1 : 0;
}

static int match_kvargs(const struct rte_device *dev, const void *kv)
{
	if (kv == NULL)
		return 0; /* no bus arguments: every device */
	return rte_kvargs_process((struct rte_kvargs *)(uintptr_t)kv, "addr", addr_differs,
				  (void *)(uintptr_t)dev->name) != 0;
}

/* bus->dev_iterate: the next device after start that the bus layer's arguments (addr=)
 * match; EAL strips "bus=spapr," before it asks. */
void *spapr_devstr_iterate(const void *start, const char *str, const struct rte_dev_iterator *it)
{
	static const char *const keys[] = { "addr", NULL };
	struct rte_kvargs *kv = NULL;
	struct rte_device *dev;

	if (str != NULL && str[0] != '\0') {
		kv = rte_kvargs_parse(str, keys);
		if (kv == NULL) {
			SPAPR_LOG(ERR, "cannot iterate devices by '%s': this bus matches addr=ADDR only", str);
			rte_errno = EINVAL;
			return NULL;
		}
	}
	(void)it; /* it->bus is the bus before this one while EAL walks the buses */
	dev = spapr_bus_find_device(start, match_kvargs, kv);
	rte_kvargs_free(kv);
	return dev;
}
