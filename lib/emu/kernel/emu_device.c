/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * A vfio-pci device shell: a model of drivers/vfio/pci/vfio_pci_core.c as user space
 * sees it (DEVICE_GET_INFO, GET_REGION_INFO with the sparse-mmap capability,
 * GET_IRQ_INFO/SET_IRQS with eventfds, DEVICE_RESET, region pread/pwrite at
 * index << 40, mmap of BARs) in front of a device model. The "none" model is a plain
 * PCI function with three BARs: BAR0 16 KiB fully mmap-able, BAR2 4 KiB 64-bit of
 * registers (region read/write only), BAR4 8 KiB whose first half can be mmap'ed and
 * whose second half holds the MSI-X table (a sparse-mmap region, as on kernels that
 * keep the MSI-X table out of user mappings).
 * Called with the platform lock held, except for the DMA and IRQ helpers.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "emu_internal.h"

#define offsetofend(T, m) (offsetof(T, m) + sizeof(((T *)0)->m))
/* region i at i << shift in the device fd: VFIO_PCI_OFFSET_SHIFT (40) unless configured */
#define REGION_SHIFT (d->plat->cfg.plat.region_shift)
#define MSIX_VECTORS 8

static void put32(uint8_t *c, unsigned int off, uint32_t v) { memcpy(c + off, &v, 4); }
static uint32_t get32(const uint8_t *c, unsigned int off) { uint32_t v; memcpy(&v, c + off, 4); return v; }

/* --- the "none" model --------------------------------------------------------------- */

static int none_init(struct emu_device *d, const char *params, char *err, size_t errlen)
{
	int ret;

	if (params[0]) {
		snprintf(err, errlen, "device %s: model none takes no options (%s)", d->addr, params);
		return -EINVAL;
	}
	d->vendor = 0x1b36;          /* a PCI test function ID: no driver binds it */
	d->device_id = 0x0005;
	d->subsys_vendor = 0x1b36;
	d->subsys_id = 0x0005;
	d->class_code = 0x00ff00;
	if ((ret = emu_pci_bar_alloc(d, 0, 0x4000, false)) != 0 ||
	    (ret = emu_pci_bar_alloc(d, 2, 0x1000, true)) != 0 ||
	    (ret = emu_pci_bar_alloc(d, 4, 0x2000, false)) != 0)
		return ret;
	emu_pci_bar_mmap_area(d, 0, 0, 0x4000);
	emu_pci_bar_mmap_area(d, 4, 0, 0x1000);
	emu_pci_header(d, 1);
	emu_pci_add_msix(d, MSIX_VECTORS, 4, 0x1000, 0x1800);
	return 0;
}

static const struct emu_model_ops none_model = { .name = "none", .init = none_init };

static const struct emu_model_ops *const models[] = { &none_model, &emu_virtio_net_model };

const struct emu_model_ops *emu_model_find(const char *name)
{
	for (size_t i = 0; i < sizeof(models) / sizeof(models[0]); i++)
		if (strcmp(models[i]->name, name) == 0)
			return models[i];
	return NULL;
}

int emu_device_init(struct emu_platform *p, struct emu_device *d, const struct emu_device_cfg *cfg,
		    char *err, size_t errlen)
{
	int ret;

	memset(d, 0, sizeof(*d));
	d->plat = p;
	memcpy(d->addr, cfg->addr, sizeof(d->addr));
	d->numa_node = cfg->numa_node;
	for (int i = 0; i < 6; i++)
		d->bars[i].memfd = -1;
	d->irqs[VFIO_PCI_INTX_IRQ_INDEX].count = 1;
	d->irqs[VFIO_PCI_REQ_IRQ_INDEX].count = 1;
	d->model = emu_model_find(cfg->model);
	if (d->model == NULL) {
		snprintf(err, errlen, "device %s: unknown device model '%s'", d->addr, cfg->model);
		return -EINVAL;
	}
	ret = d->model->init(d, cfg->params, err, errlen);
	if (ret) {
		if (!err[0])
			snprintf(err, errlen, "cannot create emulated device %s: %s", d->addr, strerror(-ret));
		return ret;
	}
	for (int i = 0; i < VFIO_PCI_NUM_IRQS; i++) {
		struct emu_irq_state *s = &d->irqs[i];
		if (s->count == 0)
			continue;
		s->fds = malloc(s->count * sizeof(int));
		s->masked = calloc(s->count, sizeof(bool));
		if (s->fds == NULL || s->masked == NULL)
			return -ENOMEM;
		for (unsigned int v = 0; v < s->count; v++)
			s->fds[v] = -1;
	}
	memcpy(d->config_saved, d->config, sizeof(d->config));
	return 0;
}

