/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The emulated POWER platform: a model of the Linux kernel's VFIO sPAPR TCE IOMMU
 * driver, the VFIO container/group/device uAPI, a pSeries (or PowerNV) hypervisor with
 * real TCE tables, EEH, and vfio-pci device shells.
 *
 * The API is fd-based, like the kernel's: emu_open() hands out real file descriptors
 * (eventfds) that the model recognises, so that the LD_PRELOAD shim only forwards libc
 * calls, and unit tests drive exactly the code that an unmodified program reaches.
 * Every call returns a negative errno on failure, as the kernel does.
 */
#ifndef SPAPR_EMU_H
#define SPAPR_EMU_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>

#define EMU_MAX_DEVICES 64
#define EMU_ADDR_LEN 16 /* "dddd:bb:dd.f" + NUL */

enum emu_hv_kind {
	EMU_HV_PSERIES, /* guest under PowerVM/KVM: TCEs through hypercalls */
	EMU_HV_POWERNV, /* bare metal: TCE tables in memory, OPAL kill */
};

/* What a platform offers; the presets fill it, options override single fields. */
struct emu_platform_cfg {
	char name[32];
	enum emu_hv_kind hv;
	uint32_t tce32_start;      /* default 32-bit window */
	uint32_t tce32_size;
	uint64_t pgsizes;          /* ddw.pgsizes: IOMMU page sizes for dynamic windows */
	uint32_t max_dyn_windows;  /* reported max_dynamic_windows_supported (0: v1 only) */
	uint32_t ddw_creatable;    /* dynamic windows the hypervisor really grants */
	uint32_t max_levels;       /* reported ddw.levels */
	uint64_t ddw_start;        /* bus address of dynamic windows */
	uint64_t ddw_max_tces;     /* largest_available_block of the DDW query (pSeries) */
	bool eeh;                  /* VFIO_EEH extension and EEH_PE_OP available */
	unsigned int phb;          /* PowerNV PHB model: 4 (POWER9: TCE kills are OPAL calls),
				    * 3 (POWER8: kills are register writes); 0 on pSeries */
	unsigned int page_shift;   /* the emulated kernel's PAGE_SHIFT (16 on ppc64) */
	unsigned int region_shift; /* device fd offset of region i: i << region_shift (40) */
};

struct emu_device_cfg {
	char addr[EMU_ADDR_LEN];
	unsigned int group;
	int numa_node;
	char model[16];    /* "none", "virtio-net" */
	char driver[24];   /* the kernel driver it is bound to: "vfio-pci" (default), "none"
	                    * (unbound), or another (a kernel driver that owns its DMA) */
	char params[192];  /* the model's own options: "k=v,k=v" */
};

struct emu_config {
	struct emu_platform_cfg plat;
	unsigned int ndevices;
	struct emu_device_cfg dev[EMU_MAX_DEVICES];
	char stats_path[256];
	char sysfs_root[256];
	/* Generator parameters kept so that devices can be (re)generated after overrides. */
	unsigned int gen_devices, gen_group_size, gen_numa_nodes;
	char gen_model[208];           /* "MODEL[,k=v...]" of generated devices */
	bool explicit_devices;
};

/* --- configuration (emu_config.c) ----------------------------------------- */
int emu_config_init(struct emu_config *cfg, const char *preset);
/* Apply one option "key" = "value"; on error returns -EINVAL with a message in err. */
int emu_config_set(struct emu_config *cfg, const char *key, const char *value,
		   char *err, size_t errlen);
/* Read "key=value" lines (# comments). -errno and a message on failure. */
int emu_config_load(struct emu_config *cfg, const char *path, char *err, size_t errlen);
int emu_config_save(const struct emu_config *cfg, const char *path);
/* Generate the device list from devices/group-size/numa-nodes unless explicit. */
int emu_config_finish(struct emu_config *cfg, char *err, size_t errlen);
void emu_config_list_presets(FILE *out);

