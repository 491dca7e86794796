/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * DPDK's own bus/pci devices on this bus's IOMMU set-up, so that every stock PCI PMD
 * (net_virtio, i40e, ice, e1000, ...) works on sPAPR, where EAL's own VFIO code fails
 * (pSeries dynamic windows at 1<<59, no v1 path, no locked-memory check).
 *
 * How: EAL sets a group's IOMMU up only when the group is in no container yet, and a
 * group can be opened once, so EAL's group fd is the one to use. Before bus/pci probes
 * a device bound to vfio-pci, the group fd EAL will use (rte_vfio_get_group_fd) goes into
 * a lib/tce container of this bus, through the container's own duplicate, with all DPDK
 * memory mapped (spapr_iommu.c); EAL then only takes the device fd. The duplicate keeps
 * the group attached whenever EAL closes its fd (a PMD unmapping at port close), so the
 * teardown is complete in any order. bus/pci's probe, plug, unplug and DMA map ops are
 * wrapped in this bus's scan: it runs after bus/pci's scan and before any probe.
 *
 * Which devices: those bus/pci would probe (its scan applied the allow/block lists)
 * that are bound to vfio-pci, unless this bus's own drivers take the device (it is
 * named with -a bus=spapr,addr=... and a spapr driver matches), iommu=eal is given for
 * it, or SPAPR_BUS_PCI=eal is set in the environment. Their options come from
 * -a bus=spapr,addr=<same address>,iommu=...,pagesize=...,dry_run=1.
 *
 * The rte_bus ops replaced here: probe, plug, unplug, cleanup and the DMA map ops of
 * DPDK 22.11 to 25.11; from 26.07, whose bus/pci probes through EAL's generic loop,
 * probe_device, unplug_device, cleanup and the DMA map ops (a device may be probed
 * several times: each probe finds it served already). 26.11 removed the VFIO group API
 * this needs: there the takeover stays off and says so.
 */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <bus_driver.h>
#include <rte_devargs.h>
#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_string_fns.h>
#include <rte_version.h>
#include <rte_vfio.h>

#include "spapr_private.h"
#include "tce_pci.h"
#include "tce.h"

/* A bus/pci device on this bus's set-up. bus/pci frees its device at unplug: the
 * pointer is an identity while it is plugged, the name outlives it. */
struct served {
	TAILQ_ENTRY(served) next;
	const struct rte_device *dev;
	char name[SPAPR_NAME_LEN];
	unsigned int group;
	int eal_group_fd;           /* EAL's fd of the group (rte_vfio_get_group_fd) */
	struct spapr_iommu *io;
	bool probed;                /* a driver of bus/pci took it */
	bool live;                  /* at cleanup: bus/pci still drives its group */
};

static TAILQ_HEAD(, served) served_list = TAILQ_HEAD_INITIALIZER(served_list);
/* the list: EAL's thread changes it (probe, hot-plug), any thread reads it (dma_map) */
static pthread_mutex_t served_lock = PTHREAD_MUTEX_INITIALIZER;
static struct rte_bus *pci;     /* DPDK's bus/pci, once its ops are wrapped */
static struct rte_bus pci_ops;  /* its own ops */

static struct served *served_of(const struct rte_device *d)
{
	struct served *s;

	pthread_mutex_lock(&served_lock);
	TAILQ_FOREACH(s, &served_list, next)
		if (s->dev == d)
			break;
	pthread_mutex_unlock(&served_lock);
	return s;
}

static void served_add(struct served *s)
{
	pthread_mutex_lock(&served_lock);
	TAILQ_INSERT_TAIL(&served_list, s, next);
	pthread_mutex_unlock(&served_lock);
}

static void served_remove(struct served *s)
{
	pthread_mutex_lock(&served_lock);
	TAILQ_REMOVE(&served_list, s, next);
	pthread_mutex_unlock(&served_lock);
	free(s);
}

static struct served *served_in_group(unsigned int group, const struct served *but)
{
	struct served *s;

