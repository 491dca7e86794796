/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The virtio modern PCI transport (virtio 1.x, 4.1), from the driver side, through the
 * spapr bus: capabilities in config space, the common configuration and the device
 * configuration with region reads and writes, doorbells in the mmap'ed notify area.
 * Feature negotiation, queue programming, ring memory and the control queue.
 */
#include <errno.h>
#include <linux/pci_regs.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <linux/vfio.h>
#include <rte_cycles.h>
#include <rte_io.h>

#include "spapr_virtio.h"

/* offsets in struct virtio_pci_common_cfg */
#define C_DFSELECT offsetof(struct virtio_pci_common_cfg, device_feature_select)
#define C_DF offsetof(struct virtio_pci_common_cfg, device_feature)
#define C_GFSELECT offsetof(struct virtio_pci_common_cfg, guest_feature_select)
#define C_GF offsetof(struct virtio_pci_common_cfg, guest_feature)
#define C_STATUS offsetof(struct virtio_pci_common_cfg, device_status)
#define C_Q_SELECT offsetof(struct virtio_pci_common_cfg, queue_select)
#define C_Q_SIZE offsetof(struct virtio_pci_common_cfg, queue_size)
#define C_Q_MSIX offsetof(struct virtio_pci_common_cfg, queue_msix_vector)
#define C_Q_ENABLE offsetof(struct virtio_pci_common_cfg, queue_enable)
#define C_Q_NOFF offsetof(struct virtio_pci_common_cfg, queue_notify_off)
#define C_Q_DESC offsetof(struct virtio_pci_common_cfg, queue_desc_lo)
#define C_Q_AVAIL offsetof(struct virtio_pci_common_cfg, queue_avail_lo)
#define C_Q_USED offsetof(struct virtio_pci_common_cfg, queue_used_lo)

#define S_ACK VIRTIO_CONFIG_S_ACKNOWLEDGE
#define S_DRIVER VIRTIO_CONFIG_S_DRIVER
#define S_DRIVER_OK VIRTIO_CONFIG_S_DRIVER_OK
#define S_FEATURES_OK VIRTIO_CONFIG_S_FEATURES_OK

/* what this driver asks for; VERSION_1 and ACCESS_PLATFORM are required */
#define WANTED (VBIT(VIRTIO_F_VERSION_1) | VBIT(VIRTIO_F_ACCESS_PLATFORM) | VBIT(VIRTIO_NET_F_MAC) | VBIT(VIRTIO_NET_F_STATUS) | \
		VBIT(VIRTIO_NET_F_MTU) | VBIT(VIRTIO_NET_F_MRG_RXBUF) | VBIT(VIRTIO_NET_F_CTRL_VQ) | VBIT(VIRTIO_NET_F_CTRL_RX) | VBIT(VIRTIO_NET_F_MQ) | \
		VBIT(VIRTIO_NET_F_SPEED_DUPLEX) | VBIT(VIRTIO_NET_F_CSUM) | VBIT(VIRTIO_NET_F_GUEST_CSUM))

static int cw(struct svnet *v, uint64_t off, const void *buf, size_t len)
{
	ssize_t n = rte_spapr_region_write(v->dev, v->common_bar, buf, len, v->common_off + off);
	return n == (ssize_t)len ? 0 : -EIO;
}

static int cr(struct svnet *v, uint64_t off, void *buf, size_t len)
{
	ssize_t n = rte_spapr_region_read(v->dev, v->common_bar, buf, len, v->common_off + off);
	return n == (ssize_t)len ? 0 : -EIO;
}

static int cw16(struct svnet *v, uint64_t off, uint16_t x) { x = rte_cpu_to_le_16(x); return cw(v, off, &x, 2); }
static int cw32(struct svnet *v, uint64_t off, uint32_t x) { x = rte_cpu_to_le_32(x); return cw(v, off, &x, 4); }
static int cw64(struct svnet *v, uint64_t off, uint64_t x)
{
	return cw32(v, off, (uint32_t)x) || cw32(v, off + 4, (uint32_t)(x >> 32)) ? -EIO : 0;
}

int svnet_set_status(struct svnet *v, uint8_t status)
{
	return cw(v, C_STATUS, &status, 1);
}

uint8_t svnet_get_status(struct svnet *v)
{
	uint8_t s = 0xff;

	cr(v, C_STATUS, &s, 1);
	return s;
}

/* 4.1.4.3.1: after writing 0 the driver waits for the status to read 0; only then has
 * the device let go of the rings (100 ms, then the device is taken as gone). */
