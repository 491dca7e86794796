/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * EEH through VFIO_EEH_PE_OP (PowerNV; pSeries guests answer ENODEV): read the PE
 * state, thaw it, reset it, and replay the mappings afterwards so that a device
 * restarted after recovery finds every IOVA where it was.
 */
#include <errno.h>
#include <string.h>

#include "tce_internal.h"

static long pe_op(struct tce_container *c, uint32_t op)
{
	struct vfio_eeh_pe_op o = { .argsz = sizeof(o), .op = op };
	long ret = tce_ioctl(c, VFIO_EEH_PE_OP, &o);

	if (ret < 0)
		tce_log(TCE_LOG_ERR, "EEH operation %u failed: %s%s", op, strerror((int)-ret),
			ret == -ENODEV ? " (no EEH through VFIO on this platform: pSeries guests)" : "");
	return ret;
}

int tce_eeh_state(struct tce_container *c)
{
	return (int)pe_op(c, VFIO_EEH_PE_GET_STATE);
}

int tce_eeh_unfreeze(struct tce_container *c)
{
	long ret = pe_op(c, VFIO_EEH_PE_UNFREEZE_IO);

	return (int)(ret ? ret : pe_op(c, VFIO_EEH_PE_UNFREEZE_DMA));
}

int tce_eeh_reset(struct tce_container *c)
{
	static const uint32_t steps[] = { VFIO_EEH_PE_RESET_HOT, VFIO_EEH_PE_RESET_DEACTIVATE,
					  VFIO_EEH_PE_CONFIGURE };

	for (size_t i = 0; i < sizeof(steps) / sizeof(steps[0]); i++) {
		long ret = pe_op(c, steps[i]);
		if (ret)
			return (int)ret;
	}
	return 0;
}

/* Write every TCE again (a MAP over valid entries replaces them). */
int tce_eeh_replay(struct tce_container *c)
{
	for (unsigned int i = 0; i < c->nmaps; i++) {
		const struct tce_mapping *m = &c->maps[i];
		struct vfio_iommu_type1_dma_map map = {
			.argsz = sizeof(map), .vaddr = m->va, .iova = m->iova, .size = m->len,
			.flags = VFIO_DMA_MAP_FLAG_READ | VFIO_DMA_MAP_FLAG_WRITE };
		long ret = tce_ioctl(c, VFIO_IOMMU_MAP_DMA, &map);
		if (ret) {
			tce_log(TCE_LOG_ERR, "replaying the mapping of IOVA 0x%llx failed: %s",
				(unsigned long long)m->iova, strerror((int)-ret));
			return ret > 0 ? -EINVAL : (int)ret;
		}
	}
	return 0;
}
