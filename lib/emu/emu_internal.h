/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Internal structures of the emulated platform. Names follow the kernel objects they
 * model (drivers/vfio/container.c, group.c, vfio_iommu_spapr_tce.c,
 * arch/powerpc/mm/book3s64/iommu_api.c, arch/powerpc/platforms/{pseries,powernv}).
 */
#ifndef EMU_INTERNAL_H
#define EMU_INTERNAL_H

#include <pthread.h>
#include <stdatomic.h>
#include <linux/vfio.h>

#include "spapr_emu.h"

#define EMU_MAX_GROUPS EMU_MAX_DEVICES
#define EMU_MAX_TABLES 2 /* IOMMU_TABLE_GROUP_MAX_TABLES */
#define EMU_TCE_READ 0x1ULL  /* TCE_PCI_READ */
#define EMU_TCE_WRITE 0x2ULL /* TCE_PCI_WRITE */
#define EMU_STUFF_BATCH 512  /* TCEs per H_STUFF_TCE / H_PUT_TCE_INDIRECT */

enum emu_ioctl_kind {
	EMU_IOC_GET_API_VERSION, EMU_IOC_CHECK_EXTENSION, EMU_IOC_SET_IOMMU,
	EMU_IOC_GET_INFO, EMU_IOC_MAP_DMA, EMU_IOC_UNMAP_DMA, EMU_IOC_ENABLE,
	EMU_IOC_DISABLE, EMU_IOC_REGISTER, EMU_IOC_UNREGISTER, EMU_IOC_TCE_CREATE,
	EMU_IOC_TCE_REMOVE, EMU_IOC_EEH_PE_OP, EMU_IOC_GROUP_GET_STATUS,
	EMU_IOC_GROUP_SET_CONTAINER, EMU_IOC_GROUP_UNSET_CONTAINER,
	EMU_IOC_GROUP_GET_DEVICE_FD, EMU_IOC_DEVICE_GET_INFO,
	EMU_IOC_DEVICE_GET_REGION_INFO, EMU_IOC_DEVICE_GET_IRQ_INFO,
	EMU_IOC_DEVICE_SET_IRQS, EMU_IOC_DEVICE_RESET, EMU_IOC_OTHER,
	EMU_IOC__COUNT
};
extern const char *const emu_ioctl_names[EMU_IOC__COUNT];

/* --- TCE table (a window): sparse radix of 512-entry leaves --------------- */
struct emu_tce_table {
	uint64_t offset;      /* it_offset: first entry (bus address >> page_shift) */
	uint64_t size;        /* it_size: entries */
	unsigned int page_shift;
	unsigned int levels;
	uint64_t charged_bytes; /* it_allocated_size charged to locked_vm */
	bool is_default;      /* the 32-bit default window */
	unsigned int depth;   /* radix depth of the storage */
	void *root;
	uint64_t nr_valid;    /* entries with READ or WRITE set */
	_Atomic uint64_t gen; /* bumped after every change of an entry: DMA caches check it */
	/* PowerNV multi-level tables: the kernel's leaf size (it_level_size) and which
	 * leaves of the userspace view exist (made by a v2 map, kept until the table goes):
	 * tce_iommu_clear() skips the entries of absent ones. Sorted leaf numbers. */
	uint64_t level_entries;
	uint64_t *user_leaves;
	size_t nr_user_leaves, cap_user_leaves;
};

struct emu_tce_table *emu_tce_table_new(uint64_t bus_start, uint64_t window_size,
					unsigned int page_shift, unsigned int levels);
void emu_tce_table_free(struct emu_tce_table *t);
/* Exchange entry `idx` (absolute, i.e. including offset); returns the old value. */
uint64_t emu_tce_xchg(struct emu_tce_table *t, uint64_t idx, uint64_t val);
uint64_t emu_tce_get(const struct emu_tce_table *t, uint64_t idx);
/* Multi-level tables: the userspace view's leaf of entry `idx` is made (0, or -ENOMEM);
 * how many entries of [first, first+n) lie in leaves that exist. */