	TAILQ_FOREACH(s, &served_list, next)
		if (s->group == group && s != but)
			return s;
	return NULL;
}

static int any_device(const struct rte_device *d, const void *data)
{
	(void)d;
	(void)data;
	return 0;
}

static int same_name(const struct rte_device *d, const void *name)
{
	return strcmp(d->name, name);
}

/* Do two fds refer to one open file? kcmp(2) where the kernel has it; else the inode
 * (two files of one VFIO group share its character device). */
static bool same_file(int a, int b)
{
	struct stat sa, sb;
	long r = syscall(SYS_kcmp, getpid(), getpid(), 0 /* KCMP_FILE */, a, b);

	if (r >= 0)
		return r == 0;
	return fstat(a, &sa) == 0 && fstat(b, &sb) == 0 && sa.st_dev == sb.st_dev &&
	       sa.st_ino == sb.st_ino && sa.st_rdev == sb.st_rdev;
}

/* A device bus/pci would probe that this bus sets the IOMMU up for. */
static bool candidate(const struct rte_device *d, struct spapr_devopts *o)
{
	if (d->devargs != NULL && d->devargs->policy == RTE_DEV_BLOCKED)
		return false;
	if (!tce_pci_is_vfio(d->name) || spapr_claims(d->name))
		return false;
	/* its options: this bus's devargs for the same address (checked at EAL's parse) */
	if (spapr_devopts_of(d->name, o) != 0)
		return false;
	return o->iommu != SPAPR_IOMMU_EAL;
}

/* EAL's record of a group this bus opened through it and that no EAL device uses:
 * closed and forgotten, as EAL does for a group whose last device it releases. */
static void release_eal_group(struct served *s, int our_fd)
{
	if (s->eal_group_fd < 0 || !same_file(s->eal_group_fd, our_fd))
		return; /* EAL closed it already */
	close(s->eal_group_fd);
	rte_vfio_clear_group(s->eal_group_fd);
}

/* Drop a device from the set-up: the container goes with the group's last device. */
static void unserve(struct served *s)
{
	if (served_in_group(s->group, s) == NULL)
		release_eal_group(s, spapr_iommu_group_fd(s->io));
	spapr_iommu_detach(s->io, s->name);
	served_remove(s);
}

/* The group EAL will use, in a container of this bus with DPDK's memory mapped.
 * 0: served; 1: left to EAL (dry run); <0: the device must not be probed. */
static int serve(const struct rte_device *d, const struct spapr_devopts *o)
{
	struct served *s = calloc(1, sizeof(*s)), *peer;
	int ret;

	if (s == NULL)
		return -ENOMEM;
	/* bus/pci maps the device through EAL's VFIO: without it, the set-up would be for nothing */
	if (!rte_vfio_is_enabled("vfio")) {
		SPAPR_LOG(ERR, "%s: EAL's VFIO support is not initialised (no /dev/vfio, or the vfio module"
			  " not loaded: EAL's log says which): bus/pci cannot map the device: not probed", d->name);
		free(s);
		return -ENODEV;
	}
	s->dev = d;
	strlcpy(s->name, d->name, sizeof(s->name));
	if (spapr_sysfs_group(d->name, &s->group) != 0) {
		SPAPR_LOG(ERR, "%s: no IOMMU group link in sysfs: not probed", d->name);
		free(s);
		return -ENODEV;
	}
	peer = served_in_group(s->group, NULL);
	if (peer != NULL) {
		s->eal_group_fd = peer->eal_group_fd;
	} else {
		s->eal_group_fd = rte_vfio_get_group_fd((int)s->group);
		if (s->eal_group_fd < 0) {
			SPAPR_LOG(ERR, "%s: EAL cannot open VFIO group %u (is it open elsewhere? this bus's own"
				  " drivers keep their groups: give a group's devices to one bus): not probed",
				  d->name, s->group);
			free(s);
			return -ENODEV;
		}
	}
	ret = spapr_iommu_attach(d->name, s->group, s->eal_group_fd, o, &s->io);
	if (ret != 0) {
		/* left as found: EAL's set-up (EBUSY) stays, a group opened for us goes */
		if (peer == NULL && ret != -EBUSY && close(s->eal_group_fd) == 0)
			rte_vfio_clear_group(s->eal_group_fd);
		free(s);
		return ret;
	}
	served_add(s);
	SPAPR_LOG(INFO, "%s: DPDK's bus/pci drives it, on this bus's IOMMU set-up (group %u)",
		  d->name, s->group);
	return 0;
}

