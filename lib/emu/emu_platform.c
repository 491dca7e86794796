/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The emulated machine: its PEs (IOMMU groups), devices and the file API through which
 * libc calls reach the VFIO model. One lock serialises the "kernel" side, as the
 * kernel's container and group mutexes would; device DMA only takes the DMA lock.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "emu_internal.h"
#include "emu_wire.h"

static struct emu_platform *current_platform;

struct emu_platform *emu_current(void)
{
	return current_platform;
}

void emu_set_current(struct emu_platform *p)
{
	current_platform = p;
}

/* Once every device exists, each model links to the devices it talks to (a wire to its
 * peer, say). */
static int connect_models(struct emu_platform *p, char *err, size_t errlen)
{
	for (unsigned int i = 0; i < p->ndevices; i++) {
		struct emu_device *d = &p->devices[i];
		int ret = d->model->connect ? d->model->connect(d, err, errlen) : 0;
		if (ret)
			return ret;
	}
	return 0;
}

static uint64_t mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

int emu_platform_create(const struct emu_config *cfg, struct emu_platform **out,
			char *err, size_t errlen)
{
	struct emu_platform *p = calloc(1, sizeof(*p));
	int ret;

	if (p == NULL)
		return -ENOMEM;
	p->cfg = *cfg;
	pthread_mutex_init(&p->lock, NULL);
	/* writers first: device threads hold it for whole bursts, back to back, and a
	 * window change must not wait for them all to pause at once */
	pthread_rwlockattr_t attr;
	pthread_rwlockattr_init(&attr);
	pthread_rwlockattr_setkind_np(&attr, PTHREAD_RWLOCK_PREFER_WRITER_NONRECURSIVE_NP);
	pthread_rwlock_init(&p->dma_lock, &attr);
	pthread_rwlockattr_destroy(&attr);
	p->mm.pid = getpid();
	p->created_ns = mono_ns();
	for (unsigned int i = 0; i < cfg->ndevices; i++) {
		const struct emu_device_cfg *dc = &cfg->dev[i];
		struct emu_group *g = &p->groups[dc->group];

		if (!p->group_exists[dc->group]) {
			p->group_exists[dc->group] = true;
			g->pe.id = dc->group;
			g->pe.plat = p;
			g->pe.default_present = true; /* the kernel's own default window */
			g->pe.eeh_enabled = true;
		}
		p->devices[i].group = g;
		err[0] = '\0';
		ret = emu_device_init(p, &p->devices[i], dc, err, errlen);
		p->devices[i].group = g;
		/* vfio-pci's probe registers the device with VFIO (the group's char device
		 * appears); another kernel driver claims its group's DMA ownership
		 * (iommu_device_use_default_domain): the group is not viable */
		snprintf(p->devices[i].driver, sizeof(p->devices[i].driver), "%s",
			 dc->driver[0] ? dc->driver : "vfio-pci");
		p->devices[i].vfio_bound = strcmp(p->devices[i].driver, "vfio-pci") == 0;
		if (p->devices[i].vfio_bound)
			g->vfio_devices++;
		else if (strcmp(p->devices[i].driver, "none") != 0 && strcmp(p->devices[i].driver, "pci-stub") != 0)
			g->dma_owners++;
		p->ndevices = i + 1;
		if (ret) {
			emu_platform_destroy(p);
			return ret;
		}
	}
	ret = connect_models(p, err, errlen);
	if (ret) {
		emu_platform_destroy(p);
		return ret;
	}
	*out = p;
	return 0;
}

void emu_platform_destroy(struct emu_platform *p)
{
	if (p == NULL)
		return;
	for (unsigned int i = 0; i < p->ndevices; i++)
		emu_device_fini(&p->devices[i]);
	while (p->mm.mem_list) {
		struct emu_mm_mem *m = p->mm.mem_list;
		p->mm.mem_list = m->next;
		free(m);
	}
	pthread_rwlock_destroy(&p->dma_lock);
	pthread_mutex_destroy(&p->lock);
	free(p);
}

struct emu_device *emu_device_find(struct emu_platform *p, const char *addr)
{
	for (unsigned int i = 0; i < p->ndevices; i++)
		if (strcmp(p->devices[i].addr, addr) == 0)
			return &p->devices[i];
	return NULL;
}

void emu_table_bytes_add(struct emu_platform *p, int64_t delta)
{
	p->c.table_bytes += delta;
	if (p->c.table_bytes > p->c.table_peak)
		p->c.table_peak = p->c.table_bytes;
}

/* --- the file API -------------------------------------------------------------- */