int svnet_reset(struct svnet *v)
{
	uint64_t deadline = rte_get_timer_cycles() + rte_get_timer_hz() / 10;

	uint8_t status;

	if (svnet_set_status(v, 0) != 0)
		return -EIO;
	while ((status = svnet_get_status(v)) != 0) {
		if (status == 0xff) /* all ones: the PE is frozen (EEH), nothing answers */
			return -EIO;
		if (rte_get_timer_cycles() > deadline)
			return -ETIMEDOUT;
		rte_delay_us_sleep(100);
	}
	return 0;
}

int svnet_devcfg_read(struct svnet *v, uint64_t off, void *buf, size_t len)
{
	ssize_t n = rte_spapr_region_read(v->dev, v->devcfg_bar, buf, len, v->devcfg_off + off);
	return n == (ssize_t)len ? 0 : -EIO;
}

/* A frozen PE reads all ones (EEH): the port reports it instead of hanging. */
bool svnet_check_frozen(struct svnet *v)
{
	uint32_t id = 0;

	if (rte_spapr_region_read(v->dev, VFIO_PCI_CONFIG_REGION_INDEX, &id, 4, 0) == 4 && id != 0xffffffff)
		return false;
	if (!v->frozen) {
		v->frozen = true;
		v->eeh_events++;
		SVNET_LOG(ERR, "%s: the device's PE is frozen (EEH): link down; %s", v->dev->name,
			  rte_spapr_eeh_available(v->dev) ? "recovering it" :
			  "no EEH recovery through VFIO on this platform (pSeries guest): restart the application");
	}
	return true;
}

/* 4.1.4: vendor capabilities give each structure's BAR and offset. */
int svnet_find_caps(struct svnet *v)
{
	uint8_t cfg[256];
	int found = 0;

	if (rte_spapr_region_read(v->dev, VFIO_PCI_CONFIG_REGION_INDEX, cfg, sizeof(cfg), 0) != sizeof(cfg))
		return -EIO;
	for (uint8_t p = cfg[PCI_CAPABILITY_LIST] & ~3u, hops = 0; p && hops < 48;
	     p = cfg[p + PCI_CAP_LIST_NEXT] & ~3u, hops++) {
		struct virtio_pci_notify_cap cap = { 0 };

		if (cfg[p] != PCI_CAP_ID_VNDR || p > sizeof(cfg) - sizeof(cap.cap))
			continue;
		memcpy(&cap, cfg + p, RTE_MIN(sizeof(cap), sizeof(cfg) - p));
		uint32_t off = rte_le_to_cpu_32(cap.cap.offset);
		switch (cap.cap.cfg_type) {
		case VIRTIO_PCI_CAP_COMMON_CFG:
			v->common_bar = cap.cap.bar;
			v->common_off = off;
			found |= 1;
			break;
		case VIRTIO_PCI_CAP_NOTIFY_CFG:
			v->notify_bar = cap.cap.bar;
			v->notify_off = off;
			v->notify_mult = rte_le_to_cpu_32(cap.notify_off_multiplier);
			found |= 2;
			break;
		case VIRTIO_PCI_CAP_DEVICE_CFG:
			v->devcfg_bar = cap.cap.bar;
			v->devcfg_off = off;
			found |= 4;
			break;
		}
	}
	if (found != 7) {
		SVNET_LOG(ERR, "%s: not a virtio 1.x modern device (capabilities missing)", v->dev->name);
		return -ENODEV;
	}
	/* doorbells: plain memory where the region allows a mapping; mappings start at a
	 * page of the kernel's size (64 KiB on POWER): map the page holding the doorbells */
	size_t page = (size_t)sysconf(_SC_PAGESIZE);
	v->notify_map_off = v->notify_off & ~(uint64_t)(page - 1);
	v->notify_map_len = page;
	svnet_map_doorbells(v, v->dev);
	return 0;
}

struct svnet_local svnet_local[RTE_MAX_ETHPORTS];

void svnet_map_doorbells(struct svnet *v, struct rte_spapr_device *dev)
{
	struct svnet_local *l = &svnet_local[v->port_id];

	l->dev = dev;
	l->notify_map = rte_spapr_region_map(dev, v->notify_bar, v->notify_map_off, v->notify_map_len);
	if (l->notify_map == NULL)
		SVNET_LOG(INFO, "%s: notify area not mappable: doorbells through region writes", dev->name);
}

void svnet_unmap_doorbells(struct svnet *v)
{
	struct svnet_local *l = &svnet_local[v->port_id];

	if (l->notify_map)
		munmap(l->notify_map, v->notify_map_len);
	*l = (struct svnet_local){ 0 };
}

