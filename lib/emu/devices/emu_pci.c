/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * What a device model builds its PCI function with: BARs (backing memory, the areas user
 * space may mmap and those whose accesses trap), the type 0 configuration header and the
 * capability list (MSI-X and the model's own).
 */
#include <errno.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "emu_internal.h"

static void put16(uint8_t *c, unsigned int off, uint16_t v) { memcpy(c + off, &v, 2); }
static void put32(uint8_t *c, unsigned int off, uint32_t v) { memcpy(c + off, &v, 4); }

int emu_pci_bar_alloc(struct emu_device *d, unsigned int bar, uint64_t size, bool mem64)
{
	struct emu_bar *b = &d->bars[bar];

	b->size = size;
	b->mem64 = mem64;
	b->memfd = memfd_create("emu-bar", MFD_CLOEXEC);
	if (b->memfd < 0)
		return -errno;
	if (ftruncate(b->memfd, (off_t)size) != 0)
		return -errno;
	b->mem = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, b->memfd, 0);
	if (b->mem == MAP_FAILED) {
		b->mem = NULL;
		return -errno;
	}
	return 0;
}

void emu_pci_bar_mmap_area(struct emu_device *d, unsigned int bar, uint64_t off, uint64_t len)
{
	struct emu_bar *b = &d->bars[bar];

	b->mmap_off[b->nr_mmap] = off;
	b->mmap_len[b->nr_mmap++] = len;
}

void emu_pci_bar_trap_area(struct emu_device *d, unsigned int bar, uint64_t off, uint64_t len)
{
	struct emu_bar *b = &d->bars[bar];

	b->trap_off[b->nr_trap] = off;
	b->trap_len[b->nr_trap++] = len;
}

/* The PCI Express capability of an endpoint (version 2), link x1 at 2.5 GT/s. */
static void add_express_cap(struct emu_device *d)
{
	uint8_t body[58] = { 0 };

	put16(body, 0, 0x0002);       /* version 2, type 0: PCI Express endpoint */
	put32(body, 10, 0x00000011);  /* link capabilities: 2.5 GT/s, x1 */
	put16(body, 16, 0x0011);      /* link status: 2.5 GT/s, x1 */
	emu_pci_add_cap(d, 0x10, body, sizeof(body));
}

/* The type 0 header from the IDs and BARs; capabilities are added after it. On PowerNV
 * the function sits behind a PHB root port, as with QEMU's powernv9 in test/qemu: a PCI
 * Express function (4 KiB of configuration space, the error IRQ), which the kernel can
 * reset through the port's secondary bus. In a pSeries guest it is on the PHB's root
 * bus: conventional PCI, 256 bytes. */
void emu_pci_header(struct emu_device *d, uint8_t revision)
{
	uint8_t *c = d->config;
	uint64_t bus = 0x80000000ULL + 0x100000ULL * (uint64_t)(d - d->plat->devices);

	memset(c, 0, sizeof(d->config));
	d->config_size = 256;
	d->cap_next = 0x40;
	put16(c, 0x00, d->vendor);
	put16(c, 0x02, d->device_id);
	put32(c, 0x08, d->class_code << 8 | revision);
	put16(c, 0x2c, d->subsys_vendor);
	put16(c, 0x2e, d->subsys_id);
	c[0x3d] = 1;                                  /* interrupt pin INTA */
	for (int i = 0; i < 6; i++) {
		struct emu_bar *b = &d->bars[i];
		if (b->size == 0)
			continue;
		b->addr = bus;
		bus += b->size < 0x10000 ? 0x10000 : b->size;
		put32(c, 0x10 + 4 * i, (uint32_t)b->addr | (b->mem64 ? 0x4 : 0));
		if (b->mem64)
			put32(c, 0x14 + 4 * i, (uint32_t)(b->addr >> 32));
	}
	d->pcie = d->plat->cfg.plat.hv == EMU_HV_POWERNV;
	if (d->pcie) {
		d->config_size = 4096;
		add_express_cap(d);
		d->irqs[VFIO_PCI_ERR_IRQ_INDEX].count = 1;
	}
}

/* Append a capability (id, then `len` bytes of body after the 2-byte header); returns
 * its offset. The list is linked in the order of the calls. */
unsigned int emu_pci_add_cap(struct emu_device *d, uint8_t id, const void *body, size_t len)
{
	unsigned int off = d->cap_next, prev;
	uint8_t *c = d->config;

	c[off] = id;
	c[off + 1] = 0;
	memcpy(c + off + 2, body, len);
	if (c[0x34] == 0) {
		c[0x34] = off;
		put16(c, 0x06, 0x0010);               /* status: capability list */
	} else {
		for (prev = c[0x34]; c[prev + 1]; prev = c[prev + 1])
			;
		c[prev + 1] = off;
	}
	d->cap_next = (off + 2 + len + 3) & ~3u;
	return off;
}

/* MSI-X with `vectors`, table and PBA in `bar` at the given offsets */
void emu_pci_add_msix(struct emu_device *d, unsigned int vectors, unsigned int bar,
			 uint32_t table, uint32_t pba)
{
	uint8_t body[10];

	put16(body, 0, vectors - 1);
	put32(body, 2, table | bar);
	put32(body, 6, pba | bar);
	d->msix_cap = emu_pci_add_cap(d, 0x11, body, sizeof(body));
	d->irqs[VFIO_PCI_MSIX_IRQ_INDEX].count = vectors;
}
