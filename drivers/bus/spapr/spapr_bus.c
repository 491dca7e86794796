/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The spapr bus: scan of vfio-pci devices, names and devargs, driver matching, probe
 * (container, memory, device fd, driver), hot-unplug, cleanup, DMA map ops.
 * A device is handed to this bus's drivers with `-a bus=spapr,addr=<PCI address>`;
 * without such a list they take the vfio-pci devices DPDK's bus/pci does not drive.
 * Devices bus/pci drives get this bus's IOMMU set-up too (spapr_pci.c).
 */
#include <dirent.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <bus_driver.h>
#include <rte_devargs.h>
#include <rte_errno.h>
#include <rte_kvargs.h>
#include <rte_string_fns.h>

#include "spapr_private.h"
#include "tce_pci.h"

RTE_LOG_REGISTER(spapr_logtype, bus.spapr, NOTICE);

struct spapr_device_list spapr_devices = TAILQ_HEAD_INITIALIZER(spapr_devices);
struct spapr_driver_list spapr_drivers = TAILQ_HEAD_INITIALIZER(spapr_drivers);
static struct rte_bus spapr_bus;

void rte_spapr_register(struct rte_spapr_driver *drv)
{
	if (!spapr_bus_registered)
		return; /* the bus refused itself (its release guard said why): nothing to drive */
	TAILQ_INSERT_TAIL(&spapr_drivers, drv, next);
#if SPAPR_BUS_2607
	rte_bus_add_driver(&spapr_bus, &drv->driver); /* where EAL's hot-plug looks */
#endif
}

void rte_spapr_unregister(struct rte_spapr_driver *drv)
{
	struct rte_spapr_driver *d;

	TAILQ_FOREACH(d, &spapr_drivers, next)
		if (d == drv)
			break;
	if (d == NULL)
		return; /* never registered (the release guard refused it) */
	TAILQ_REMOVE(&spapr_drivers, drv, next);
#if SPAPR_BUS_2607
	rte_bus_remove_driver(&spapr_bus, &drv->driver);
#endif
}

/* Allow and block lists, as bus/pci applies them. Without an allowlist of its own the
 * bus lists the functions the user did not name for bus/pci with a bare address (-a/-b
 * ADDR are bus/pci's lists); of those, its drivers take the ones bus/pci does not list
 * (decided at the probe: bus/pci may register, and scan, after this bus). */
static bool ignored(const char *name)
{
	struct rte_devargs *da = spapr_find_devargs(name);

	if (SPAPR_BUS_ALLOWLIST(&spapr_bus))
		return da == NULL || da->policy != RTE_DEV_ALLOWED;
	if (da != NULL)
		return da->policy == RTE_DEV_BLOCKED;
	return spapr_pci_user_excludes(name);
}

/* -a bus=spapr,addr=NAME, at EAL init or in a hot-plug's device string */
static bool named_for_this_bus(const char *name)
{
	const struct rte_devargs *da = spapr_find_devargs(name);

	return da != NULL && da->policy == RTE_DEV_ALLOWED;
}

static void insert_sorted(struct rte_spapr_device *dev)
{
	struct rte_spapr_device *it;

	TAILQ_FOREACH(it, &spapr_devices, next)
		if (strcmp(dev->name, it->name) < 0) {
			TAILQ_INSERT_BEFORE(it, dev, next);
			return;
		}
	TAILQ_INSERT_TAIL(&spapr_devices, dev, next);
}

static struct rte_spapr_device *find_by_name(const char *name)
{
	struct rte_spapr_device *dev;

	TAILQ_FOREACH(dev, &spapr_devices, next)
		if (strcmp(dev->name, name) == 0)
			return dev;
	return NULL;
}

struct rte_spapr_device *spapr_device_by_name(const char *name)
{
	return find_by_name(name);
}

static const struct rte_spapr_id *match(const struct rte_spapr_driver *drv, const struct rte_spapr_device *dev);

/* This bus's own drivers take the device: it is named for this bus (bus=spapr,addr=...,
 * not iommu=eal) and a spapr driver matches it. DPDK's bus/pci then leaves it alone. */
bool spapr_claims(const char *name)
{
	struct rte_spapr_device *dev = find_by_name(name);
	struct rte_spapr_driver *drv;
	struct spapr_devopts o;

	if (dev == NULL || !named_for_this_bus(name))
		return false;
	if (spapr_devopts_of(dev->name, &o) != 0 || o.iommu == SPAPR_IOMMU_EAL)
		return false;
	TAILQ_FOREACH(drv, &spapr_drivers, next)
		if (match(drv, dev))
			return true;
	return false;
}