bool emu_path_is_vfio(const char *path)
{
	/* "/dev/vfio/" itself is the directory */
	return path != NULL && strncmp(path, "/dev/vfio/", 10) == 0 && path[10] != '\0';
}

static int open_container(struct emu_platform *p, int flags)
{
	struct emu_container *c = calloc(1, sizeof(*c));
	int fd;

	if (c == NULL)
		return -ENOMEM;
	c->plat = p;
	c->refs = 1;
	fd = emu_fd_install(p, EMU_FILE_CONTAINER, c, flags & O_CLOEXEC);
	if (fd < 0) {
		free(c);
		return fd;
	}
	p->open_containers++;
	p->idle_containers++;
	c->idle = true;
	return fd;
}

/* vfio_group_fops_open(): one open at a time. */
static int open_group(struct emu_platform *p, const char *name, int flags)
{
	char *end;
	unsigned long id = strtoul(name, &end, 10);
	struct emu_group *g;
	int fd;

	if (*name == '\0' || *end != '\0' || id >= EMU_MAX_GROUPS || !p->group_exists[id] ||
	    p->groups[id].vfio_devices == 0)
		return -ENOENT;
	g = &p->groups[id];
	if (g->opened)
		return -EBUSY;
	fd = emu_fd_install(p, EMU_FILE_GROUP, g, flags & O_CLOEXEC);
	if (fd < 0)
		return fd;
	g->opened = true;
	g->fd_open = true;
	p->open_groups++;
	return fd;
}

int emu_open(struct emu_platform *p, const char *path, int flags)
{
	const char *name = path + strlen("/dev/vfio/");
	int ret;

	if (!emu_path_is_vfio(path))
		return -ENOENT;
	pthread_mutex_lock(&p->lock);
	if (strcmp(name, "vfio") == 0)
		ret = open_container(p, flags);
	else
		ret = open_group(p, name, flags);
	pthread_mutex_unlock(&p->lock);
	return ret;
}

static enum emu_ioctl_kind ioctl_kind(unsigned long req)
{
	switch (req) {
	case VFIO_GET_API_VERSION: return EMU_IOC_GET_API_VERSION;
	case VFIO_CHECK_EXTENSION: return EMU_IOC_CHECK_EXTENSION;
	case VFIO_SET_IOMMU: return EMU_IOC_SET_IOMMU;
	case VFIO_IOMMU_SPAPR_TCE_GET_INFO: return EMU_IOC_GET_INFO;
	case VFIO_IOMMU_MAP_DMA: return EMU_IOC_MAP_DMA;
	case VFIO_IOMMU_UNMAP_DMA: return EMU_IOC_UNMAP_DMA;
	case VFIO_IOMMU_ENABLE: return EMU_IOC_ENABLE;
	case VFIO_IOMMU_DISABLE: return EMU_IOC_DISABLE;
	case VFIO_IOMMU_SPAPR_REGISTER_MEMORY: return EMU_IOC_REGISTER;
	case VFIO_IOMMU_SPAPR_UNREGISTER_MEMORY: return EMU_IOC_UNREGISTER;
	case VFIO_IOMMU_SPAPR_TCE_CREATE: return EMU_IOC_TCE_CREATE;
	case VFIO_IOMMU_SPAPR_TCE_REMOVE: return EMU_IOC_TCE_REMOVE;
	case VFIO_EEH_PE_OP: return EMU_IOC_EEH_PE_OP;
	default: return EMU_IOC_OTHER;
	}
}

static enum emu_ioctl_kind group_ioctl_kind(unsigned long req)
{
	switch (req) {
	case VFIO_GROUP_GET_STATUS: return EMU_IOC_GROUP_GET_STATUS;
	case VFIO_GROUP_SET_CONTAINER: return EMU_IOC_GROUP_SET_CONTAINER;
	case VFIO_GROUP_UNSET_CONTAINER: return EMU_IOC_GROUP_UNSET_CONTAINER;
	case VFIO_GROUP_GET_DEVICE_FD: return EMU_IOC_GROUP_GET_DEVICE_FD;
	default: return EMU_IOC_OTHER;
	}
}

static enum emu_ioctl_kind device_ioctl_kind(unsigned long req)
{
	switch (req) {
	case VFIO_DEVICE_GET_INFO: return EMU_IOC_DEVICE_GET_INFO;
	case VFIO_DEVICE_GET_REGION_INFO: return EMU_IOC_DEVICE_GET_REGION_INFO;
	case VFIO_DEVICE_GET_IRQ_INFO: return EMU_IOC_DEVICE_GET_IRQ_INFO;
	case VFIO_DEVICE_SET_IRQS: return EMU_IOC_DEVICE_SET_IRQS;
	case VFIO_DEVICE_RESET: return EMU_IOC_DEVICE_RESET;
	default: return EMU_IOC_OTHER;
	}
}

