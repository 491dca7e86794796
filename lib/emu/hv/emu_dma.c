/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Device DMA through the PE's TCE tables, as a PHB translates it: the bus address
 * picks the window, the entry gives the host page and its permissions. An address
 * outside every window, an invalid entry or a missing permission freezes the PE
 * (EEH): the access fails and every later DMA and MMIO of the PE fails too, until
 * user space recovers the PE through VFIO_EEH_PE_OP. Safe against concurrent ioctls:
 * entries are read atomically and windows cannot go away under the DMA read lock.
 */
#include <errno.h>
#include <string.h>

#include <linux/pci_regs.h>

#include "emu_internal.h"

static struct emu_tce_table *window_of(struct emu_pe *pe, uint64_t iova)
{
	for (int i = 0; i < EMU_MAX_TABLES; i++)
		if (pe->tables[i] && emu_tce_contains(pe->tables[i], iova))
			return pe->tables[i];
	return NULL;
}

static int dma_copy(struct emu_device *dev, uint64_t iova, uint8_t *buf, size_t len, bool write)
{
	struct emu_pe *pe = &dev->group->pe;
	struct emu_platform *p = dev->plat;
	uint64_t need = write ? EMU_TCE_WRITE : EMU_TCE_READ;
	size_t done = 0;

	if (atomic_load(&pe->frozen_dma))
		return -EIO;
	if (!(dev->config[PCI_COMMAND] & PCI_COMMAND_MASTER)) {
		EMU_COUNT(p, dma_no_bus_master, 1);
		return -EACCES;
	}
	pthread_rwlock_rdlock(&p->dma_lock);
	while (done < len) {
		uint64_t addr = iova + done;
		struct emu_tce_table *t = window_of(pe, addr);
		uint64_t psize, tce, chunk;
		uint8_t *host;

		if (t == NULL)
			goto fault;
		psize = 1ULL << t->page_shift;
		tce = emu_tce_get(t, addr >> t->page_shift);
		if (!(tce & need))
			goto fault;
		host = (uint8_t *)(uintptr_t)((tce & ~(psize - 1)) + (addr & (psize - 1)));
		chunk = psize - (addr & (psize - 1));
		if (chunk > len - done)
			chunk = len - done;
		if (write)
			memcpy(host, buf + done, chunk);
		else
			memcpy(buf + done, host, chunk);
		done += chunk;
	}
	pthread_rwlock_unlock(&p->dma_lock);
	if (write)
		EMU_COUNT(p, dma_writes, 1);
	else
		EMU_COUNT(p, dma_reads, 1);
	EMU_COUNT(p, dma_bytes, len);
	return 0;

fault:
	pthread_rwlock_unlock(&p->dma_lock);
	EMU_COUNT(p, dma_faults, 1);
	emu_pe_freeze(pe);
	return -EIO;
}

int emu_dma_read(struct emu_device *dev, uint64_t iova, void *buf, size_t len)
{
	return dma_copy(dev, iova, buf, len, false);
}

int emu_dma_write(struct emu_device *dev, uint64_t iova, const void *buf, size_t len)
{
	return dma_copy(dev, iova, (uint8_t *)buf, len, true);
}