/* Every -a bus=spapr,addr=... names a function the scan found. The primary stops there
 * (EAL init fails, nothing set up); a secondary attaches to the primary's ports and on
 * another machine than the primary's finds none: said, not fatal. */
static bool bad_devargs; /* EAL goes on after a failed scan: the probe stops it */
static bool spapr_probed; /* EAL's probe of the buses has run */

static int check_devargs(void)
{
	struct rte_devargs *da;
	int ret = 0;

	RTE_EAL_DEVARGS_FOREACH("spapr", da) {
		if (find_by_name(da->name) != NULL || da->policy != RTE_DEV_ALLOWED ||
		    strncmp(da->name, "spapr:", 6) == 0) /* a legacy one with bad options: said */
			continue;
		if (rte_eal_process_type() == RTE_PROC_PRIMARY) {
			SPAPR_LOG(ERR, "devargs '%s': addr= must name a PCI function bound to vfio-pci",
				  da->bus_str ? da->bus_str : da->name);
			bad_devargs = true;
			ret = -EINVAL;
		} else {
			SPAPR_LOG(WARNING, "secondary process: %s is not a vfio-pci function on this machine: is"
				  " the primary on another one (an emulated platform: run this process under the"
				  " same spapr-emu options)?", da->name);
		}
	}
	return ret;
}

/* A devargs gives way to a newer one of the same device: the device moves to it. */
static void devargs_replaced(struct rte_devargs *old, struct rte_devargs *da)
{
	struct rte_spapr_device *dev;

	TAILQ_FOREACH(dev, &spapr_devices, next)
		if (dev->device.devargs == old)
			dev->device.devargs = da;
}

/* Legacy devargs with bad options (said) stop this bus's probe at EAL init, as a missing
 * device does; EAL goes on without the bus's devices. A hot-plug of one fails. */
static int spapr_scan(void)
{
	DIR *d;
	struct dirent *e;
	int bad_opts, ret;

	spapr_pci_takeover();
	bad_opts = spapr_devstr_scan_devargs(devargs_replaced);
	if (bad_opts && rte_eal_process_type() == RTE_PROC_PRIMARY && !spapr_probed)
		bad_devargs = true;
	d = opendir(tce_pci_dir());
	if (d == NULL) {
		ret = check_devargs(); /* no PCI on this machine */
		return ret ? ret : bad_opts;
	}
	while ((e = readdir(d)) != NULL) {
		struct rte_spapr_device *dev;

		dev = find_by_name(e->d_name);
		if (dev != NULL) /* known: its devargs may be new (a hot-plug) */
			dev->device.devargs = spapr_find_devargs(dev->name);
		if (e->d_name[0] == '.' || dev != NULL || !tce_pci_is_vfio(e->d_name) ||
		    ignored(e->d_name) || spapr_scan_device(e->d_name, &dev) != 0)
			continue;
		dev->device.bus = &spapr_bus;
		dev->device.devargs = spapr_find_devargs(dev->name);
		insert_sorted(dev);
		SPAPR_LOG(DEBUG, "scan: %s %04x:%04x IOMMU group %u NUMA node %d", dev->name,
			  dev->id.vendor_id, dev->id.device_id, dev->group, dev->device.numa_node);
	}
	closedir(d);
	ret = check_devargs();
	return ret ? ret : bad_opts;
}

static const struct rte_spapr_id *match(const struct rte_spapr_driver *drv, const struct rte_spapr_device *dev)
{
	for (const struct rte_spapr_id *id = drv->id_table; id->vendor_id; id++)
		if (id->vendor_id == dev->id.vendor_id && id->device_id == dev->id.device_id)
			return id;
	return NULL;
}

/* A secondary process opens no VFIO file: the primary owns the container, the group
 * and the device, and hands over the device's fd (spapr_mp.c) for its registers; the
 * driver attaches to the primary's port (its shared state: the rings, the counters).
 * Not the primary's device: not probed here, not an error. */
static int probe_secondary(struct rte_spapr_device *dev, struct rte_spapr_driver *drv)
{
	int ret, fd = spapr_mp_device_fd(dev->name);

	if (fd >= 0) {
		dev->vfio_fd = fd;
		dev->regions_known = 0;
	}
	dev->driver = drv;
	dev->device.driver = &drv->driver;
	ret = drv->probe(drv, dev);
	if (ret) {
		spapr_vfio_close(dev);
		dev->driver = NULL;
		dev->device.driver = NULL;
		SPAPR_LOG(INFO, "%s: secondary process: not attached (%s)", dev->name,
			  ret == -ENODEV ? "the primary process has no port for it" : strerror(-ret));
		return 1;
	}
	SPAPR_LOG(INFO, "%s: secondary process: attached to the primary's port (%s), %s%s%s", dev->name,
		  drv->driver.name, fd >= 0 ? "its device fd handed over" : "without its device fd (",
		  fd >= 0 ? "" : strerror(-fd), fd >= 0 ? "" : ")");
	return 0;
}