/* When the program started using VFIO, when it last set up DMA, and the time the
 * set-up calls took in the kernel model: mapping time as the program saw it. */
static void note_timing(struct emu_platform *p, enum emu_ioctl_kind kind, long ret, uint64_t t0)
{
	uint64_t t1 = mono_ns();

	if (p->first_ioctl_ns == 0)
		p->first_ioctl_ns = t0;
	switch (kind) {
	case EMU_IOC_MAP_DMA: case EMU_IOC_REGISTER: case EMU_IOC_TCE_CREATE: case EMU_IOC_ENABLE:
	case EMU_IOC_UNMAP_DMA: case EMU_IOC_UNREGISTER: case EMU_IOC_TCE_REMOVE: case EMU_IOC_DISABLE:
		p->setup_ioctl_ns += t1 - t0;
		if (ret >= 0 && kind != EMU_IOC_UNMAP_DMA && kind != EMU_IOC_UNREGISTER &&
		    kind != EMU_IOC_TCE_REMOVE && kind != EMU_IOC_DISABLE)
			p->last_map_ns = t1;
		break;
	default:
		break;
	}
}

long emu_ioctl(int fd, unsigned long req, void *arg)
{
	struct emu_file *f = emu_fd_get(fd);
	enum emu_ioctl_kind kind;
	uint64_t t0 = mono_ns();
	long ret;

	if (f == NULL)
		return -EBADF;
	if (f->kind == EMU_FILE_REMOTE) /* counted where the file is */
		return emu_remote_ioctl(f, fd, req, arg);
	pthread_mutex_lock(&f->plat->lock);
	__atomic_add_fetch(&f->plat->activity_gen, 1, __ATOMIC_RELEASE);
	switch (f->kind) {
	case EMU_FILE_CONTAINER:
		kind = ioctl_kind(req);
		ret = emu_container_ioctl(f->container, req, arg);
		break;
	case EMU_FILE_GROUP:
		kind = group_ioctl_kind(req);
		ret = emu_group_ioctl(f->group, req, arg);
		break;
	default:
		kind = device_ioctl_kind(req);
		ret = emu_device_ioctl(f->device, req, arg);
		break;
	}
	f->plat->c.ioctls[kind]++;
	if (ret < 0)
		f->plat->c.ioctl_errors++;
	note_timing(f->plat, kind, ret, t0);
	pthread_mutex_unlock(&f->plat->lock);
	return ret;
}

/* The file's release (vfio_fops_release, vfio_group_fops_release, the device's) runs when
 * its last fd closes, as the kernel releases a struct file at its last fput(). */
static void release_file(struct emu_file *f)
{
	switch (f->kind) {
	case EMU_FILE_CONTAINER:
		emu_container_put(f->container);
		break;
	case EMU_FILE_GROUP:
		f->group->fd_open = false;
		emu_group_release(f->group);
		break;
	case EMU_FILE_DEVICE:
		emu_device_release(f->device);
		break;
	case EMU_FILE_REMOTE:
		break; /* its process releases it when the last holder anywhere closes it */
	}
}

int emu_close(int fd)
{
	struct emu_file *f = emu_fd_get(fd);
	struct emu_file copy;
	struct emu_platform *p;

	if (f == NULL)
		return -EBADF;
	p = f->plat;
	pthread_mutex_lock(&p->lock);
	__atomic_add_fetch(&p->activity_gen, 1, __ATOMIC_RELEASE);
	copy = *f;
	if (emu_fd_remove(fd))
		release_file(&copy);
	pthread_mutex_unlock(&p->lock);
	return close(fd) == 0 ? 0 : -errno;
}

int emu_dup(int oldfd, int newfd, int minfd, bool cloexec)
{
	struct emu_file *f = emu_fd_get(oldfd);
	struct emu_platform *p;
	int fd;

	if (f == NULL)
		return -EBADF;
	if (newfd == oldfd)
		return newfd; /* dup2 onto itself: nothing happens */
	if (newfd >= 0 && emu_fd_is_ours(newfd))
		emu_close(newfd); /* dup2 closes the fd it replaces first */
	p = f->plat;
	pthread_mutex_lock(&p->lock);
	/* system calls, not libc: the preload shim interposes dup3 and fcntl themselves */
	if (newfd >= 0)
		fd = (int)syscall(SYS_dup3, oldfd, newfd, cloexec ? O_CLOEXEC : 0);
	else
		fd = (int)syscall(SYS_fcntl, oldfd, cloexec ? F_DUPFD_CLOEXEC : F_DUPFD, minfd);
	if (fd < 0) {
		fd = -errno;
	} else if (emu_fd_dup(f, fd) < 0) {
		close(fd);
		fd = -EMFILE;
	}
	pthread_mutex_unlock(&p->lock);
	return fd;
}