int emu_tce_user_leaf_touch(struct emu_tce_table *t, uint64_t idx);
uint64_t emu_tce_user_entries(const struct emu_tce_table *t, uint64_t first, uint64_t n);
bool emu_tce_contains(const struct emu_tce_table *t, uint64_t bus_addr);
/* Visit valid entries in [first, first+n): fn(idx, old) after clearing each. */
void emu_tce_clear_range(struct emu_tce_table *t, uint64_t first, uint64_t n,
			 void (*fn)(void *ctx, uint64_t idx, uint64_t old), void *ctx);

/* --- the process's mm: locked_vm and pre-registered memory ---------------- */
struct emu_mm_mem {            /* mm_iommu_table_group_mem_t */
	struct emu_mm_mem *next;
	uint64_t ua, entries;      /* in PAGE_SIZE pages */
	unsigned int pageshift;    /* largest IOMMU page it can back */
	unsigned int used;         /* references (containers) */
	atomic_uint_fast64_t mapped; /* 1 + mapped TCEs; 0 while being released */
};

struct emu_mm {
	uint64_t locked_pages;     /* mm->locked_vm charged by VFIO (PAGE_SIZE pages) */
	uint64_t locked_peak;
	struct emu_mm_mem *mem_list;
	pid_t pid;
};

/* account_locked_vm(): charge or un-charge, with the rlimit and CAP_IPC_LOCK rule. */
int emu_mm_account(struct emu_platform *p, uint64_t pages, bool inc);
struct emu_mm_mem *emu_mm_get(struct emu_platform *p, uint64_t ua, uint64_t entries);
int emu_mm_new(struct emu_platform *p, uint64_t ua, uint64_t entries, struct emu_mm_mem **out);
int emu_mm_put(struct emu_platform *p, struct emu_mm_mem *mem);
struct emu_mm_mem *emu_mm_lookup(struct emu_platform *p, uint64_t ua, uint64_t size);

/* Backing pages of user memory, from /proc/self/smaps (pin_user_pages' view). */
struct emu_vma_info {
	unsigned int min_page_shift; /* smallest backing page over the range */
	bool present;                /* every byte is inside a mapping */
	bool writable;
	bool hugetlb;
};
int emu_vma_query(uint64_t ua, uint64_t len, unsigned int kernel_page_shift,
		  struct emu_vma_info *info);

/* --- PE / iommu_table_group ----------------------------------------------- */
struct emu_pe {
	unsigned int id;             /* IOMMU group number */
	struct emu_platform *plat;
	struct emu_tce_table *tables[EMU_MAX_TABLES]; /* what the PHB translates through */
	bool default_present;        /* kernel-owned default window ("ibm,dma-window") */
	bool ddw_failed;             /* on the guest kernel's failed-DDW list */
	unsigned int ddw_active;     /* dynamic windows created on the hypervisor */
	/* EEH */
	atomic_bool frozen_mmio, frozen_dma;
	bool reset_fundamental; /* a fundamental reset waits for its deactivate */
	bool eeh_enabled;
	uint64_t freezes;
};

/* iommu_table_group_ops of the platform (pseries or powernv). */
uint64_t emu_pe_table_size(struct emu_pe *pe, unsigned int page_shift, uint64_t window_size,
			   unsigned int levels);
int emu_pe_create_table(struct emu_pe *pe, int num, unsigned int page_shift,
			uint64_t window_size, unsigned int levels, struct emu_tce_table **out);
int emu_pe_set_window(struct emu_pe *pe, int num, struct emu_tce_table *t);
void emu_pe_unset_window(struct emu_pe *pe, int num);
int emu_pe_take_ownership(struct emu_pe *pe);
void emu_pe_release_ownership(struct emu_pe *pe);
/* Write/clear one TCE with the hypervisor's cost (iommu_tce_xchg_no_kill). */
int emu_pe_xchg(struct emu_pe *pe, struct emu_tce_table *t, uint64_t idx, uint64_t *val);
void emu_pe_clear_window_entries(struct emu_pe *pe, struct emu_tce_table *t, uint64_t first,
				 uint64_t n, void (*fn)(void *, uint64_t, uint64_t), void *ctx);