void emu_device_fini(struct emu_device *d)
{
	emu_trap_forget_device(d);
	if (d->model && d->model->fini)
		d->model->fini(d);
	for (int i = 0; i < 6; i++) {
		struct emu_bar *b = &d->bars[i];
		if (b->mem)
			munmap(b->mem, b->size);
		if (b->memfd >= 0)
			close(b->memfd);
	}
	for (int i = 0; i < VFIO_PCI_NUM_IRQS; i++) {
		free(d->irqs[i].fds);
		free(d->irqs[i].masked);
	}
}

/* The function-level reset of the model: registers and memory back to power-on. The
 * config space is saved and restored around it, as pci_reset_function() does. */
void emu_device_reset_model(struct emu_device *d)
{
	if (d->model && d->model->reset)
		d->model->reset(d);
	else
		for (int i = 0; i < 6; i++)
			if (d->bars[i].mem)
				memset(d->bars[i].mem, 0, d->bars[i].size);
	d->resets++;
}

static void irqs_disable(struct emu_device *d)
{
	for (int i = 0; i < VFIO_PCI_NUM_IRQS; i++)
		for (unsigned int v = 0; v < d->irqs[i].count; v++) {
			if (d->irqs[i].fds[v] >= 0)
				close(d->irqs[i].fds[v]);
			d->irqs[i].fds[v] = -1;
			d->irqs[i].masked[v] = false;
		}
}

/* vfio_pci_core_close_device(): interrupts off, device reset, container unused. A device
 * without a reset method is still quiesced (the kernel clears bus mastering): the model
 * is reset either way, which only a later open could tell apart. */
void emu_device_release(struct emu_device *d)
{
	d->plat->open_devices--;
	if (--d->open_count)
		return;
	emu_pe_eeh_dev_owner(&d->group->pe); /* eeh_dev_release() */
	irqs_disable(d);
	emu_device_reset_model(d);
	memcpy(d->config, d->config_saved, sizeof(d->config));
	if (d->group->container_users > 1)
		d->group->container_users--;
	emu_group_release(d->group);
}

/* --- ioctls ------------------------------------------------------------------ */

static long get_info(struct emu_device *d, struct vfio_device_info *arg)
{
	struct vfio_device_info info;
	size_t minsz = offsetofend(struct vfio_device_info, num_irqs);

	COPY_FROM_USER(&info, arg, minsz);
	if (info.argsz < minsz)
		return -EINVAL;
	info.flags = VFIO_DEVICE_FLAGS_PCI | (d->no_reset ? 0 : VFIO_DEVICE_FLAGS_RESET);
	info.num_regions = VFIO_PCI_NUM_REGIONS;
	info.num_irqs = VFIO_PCI_NUM_IRQS;
	memcpy(arg, &info, minsz);
	return 0;
}

static bool bar_fully_mappable(const struct emu_bar *b)
{
	return b->nr_mmap == 1 && b->mmap_off[0] == 0 && b->mmap_len[0] == b->size;
}