/* bus/pci's own probe of one device: its plug (it picks the driver), or from 26.07 its
 * probe_device with the driver EAL picked; 0 when a driver took it. */
static int pci_probe_own(struct rte_driver *drv, struct rte_device *d)
{
#if SPAPR_BUS_2607
	return pci_ops.probe_device(drv, d);
#else
	(void)drv;
	return pci_ops.plug(d);
#endif
}

/* A probe of a device bus/pci drives, on this bus's set-up made first. */
static int pci_probe_served_one(struct rte_driver *drv, struct rte_device *d)
{
	struct spapr_devopts o;
	struct served *s;
	int ret;

	if (candidate(d, &o) && served_of(d) == NULL) {
		ret = serve(d, &o);
		if (ret < 0) {
			SPAPR_LOG(ERR, "%s: not probed: the sPAPR IOMMU set-up failed (%s)", d->name, strerror(-ret));
			return ret;
		}
	}
	ret = pci_probe_own(drv, d);
	s = served_of(d);
	if (s != NULL && ret == 0)
		s->probed = true;
	else if (s != NULL && !s->probed)
		unserve(s); /* no driver took it (yet), or its probe failed */
	return ret;
}

#if SPAPR_BUS_2607
/* EAL's generic probe and hot-plug call it with each matching driver; the devices this
 * bus's own drivers take are not bus/pci's (ret > 0: no driver of bus/pci for them). */
static int pci_probe_device_served(struct rte_driver *drv, struct rte_device *d)
{
	if (spapr_claims(d->name))
		return 1;
	return pci_probe_served_one(drv, d);
}
#else
static int pci_plug_served(struct rte_device *d)
{
	return pci_probe_served_one(NULL, d);
}

/* bus/pci's probe, device by device through the plug op above (its own loop calls no
 * op), minus the devices this bus's own drivers take. */
static int pci_probe_served(void)
{
	struct rte_device *d = NULL;
	size_t probed = 0, failed = 0;

	while ((d = pci->find_device(d, any_device, NULL)) != NULL) {
		int ret;

		if (spapr_claims(d->name))
			continue;
		probed++;
		ret = pci_plug_served(d);
		if (ret < 0 && ret != -EEXIST) {
			SPAPR_LOG(ERR, "%s: DPDK's bus/pci could not probe it", d->name);
			failed++;
		}
	}
	return probed && probed == failed ? -1 : 0;
}
#endif

static int pci_unplug_served(struct rte_device *d)
{
	struct served *s = served_of(d);
#if SPAPR_BUS_2607
	int ret = pci_ops.unplug_device(d);
#else
	int ret = pci_ops.unplug(d); /* frees d when it succeeds */
#endif

	if (ret == 0 && s != NULL)
		unserve(s);
	return ret;
}

static int pci_dma_map_served(struct rte_device *d, void *addr, uint64_t iova, size_t len)
{
	struct served *s = served_of(d);

	if (s == NULL)
		return pci_ops.dma_map(d, addr, iova, len);
	return spapr_iommu_dma_map(s->io, s->name, addr, iova, len);
}

static int pci_dma_unmap_served(struct rte_device *d, void *addr, uint64_t iova, size_t len)
{
	struct served *s = served_of(d);

	if (s == NULL)
		return pci_ops.dma_unmap(d, addr, iova, len);
	return spapr_iommu_dma_unmap(s->io, addr, iova, len);
}

