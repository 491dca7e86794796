/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The emulated virtio-net device's own speed: a driver that costs next to nothing
 * (rings full of buffers posted once; every used entry goes straight back on the avail
 * ring, no data touched, no doorbell: the device polls) keeps the device's one queue
 * pair busy in both directions, so the device thread is the bottleneck and its frame
 * rate is what it can move. Run under spapr-emu with the device to measure:
 *
 *   spapr-emu run --device 0000:00:01.0,model=virtio-net,backend=replay,size=64,
 *       qsize=1024,poll-us=0,cpus=1 -- device-bench SECONDS TX_SIZE [DRIVER_CPU [dirty]]
 *
 * TX_SIZE 0: nothing is sent (the device only receives); a device that receives
 * nothing (backend=sink) only sends.
 * Prints one JSON line: frames each way, seconds, and the device thread's CPU time
 * (from /proc: schedstat of the thread named vnet0.0), all over the measured interval
 * after a short warm-up.
 */
#define QSIZE 1024
#include <dirent.h>
#include <pthread.h>
#include <sched.h>

#pragma GCC diagnostic ignored "-Wunused-function" /* the shared driver's other helpers */
#include "test_virtio_driver.h"

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* CPU ns of this process's thread named `name`, 0 if none. */
static uint64_t thread_cpu_ns(const char *name)
{
	DIR *d = opendir("/proc/self/task");
	struct dirent *de;
	uint64_t ns = 0;

	while (d && (de = readdir(d)) != NULL) {
		char path[300], comm[32] = "";
		FILE *f;
		snprintf(path, sizeof(path), "/proc/self/task/%s/comm", de->d_name);
		if ((f = fopen(path, "r")) == NULL)
			continue;
		if (fgets(comm, sizeof(comm), f) == NULL)
			comm[0] = '\0';
		fclose(f);
		comm[strcspn(comm, "\n")] = '\0';
		if (strcmp(comm, name) != 0)
			continue;
		snprintf(path, sizeof(path), "/proc/self/task/%s/schedstat", de->d_name);
		if ((f = fopen(path, "r")) != NULL) {
			unsigned long long v = 0;
			if (fscanf(f, "%llu", &v) == 1)
				ns = v;
			fclose(f);
		}
	}
	if (d)
		closedir(d);
	return ns;
}

/* dirty=1: the driver writes the first 16 bytes of each RX buffer before posting it
 * again (where a driver that pushes its TX header into the buffer writes): what that
 * costs the device's next write there */
static int dirty;

/* Give back every chain the device returned since last time: one avail index write. */
static uint64_t recycle(struct queue *q)
{
	uint16_t used = le16toh(*(volatile __virtio16 *)&q->used->idx), n = (uint16_t)(used - q->last_used);

	if (n == 0)
		return 0;
	atomic_thread_fence(memory_order_acquire);
	for (uint16_t i = 0; i < n; i++) {
		uint16_t id = (uint16_t)le32toh(q->used->ring[(uint16_t)(q->last_used + i) % q->size].id);
		if (dirty && q->index == 0)
			memset(q->bufs + (size_t)id * BUF, 0, 16);
		q->avail->ring[(uint16_t)(q->avail_idx + i) % q->size] = htole16(id);
	}
	q->last_used = used;
	q->avail_idx = (uint16_t)(q->avail_idx + n);
	atomic_thread_fence(memory_order_release);
	*(volatile __virtio16 *)&q->avail->idx = htole16(q->avail_idx);
	return n;
}

int main(int argc, char **argv)
{
	double seconds = argc > 1 ? atof(argv[1]) : 2.0, warm = 0.3;
	uint32_t size = argc > 2 ? (uint32_t)atoi(argv[2]) : 64;
	uint64_t want = F(VIRTIO_F_VERSION_1) | F(VIRTIO_F_ACCESS_PLATFORM) | F(VIRTIO_NET_F_MRG_RXBUF);
	struct vdev v = { 0 };

	if ((size && size < 60) || size > BUF - HDR || seconds <= 0) {
		fprintf(stderr, "usage: device-bench SECONDS TX_SIZE(60..%u, 0: no TX) [DRIVER_CPU [dirty]]\n", BUF - HDR);
		return 2;
	}
	dirty = argc > 4 && strcmp(argv[4], "dirty") == 0;
	if (argc > 3) {
		cpu_set_t set;
		CPU_ZERO(&set);
		CPU_SET(atoi(argv[3]), &set);
		if (sched_setaffinity(0, sizeof(set), &set) != 0)
			perror("device-bench: sched_setaffinity");
	}
	if (dev_open(&v, "0000:00:01.0", 0, want, 2) != 0) {
		fprintf(stderr, "device-bench: cannot open the device 0000:00:01.0\n");
		return 1;
	}
	/* RX: every buffer posted; TX: every descriptor a prepared frame, all posted */
	struct queue *rx = &v.q[0], *tx = &v.q[1];
	for (uint16_t i = 0; i < QSIZE; i++) {
		uint8_t *b = tx->bufs + (size_t)i * BUF;
		rx->desc[i] = (struct vring_desc){ htole64(iova(&v, rx->bufs + (size_t)i * BUF)), htole32(BUF),
						   htole16(VRING_DESC_F_WRITE), 0 };
		memset(b, 0, HDR);
		make_frame(b + HDR, size ? size : 60, i);
		tx->desc[i] = (struct vring_desc){ htole64(iova(&v, b)), htole32(HDR + size), 0, 0 };
		rx->avail->ring[i] = tx->avail->ring[i] = htole16(i);
	}
	rx->avail_idx = QSIZE;
	tx->avail_idx = size ? QSIZE : 0;
	atomic_thread_fence(memory_order_release);
	rx->avail->idx = htole16(rx->avail_idx);
	tx->avail->idx = htole16(tx->avail_idx);

	uint64_t nrx = 0, ntx = 0, rx0 = 0, tx0 = 0, cpu0 = 0;
	double t0 = now_s(), start = 0, end = t0 + warm + seconds;
	for (unsigned int spin = 0;; spin++) {
		nrx += recycle(rx);
		ntx += recycle(tx);
		if ((spin & 1023) != 0)
			continue;
		double t = now_s();
		if (start == 0 && t >= t0 + warm) {
			start = t;
			rx0 = nrx;
			tx0 = ntx;
			cpu0 = thread_cpu_ns("vnet0.0");
		}
		if (t >= end)
			break;
	}
	double elapsed = now_s() - start;
	uint64_t cpu = thread_cpu_ns("vnet0.0") - cpu0;
	printf("{\"seconds\": %.3f, \"tx_size\": %u, \"rx_frames\": %llu, \"tx_frames\": %llu, "
	       "\"device_thread_cpu_ns\": %llu, \"rx_mpps\": %.3f, \"tx_mpps\": %.3f, \"checks_failed\": %d}\n",
	       elapsed, size, (unsigned long long)(nrx - rx0), (unsigned long long)(ntx - tx0),
	       (unsigned long long)cpu, (double)(nrx - rx0) / elapsed / 1e6, (double)(ntx - tx0) / elapsed / 1e6,
	       failures);
	dev_close(&v);
	return failures ? 1 : 0;
}
