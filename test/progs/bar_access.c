/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Device registers through a BAR mapping, as a plain program with no knowledge of the
 * emulator: it opens a virtio-net function through VFIO, maps BAR4 (virtio common,
 * ISR and device configuration) and compares what loads and stores of 1, 2 and 4 bytes
 * on the mapping do with what region reads and writes (pread/pwrite) say.
 *     bar-access GROUP PCI_ADDRESS registers    the comparisons, one line each
 *     bar-access GROUP PCI_ADDRESS own-handler  the same with a SIGSEGV handler of its
 *                                               own that catches faults of its own
 *     bar-access GROUP PCI_ADDRESS thread       the comparisons from another thread
 *     bar-access GROUP PCI_ADDRESS crash        a NULL dereference after a register read
 * Exit status 0 when everything matched.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/vfio.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

static int failures;
static int dev_fd;
static uint64_t bar_off;          /* the BAR's region offset in the device fd */
static volatile uint8_t *bar;     /* its mapping */

#define CHECK(what, got, want) do { unsigned long long _g = (got), _w = (want); \
	printf("%-44s %s (0x%llx, region 0x%llx)\n", what, _g == _w ? "ok" : "DIFFERENT", _g, _w); \
	failures += _g != _w; } while (0)

static uint64_t region_read(uint64_t off, size_t len)
{
	uint64_t v = 0;

	if (pread(dev_fd, &v, len, (off_t)(bar_off + off)) != (ssize_t)len)
		perror("pread");
	return v;
}

static void region_write(uint64_t off, uint64_t v, size_t len)
{
	if (pwrite(dev_fd, &v, len, (off_t)(bar_off + off)) != (ssize_t)len)
		perror("pwrite");
}

static int open_device(unsigned int group, const char *addr)
{
	struct vfio_region_info ri = { .argsz = sizeof(ri), .index = VFIO_PCI_BAR4_REGION_INDEX };
	char path[32];
	int c = open("/dev/vfio/vfio", O_RDWR), g;

	snprintf(path, sizeof(path), "/dev/vfio/%u", group);
	g = open(path, O_RDWR);
	if (c < 0 || g < 0 || ioctl(g, VFIO_GROUP_SET_CONTAINER, &c) != 0 ||
	    (ioctl(c, VFIO_SET_IOMMU, VFIO_SPAPR_TCE_v2_IOMMU) != 0 &&
	     ioctl(c, VFIO_SET_IOMMU, VFIO_SPAPR_TCE_IOMMU) != 0)) {
		perror("VFIO container/group");
		return -1;
	}
	dev_fd = ioctl(g, VFIO_GROUP_GET_DEVICE_FD, addr);
	if (dev_fd < 0 || ioctl(dev_fd, VFIO_DEVICE_GET_REGION_INFO, &ri) != 0) {
		perror("VFIO device");
		return -1;
	}
	bar_off = ri.offset;
	bar = mmap(NULL, ri.size, PROT_READ | PROT_WRITE, MAP_SHARED, dev_fd, (off_t)ri.offset);
	if (bar == MAP_FAILED) {
		perror("mmap BAR4");
		return -1;
	}
	return 0;
}

/* virtio 1.x common configuration (4.1.4.3) and device configuration at 0x2000 */
static void registers(void)
{
	*(volatile uint32_t *)(bar + 0x00) = 1;              /* device_feature_select */
	CHECK("32-bit store + load: features 32..63", *(volatile uint32_t *)(bar + 0x04), region_read(0x04, 4));
	*(volatile uint32_t *)(bar + 0x00) = 0;
	CHECK("32-bit load: features 0..31", *(volatile uint32_t *)(bar + 0x04), region_read(0x04, 4));
	CHECK("16-bit load: num_queues", *(volatile uint16_t *)(bar + 0x12), region_read(0x12, 2));
	*(volatile uint16_t *)(bar + 0x16) = 1;              /* queue_select */
	CHECK("16-bit store: queue_select", region_read(0x16, 2), 1);
	CHECK("16-bit load: queue_size of queue 1", *(volatile uint16_t *)(bar + 0x18), region_read(0x18, 2));
	*(volatile uint8_t *)(bar + 0x14) = 1;               /* device_status: ACKNOWLEDGE */
	CHECK("8-bit store + load: device_status", *(volatile uint8_t *)(bar + 0x14), 1);
	region_write(0x14, 0, 1);                             /* reset */
	CHECK("8-bit load after a region write", *(volatile uint8_t *)(bar + 0x14), 0);
	for (unsigned int i = 0; i < 6; i++) {
		char what[48];
		snprintf(what, sizeof(what), "8-bit load: MAC byte %u", i);
		CHECK(what, *(volatile uint8_t *)(bar + 0x2000 + i), region_read(0x2000 + i, 1));
	}
	/* the doorbells are plain memory (the device polls its rings): no trap */
	*(volatile uint16_t *)(bar + 0x3000) = 0;
	printf("doorbell store                               ok\n");
}

static sigjmp_buf caught;
static void *fault_addr;

static void own_handler(int sig, siginfo_t *si, void *uc)
{
	(void)sig; (void)uc;
	fault_addr = si->si_addr;
	siglongjmp(caught, 1);
}

static void own_handler_case(void)
{
	struct sigaction sa = { .sa_sigaction = own_handler, .sa_flags = SA_SIGINFO }, old;
	volatile uint8_t *guard = mmap(NULL, 4096, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	sigemptyset(&sa.sa_mask);
	sigaction(SIGSEGV, &sa, NULL);
	sigaction(SIGSEGV, NULL, &old);
	CHECK("sigaction: the program sees its own handler", (uintptr_t)old.sa_sigaction, (uintptr_t)own_handler);
	if (sigsetjmp(caught, 1) == 0) {
		(void)*guard;                                 /* a fault of its own */
		printf("own fault not caught                         DIFFERENT\n");
		failures++;
	}
	CHECK("own handler: the fault address", (uintptr_t)fault_addr, (uintptr_t)guard);
	registers();                                          /* registers still work */
}

static void *registers_thread(void *arg)
{
	(void)arg;
	registers();
	return NULL;
}

int main(int argc, char **argv)
{
	if (argc != 4) {
		fprintf(stderr, "usage: bar-access GROUP PCI_ADDRESS registers|thread|own-handler|crash\n");
		return 2;
	}
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (open_device((unsigned int)atoi(argv[1]), argv[2]) != 0)
		return 1;
	if (strcmp(argv[3], "registers") == 0) {
		registers();
	} else if (strcmp(argv[3], "thread") == 0) {
		pthread_t t;
		if (pthread_create(&t, NULL, registers_thread, NULL) != 0 || pthread_join(t, NULL) != 0)
			return 1;
	} else if (strcmp(argv[3], "own-handler") == 0) {
		own_handler_case();
	} else if (strcmp(argv[3], "crash") == 0) {
		printf("status 0x%x, now a NULL dereference\n", *(volatile uint8_t *)(bar + 0x14));
		volatile int *null = (volatile int *)(uintptr_t)(argc - 4); /* 0, unknown to the compiler */
		*null = 1;
		printf("still running\n");
	} else {
		return 2;
	}
	return failures ? 1 : 0;
}