/* A secondary's bus/pci: EAL's VFIO code takes the primary's groups, in their
 * containers, once the primary answers EAL's requests for this bus's set-up; asked
 * before bus/pci probes (its scan may come after this bus's, its probe before). */
static struct rte_bus *secondary_pci;
static rte_bus_probe_t secondary_pci_probe;

static int pci_probe_secondary(SPAPR_BUS_PARAM(bus))
{
	int ret = secondary_pci->find_device(SPAPR_BUS_ARG(secondary_pci) NULL, any_device, NULL) ?
		  spapr_mp_eal_vfio() : 0;

	if (ret == -ENODEV)
		SPAPR_LOG(INFO, "secondary process: the primary's bus/pci devices are not on this bus's"
			  " set-up: EAL's own VFIO code answers for them");
	else if (ret < 0)
		SPAPR_LOG(WARNING, "secondary process: the primary does not answer for bus/pci devices on"
			  " this bus's set-up (%s): EAL's VFIO code will refuse them", strerror(-ret));
	return secondary_pci_probe(SPAPR_BUS_SELF(secondary_pci));
}

static bool opted_out(void)
{
	const char *env = getenv("SPAPR_BUS_PCI");

	return env != NULL && strcmp(env, "eal") == 0;
}

/* bus/pci's cleanup, run once: by EAL where bus/pci registered before this bus, else by
 * this bus's cleanup (below), before it releases what it set up for bus/pci's devices. */
static bool pci_cleaned;
static int pci_cleanup_ret; /* what it returned: EAL's call gets it too */

static int pci_cleanup_once(SPAPR_BUS_PARAM(bus))
{
	if (!pci_cleaned && pci_ops.cleanup != NULL) {
		pci_cleaned = true;
		pci_cleanup_ret = pci_ops.cleanup(SPAPR_BUS_SELF(pci));
	}
	return pci_cleanup_ret;
}

void spapr_pci_takeover(void)
{
	struct rte_bus *bus = rte_bus_find_by_name("pci");
	const struct tce_platform *pf;

	if (pci != NULL || secondary_pci != NULL || bus == NULL || opted_out())
		return;
	pf = spapr_platform();
	if (pf == NULL || !pf->spapr)
		return; /* no VFIO, or type1: EAL's own VFIO code is right there */
	if (!SPAPR_VFIO_GROUP_API) {
		SPAPR_LOG(WARNING, "DPDK %s: bus/pci devices keep EAL's own sPAPR VFIO code (this bus"
			  " takes them over with DPDK 22.11 to 26.07)", rte_version());
		return;
	}
	if (rte_eal_process_type() != RTE_PROC_PRIMARY) {
		secondary_pci = bus;
		secondary_pci_probe = bus->probe;
		bus->probe = pci_probe_secondary;
		return;
	}
	pci = bus;
	pci_ops = *bus;
	pci_cleaned = false;
#if SPAPR_BUS_2607
	bus->probe_device = pci_probe_device_served;
	bus->unplug_device = pci_unplug_served;
#else
	bus->probe = pci_probe_served;
	bus->plug = pci_plug_served;
	bus->unplug = pci_unplug_served;
#endif
	if (bus->cleanup)
		bus->cleanup = pci_cleanup_once;
	if (bus->dma_map)
		bus->dma_map = pci_dma_map_served;
	if (bus->dma_unmap)
		bus->dma_unmap = pci_dma_unmap_served;
	SPAPR_LOG(DEBUG, "bus/pci devices bound to vfio-pci get this bus's sPAPR IOMMU set-up");
}

bool spapr_pci_takeover_on(void)
{
	return pci != NULL;
}