/* 3.1.1: reset, ACKNOWLEDGE, DRIVER, features, FEATURES_OK. */
int svnet_negotiate(struct svnet *v)
{
	uint32_t lo = 0, hi = 0;
	uint64_t offered;

	if (svnet_reset(v) != 0)
		return -EIO;
	svnet_set_status(v, S_ACK);
	svnet_set_status(v, S_ACK | S_DRIVER);
	if (cw32(v, C_DFSELECT, 0) || cr(v, C_DF, &lo, 4) || cw32(v, C_DFSELECT, 1) || cr(v, C_DF, &hi, 4))
		return -EIO;
	offered = (uint64_t)rte_le_to_cpu_32(hi) << 32 | rte_le_to_cpu_32(lo);
	if ((offered & (VBIT(VIRTIO_F_VERSION_1) | VBIT(VIRTIO_F_ACCESS_PLATFORM))) !=
	    (VBIT(VIRTIO_F_VERSION_1) | VBIT(VIRTIO_F_ACCESS_PLATFORM))) {
		SVNET_LOG(ERR, "%s: the device lacks VERSION_1 or ACCESS_PLATFORM (features 0x%" PRIx64 ")",
			  v->dev->name, offered);
		return -ENOTSUP;
	}
	v->features = offered & WANTED;
	if (!(v->features & VBIT(VIRTIO_NET_F_CTRL_VQ)))
		v->features &= ~(VBIT(VIRTIO_NET_F_MQ) | VBIT(VIRTIO_NET_F_CTRL_RX));
	if (cw32(v, C_GFSELECT, 0) || cw32(v, C_GF, (uint32_t)v->features) ||
	    cw32(v, C_GFSELECT, 1) || cw32(v, C_GF, (uint32_t)(v->features >> 32)))
		return -EIO;
	svnet_set_status(v, S_ACK | S_DRIVER | S_FEATURES_OK);
	if (!(svnet_get_status(v) & S_FEATURES_OK)) {
		SVNET_LOG(ERR, "%s: the device refused features 0x%" PRIx64, v->dev->name, v->features);
		return -ENOTSUP;
	}
	return 0;
}

int svnet_driver_ok(struct svnet *v)
{
	return svnet_set_status(v, S_ACK | S_DRIVER | S_FEATURES_OK | S_DRIVER_OK);
}

/* --- rings ----------------------------------------------------------------------------- */

/* descriptors, the available ring (with used_event) and, on its own page, the used ring
 * (with avail_event) */
static size_t ring_bytes(uint16_t size, size_t *avail_off, size_t *used_off)
{
	*avail_off = sizeof(struct vring_desc) * size;
	*used_off = RTE_ALIGN_CEIL(*avail_off + sizeof(struct vring_avail) + sizeof(__virtio16) * (size + 1u), 4096);
	return *used_off + RTE_ALIGN_CEIL(sizeof(struct vring_used) + sizeof(struct vring_used_elem) * size +
					  sizeof(__virtio16), 4096);
}

int svnet_ring_alloc(struct svnet *v, struct svq *q, const char *name, uint16_t size, int socket)
{
	size_t avail_off, used_off, bytes = ring_bytes(size, &avail_off, &used_off);

	memset(q, 0, sizeof(*q));
	q->mz = rte_memzone_reserve_aligned(name, bytes, socket, RTE_MEMZONE_IOVA_CONTIG, 4096);
	if (q->mz == NULL)
		return -ENOMEM;
	memset(q->mz->addr, 0, bytes);
	q->size = size;
	q->mask = size - 1;
	q->desc = q->mz->addr;
	q->avail = (volatile struct vring_avail *)((uint8_t *)q->mz->addr + avail_off);
	q->used = (volatile struct vring_used *)((uint8_t *)q->mz->addr + used_off);
	q->desc_iova = q->mz->iova;
	q->avail_iova = q->mz->iova + avail_off;
	q->used_iova = q->mz->iova + used_off;
	q->owner = v;
	return 0;
}

void svnet_ring_free(struct svq *q)
{
	rte_memzone_free(q->mz);
	q->mz = NULL;
}

/* The largest ring the device takes on queue `index` (0: unreadable). */
uint16_t svnet_queue_max(struct svnet *v, uint16_t index)
{
	uint16_t max = 0;

	if (cw16(v, C_Q_SELECT, index) || cr(v, C_Q_SIZE, &max, 2))
		return 0;
	return rte_le_to_cpu_16(max);
}