/* iommu_tce_kill() of table t, `linked` PEs having it in a window. */
void emu_pe_tce_kill(struct emu_pe *pe, unsigned int linked);
int emu_pe_eeh_op(struct emu_pe *pe, struct vfio_eeh_pe_op *op);
/* eeh_dev_open() / eeh_dev_release(): a VFIO device of the PE opened or closed. */
void emu_pe_eeh_dev_owner(struct emu_pe *pe);
void emu_pe_freeze(struct emu_pe *pe);

/* --- VFIO objects --------------------------------------------------------- */
struct emu_container;
struct emu_group {
	struct emu_pe pe;
	bool opened;
	struct emu_container *container;
	unsigned int container_users;  /* 1 + open device fds */
	struct emu_group *next_in_container;
	bool attached;                 /* attached to the IOMMU driver (SET_IOMMU done) */
	bool fd_open;                  /* the group fd itself is still open */
	unsigned int vfio_devices;     /* devices bound to vfio-pci: /dev/vfio/N exists */
	unsigned int dma_owners;       /* devices a kernel driver owns (its DMA): not viable */
};

struct emu_container {
	struct emu_platform *plat;
	int refs;                       /* the fd + attached groups */
	bool idle;                      /* no group: the fd holds nothing (leak report) */
	struct emu_group *groups;       /* attached groups, first = list head */
	bool driver_set;                /* VFIO_SET_IOMMU done */
	bool v2;
	bool enabled;
	bool def_window_pending;
	bool mm_set;
	pid_t mm_pid;
	uint64_t locked_pages;          /* v1 ENABLE charge */
	struct emu_tce_table *tables[EMU_MAX_TABLES];
	struct emu_prereg { struct emu_prereg *next; struct emu_mm_mem *mem; } *prereg;
};

#define EMU_MAX_TRAP_AREAS 4 /* register areas of a BAR */

struct emu_bar {
	uint64_t size;
	bool io, mem64, prefetch;
	uint8_t *mem;       /* backing store (shared memfd mapping) */
	int memfd;
	uint64_t mmap_off[4], mmap_len[4]; /* areas user space may mmap */
	unsigned int nr_mmap;
	uint64_t trap_off[EMU_MAX_TRAP_AREAS], trap_len[EMU_MAX_TRAP_AREAS]; /* of those, registers with semantics: a mapping
	                                    * of them traps every access (emu_trap.c) */
	unsigned int nr_trap;
	uint64_t addr;      /* value of the BAR in config space */
};

struct emu_irq_state {
	unsigned int count;
	int *fds;           /* eventfd per vector, -1 when unset */
	bool *masked;
};

/* A device model behind the vfio-pci shell. */
struct emu_model_ops {
	const char *name;
	/* IDs, BARs, mmap areas, config space, IRQ counts; params are "k=v,..." */
	int (*init)(struct emu_device *d, const char *params, char *err, size_t errlen);
	/* once every device exists: link to the devices it talks to */
	int (*connect)(struct emu_device *d, char *err, size_t errlen);
	void (*fini)(struct emu_device *d);
	void (*reset)(struct emu_device *d);
	/* a BAR register read or write through the device fd: true if the model took it */
	bool (*bar_access)(struct emu_device *d, unsigned int bar, uint64_t off, void *buf,
			   size_t len, bool write);
	/* the model's part of the stats JSON: one object, no trailing newline */
	void (*write_stats)(struct emu_device *d, FILE *out);
};
extern const struct emu_model_ops emu_virtio_net_model;
/* The device models by name (NULL: no such model). */
const struct emu_model_ops *emu_model_find(const char *name);