/* vfio_pci_ioctl_get_region_info() */
static long get_region_info(struct emu_device *d, struct vfio_region_info *arg)
{
	struct vfio_region_info info;
	size_t minsz = offsetofend(struct vfio_region_info, offset);
	/* the capability: a header with a flexible array of areas */
	_Alignas(8) uint8_t capbuf[sizeof(struct vfio_region_info_cap_sparse_mmap) +
				   4 * sizeof(struct vfio_region_sparse_mmap_area)];
	struct vfio_region_info_cap_sparse_mmap *cap = (void *)capbuf;
	size_t capsz = 0;

	COPY_FROM_USER(&info, arg, minsz);
	if (info.argsz < minsz)
		return -EINVAL;
	info.offset = (uint64_t)info.index << REGION_SHIFT;
	info.flags = 0;
	info.size = 0;
	info.cap_offset = 0;
	switch (info.index) {
	case VFIO_PCI_CONFIG_REGION_INDEX:
		info.size = d->config_size;
		info.flags = VFIO_REGION_INFO_FLAG_READ | VFIO_REGION_INFO_FLAG_WRITE;
		break;
	case VFIO_PCI_BAR0_REGION_INDEX ... VFIO_PCI_BAR5_REGION_INDEX: {
		struct emu_bar *b = &d->bars[info.index];
		info.size = b->size;
		if (b->size == 0)
			break;
		info.flags = VFIO_REGION_INFO_FLAG_READ | VFIO_REGION_INFO_FLAG_WRITE;
		if (b->nr_mmap)
			info.flags |= VFIO_REGION_INFO_FLAG_MMAP;
		if (b->nr_mmap && !bar_fully_mappable(b)) {
			memset(capbuf, 0, sizeof(capbuf));
			cap->header.id = VFIO_REGION_INFO_CAP_SPARSE_MMAP;
			cap->header.version = 1;
			cap->nr_areas = b->nr_mmap;
			for (unsigned int i = 0; i < b->nr_mmap; i++) {
				cap->areas[i].offset = b->mmap_off[i];
				cap->areas[i].size = b->mmap_len[i];
			}
			capsz = sizeof(*cap) + b->nr_mmap * sizeof(cap->areas[0]);
		}
		break;
	}
	case VFIO_PCI_ROM_REGION_INDEX:
		break; /* no expansion ROM: size 0, no flags */
	default:
		return -EINVAL; /* VGA (no VGA device) and beyond */
	}
	if (capsz) {
		info.flags |= VFIO_REGION_INFO_FLAG_CAPS;
		if (info.argsz < sizeof(info) + capsz) {
			info.argsz = sizeof(info) + capsz;
		} else {
			memcpy((uint8_t *)arg + sizeof(info), capbuf, capsz);
			info.cap_offset = sizeof(info);
		}
	}
	memcpy(arg, &info, sizeof(info) < info.argsz ? sizeof(info) : info.argsz);
	return 0;
}

/* vfio_pci_ioctl_get_irq_info() */
static long get_irq_info(struct emu_device *d, struct vfio_irq_info *arg)
{
	struct vfio_irq_info info;
	size_t minsz = offsetofend(struct vfio_irq_info, count);

	COPY_FROM_USER(&info, arg, minsz);
	if (info.argsz < minsz || info.index >= VFIO_PCI_NUM_IRQS)
		return -EINVAL;
	if (info.index == VFIO_PCI_ERR_IRQ_INDEX && !d->pcie)
		return -EINVAL; /* not a PCIe function */
	info.flags = VFIO_IRQ_INFO_EVENTFD;
	info.count = d->irqs[info.index].count;
	if (info.index == VFIO_PCI_INTX_IRQ_INDEX)
		info.flags |= VFIO_IRQ_INFO_MASKABLE | VFIO_IRQ_INFO_AUTOMASKED;
	else if (info.index != VFIO_PCI_REQ_IRQ_INDEX)
		info.flags |= VFIO_IRQ_INFO_NORESIZE;
	memcpy(arg, &info, minsz);
	return 0;
}

static void irq_fire(struct emu_device *d, struct emu_irq_state *s, unsigned int v)
{
	uint64_t one = 1;

	if (s->fds[v] >= 0 && !s->masked[v] && write(s->fds[v], &one, sizeof(one)) == sizeof(one))
		EMU_COUNT(d->plat, irqs, 1);
}

