/* SPDX-License-Identifier: BSD-3-Clause */
#ifndef TCE_INTERNAL_H
#define TCE_INTERNAL_H

#include <linux/vfio.h>

#include "tce.h"
#include "tce_sys.h"

#define TCE_MAX_GROUPS 64

struct tce_mapping { uint64_t va, iova, len; unsigned int window; };

struct tce_window_state {
	uint64_t start, size, table_bytes;
	unsigned int page_shift, levels;
	uint64_t next_off;          /* where added memory goes (bump allocation) */
};

struct tce_container {
	int fd;
	unsigned int ngroups;
	unsigned int group_ids[TCE_MAX_GROUPS];
	int group_fds[TCE_MAX_GROUPS];
	bool group_adopted[TCE_MAX_GROUPS]; /* a dup of a caller's fd: unset, then closed */
	int type;                   /* VFIO_SPAPR_TCE_IOMMU or _v2_ */
	struct tce_iommu_info info;
	bool enabled;               /* v1: ENABLE done */
	bool mapped;                /* tce_dma_map() done */
	bool default_removed;
	struct tce_plan plan;
	struct tce_window_state win[2];
	unsigned int nwin;
	struct tce_plan_reg *regs;  /* live registrations */
	unsigned int nregs;
	struct tce_mapping *maps;   /* live mappings, sorted by VA */
	unsigned int nmaps;
	unsigned int *by_iova;      /* indexes into maps, sorted by IOVA */
	uint64_t charged;           /* locked bytes this container made the kernel charge */
	uint64_t reg_bytes;         /* bytes of its registrations (shared ones charged once) */
	struct tce_stats st;
};

void tce_log(enum tce_log_level level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
long tce_ioctl(struct tce_container *c, unsigned long req, void *arg);
void tce_charge(struct tce_container *c, int64_t bytes);
uint64_t tce_process_charged(void);

/* the process's pre-registrations (tce_prereg.c) */
int tce_prereg_plan(uint64_t va, uint64_t len, struct tce_plan_reg **pieces, unsigned int *npieces);
int tce_prereg_take(uint64_t va, uint64_t len, bool *first);
bool tce_prereg_drop(uint64_t va, uint64_t len);
uint64_t tce_prereg_bytes_within(uint64_t va, uint64_t len);
void tce_charge_shared(struct tce_container *c, int64_t bytes);
/* translation index */
int tce_xlate_add(struct tce_container *c, uint64_t va, uint64_t iova, uint64_t len, unsigned int w);
void tce_xlate_remove(struct tce_container *c, unsigned int i);
int tce_xlate_rebuild(struct tce_container *c);

/* DMA state teardown (windows, registrations, v1 disable) */
void tce_dma_teardown(struct tce_container *c, bool closing);

#endif