struct emu_device {
	struct emu_platform *plat;
	const struct emu_model_ops *model;
	void *priv;                 /* the model's state */
	struct emu_group *group;
	char addr[EMU_ADDR_LEN];
	int numa_node;
	uint16_t vendor, device_id, subsys_vendor, subsys_id;
	uint32_t class_code;
	uint8_t config[4096];
	uint8_t config_saved[4096];
	unsigned int config_size;
	unsigned int cap_next, msix_cap;
	struct emu_bar bars[6];
	struct emu_irq_state irqs[VFIO_PCI_NUM_IRQS];
	unsigned int open_count;
	char driver[24];            /* the kernel driver it is bound to ("none": unbound) */
	bool vfio_bound;
	uint64_t resets;
	bool pcie;                  /* a PCI Express function (PowerNV: behind a root port) */
	bool no_reset;              /* no reset method the kernel can use (vfio-pci's reset_works
	                             * false): no RESET flag, VFIO_DEVICE_RESET is EINVAL */
};

/* EMU_FILE_REMOTE: a file of another process's emulated kernel, received over a unix
 * socket (emu_remote_*.c): every call on it is a request to that process. */
enum emu_file_kind { EMU_FILE_CONTAINER = 1, EMU_FILE_GROUP, EMU_FILE_DEVICE, EMU_FILE_REMOTE };
struct emu_file {
	enum emu_file_kind kind;
	enum emu_file_kind peer_kind; /* EMU_FILE_REMOTE: what it is in its process */
	unsigned int refs;           /* fds that share it (dup): struct file's count */
	struct emu_platform *plat;
	union {
		struct emu_container *container;
		struct emu_group *group;
		struct emu_device *device;
	};
};

struct emu_platform {
	struct emu_config cfg;
	pthread_mutex_t lock;        /* the kernel's locks, coarse: one per platform */
	pthread_rwlock_t dma_lock;   /* window lifetime vs device DMA */
	struct emu_mm mm;
	struct emu_group groups[EMU_MAX_GROUPS];
	bool group_exists[EMU_MAX_GROUPS];
	struct emu_device devices[EMU_MAX_DEVICES];
	unsigned int ndevices;
	struct emu_counters c;
	unsigned int open_containers, open_groups, open_devices;
	unsigned int idle_containers; /* open but never given a group: they hold nothing */
	uint64_t created_ns;         /* CLOCK_MONOTONIC when the program started (the shim's
	                              * constructor runs before its main) */
	uint64_t first_ioctl_ns;     /* its first VFIO ioctl */
	uint64_t last_map_ns;        /* its last successful map, register, create or enable */
	uint64_t setup_ioctl_ns;     /* time spent in DMA set-up and teardown ioctls */
	_Atomic uint64_t mmio_reads, mmio_writes, mmio_ns; /* trapped register accesses */
	uint64_t activity_gen;       /* bumped (atomically, under the lock) as each ioctl or
	                              * close starts: a reader knows without the lock whether
	                              * the IOMMU activity may have changed */
};

static inline struct emu_platform_cfg *emu_cfg(struct emu_pe *pe)
{
	return &pe->plat->cfg.plat;
}

/* copy_from_user()/copy_to_user(): a NULL user pointer faults, where the kernel would. */
#define COPY_FROM_USER(dst, src, n) do { if ((src) == NULL) return -EFAULT; memcpy((dst), (src), (n)); } while (0)

/* Counters: updated under the platform lock, or atomically from device threads. */
#define EMU_COUNT(p, field, n) __atomic_add_fetch(&(p)->c.field, (n), __ATOMIC_RELAXED)
void emu_table_bytes_add(struct emu_platform *p, int64_t delta);

/* fd table */
/* A new fd for an emulated file; close-on-exec as the open flags say (device fds
 * always: vfio_group_ioctl_get_device_fd() uses O_CLOEXEC). */
int emu_fd_install(struct emu_platform *p, enum emu_file_kind kind, void *obj, bool cloexec);
struct emu_file *emu_fd_get(int fd);
/* Another fd number for the same file (dup); -EMFILE past the table. */
int emu_fd_dup(struct emu_file *f, int newfd);
/* Forget fd; true when it was the file's last fd (the file is freed). */
bool emu_fd_remove(int fd);