/* vfio_set_irqs_validate_and_prepare() + vfio_pci_set_irqs_ioctl() */
static long set_irqs(struct emu_device *d, struct vfio_irq_set *arg)
{
	struct vfio_irq_set hdr;
	size_t minsz = offsetofend(struct vfio_irq_set, count), data_size = 0;
	uint32_t data_type, action;
	struct emu_irq_state *s;

	COPY_FROM_USER(&hdr, arg, minsz);
	if (hdr.argsz < minsz || hdr.index >= VFIO_PCI_NUM_IRQS ||
	    hdr.flags & ~(VFIO_IRQ_SET_DATA_TYPE_MASK | VFIO_IRQ_SET_ACTION_TYPE_MASK))
		return -EINVAL;
	data_type = hdr.flags & VFIO_IRQ_SET_DATA_TYPE_MASK;
	action = hdr.flags & VFIO_IRQ_SET_ACTION_TYPE_MASK;
	if (__builtin_popcount(data_type) != 1 || __builtin_popcount(action) != 1)
		return -EINVAL;
	s = &d->irqs[hdr.index];
	if (s->count == 0 || hdr.start >= s->count || hdr.start + hdr.count > s->count) {
		if (!(hdr.count == 0 && data_type == VFIO_IRQ_SET_DATA_NONE && s->count))
			return -EINVAL;
	}
	if (data_type == VFIO_IRQ_SET_DATA_BOOL)
		data_size = sizeof(uint8_t);
	else if (data_type == VFIO_IRQ_SET_DATA_EVENTFD)
		data_size = sizeof(int32_t);
	if (hdr.argsz - minsz < hdr.count * data_size)
		return -EINVAL;

	const uint8_t *data = (const uint8_t *)arg + minsz;
	if (action == VFIO_IRQ_SET_ACTION_MASK || action == VFIO_IRQ_SET_ACTION_UNMASK) {
		if (hdr.index != VFIO_PCI_INTX_IRQ_INDEX)
			return -ENOTTY; /* only INTx can be masked through VFIO */
		for (uint32_t i = 0; i < hdr.count; i++)
			if (data_type != VFIO_IRQ_SET_DATA_BOOL || data[i])
				s->masked[hdr.start + i] = action == VFIO_IRQ_SET_ACTION_MASK;
		return 0;
	}
	/* TRIGGER */
	if (data_type == VFIO_IRQ_SET_DATA_NONE && hdr.count == 0) {
		for (unsigned int v = 0; v < s->count; v++) {
			if (s->fds[v] >= 0)
				close(s->fds[v]);
			s->fds[v] = -1;
		}
		return 0;
	}
	for (uint32_t i = 0; i < hdr.count; i++) {
		unsigned int v = hdr.start + i;
		if (data_type == VFIO_IRQ_SET_DATA_EVENTFD) {
			int32_t fd;
			memcpy(&fd, data + i * sizeof(fd), sizeof(fd));
			if (s->fds[v] >= 0)
				close(s->fds[v]);
			s->fds[v] = -1;
			if (fd >= 0) {
				s->fds[v] = dup(fd); /* eventfd_ctx_fdget() holds a reference */
				if (s->fds[v] < 0)
					return -EBADF;
			}
		} else if (data_type == VFIO_IRQ_SET_DATA_NONE || data[i]) {
			irq_fire(d, s, v); /* loopback trigger */
		}
	}
	return 0;
}

long emu_device_ioctl(struct emu_device *d, unsigned long req, void *arg)
{
	switch (req) {
	case VFIO_DEVICE_GET_INFO:
		return get_info(d, arg);
	case VFIO_DEVICE_GET_REGION_INFO:
		return get_region_info(d, arg);
	case VFIO_DEVICE_GET_IRQ_INFO:
		return get_irq_info(d, arg);
	case VFIO_DEVICE_SET_IRQS:
		return set_irqs(d, arg);
	case VFIO_DEVICE_RESET:
		if (d->no_reset) /* vfio_pci_core_ioctl_reset(): !reset_works */
			return -EINVAL;
		emu_device_reset_model(d);
		return 0;
	default:
		return -ENOTTY;
	}
}

/* --- region access ----------------------------------------------------------- */

/* Config writes as vfio-pci virtualises them: BAR sizing, command, MSI-X control;
 * IDs and the rest of the header are read-only. */
static void config_write(struct emu_device *d, unsigned int pos, const uint8_t *buf, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		unsigned int off = pos + i;
		if (off >= 0x10 && off < 0x28) {
			unsigned int bar = (off - 0x10) / 4, byte = off % 4;
			uint8_t *reg = &d->config[0x10 + 4 * bar];
			reg[byte] = buf[i];
			if (byte == 3) {
				/* the register is complete: apply the size mask */
				struct emu_bar *b = &d->bars[bar];
				uint32_t v = get32(d->config, 0x10 + 4 * bar);
				if (b->size) {
					v = (v & ~(uint32_t)(b->size - 1) & ~0xfu) | (b->mem64 ? 0x4 : 0);
				} else if (bar > 0 && d->bars[bar - 1].mem64) {
					uint64_t sz = d->bars[bar - 1].size;
					v &= (uint32_t)(~(sz - 1) >> 32);
				} else {
					v = 0;
				}
				put32(d->config, 0x10 + 4 * bar, v);
			}
		} else if (off == 0x04 || off == 0x05 || off == 0x0c || off == 0x0d ||
			   off == 0x3c || (d->msix_cap && off == d->msix_cap + 3)) {
			d->config[off] = buf[i];
		}
	}
}

