/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * libFuzzer: what lib/tce reads from sysfs about a PCI function (vendor, device, class,
 * numa_node, the iommu_group and driver links), each file's contents from the input;
 * and the size and number parsers on the raw input.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "tce.h"
#include "tce_pci.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char root[64], dev[128];

static void put(const char *name, const char *text, size_t len)
{
	char path[256];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dev, name);
	f = fopen(path, "w");
	if (f) {
		fwrite(text, 1, len, f);
		fclose(f);
	}
}

static void link_to(const char *name, const char *target, size_t len)
{
	char path[256], t[256];

	snprintf(path, sizeof(path), "%s/%s", dev, name);
	unlink(path);
	snprintf(t, sizeof(t), "%.*s", (int)(len < 200 ? len : 200), target);
	if (t[0] && symlink(t, path) != 0)
		return;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *names[] = { "vendor", "device", "class", "numa_node", "iommu_group", "driver" };
	char *text = malloc(size + 1), *p;
	struct tce_pci_function fn;
	char err[400];
	uint64_t v;
	long long n;

	if (text == NULL)
		return 0;
	memcpy(text, data, size);
	text[size] = '\0';
	tce_parse_size(text, &v);
	tce_parse_number(text, -1, 0xffff, &n);
	if (root[0] == '\0') {
		snprintf(root, sizeof(root), "/tmp/fuzz-sysfs.%d", (int)getpid());
		snprintf(dev, sizeof(dev), "%s/0000:00:01.0", root);
		mkdir(root, 0700);
		mkdir(dev, 0700);
		setenv("SYSFS_PCI_DEVICES", root, 1);
	}
	/* fields separated by '|', in the order of names[] */
	p = text;
	for (unsigned int i = 0; i < 6; i++) {
		char *bar = memchr(p, '|', (size_t)(text + size - p));
		size_t len = bar ? (size_t)(bar - p) : strlen(p);
		if (i < 4)
			put(names[i], p, len);
		else
			link_to(names[i], p, len);
		p = bar ? bar + 1 : p + len;
	}
	if (tce_pci_read("0000:00:01.0", &fn, err, sizeof(err)) == 0) {
		if (fn.numa_node < -1 || fn.driver[sizeof(fn.driver) - 1] != '\0')
			abort();
	}
	free(text);
	return 0;
}
