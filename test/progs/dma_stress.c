/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * DMA mappings changing from several threads at once, as an application may change
 * them: threads that grow and shrink DPDK's heap (each growth and shrink is a memory
 * event the bus maps or unmaps), and threads that register external memory and map
 * and unmap it for a device (rte_dev_dma_map/unmap), all at the same time. A plain
 * DPDK program: it knows nothing of the emulator.
 *
 *   dma-stress [EAL options] -- [--seconds S] [--alloc-threads A] [--map-threads M]
 *
 * Port 0 (any PMD on the bus under test) is the device. External memory is one 2 MiB
 * hugepage per mapping thread, mapped at IOVAs at the top of the hugepage pool's span
 * above DPDK's lowest IOVA, where the bus's compact layout leaves them free (PA mode).
 * Prints the counts; exit 0 when no call failed.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include <rte_dev.h>
#include <rte_eal.h>
#include <rte_ethdev.h>
#include <rte_malloc.h>
#include <rte_memory.h>

#define HUGE (2UL << 20)

static struct rte_device *device;
static uint64_t iova_top;        /* external memory goes just below it */
static atomic_bool stop;
static atomic_ulong allocs, alloc_failures, maps, map_failures;

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

/* Grow the heap and give it back: sizes of 1 to 16 hugepages, freed at once, so that
 * DPDK allocates pages (ALLOC events) and returns them (FREE events) all the time. */
static void *alloc_loop(void *arg)
{
	unsigned int seed = (unsigned int)(uintptr_t)arg;

	while (!atomic_load(&stop)) {
		size_t len = (1 + rand_r(&seed) % 16) * HUGE;
		char *p = rte_malloc(NULL, len, 0);
		if (p == NULL) {
			atomic_fetch_add(&alloc_failures, 1);
			continue;
		}
		p[0] = p[len - 1] = 1;
		rte_free(p);
		atomic_fetch_add(&allocs, 1);
	}
	return NULL;
}

static void *map_loop(void *arg)
{
	unsigned int idx = (unsigned int)(uintptr_t)arg;
	uint64_t iova = iova_top - (idx + 1) * HUGE;
	void *va = mmap(NULL, HUGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_HUGETLB, -1, 0);

	if (va == MAP_FAILED) {
		fprintf(stderr, "dma-stress: no hugepage for thread %u: %s\n", idx, strerror(errno));
		atomic_fetch_add(&map_failures, 1);
		return NULL;
	}
	memset(va, 0, HUGE);
	if (rte_extmem_register(va, HUGE, NULL, 0, HUGE) != 0) {
		fprintf(stderr, "dma-stress: rte_extmem_register: %s\n", rte_strerror(rte_errno));
		atomic_fetch_add(&map_failures, 1);
		munmap(va, HUGE);
		return NULL;
	}
	while (!atomic_load(&stop)) {
		if (rte_dev_dma_map(device, va, iova, HUGE) != 0) {
			fprintf(stderr, "dma-stress: rte_dev_dma_map IOVA 0x%" PRIx64 ": %s\n", iova,
				rte_strerror(rte_errno));
			atomic_fetch_add(&map_failures, 1);
			break;
		}
		if (rte_dev_dma_unmap(device, va, iova, HUGE) != 0) {
			fprintf(stderr, "dma-stress: rte_dev_dma_unmap IOVA 0x%" PRIx64 ": %s\n", iova,
				rte_strerror(rte_errno));
			atomic_fetch_add(&map_failures, 1);
			break;
		}
		atomic_fetch_add(&maps, 1);
	}
	rte_extmem_unregister(va, HUGE);
	munmap(va, HUGE);
	return NULL;
}

static int lowest_iova(const struct rte_memseg_list *msl, const struct rte_memseg *ms, void *arg)
{
	uint64_t *low = arg;

	if (!msl->external && ms->iova != RTE_BAD_IOVA && ms->iova < *low)
		*low = ms->iova;
	return 0;
}

/* The bus lays DPDK's memory out from the window's start and sizes the window for the
 * hugepage pool: the pool's span above the lowest IOVA is inside the window. */
static int find_iova_top(void)
{
	uint64_t low = UINT64_MAX, pages = 0;
	FILE *f = fopen("/sys/kernel/mm/hugepages/hugepages-2048kB/nr_hugepages", "r");

	if (f == NULL || fscanf(f, "%" SCNu64, &pages) != 1) {
		fprintf(stderr, "dma-stress: cannot read the 2 MiB hugepage pool\n");
		if (f)
			fclose(f);
		return -1;
	}
	fclose(f);
	rte_memseg_walk(lowest_iova, &low);
	if (low == UINT64_MAX || pages < 64) {
		fprintf(stderr, "dma-stress: no DPDK memory, or fewer than 64 hugepages\n");
		return -1;
	}
	iova_top = low + pages * HUGE;
	return 0;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "seconds", required_argument, NULL, 's' },
		{ "alloc-threads", required_argument, NULL, 'a' },
		{ "map-threads", required_argument, NULL, 'm' },
		{ NULL, 0, NULL, 0 },
	};
	unsigned int nalloc = 2, nmap = 2;
	double seconds = 2.0;
	struct rte_eth_dev_info info;
	pthread_t th[64];
	unsigned int n = 0;
	int ret = rte_eal_init(argc, argv), c;

	if (ret < 0) {
		fprintf(stderr, "dma-stress: EAL init failed: %s\n", rte_strerror(rte_errno));
		return 1;
	}
	argc -= ret;
	argv += ret;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 's': seconds = atof(optarg); break;
		case 'a': nalloc = (unsigned int)atoi(optarg); break;
		case 'm': nmap = (unsigned int)atoi(optarg); break;
		default:
			fprintf(stderr, "usage: dma-stress [EAL options] -- [--seconds S] [--alloc-threads A]"
				" [--map-threads M]\n");
			return 2;
		}
	}
	if (nalloc + nmap > 64 || rte_eth_dev_count_avail() == 0 || rte_eth_dev_info_get(0, &info) != 0) {
		fprintf(stderr, "dma-stress: needs port 0 and at most 64 threads\n");
		return 2;
	}
	device = info.device;
	if (find_iova_top() != 0)
		return 1;
	for (unsigned int i = 0; i < nalloc; i++)
		pthread_create(&th[n++], NULL, alloc_loop, (void *)(uintptr_t)(i + 1));
	for (unsigned int i = 0; i < nmap; i++)
		pthread_create(&th[n++], NULL, map_loop, (void *)(uintptr_t)i);
	for (double end = now() + seconds; now() < end && !atomic_load(&map_failures);)
		usleep(10000);
	atomic_store(&stop, true);
	for (unsigned int i = 0; i < n; i++)
		pthread_join(th[i], NULL);
	printf("dma-stress: %lu heap grow/shrink cycles (%lu refused), %lu external map/unmap cycles"
	       " (%lu failed)\n", atomic_load(&allocs), atomic_load(&alloc_failures), atomic_load(&maps),
	       atomic_load(&map_failures));
	rte_eth_dev_close(0);
	rte_eal_cleanup();
	return atomic_load(&map_failures) || atomic_load(&alloc_failures) ? 1 : 0;
}
