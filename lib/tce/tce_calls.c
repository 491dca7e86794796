/* SPDX-License-Identifier: BSD-3-Clause */
/* A container's calls into the kernel, counted by kind for tce_get_stats(). */
#include "tce_internal.h"

long tce_ioctl(struct tce_container *c, unsigned long req, void *arg)
{
	c->st.ioctls++;
	switch (req) {
	case VFIO_IOMMU_MAP_DMA:
	case VFIO_IOMMU_UNMAP_DMA:
		c->st.ioctl_maps++;
		break;
	case VFIO_IOMMU_SPAPR_REGISTER_MEMORY:
	case VFIO_IOMMU_SPAPR_UNREGISTER_MEMORY:
		c->st.ioctl_registers++;
		break;
	case VFIO_IOMMU_SPAPR_TCE_CREATE:
	case VFIO_IOMMU_SPAPR_TCE_REMOVE:
		c->st.ioctl_windows++;
		break;
	}
	return tce_sys_ioctl(c->fd, req, arg);
}