/* --- the platform --------------------------------------------------------- */
struct emu_platform;
struct emu_device;

int emu_platform_create(const struct emu_config *cfg, struct emu_platform **out,
			char *err, size_t errlen);
void emu_platform_destroy(struct emu_platform *p);
/* The process-wide platform used by the preload shim (NULL when inactive). */
struct emu_platform *emu_current(void);
void emu_set_current(struct emu_platform *p);

/* --- the file API (what libc calls reach) --------------------------------- */
bool emu_path_is_vfio(const char *path);
int emu_open(struct emu_platform *p, const char *path, int flags);
bool emu_fd_is_ours(int fd);
long emu_ioctl(int fd, unsigned long request, void *arg);
int emu_close(int fd);
/* Duplicate an emulated fd (dup: newfd -1, minfd 0; dup2/dup3: newfd; F_DUPFD: minfd):
 * both numbers share one file, released when the last of them closes. */
int emu_dup(int oldfd, int newfd, int minfd, bool cloexec);
/* Files handed to other processes (SCM_RIGHTS) work there as here (emu_remote_*.c):
 * emu_export(fd): the fd to send in place of emulated fd `fd` (the sender closes it
 * after sending; -errno on failure). emu_adopt(p, fd): a received fd that is one of
 * them becomes an emulated file of this process (true), else nothing changes.
 * emu_remote_shutdown(): at exit, before the platform goes: serving stops. */
int emu_export(int fd);
bool emu_adopt(struct emu_platform *p, int fd);
void emu_remote_shutdown(void);
ssize_t emu_pread(int fd, void *buf, size_t count, off_t offset);
ssize_t emu_pwrite(int fd, const void *buf, size_t count, off_t offset);
/* mmap of a device region: returns the mapping or MAP_FAILED with -errno in *err. Pages
 * of registers with semantics are mapped with no access (see emu_trap_fault). */
void *emu_mmap(void *addr, size_t len, int prot, int flags, int fd, off_t offset, int *err);
/* A fault at addr (SIGSEGV, ucontext of the handler): a trapped register access is
 * performed against the device and the program resumes after it (0); -1: not ours. An
 * access it cannot decode aborts with a message naming the device, offset and bytes. */
int emu_trap_fault(void *addr, void *ucontext);
/* [va, va+len) is being unmapped or replaced: its trapped ranges are no longer ours. */
void emu_trap_forget(const void *va, size_t len);

/* --- device models: DMA through the TCE tables ---------------------------- */
struct emu_device *emu_device_find(struct emu_platform *p, const char *addr);
/* Copy from/to an IOVA with the permission checks of the TCE entries. A fault freezes
 * the device's PE (EEH) and returns -EIO; a frozen PE fails every DMA with -EIO. A
 * device whose command register has bus mastering off issues no DMA at all: -EACCES,
 * nothing frozen (vfio-pci leaves bus mastering to the driver, and clears it at release). */
int emu_dma_read(struct emu_device *dev, uint64_t iova, void *buf, size_t len);
int emu_dma_write(struct emu_device *dev, uint64_t iova, const void *buf, size_t len);
/* A read the device does not keep (a sink): the same checks and fault, no copy. */
int emu_dma_check(struct emu_device *dev, uint64_t iova, size_t len);
/* A DMA session of the calling thread (a device thread's burst): until emu_dma_end,
 * its emu_dma_* calls take no lock (windows stay; window changes wait for the end) and
 * share a translation cache that is exact (a changed TCE is read again). Not nested;
 * no blocking call inside. */
void emu_dma_begin(struct emu_platform *p);
/* Inside a session: where [iova, iova+len) is in host memory, if one IOMMU page holds
 * it and the access is allowed (counted as one DMA); NULL otherwise: then do it with
 * emu_dma_read/write, which fault as hardware would. */