static ssize_t device_rw(int fd, void *buf, size_t count, off_t offset, bool write)
{
	struct emu_file *f = emu_fd_get(fd);
	ssize_t ret;

	if (f == NULL)
		return -EBADF;
	if (f->kind == EMU_FILE_REMOTE && f->peer_kind == EMU_FILE_DEVICE && offset >= 0)
		return emu_remote_rw(fd, buf, count, offset, write);
	if (f->kind != EMU_FILE_DEVICE || offset < 0)
		return -EINVAL;
	pthread_mutex_lock(&f->plat->lock);
	ret = emu_device_rw(f->device, buf, count, (uint64_t)offset, write);
	pthread_mutex_unlock(&f->plat->lock);
	return ret;
}

ssize_t emu_pread(int fd, void *buf, size_t count, off_t offset)
{
	return device_rw(fd, buf, count, offset, false);
}

ssize_t emu_pwrite(int fd, const void *buf, size_t count, off_t offset)
{
	return device_rw(fd, (void *)buf, count, offset, true);
}

void *emu_mmap(void *addr, size_t len, int prot, int flags, int fd, off_t offset, int *err)
{
	struct emu_file *f = emu_fd_get(fd);
	void *m;

	if (f != NULL && f->kind == EMU_FILE_REMOTE && f->peer_kind == EMU_FILE_DEVICE && offset >= 0)
		return emu_remote_mmap(fd, addr, len, prot, flags, offset, err);
	if (f == NULL || f->kind != EMU_FILE_DEVICE || offset < 0) {
		*err = f == NULL ? -EBADF : -ENODEV;
		return MAP_FAILED;
	}
	pthread_mutex_lock(&f->plat->lock);
	m = emu_device_mmap(f->device, addr, len, prot, flags, (uint64_t)offset, err);
	pthread_mutex_unlock(&f->plat->lock);
	return m;
}

void emu_get_counters(struct emu_platform *p, struct emu_counters *c)
{
	pthread_mutex_lock(&p->lock);
	*c = p->c;
	pthread_mutex_unlock(&p->lock);
	c->mmio_reads = atomic_load(&p->mmio_reads);
	c->mmio_writes = atomic_load(&p->mmio_writes);
	c->mmio_ns = atomic_load(&p->mmio_ns);
}

/* The sample, the platform's lock held. */
static void iommu_activity(const struct emu_platform *p, struct emu_iommu_activity *a)
{
	static const enum emu_ioctl_kind map_kinds[] = {
		EMU_IOC_MAP_DMA, EMU_IOC_UNMAP_DMA, EMU_IOC_REGISTER, EMU_IOC_UNREGISTER,
		EMU_IOC_TCE_CREATE, EMU_IOC_TCE_REMOVE,
	};

	a->ioctls = a->map_ioctls = 0;
	for (size_t i = 0; i < sizeof(p->c.ioctls) / sizeof(p->c.ioctls[0]); i++)
		a->ioctls += p->c.ioctls[i];
	for (size_t i = 0; i < sizeof(map_kinds) / sizeof(map_kinds[0]); i++)
		a->map_ioctls += p->c.ioctls[map_kinds[i]];
	a->hypercalls = emu_hypercalls(&p->c);
	a->tces = p->c.tces_mapped + p->c.tces_cleared + p->c.tces_stuffed;
}

void emu_get_iommu_activity(struct emu_platform *p, struct emu_iommu_activity *a)
{
	pthread_mutex_lock(&p->lock);
	iommu_activity(p, a);
	pthread_mutex_unlock(&p->lock);
}

bool emu_try_get_iommu_activity(struct emu_platform *p, struct emu_iommu_activity *a)
{
	if (pthread_mutex_trylock(&p->lock) != 0)
		return false;
	iommu_activity(p, a);
	pthread_mutex_unlock(&p->lock);
	return true;
}

uint64_t emu_iommu_activity_gen(struct emu_platform *p)
{
	return __atomic_load_n(&p->activity_gen, __ATOMIC_ACQUIRE);
}

uint64_t emu_hypercalls(const struct emu_counters *c)
{
	return c->h_get_tce + c->h_put_tce + c->h_put_tce_indirect + c->h_stuff_tce;
}
