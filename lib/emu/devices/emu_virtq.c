/* SPDX-License-Identifier: BSD-3-Clause */
/* Split virtqueues, device side (see emu_virtq.h), in the uapi's layouts (struct
 * vring_desc, vring_avail, vring_used): little-endian, virtio 1.x. */
#include <endian.h>
#include <linux/virtio_ring.h>
#include <stddef.h>
#include <errno.h>
#include <stdatomic.h>
#include <string.h>

#include "emu_internal.h"
#include "emu_virtq.h"

#define AVAIL_IDX offsetof(struct vring_avail, idx)
#define USED_IDX offsetof(struct vring_used, idx)

/* where avail->ring[i] is */
static uint64_t avail_entry(const struct emu_vq *q, uint16_t i)
{
	return q->avail + offsetof(struct vring_avail, ring) + sizeof(__virtio16) * (uint64_t)(i % q->size);
}

/* The ring state goes; the counters stay (they are the device's lifetime totals). */
void emu_vq_reset(struct emu_vq *q)
{
	uint64_t chains = q->chains, bytes = q->bytes, faults = q->faults, irqs = q->irqs;

	memset(q, 0, sizeof(*q));
	q->msix = 0xffff; /* VIRTIO_MSI_NO_VECTOR */
	q->chains = chains;
	q->bytes = bytes;
	q->faults = faults;
	q->irqs = irqs;
}

/* Small ring accesses go through a host pointer when the DMA session has one (no
 * copy call), else through a DMA copy (which faults as hardware would). */
static inline int ring_read(struct emu_device *d, uint64_t iova, void *buf, size_t len)
{
	const void *p = emu_dma_ptr(d, iova, len, false);

	if (p == NULL)
		return emu_dma_read(d, iova, buf, len);
	if (len == 2)
		*(uint16_t *)buf = *(const volatile uint16_t *)p;
	else
		memcpy(buf, p, len);
	return 0;
}

static inline int ring_write(struct emu_device *d, uint64_t iova, const void *buf, size_t len)
{
	void *p = emu_dma_ptr(d, iova, len, true);

	if (p == NULL)
		return emu_dma_write(d, iova, buf, len);
	memcpy(p, buf, len);
	return 0;
}

static int read_desc(struct emu_device *d, uint64_t table, uint16_t i, struct vring_desc *out)
{
	int ret = ring_read(d, table + sizeof(struct vring_desc) * (uint64_t)i, out, sizeof(*out));

	out->addr = le64toh(out->addr);
	out->len = le32toh(out->len);
	out->flags = le16toh(out->flags);
	out->next = le16toh(out->next);
	return ret;
}

/* Walk a chain (direct or one indirect table) into e's segments. */
static int walk_chain(struct emu_device *d, struct emu_vq *q, uint16_t head, struct emu_vq_elem *e)
{
	uint64_t table = q->desc;
	uint32_t limit = q->size;
	uint16_t i = head;
	struct vring_desc desc;
	int ret;

	e->head = head;
	e->nseg = 0;
	e->in_len = e->out_len = 0;
	for (uint32_t n = 0;; n++) {
		if (i >= limit || n >= limit)
			return -EINVAL; /* out of the table, or a loop */
		if ((ret = read_desc(d, table, i, &desc)) != 0)
			return ret;
		if (desc.flags & VRING_DESC_F_INDIRECT) {
			if (table != q->desc || desc.len % 16 || desc.len == 0)
				return -EINVAL; /* nested indirect, or a bad table */
			table = desc.addr;
			limit = desc.len / 16;
			i = 0;
			n = 0;
			continue;
		}
		if (e->nseg == EMU_VQ_MAX_SEGS)
			return -EINVAL;
		e->seg[e->nseg++] = (struct emu_vq_seg){ desc.addr, desc.len, desc.flags & VRING_DESC_F_WRITE };
		if (desc.flags & VRING_DESC_F_WRITE)
			e->in_len += desc.len;
		else if (e->in_len)
			return -EINVAL; /* readable after writable */
		else
			e->out_len += desc.len;
		if (!(desc.flags & VRING_DESC_F_NEXT))
			return 0;
		i = desc.next;
	}
}

