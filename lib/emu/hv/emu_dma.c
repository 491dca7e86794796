/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Device DMA through the PE's TCE tables, as a PHB translates it: the bus address
 * picks the window, the entry gives the host page and its permissions. An address
 * outside every window, an invalid entry or a missing permission freezes the PE
 * (EEH): the access fails and every later DMA and MMIO of the PE fails too, until
 * user space recovers the PE through VFIO_EEH_PE_OP.
 *
 * Windows cannot go away under a DMA: it holds the platform's DMA read lock. A device
 * thread that does many accesses in a row opens a DMA session (emu_dma_begin/end):
 * the lock is taken once for the session, counters are added once at its end, and
 * translations are remembered in a small per-session cache (a PHB's TCE cache) that
 * stays exact: an entry is used only while its table's generation, bumped on every
 * change of an entry, is the one it was read at. The session is the calling thread's,
 * so every emu_dma_read/write of that thread goes through it with no change to the
 * callers (ring and buffer code stays the same for one access or a thousand).
 */
#include <errno.h>
#include <string.h>

#include <linux/pci_regs.h>

#include "emu_internal.h"

#define TLB_SIZE 256 /* IOMMU pages a device touches in a burst: rings and buffers of
			* 64 KiB pages (a ring of 1024 2 KiB buffers spans 32) */

struct dma_tlb_entry {
	uint64_t epoch;                 /* the session that filled it: older ones are stale */
	const struct emu_tce_table *t;
	uint64_t page;                  /* bus address >> page_shift */
	uint64_t gen;                   /* the table's generation when read */
	uint64_t tce;
};

struct emu_dma_session {
	struct emu_platform *plat;
	uint64_t epoch;
	uint64_t reads, writes, bytes;
	struct dma_tlb_entry tlb[TLB_SIZE];
};

static __thread struct emu_dma_session *current_session
	__attribute__((tls_model("initial-exec")));

static struct emu_tce_table *window_of(struct emu_pe *pe, uint64_t iova)
{
	for (int i = 0; i < EMU_MAX_TABLES; i++)
		if (pe->tables[i] && emu_tce_contains(pe->tables[i], iova))
			return pe->tables[i];
	return NULL;
}

/* The TCE for bus address `addr` (0: no window, or an invalid entry): from the
 * session's cache while the entry's table has not changed (the session holds the DMA
 * lock: windows stay as they are; a table pointer is only trusted within the session
 * that read it), else from the table. */
static uint64_t translate(struct emu_dma_session *s, struct emu_pe *pe, uint64_t addr, unsigned int *shift)
{
	struct emu_tce_table *t = window_of(pe, addr);
	struct dma_tlb_entry *e;
	uint64_t page, gen;

	if (t == NULL)
		return 0;
	*shift = t->page_shift;
	page = addr >> t->page_shift;
	gen = atomic_load_explicit(&t->gen, memory_order_acquire);
	if (s == NULL)
		return emu_tce_get(t, page);
	e = &s->tlb[page % TLB_SIZE];
	if (e->epoch != s->epoch || e->t != t || e->page != page || e->gen != gen)
		*e = (struct dma_tlb_entry){ s->epoch, t, page, gen, emu_tce_get(t, page) };
	return e->tce;
}

static int dma_access(struct emu_device *dev, struct emu_dma_session *s, uint64_t iova, uint8_t *buf,
		      size_t len, bool write)
{
	struct emu_pe *pe = &dev->group->pe;
	uint64_t need = write ? EMU_TCE_WRITE : EMU_TCE_READ;
	size_t done = 0;

	while (done < len) {
		uint64_t addr = iova + done, psize, tce, chunk;
		unsigned int shift = 0;
		uint8_t *host;

		tce = translate(s, pe, addr, &shift);
		if (!(tce & need))
			return -EIO;
		psize = 1ULL << shift;
		host = (uint8_t *)(uintptr_t)((tce & ~(psize - 1)) + (addr & (psize - 1)));
		chunk = psize - (addr & (psize - 1));
		if (chunk > len - done)
			chunk = len - done;
		/* buf NULL: a check, the device reads what it need not keep (a sink) */
		if (buf && write)
			memcpy(host, buf + done, chunk);
		else if (buf)
			memcpy(buf + done, host, chunk);
		done += chunk;
	}
	return 0;
}

static int dma_copy(struct emu_device *dev, uint64_t iova, uint8_t *buf, size_t len, bool write)
{
	struct emu_pe *pe = &dev->group->pe;
	struct emu_platform *p = dev->plat;
	struct emu_dma_session *s = current_session;
	int ret;

	if (atomic_load(&pe->frozen_dma))
		return -EIO;
	if (!(dev->config[PCI_COMMAND] & PCI_COMMAND_MASTER)) {
		EMU_COUNT(p, dma_no_bus_master, 1);
		return -EACCES;
	}
	if (s != NULL && s->plat == p) {
		ret = dma_access(dev, s, iova, buf, len, write);
		if (ret == 0) {
			*(write ? &s->writes : &s->reads) += 1;
			s->bytes += len;
		}
	} else {
		pthread_rwlock_rdlock(&p->dma_lock);
		ret = dma_access(dev, NULL, iova, buf, len, write);
		pthread_rwlock_unlock(&p->dma_lock);
		if (ret == 0) {
			if (write)
				EMU_COUNT(p, dma_writes, 1);
			else
				EMU_COUNT(p, dma_reads, 1);
			EMU_COUNT(p, dma_bytes, len);
		}
	}
	if (ret != 0) {
		EMU_COUNT(p, dma_faults, 1);
		emu_pe_freeze(pe);
	}
	return ret;
}

void *emu_dma_ptr(struct emu_device *dev, uint64_t iova, size_t len, bool write)
{
	struct emu_dma_session *s = current_session;
	unsigned int shift = 0;
	uint64_t tce, psize;

	if (s == NULL || s->plat != dev->plat || atomic_load_explicit(&dev->group->pe.frozen_dma, memory_order_relaxed) ||
	    !(dev->config[PCI_COMMAND] & PCI_COMMAND_MASTER))
		return NULL;
	tce = translate(s, &dev->group->pe, iova, &shift);
	psize = 1ULL << shift;
	if (!(tce & (write ? EMU_TCE_WRITE : EMU_TCE_READ)) || (iova & (psize - 1)) + len > psize)
		return NULL;
	*(write ? &s->writes : &s->reads) += 1;
	s->bytes += len;
	return (uint8_t *)(uintptr_t)((tce & ~(psize - 1)) + (iova & (psize - 1)));
}

int emu_dma_read(struct emu_device *dev, uint64_t iova, void *buf, size_t len)
{
	return dma_copy(dev, iova, buf, len, false);
}

int emu_dma_write(struct emu_device *dev, uint64_t iova, const void *buf, size_t len)
{
	return dma_copy(dev, iova, (uint8_t *)buf, len, true);
}

int emu_dma_check(struct emu_device *dev, uint64_t iova, size_t len)
{
	return dma_copy(dev, iova, NULL, len, false);
}

void emu_dma_begin(struct emu_platform *p)
{
	static __thread struct emu_dma_session session __attribute__((tls_model("initial-exec")));

	session.plat = p;
	session.epoch++; /* every cached translation of an earlier session is stale */
	session.reads = session.writes = session.bytes = 0;
	pthread_rwlock_rdlock(&p->dma_lock);
	current_session = &session;
}

void emu_dma_end(void)
{
	struct emu_dma_session *s = current_session;
	struct emu_platform *p;

	if (s == NULL)
		return;
	p = s->plat;
	current_session = NULL;
	pthread_rwlock_unlock(&p->dma_lock);
	if (s->reads)
		EMU_COUNT(p, dma_reads, s->reads);
	if (s->writes)
		EMU_COUNT(p, dma_writes, s->writes);
	if (s->bytes)
		EMU_COUNT(p, dma_bytes, s->bytes);
}