bool spapr_pci_drives(const char *name)
{
	struct rte_bus *bus = pci ? pci : rte_bus_find_by_name("pci");
	struct rte_device *d = bus ? bus->find_device(SPAPR_BUS_ARG(bus) NULL, same_name, name) : NULL;

	if (d == NULL || (d->devargs != NULL && d->devargs->policy == RTE_DEV_BLOCKED))
		return false;
	return !spapr_claims(name);
}

/* The driver of bus/pci's device of that name, if one probed it. */
const char *spapr_pci_driver_of(const char *name)
{
	struct rte_bus *bus = pci ? pci : rte_bus_find_by_name("pci");
	struct rte_device *d = bus ? bus->find_device(SPAPR_BUS_ARG(bus) NULL, same_name, name) : NULL;

	return d != NULL && rte_dev_is_probed(d) ? d->driver->name : NULL;
}

/* What the user said of a PCI function with a bare address (-a ADDR, -b ADDR: bus/pci's
 * lists): blocked there, or bus/pci has an allowlist. Either way the user chose for it or
 * for the machine's PCI functions as bus/pci's; this bus's drivers take a device only
 * when named for this bus then. */
bool spapr_pci_user_excludes(const char *name)
{
	struct rte_bus *bus = pci ? pci : rte_bus_find_by_name("pci");
	struct rte_devargs *da;

	if (bus == NULL)
		return false;
	RTE_EAL_DEVARGS_FOREACH("pci", da)
		if (strcmp(da->name, name) == 0 && da->policy == RTE_DEV_BLOCKED)
			return true;
	return SPAPR_BUS_ALLOWLIST(bus);
}

bool spapr_pci_serves_any(void)
{
	struct rte_device *d = NULL;
	struct spapr_devopts o;

	if (pci == NULL)
		return false;
	while ((d = pci->find_device(SPAPR_BUS_ARG(pci) d, any_device, NULL)) != NULL)
		if (candidate(d, &o) && !o.dry_run)
			return true;
	return false;
}

/* At EAL cleanup. bus/pci's cleanup removes its drivers and frees its devices (run here
 * first when it comes after this bus). A device it still lists is live, and so is every
 * device it served when a driver's remove failed (bus/pci frees the device anyway, its
 * DMA may go on): their containers stay for the process's exit to release, as tearing
 * them down under a live device would fault its DMA. */
void spapr_pci_cleanup(void)
{
	struct served *s, *o;
	bool remove_failed = pci != NULL && pci_cleanup_once(SPAPR_BUS_SELF(pci)) != 0;

	TAILQ_FOREACH(s, &served_list, next)
		s->live = remove_failed ||
			  (pci != NULL && pci->find_device(SPAPR_BUS_ARG(pci) NULL, same_name, s->name) != NULL);
	TAILQ_FOREACH(s, &served_list, next) /* a group is live with any of its devices */
		TAILQ_FOREACH(o, &served_list, next)
			if (o->group == s->group && o->live)
				s->live = true;
	while ((s = TAILQ_FIRST(&served_list)) != NULL) {
		if (!s->live) {
			unserve(s);
			continue;
		}
		SPAPR_LOG(DEBUG, "%s: still probed by bus/pci at cleanup: its DMA set-up is left to the"
			  " process's exit", s->name);
		if (served_in_group(s->group, s) == NULL)
			spapr_iommu_forget(s->io); /* the group's last: its container stays as it is */
		served_remove(s);
	}
	if (secondary_pci != NULL) {
		secondary_pci->probe = secondary_pci_probe;
		secondary_pci = NULL;
	}
	if (pci != NULL) {
		pci->probe = pci_ops.probe;
#if SPAPR_BUS_2607
		pci->probe_device = pci_ops.probe_device;
		pci->unplug_device = pci_ops.unplug_device;
#else
		pci->plug = pci_ops.plug;
		pci->unplug = pci_ops.unplug;
#endif
		pci->dma_map = pci_ops.dma_map;
		pci->dma_unmap = pci_ops.dma_unmap;
		/* pci->cleanup stays pci_cleanup_once: done, EAL's call gets what it returned */
		pci = NULL;
	}
}