/* Per-object ioctl handlers (called with the platform lock held). */
long emu_container_ioctl(struct emu_container *c, unsigned long req, void *arg);
void emu_container_put(struct emu_container *c);
long emu_group_ioctl(struct emu_group *g, unsigned long req, void *arg);
void emu_group_release(struct emu_group *g);
long emu_device_ioctl(struct emu_device *d, unsigned long req, void *arg);
void emu_device_release(struct emu_device *d);
ssize_t emu_device_rw(struct emu_device *d, void *buf, size_t count, uint64_t off, bool write);
/* A region read or write of BAR `bar` at `off` (what a trapped load or store becomes). */
ssize_t emu_device_bar_rw(struct emu_device *d, unsigned int bar, uint64_t off, void *buf, size_t count,
			  bool write);
/* What mmap(len, flags) at device fd offset `off` maps (vfio_pci_core_mmap's checks):
 * the BAR's memfd at *pos, or -errno. */
int emu_device_mmap_check(struct emu_device *d, size_t len, int flags, uint64_t off, uint64_t *pos);
/* The register areas (trap areas) of BAR `bar` inside [pos, pos+len): up to `max` of
 * them as BAR offsets and lengths; returns how many. */
unsigned int emu_device_trap_areas(const struct emu_device *d, unsigned int bar, uint64_t pos, uint64_t len,
				   uint64_t *off, uint64_t *alen, unsigned int max);
/* A trapped load or store (a register access through a mapping) of `size` bytes at
 * device fd offset `off`, counted as MMIO: what a mapped register access becomes. */
int emu_device_mmio(struct emu_device *d, uint64_t off, uint64_t *val, unsigned int size, bool write);
/* Register areas of a BAR: accesses through a mapping of them reach bar_access. */
void emu_pci_bar_trap_area(struct emu_device *d, unsigned int bar, uint64_t off, uint64_t len);
/* the trapped mappings (emu_trap.c) */
int emu_trap_add(struct emu_device *d, unsigned int bar, uint64_t bar_off, void *va, size_t len);
void emu_trap_forget_device(const struct emu_device *d);
/* A mapping of another process's device (at device fd offset file_off) through the
 * received file rfd: the trap keeps its own duplicate of rfd. */
int emu_trap_add_remote(int rfd, uint64_t file_off, void *va, size_t len);

/* files shared with other processes (emu_remote_*.c) */
/* The process that makes the current call of the emulated kernel: this one, or the one
 * whose request a remote-file server thread is serving (the kernel's `current`). */
pid_t emu_caller_pid(void);
long emu_remote_ioctl(struct emu_file *f, int fd, unsigned long req, void *arg);
ssize_t emu_remote_rw(int fd, void *buf, size_t count, off_t offset, bool write);
void *emu_remote_mmap(int fd, void *addr, size_t len, int prot, int flags, off_t offset, int *err);
int emu_remote_mmio(int fd, uint64_t off, uint64_t *val, unsigned int size, bool write);
/* Install fd as an emulated file of kind EMU_FILE_REMOTE (no eventfd: the socket is it). */
int emu_fd_adopt(struct emu_platform *p, int fd, enum emu_file_kind peer_kind);
void *emu_device_mmap(struct emu_device *d, void *addr, size_t len, int prot, int flags,
		      uint64_t off, int *err);
int emu_device_init(struct emu_platform *p, struct emu_device *d, const struct emu_device_cfg *cfg,
		    char *err, size_t errlen);
/* building blocks for models */
int emu_pci_bar_alloc(struct emu_device *d, unsigned int bar, uint64_t size, bool mem64);
void emu_pci_bar_mmap_area(struct emu_device *d, unsigned int bar, uint64_t off, uint64_t len);
void emu_pci_header(struct emu_device *d, uint8_t revision);
unsigned int emu_pci_add_cap(struct emu_device *d, uint8_t id, const void *body, size_t len);
void emu_pci_add_msix(struct emu_device *d, unsigned int vectors, unsigned int bar,
			 uint32_t table, uint32_t pba);
void emu_device_reset_model(struct emu_device *d);
void emu_device_fini(struct emu_device *d);
void emu_container_detach_group(struct emu_container *c, struct emu_group *g);
int emu_container_attach_group(struct emu_container *c, struct emu_group *g);

#endif /* EMU_INTERNAL_H */