/* Whether vfio-pci answers configuration byte `pos` from its virtual copy (vconfig)
 * rather than from the device (drivers/vfio/pci/vfio_pci_config.c): the capability
 * pointer and every capability's ID and next pointer, the BARs and the ROM BAR, the
 * interrupt line and pin. */
static bool config_byte_virtual(const struct emu_device *d, unsigned int pos)
{
	if (pos == 0x34 || (pos >= 0x10 && pos < 0x28) || (pos >= 0x30 && pos < 0x34) ||
	    pos == 0x3c || pos == 0x3d)
		return true;
	for (unsigned int cap = d->config[0x34], n = 0; cap && n < 48; cap = d->config[cap + 1], n++)
		if (pos == cap || pos == cap + 1)
			return true;
	return false;
}

/* A frozen PE reads all ones; what vfio-pci virtualizes still reads as it was (a walk
 * of the capability list ends). */
static void frozen_config_read(const struct emu_device *d, uint8_t *buf, size_t count,
			       uint64_t pos)
{
	for (size_t i = 0; i < count; i++)
		buf[i] = config_byte_virtual(d, (unsigned int)(pos + i)) ? d->config[pos + i] : 0xff;
}

ssize_t emu_device_rw(struct emu_device *d, void *buf, size_t count, uint64_t off, bool write)
{
	unsigned int index = off >> REGION_SHIFT;
	uint64_t pos = off & ((1ULL << REGION_SHIFT) - 1);
	bool frozen = atomic_load(&d->group->pe.frozen_mmio);

	if (index == VFIO_PCI_CONFIG_REGION_INDEX) {
		if (pos >= d->config_size)
			return -EINVAL;
		if (count > d->config_size - pos)
			count = d->config_size - pos;
		if (write) {
			if (!frozen)
				config_write(d, pos, buf, count);
		} else if (frozen) {
			frozen_config_read(d, buf, count, pos);
		} else {
			memcpy(buf, d->config + pos, count);
		}
		return count;
	}
	if (index > VFIO_PCI_BAR5_REGION_INDEX || d->bars[index].size == 0)
		return -EINVAL;
	struct emu_bar *b = &d->bars[index];
	if (pos >= b->size)
		return -EINVAL;
	if (count > b->size - pos)
		count = b->size - pos;
	if (frozen) {
		if (!write)
			memset(buf, 0xff, count); /* a frozen PE reads all ones */
		return count;
	}
	if (d->model->bar_access && d->model->bar_access(d, index, pos, buf, count, write))
		return count; /* a register with semantics */
	if (write)
		memcpy(b->mem + pos, buf, count);
	else
		memcpy(buf, b->mem + pos, count);
	return count;
}

ssize_t emu_device_bar_rw(struct emu_device *d, unsigned int bar, uint64_t off, void *buf, size_t count,
			  bool write)
{
	return emu_device_rw(d, buf, count, ((uint64_t)bar << REGION_SHIFT) + off, write);
}

unsigned int emu_device_trap_areas(const struct emu_device *d, unsigned int bar, uint64_t pos, uint64_t len,
				   uint64_t *off, uint64_t *alen, unsigned int max)
{
	const struct emu_bar *b = &d->bars[bar];
	unsigned int n = 0;

	for (unsigned int i = 0; i < b->nr_trap && n < max; i++) {
		uint64_t s = b->trap_off[i] > pos ? b->trap_off[i] : pos;
		uint64_t e = b->trap_off[i] + b->trap_len[i] < pos + len ? b->trap_off[i] + b->trap_len[i] : pos + len;
		if (s < e) {
			off[n] = s;
			alen[n++] = e - s;
		}
	}
	return n;
}