/* 4.1.4.3: select, size, vector (q->msix; 0xffff: none, we poll), the three areas,
 * enable. A vector the device cannot use reads back as none (4.1.5.1.2). */
int svnet_queue_program(struct svnet *v, struct svq *q, uint16_t index, uint16_t size)
{
	uint16_t max = 0, noff = 0;

	q->index = index;
	q->avail_idx = q->used_cons = 0;
	q->broken = false;
	if (cw16(v, C_Q_SELECT, index) || cr(v, C_Q_SIZE, &max, 2))
		return -EIO;
	if (rte_le_to_cpu_16(max) < size) {
		SVNET_LOG(ERR, "%s: queue %u: ring of %u descriptors, the device takes %u at most",
			  v->dev->name, index, size, rte_le_to_cpu_16(max));
		return -EINVAL;
	}
	uint16_t vec = 0;
	if (cw16(v, C_Q_SIZE, size) || cw16(v, C_Q_MSIX, q->msix) || cr(v, C_Q_MSIX, &vec, 2) ||
	    cw64(v, C_Q_DESC, q->desc_iova) || cw64(v, C_Q_AVAIL, q->avail_iova) || cw64(v, C_Q_USED, q->used_iova) ||
	    cr(v, C_Q_NOFF, &noff, 2))
		return -EIO;
	if (rte_le_to_cpu_16(vec) != q->msix) {
		SVNET_LOG(ERR, "%s: queue %u: the device takes no MSI-X vector %u (it says %u)", v->dev->name, index,
			  q->msix, rte_le_to_cpu_16(vec));
		return -ENOTSUP;
	}
	uint64_t bell = v->notify_off + (uint64_t)rte_le_to_cpu_16(noff) * v->notify_mult;
	q->doorbell_off = bell - v->notify_map_off < v->notify_map_len ? (uint32_t)(bell - v->notify_map_off)
									  : SVNET_NO_DOORBELL;
	return cw16(v, C_Q_ENABLE, 1);
}

/* Through this process's mapping: a secondary's differs from the primary's. */
void svnet_kick(struct svq *q)
{
	const struct svnet_local *l = &svnet_local[q->owner->port_id];
	uint16_t idx = rte_cpu_to_le_16(q->index);

	if (likely(l->notify_map != NULL && q->doorbell_off != SVNET_NO_DOORBELL))
		rte_write16(idx, l->notify_map + q->doorbell_off);
	else
		rte_spapr_region_write(l->dev, q->owner->notify_bar, &idx, 2,
				       q->owner->notify_off + (uint64_t)q->index * q->owner->notify_mult);
}

/* One control command, waited for (5.1.6.5): class, command, data; the device's ack. */
int svnet_ctrl(struct svnet *v, uint8_t class, uint8_t cmd, const void *data, size_t len)
{
	struct svq *q = &v->ctrl;
	uint8_t *buf = v->ctrl_buf->addr;
	uint64_t iova = v->ctrl_buf->iova;
	uint64_t deadline = rte_get_timer_cycles() + rte_get_timer_hz();

	if (!(v->features & VBIT(VIRTIO_NET_F_CTRL_VQ)) || q->mz == NULL || len > 64)
		return -ENOTSUP;
	buf[0] = class;
	buf[1] = cmd;
	memcpy(buf + 2, data, len);
	buf[128] = 0xff;
	q->desc[0] = (struct vring_desc){ rte_cpu_to_le_64(iova), rte_cpu_to_le_32(2 + len),
					  rte_cpu_to_le_16(VRING_DESC_F_NEXT), rte_cpu_to_le_16(1) };
	q->desc[1] = (struct vring_desc){ rte_cpu_to_le_64(iova + 128), rte_cpu_to_le_32(1),
					  rte_cpu_to_le_16(VRING_DESC_F_WRITE), 0 };
	q->avail->ring[q->avail_idx & q->mask] = 0;
	rte_io_wmb();
	q->avail->idx = rte_cpu_to_le_16(++q->avail_idx);
	svnet_kick(q);
	while (rte_le_to_cpu_16(q->used->idx) == q->used_cons) {
		if (rte_get_timer_cycles() > deadline || svnet_check_frozen(v)) {
			SVNET_LOG(ERR, "%s: control command %u.%u got no answer", v->dev->name, class, cmd);
			return -ETIMEDOUT;
		}
		rte_pause();
	}
	rte_io_rmb();
	q->used_cons++;
	return buf[128] == 0 ? 0 : -EIO;
}