void *emu_dma_ptr(struct emu_device *dev, uint64_t iova, size_t len, bool write);
void emu_dma_end(void);
bool emu_device_frozen(const struct emu_device *dev);
/* Fire interrupt vector `vector` of IRQ index `index` (VFIO_PCI_*_IRQ_INDEX). */
int emu_device_irq(struct emu_device *dev, unsigned int index, unsigned int vector);

/* --- statistics ----------------------------------------------------------- */
struct emu_counters {
	uint64_t ioctls[32];        /* by enum emu_ioctl_kind */
	uint64_t ioctl_errors;
	uint64_t h_get_tce, h_put_tce, h_put_tce_indirect, h_stuff_tce;
	uint64_t rtas_ddw_query, rtas_ddw_create, rtas_ddw_remove, rtas_ddw_reset;
	/* PowerNV (arch/powerpc/platforms/powernv/pci-ioda*.c), as kprobes count them in
	 * the real kernel (test/qemu): */
	uint64_t tce_xchg;        /* iommu_tce_xchg_no_kill(): one a TCE set or cleared */
	uint64_t tce_kill;        /* the table's tce_kill (pnv_pci_ioda2_tce_invalidate) */
	uint64_t opal_tce_kill;   /* OPAL_PCI_TCE_KILL: PHB4's page and PE invalidations */
	uint64_t opal_map_window; /* OPAL_PCI_MAP_PE_DMA_WINDOW: a window set or unset */
	uint64_t opal_bypass;     /* OPAL_PCI_MAP_PE_DMA_WINDOW_REAL: bypass on or off */
	uint64_t eeh_get_state;   /* pnv_eeh_get_state(): one OPAL_PCI_EEH_FREEZE_STATUS */
	uint64_t opal_freeze_clear, opal_freeze_set; /* OPAL_PCI_EEH_FREEZE_CLEAR / _SET */
	uint64_t opal_pci_reset;  /* OPAL_PCI_RESET */
	uint64_t tces_mapped, tces_cleared, tces_stuffed;
	uint64_t locked_bytes, locked_peak;
	uint64_t table_bytes, table_peak;
	uint64_t registered_bytes;
	uint64_t windows_created, windows_removed;
	uint64_t dma_reads, dma_writes, dma_bytes, dma_faults;
	uint64_t dma_no_bus_master;  /* DMA a device could not issue: bus mastering off */
	uint64_t eeh_freezes, eeh_resets, eeh_unfreezes;
	uint64_t irqs;
	uint64_t mmio_reads, mmio_writes, mmio_ns; /* register accesses trapped in mappings */
	uint64_t locked_leaked; /* charges the real kernel never returns (see docs) */
};
void emu_get_counters(struct emu_platform *p, struct emu_counters *c);
uint64_t emu_hypercalls(const struct emu_counters *c);
/* What changes the IOMMU: ioctls (all, and map/unmap/register/unregister/window
 * ones), TCE hypercalls and TCEs written; cheap enough to sample per frame. */
struct emu_iommu_activity { uint64_t ioctls, map_ioctls, hypercalls, tces; };
void emu_get_iommu_activity(struct emu_platform *p, struct emu_iommu_activity *a);
/* The same where waiting for the platform's lock could deadlock (a device thread holding
 * its own lock, which a register access under the platform's lock waits for): false,
 * nothing read, when the lock is busy. */
bool emu_try_get_iommu_activity(struct emu_platform *p, struct emu_iommu_activity *a);
/* A number that changes whenever the activity above may have: compare it (no lock) to
 * avoid taking a sample that cannot differ from the last one. */
uint64_t emu_iommu_activity_gen(struct emu_platform *p);
int emu_write_stats(struct emu_platform *p, FILE *out);
/* The same with "exit": exit_json (how the program ended) after "at_exit". */
int emu_write_stats_exit(struct emu_platform *p, FILE *out, const char *exit_json);

#endif /* SPAPR_EMU_H */