int emu_vq_pop(struct emu_device *d, struct emu_vq *q, struct emu_vq_elem *e)
{
	uint16_t avail_idx, head;
	int ret;

	if (!q->enabled || q->size == 0)
		return 0;
	if (q->avail_seen == q->last_avail) {
		if ((ret = ring_read(d, q->avail + AVAIL_IDX, &avail_idx, 2)) != 0)
			return ret;
		avail_idx = le16toh(avail_idx);
		if (avail_idx == q->last_avail)
			return 0;
		/* the entries and descriptors were written before the index */
		atomic_thread_fence(memory_order_acquire);
		q->avail_seen = avail_idx;
	}
	if ((ret = ring_read(d, avail_entry(q, q->last_avail), &head, 2)) != 0)
		return ret;
	head = le16toh(head);
	if ((ret = walk_chain(d, q, head, e)) != 0)
		return ret;
	q->last_avail++;
	q->chains++;
	return 1;
}

static int copy_segs(struct emu_device *d, const struct emu_vq_elem *e, bool write, uint32_t off,
		     uint8_t *buf, uint32_t len)
{
	for (unsigned int s = 0; s < e->nseg && len; s++) {
		const struct emu_vq_seg *g = &e->seg[s];
		uint32_t n;
		int ret;

		if (g->write != write)
			continue;
		if (off >= g->len) {
			off -= g->len;
			continue;
		}
		n = g->len - off < len ? g->len - off : len;
		uint8_t *host = emu_dma_ptr(d, g->addr + off, n, write);
		if (host && buf)
			memcpy(write ? host : buf, write ? buf : host, n);
		else if (host == NULL && (ret = write ? emu_dma_write(d, g->addr + off, buf, n) :
					  buf ? emu_dma_read(d, g->addr + off, buf, n) :
						emu_dma_check(d, g->addr + off, n)) != 0)
			return ret;
		if (buf)
			buf += n;
		len -= n;
		off = 0;
	}
	return len ? -EINVAL : 0;
}

int emu_vq_read(struct emu_device *d, const struct emu_vq_elem *e, uint32_t off, void *buf, uint32_t len)
{
	return copy_segs(d, e, false, off, buf, len);
}

int emu_vq_write(struct emu_device *d, const struct emu_vq_elem *e, uint32_t off, const void *buf,
		 uint32_t len)
{
	return copy_segs(d, e, true, off, (uint8_t *)buf, len);
}

int emu_vq_check(struct emu_device *d, const struct emu_vq_elem *e, uint32_t off, uint32_t len)
{
	return copy_segs(d, e, false, off, NULL, len);
}

int emu_vq_push(struct emu_device *d, struct emu_vq *q, uint16_t head, uint32_t len)
{
	struct vring_used_elem elem = { htole32(head), htole32(len) };
	uint64_t at = q->used + offsetof(struct vring_used, ring) + sizeof(elem) * (uint64_t)(q->used_idx % q->size);
	int ret = ring_write(d, at, &elem, sizeof(elem));

	if (ret == 0) {
		q->used_idx++;
		q->bytes += len;
	}
	return ret;
}

int emu_vq_flush(struct emu_device *d, struct emu_vq *q)
{
	uint16_t idx = htole16(q->used_idx), flags;
	int ret;

	if (q->used_idx == q->used_published)
		return 0;
	atomic_thread_fence(memory_order_release); /* the entries before the index */
	if ((ret = emu_dma_write(d, q->used + USED_IDX, &idx, 2)) != 0)
		return ret;
	q->used_published = q->used_idx;
	atomic_thread_fence(memory_order_seq_cst);
	if ((ret = emu_dma_read(d, q->avail, &flags, 2)) != 0)
		return ret;
	if (!(le16toh(flags) & VRING_AVAIL_F_NO_INTERRUPT) && q->msix != 0xffff &&
	    emu_device_irq(d, VFIO_PCI_MSIX_IRQ_INDEX, q->msix) == 0)
		q->irqs++;
	return 0;
}