static int probe_one(struct rte_spapr_device *dev, struct rte_spapr_driver *drv)
{
	const char *pci_driver;
	struct spapr_devopts o;
	int gfd, ret;

	ret = spapr_devopts_of(dev->name, &o);
	if (ret)
		return ret;
	if (o.iommu == SPAPR_IOMMU_EAL)
		return 1; /* left to EAL (and bus/pci) */
	if (rte_eal_process_type() != RTE_PROC_PRIMARY)
		return probe_secondary(dev, drv);
	pci_driver = spapr_pci_driver_of(dev->name);
	if (pci_driver != NULL) {
		SPAPR_LOG(ERR, "%s: DPDK's bus/pci drives it already (%s): remove it there first, then"
			  " attach it as bus=spapr,addr=%s", dev->name, pci_driver, dev->name);
		return -EBUSY;
	}
	ret = spapr_iommu_attach(dev->name, dev->group, -1, &o, &dev->iommu);
	if (ret)
		return ret < 0 ? ret : 0; /* >0: dry run, the device stays unprobed */
	gfd = spapr_iommu_group_fd(dev->iommu);
	ret = gfd < 0 ? gfd : spapr_vfio_open(dev, gfd);
	if (ret) {
		spapr_iommu_detach(dev->iommu, dev->name);
		dev->iommu = NULL;
		return ret;
	}
	dev->driver = drv;
	dev->device.driver = &drv->driver;
	ret = drv->probe(drv, dev);
	if (ret) {
		SPAPR_LOG(ERR, "%s: driver %s failed to probe it (%d)", dev->name, drv->driver.name, ret);
		spapr_vfio_close(dev);
		dev->driver = NULL;
		dev->device.driver = NULL;
		spapr_iommu_detach(dev->iommu, dev->name);
		dev->iommu = NULL;
		return ret;
	}
	SPAPR_LOG(INFO, "%s: probed by %s", dev->name, drv->driver.name);
	return 0;
}

/* Probe a device with a driver that matches it (the bus's choice, or EAL's from 26.07):
 * not when it is probed already, nor when it is bus/pci's. */
static int probe_with(struct rte_spapr_driver *drv, struct rte_spapr_device *dev)
{
	if (dev->driver)
		return 0;
	if (!named_for_this_bus(dev->name) && spapr_pci_drives(dev->name))
		return 1; /* bus/pci's */
	return probe_one(dev, drv);
}

/* Probe a device with the first of this bus's drivers that matches it. */
static int plug_dev(struct rte_spapr_device *dev)
{
	struct rte_spapr_driver *drv;

	TAILQ_FOREACH(drv, &spapr_drivers, next)
		if (match(drv, dev))
			return probe_with(drv, dev);
	SPAPR_LOG(DEBUG, "%s: no driver for %04x:%04x", dev->name, dev->id.vendor_id, dev->id.device_id);
	return 1;
}

static int spapr_probe(SPAPR_BUS_PARAM(bus))
{
	struct rte_spapr_device *dev;
	int failed = 0;

	spapr_probed = true; /* what a scan finds from now on is a hot-plug's */
	if (bad_devargs)
		return -1; /* said at the scan; nothing of this bus set up */
	spapr_mp_init();
	TAILQ_FOREACH(dev, &spapr_devices, next)
		if (plug_dev(dev) < 0)
			failed++;
	return failed ? -1 : 0;
}

/* A device's devargs removed, with the options kept for it: it is named for this bus no
 * more (bus/pci and bus/vdev remove theirs at unplug too). */
static void forget_devargs(struct rte_spapr_device *dev)
{
	spapr_devopts_forget_one(dev->name);
	if (dev->device.devargs != NULL) {
		rte_devargs_remove(dev->device.devargs);
		dev->device.devargs = NULL;
	}
}

/* A hot-plug (rte_dev_probe). One that fails leaves the device as it was: its devargs
 * (which EAL leaves to the device) would name it for this bus still, keeping it from
 * bus/pci when it is given by bare address next. */
static int hot_plugged(struct rte_spapr_device *dev, int ret)
{
	if (ret < 0 && dev->driver == NULL)
		forget_devargs(dev);
	return ret;
}

