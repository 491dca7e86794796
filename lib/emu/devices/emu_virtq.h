/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Split virtqueues (virtio 1.x, 2.7), the device side: every access to the descriptor
 * table, the rings and the buffers is a DMA through the PE's TCE tables, so a driver
 * bug (IOVA not mapped, buffer read-only, out of window) freezes the PE like hardware.
 */
#ifndef EMU_VIRTQ_H
#define EMU_VIRTQ_H

#include <stdbool.h>
#include <stdint.h>

struct emu_device;

#define EMU_VQ_MAX_SEGS 64

struct emu_vq {
	/* what the driver configured through the common config */
	uint16_t size;
	uint16_t msix;
	bool enabled;
	uint64_t desc, avail, used;   /* IOVAs */
	/* the device's position */
	uint16_t last_avail;          /* next avail entry to take */
	uint16_t avail_seen;          /* the driver's avail idx when last read: entries up
	                               * to it are taken without reading the index again */
	uint16_t used_idx;            /* next used entry to write */
	uint16_t used_published;      /* used idx the driver can see */
	/* counters */
	uint64_t chains, bytes, faults, irqs;
};

struct emu_vq_seg { uint64_t addr; uint32_t len; bool write; };

struct emu_vq_elem {
	uint16_t head;
	unsigned int nseg;
	uint32_t out_len;             /* device-readable bytes */
	uint32_t in_len;              /* device-writable bytes */
	struct emu_vq_seg seg[EMU_VQ_MAX_SEGS];
};

void emu_vq_reset(struct emu_vq *q);
/* Take the next available chain: 1 taken, 0 none, -EIO (DMA fault: PE frozen) or
 * -EINVAL (a malformed chain: the device needs a reset). */
int emu_vq_pop(struct emu_device *d, struct emu_vq *q, struct emu_vq_elem *e);
/* Copy out of the readable part / into the writable part, from byte `off`. */
int emu_vq_read(struct emu_device *d, const struct emu_vq_elem *e, uint32_t off, void *buf, uint32_t len);
int emu_vq_write(struct emu_device *d, const struct emu_vq_elem *e, uint32_t off, const void *buf,
		 uint32_t len);
/* Read the readable part from byte `off` without keeping it (a sink): the IOMMU's
 * checks and faults, no copy. */
int emu_vq_check(struct emu_device *d, const struct emu_vq_elem *e, uint32_t off, uint32_t len);
/* Return a chain with `len` bytes written; the driver sees it at emu_vq_flush(). */
int emu_vq_push(struct emu_device *d, struct emu_vq *q, uint16_t head, uint32_t len);
/* Publish the used index (one write for a batch) and interrupt unless suppressed. */
int emu_vq_flush(struct emu_device *d, struct emu_vq *q);

#endif