/* The register areas inside [pos, pos+len) of a new mapping m of BAR b trap. */
static int trap_registers(struct emu_device *d, unsigned int bar, uint8_t *m, uint64_t pos, uint64_t len)
{
	uint64_t off[EMU_MAX_TRAP_AREAS], alen[EMU_MAX_TRAP_AREAS];
	unsigned int n = emu_device_trap_areas(d, bar, pos, len, off, alen, EMU_MAX_TRAP_AREAS);

	for (unsigned int i = 0; i < n; i++) {
		int ret = emu_trap_add(d, bar, off[i], m + (off[i] - pos), alen[i]);
		if (ret != 0)
			return ret;
	}
	return 0;
}

/* vfio_pci_core_mmap(): shared mappings of a BAR with the MMAP flag; the model only
 * lets through what lies inside one of its mmap areas. */
int emu_device_mmap_check(struct emu_device *d, size_t len, int flags, uint64_t off, uint64_t *pos_out)
{
	unsigned int index = off >> REGION_SHIFT;
	uint64_t pos = off & ((1ULL << REGION_SHIFT) - 1);
	struct emu_bar *b;

	if (index > VFIO_PCI_BAR5_REGION_INDEX || !(flags & MAP_SHARED))
		return -EINVAL;
	b = &d->bars[index];
	/* mmap offsets are whole kernel pages (64 KiB on ppc64); a BAR smaller than a page,
	 * or an area that ends the BAR, can be mapped up to the page's end (vfio-pci rounds
	 * BAR lengths up to PAGE_SIZE: vfio_pci_probe_mmaps) */
	uint64_t kpage = 1ULL << d->plat->cfg.plat.page_shift;
	uint64_t bar_end = (b->size + kpage - 1) & ~(kpage - 1);
	if (b->size == 0 || b->nr_mmap == 0 || (pos & (kpage - 1)) || pos + len > bar_end || pos + len < pos)
		return -EINVAL;
	for (unsigned int i = 0; i < b->nr_mmap; i++) {
		uint64_t end = b->mmap_off[i] + b->mmap_len[i];
		if (end == b->size)
			end = bar_end;
		if (pos >= b->mmap_off[i] && pos + len <= end) {
			*pos_out = pos;
			return 0;
		}
	}
	return -EINVAL;
}

void *emu_device_mmap(struct emu_device *d, void *addr, size_t len, int prot, int flags,
		      uint64_t off, int *err)
{
	unsigned int index = off >> REGION_SHIFT;
	uint64_t pos;
	void *m;

	*err = emu_device_mmap_check(d, len, flags, off, &pos);
	if (*err)
		return MAP_FAILED;
	m = mmap(addr, len, prot, flags, d->bars[index].memfd, (off_t)pos);
	if (m == MAP_FAILED) {
		*err = -errno;
		return MAP_FAILED;
	}
	*err = trap_registers(d, index, m, pos, len);
	if (*err) {
		emu_trap_forget(m, len);
		munmap(m, len);
		return MAP_FAILED;
	}
	return m;
}

int emu_device_mmio(struct emu_device *d, uint64_t off, uint64_t *val, unsigned int size, bool write)
{
	struct emu_platform *p = d->plat;
	ssize_t n;

	if (size == 0 || size > sizeof(*val))
		return -EINVAL;
	pthread_mutex_lock(&p->lock);
	n = emu_device_rw(d, val, size, off, write);
	pthread_mutex_unlock(&p->lock);
	atomic_fetch_add(write ? &p->mmio_writes : &p->mmio_reads, 1);
	return n == (ssize_t)size ? 0 : n < 0 ? (int)n : -EIO;
}

/* --- for device models ------------------------------------------------------- */

bool emu_device_frozen(const struct emu_device *d)
{
	return atomic_load(&d->group->pe.frozen_dma);
}

int emu_device_irq(struct emu_device *d, unsigned int index, unsigned int vector)
{
	struct emu_irq_state *s;

	if (index >= VFIO_PCI_NUM_IRQS || vector >= d->irqs[index].count)
		return -EINVAL;
	if (emu_device_frozen(d))
		return -EIO;
	s = &d->irqs[index];
	irq_fire(d, s, vector);
	return 0;
}