#if SPAPR_BUS_2607
/* EAL picks the driver (26.07): the first that match() accepts, the next on ret > 0 */
static bool spapr_match(const struct rte_driver *drv, const struct rte_device *dev)
{
	return match(container_of(drv, struct rte_spapr_driver, driver), RTE_DEV_TO_SPAPR(dev)) != NULL;
}

static int spapr_probe_device(struct rte_driver *drv, struct rte_device *d)
{
	struct rte_spapr_device *dev = RTE_DEV_TO_SPAPR(d);

	return hot_plugged(dev, probe_with(container_of(drv, struct rte_spapr_driver, driver), dev));
}
#else
static int spapr_plug(struct rte_device *d)
{
	struct rte_spapr_device *dev = RTE_DEV_TO_SPAPR(d);

	return hot_plugged(dev, plug_dev(dev));
}
#endif

static int unplug_dev(struct rte_spapr_device *dev)
{
	int ret = 0;

	if (dev->driver == NULL)
		return 0;
	if (dev->driver->remove)
		ret = dev->driver->remove(dev);
	if (ret)
		return ret;
	spapr_vfio_close(dev);
	dev->driver = NULL;
	dev->device.driver = NULL;
	spapr_iommu_detach(dev->iommu, dev->name);
	dev->iommu = NULL;
	return 0;
}

/* A hot-unplug (rte_dev_remove): a bare address given next is bus/pci's again. */
static int spapr_unplug(struct rte_device *d)
{
	struct rte_spapr_device *dev = RTE_DEV_TO_SPAPR(d);
	int ret = unplug_dev(dev);

	if (ret == 0)
		forget_devargs(dev);
	return ret;
}

struct rte_device *spapr_bus_find_device(SPAPR_CONST_BUS_PARAM(bus) const struct rte_device *start, rte_dev_cmp_t cmp,
					 const void *data)
{
	struct rte_spapr_device *dev = start ? TAILQ_NEXT(RTE_DEV_TO_SPAPR(start), next)
					     : TAILQ_FIRST(&spapr_devices);

	for (; dev; dev = TAILQ_NEXT(dev, next))
		if (cmp(&dev->device, data) == 0)
			return &dev->device;
	return NULL;
}

static int spapr_cleanup(SPAPR_BUS_PARAM(bus))
{
	struct rte_spapr_device *dev;
	int ret = 0;

	spapr_mp_fini();
	spapr_pci_cleanup();
	while ((dev = TAILQ_FIRST(&spapr_devices)) != NULL) {
		if (unplug_dev(dev) != 0)
			ret = -1;
		TAILQ_REMOVE(&spapr_devices, dev, next);
		free(dev);
	}
	spapr_iommu_cleanup();
	spapr_devopts_forget();
	return ret;
}

static int spapr_dma_map(struct rte_device *d, void *addr, uint64_t iova, size_t len)
{
	struct rte_spapr_device *dev = RTE_DEV_TO_SPAPR(d);

	return spapr_iommu_dma_map(dev->iommu, dev->name, addr, iova, len);
}

static int spapr_dma_unmap(struct rte_device *d, void *addr, uint64_t iova, size_t len)
{
	return spapr_iommu_dma_unmap(RTE_DEV_TO_SPAPR(d)->iommu, addr, iova, len);
}

/* The IOVA mode the bus's set-up needs, for devices of either bus it serves. */
static enum rte_iova_mode spapr_iommu_class(void)
{
	if (TAILQ_EMPTY(&spapr_devices) && !spapr_pci_serves_any())
		return RTE_IOVA_DC;
	return spapr_iommu_mode();
}

static struct rte_bus spapr_bus = {
	.scan = spapr_scan,
	.probe = spapr_probe,
	.find_device = spapr_bus_find_device,
#if SPAPR_BUS_2607
	.match = spapr_match,
	.probe_device = spapr_probe_device,
	.unplug_device = spapr_unplug,
#else
	.plug = spapr_plug,
	.unplug = spapr_unplug,
#endif
	.parse = spapr_devstr_parse,
	.devargs_parse = spapr_devstr_devargs_parse,
	.dev_iterate = spapr_devstr_iterate,
	.dma_map = spapr_dma_map,
	.dma_unmap = spapr_dma_unmap,
	.get_iommu_class = spapr_iommu_class,
	.cleanup = spapr_cleanup,
};

/* RTE_REGISTER_BUS, behind the release guard: a plugin built for another release would
 * hand EAL a struct rte_bus of another layout (spapr_dpdk_release_matches). */
bool spapr_bus_registered;

RTE_INIT_PRIO(spapr_bus_register, BUS)
{
	if (!spapr_dpdk_release_matches())
		return;
	spapr_bus.name = "spapr";
	rte_bus_register(&spapr_bus);
	spapr_bus_registered = true;
}
