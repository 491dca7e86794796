/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Platform presets and options. The presets are the machines users meet:
 *  - pseries-ddw: a QEMU/KVM pSeries guest (Linux 6.12, as measured in
 *    qemu-pseries-notes.md): 1 GiB default window at 0 with 4 KiB pages, dynamic
 *    windows of 4K/64K/2M/16M pages at 1<<59, GET_INFO says 2 windows and 1 level
 *    but the hypervisor grants one dynamic window; no EEH through VFIO.
 *  - pseries-noddw: a pSeries guest without DDW: v1 only (v2 is refused at attach).
 *  - powernv (powernv9): POWER9 bare metal, PHB4: 2 GiB default window, 4K/64K/2M/1G
 *    pages, two windows (the second at 1<<59), up to 5 levels, EEH; TCE kills are OPAL
 *    calls. As the real 6.12 kernel answers on QEMU's powernv9 (qemu-powernv-notes.md).
 *  - powernv8: POWER8 bare metal, PHB3: the same but 4K/64K/16M/256M pages, and TCE
 *    kills written to the PHB's register (no OPAL call).
 */
#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "emu_internal.h"

#define SZ_4K (1ULL << 12)
#define SZ_64K (1ULL << 16)
#define SZ_2M (1ULL << 21)
#define SZ_16M (1ULL << 24)
#define SZ_256M (1ULL << 28)
#define SZ_1G (1ULL << 30)

static const struct emu_platform_cfg presets[] = {
	{ .name = "pseries-ddw", .hv = EMU_HV_PSERIES, .tce32_start = 0, .tce32_size = 1u << 30,
	  .pgsizes = SZ_4K | SZ_64K | SZ_2M | SZ_16M, .max_dyn_windows = 2, .ddw_creatable = 1,
	  .max_levels = 1, .ddw_start = 1ULL << 59, .ddw_max_tces = 0x80000000ULL,
	  .eeh = false, .page_shift = 16, .region_shift = 40 },
	{ .name = "pseries-noddw", .hv = EMU_HV_PSERIES, .tce32_start = 0, .tce32_size = 1u << 30,
	  .pgsizes = SZ_4K, .max_dyn_windows = 0, .ddw_creatable = 0, .max_levels = 0,
	  .ddw_start = 1ULL << 59, .ddw_max_tces = 0, .eeh = false, .page_shift = 16, .region_shift = 40 },
	{ .name = "powernv", .hv = EMU_HV_POWERNV, .tce32_start = 0, .tce32_size = 1u << 31,
	  .pgsizes = SZ_4K | SZ_64K | SZ_2M | SZ_1G, .max_dyn_windows = 2, .ddw_creatable = 2,
	  .max_levels = 5, .ddw_start = 1ULL << 59, .ddw_max_tces = UINT64_MAX,
	  .eeh = true, .phb = 4, .page_shift = 16, .region_shift = 40 },
	{ .name = "powernv8", .hv = EMU_HV_POWERNV, .tce32_start = 0, .tce32_size = 1u << 31,
	  .pgsizes = SZ_4K | SZ_64K | SZ_16M | SZ_256M, .max_dyn_windows = 2, .ddw_creatable = 2,
	  .max_levels = 5, .ddw_start = 1ULL << 59, .ddw_max_tces = UINT64_MAX,
	  .eeh = true, .phb = 3, .page_shift = 16, .region_shift = 40 },
};

static const struct { const char *alias, *name; } aliases[] = {
	{ "pseries", "pseries-ddw" }, { "qemu-pseries", "pseries-ddw" },
	{ "pseries-v1", "pseries-noddw" }, { "baremetal", "powernv" }, { "powernv9", "powernv" },
};

static const struct emu_platform_cfg *find_preset(const char *name)
{
	for (size_t i = 0; i < sizeof(aliases) / sizeof(aliases[0]); i++)
		if (strcmp(name, aliases[i].alias) == 0)
			name = aliases[i].name;
	for (size_t i = 0; i < sizeof(presets) / sizeof(presets[0]); i++)
		if (strcmp(name, presets[i].name) == 0)
			return &presets[i];
	return NULL;
}

void emu_config_list_presets(FILE *out)
{
	for (size_t i = 0; i < sizeof(presets) / sizeof(presets[0]); i++) {
		const struct emu_platform_cfg *p = &presets[i];
		fprintf(out, "%-14s %s, default window %u MiB at 0x%x, dynamic windows: %u "
			"(page sizes 0x%" PRIx64 ", levels %u), EEH %s\n", p->name,
			p->hv == EMU_HV_PSERIES ? "pSeries guest" : p->phb == 3 ? "PowerNV bare metal, PHB3" :
								    "PowerNV bare metal, PHB4",
			p->tce32_size >> 20, p->tce32_start, p->ddw_creatable, p->pgsizes,
			p->max_levels, p->eeh ? "yes" : "no");
	}
}

int emu_config_init(struct emu_config *cfg, const char *preset)
{
	const struct emu_platform_cfg *p = find_preset(preset ? preset : "pseries-ddw");

	if (p == NULL)
		return -EINVAL;
	memset(cfg, 0, sizeof(*cfg));
	cfg->plat = *p;
	cfg->gen_devices = 1;
	cfg->gen_group_size = 1;
	cfg->gen_numa_nodes = 1;
	return 0;
}

/* "123", "0x1000", "64K", "2M", "1G" */
static int parse_size(const char *s, uint64_t *out)
{
	char *end;
	uint64_t v;

	errno = 0;
	v = strtoull(s, &end, 0);
	if (errno || end == s)
		return -EINVAL;
	unsigned int shift = 0;
	switch (toupper((unsigned char)*end)) {
	case 'K': shift = 10; end++; break;
	case 'M': shift = 20; end++; break;
	case 'G': shift = 30; end++; break;
	case 'T': shift = 40; end++; break;
	default: break;
	}
	if (v > (UINT64_MAX >> shift))
		return -EINVAL; /* does not fit 64 bits */
	v <<= shift;
	if (*end == 'i' || *end == 'B')
		end++;
	if (*end == 'B')
		end++;
	if (*end != '\0')
		return -EINVAL;
	*out = v;
	return 0;
}

static int parse_uint(const char *s, unsigned int max, unsigned int *out)
{
	uint64_t v;

	if (parse_size(s, &v) || v > max)
		return -EINVAL;
	*out = (unsigned int)v;
	return 0;
}

/* "4K,64K,2M" or a mask such as 0x1011000 */
static int parse_pgsizes(const char *s, uint64_t *out)
{
	char buf[256], *tok, *save;
	uint64_t mask = 0, v;

	if (strchr(s, ',') == NULL && parse_size(s, &v) == 0 && (v & (v - 1)) != 0) {
		*out = v;
		return 0;
	}
	snprintf(buf, sizeof(buf), "%s", s);
	for (tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		if (parse_size(tok, &v) || v < SZ_4K || (v & (v - 1)))
			return -EINVAL;
		mask |= v;
	}
	*out = mask;
	return mask ? 0 : -EINVAL;
}

static bool valid_pci_addr(const char *s)
{
	unsigned int dom, bus, dev, fn;
	char tail;

	return strlen(s) == 12 && sscanf(s, "%4x:%2x:%2x.%1x%c", &dom, &bus, &dev, &fn, &tail) == 4 &&
	       dev < 32 && fn < 8;
}

/* "MODEL[,k=v...]": the model name, the rest for the model to check when it starts */
static int parse_model(const char *spec, char *model, size_t mlen, char *params, size_t plen,
		       char *err, size_t errlen)
{
	const char *comma = strchr(spec, ',');
	size_t n = comma ? (size_t)(comma - spec) : strlen(spec);

	if (n >= mlen) {
		snprintf(err, errlen, "unknown device model '%.*s' (known: none, virtio-net)", (int)n, spec);
		return -EINVAL;
	}
	memcpy(model, spec, n);
	model[n] = '\0';
	if (emu_model_find(model) == NULL) {
		snprintf(err, errlen, "unknown device model '%s' (known: none, virtio-net)", model);
		return -EINVAL;
	}
	if (comma && strlen(comma + 1) >= plen) {
		snprintf(err, errlen, "device model options too long: %s", comma + 1);
		return -EINVAL;
	}
	/* KEY=VALUE,...: as a --device spec takes them (the saved configuration is one) */
	for (const char *t = comma; t; t = strchr(t + 1, ',')) {
		size_t len = strcspn(t + 1, ",");
		const char *eq = memchr(t + 1, '=', len);
		if (eq == NULL || eq == t + 1) {
			snprintf(err, errlen, "device model option '%.*s': expected KEY=VALUE", (int)len, t + 1);
			return -EINVAL;
		}
		static const char *const own[] = { "group", "node", "model", "driver" };
		for (unsigned int k = 0; k < sizeof(own) / sizeof(own[0]); k++)
			if ((size_t)(eq - t - 1) == strlen(own[k]) && memcmp(t + 1, own[k], strlen(own[k])) == 0) {
				snprintf(err, errlen, "device model option '%.*s': %s= is the device's own option,"
					 " not the model's", (int)len, t + 1, own[k]);
				return -EINVAL;
			}
	}
	snprintf(params, plen, "%s", comma ? comma + 1 : "");
	return 0;
}

/* "ADDR[,group=N][,node=N][,model=M][,k=v...]": unknown keys go to the model */
static int parse_device(struct emu_config *cfg, const char *spec, char *err, size_t errlen)
{
	char buf[256], *tok, *save;
	struct emu_device_cfg d = { .group = cfg->ndevices, .numa_node = 0 };

	if (cfg->ndevices >= EMU_MAX_DEVICES) {
		snprintf(err, errlen, "too many devices (at most %d)", EMU_MAX_DEVICES);
		return -EINVAL;
	}
	snprintf(buf, sizeof(buf), "%s", spec);
	tok = strtok_r(buf, ",", &save);
	if (tok == NULL || !valid_pci_addr(tok)) {
		snprintf(err, errlen, "device '%s': expected a PCI address like 0000:00:01.0", spec);
		return -EINVAL;
	}
	snprintf(d.addr, sizeof(d.addr), "%.12s", tok); /* valid_pci_addr: 12 characters */
	for (unsigned int i = 0; i < cfg->ndevices; i++)
		if (strcmp(cfg->dev[i].addr, d.addr) == 0) {
			snprintf(err, errlen, "device %s given twice", d.addr);
			return -EINVAL;
		}
	snprintf(d.model, sizeof(d.model), "none");
	snprintf(d.driver, sizeof(d.driver), "vfio-pci");
	while ((tok = strtok_r(NULL, ",", &save)) != NULL) {
		char *eq = strchr(tok, '=');
		unsigned int v;

		if (eq == NULL)
			goto bad;
		*eq++ = '\0';
		if (strcmp(tok, "group") == 0 && parse_uint(eq, EMU_MAX_GROUPS - 1, &v) == 0)
			d.group = v;
		else if (strcmp(tok, "node") == 0 && parse_uint(eq, 63, &v) == 0)
			d.numa_node = (int)v;
		else if (strcmp(tok, "driver") == 0) {
			if (*eq == '\0' || strlen(eq) >= sizeof(d.driver) || strspn(eq,
			    "abcdefghijklmnopqrstuvwxyz0123456789_-") != strlen(eq))
				goto bad;
			snprintf(d.driver, sizeof(d.driver), "%s", eq);
		}
		else if (strcmp(tok, "model") == 0) {
			if (parse_model(eq, d.model, sizeof(d.model), d.params, sizeof(d.params),
					err, errlen))
				return -EINVAL;
		} else if (strcmp(tok, "group") == 0 || strcmp(tok, "node") == 0)
			goto bad;
		else {
			size_t used = strlen(d.params);
			/* [","] KEY "=" VALUE and the NUL: what a model option string of the
			 * same length takes as the model's spec (parse_model) */
			if (used + (used ? 1 : 0) + strlen(tok) + 1 + strlen(eq) + 1 > sizeof(d.params))
				goto bad;
			/* the sizes are checked just above (snprintf would have gcc guess them) */
			char *at = d.params + used;
			size_t tl = strlen(tok), el = strlen(eq);
			if (used)
				*at++ = ',';
			memcpy(at, tok, tl);
			at[tl] = '=';
			memcpy(at + tl + 1, eq, el + 1);
		}
	}
	cfg->dev[cfg->ndevices++] = d;
	cfg->explicit_devices = true;
	return 0;
bad:
	snprintf(err, errlen, "device '%s': bad option '%s' (known: group=0..%d, node=0..63, model=NAME,"
		 " driver=vfio-pci|none|NAME, and the model's options)", spec, tok, EMU_MAX_GROUPS - 1);
	return -EINVAL;
}

int emu_config_set(struct emu_config *cfg, const char *key, const char *value,
		   char *err, size_t errlen)
{
	struct emu_platform_cfg *p = &cfg->plat;
	uint64_t v;
	unsigned int u;

	if (strcmp(key, "platform") == 0) {
		const struct emu_platform_cfg *preset = find_preset(value);
		if (preset == NULL) {
			snprintf(err, errlen, "unknown platform '%s' (see: spapr-emu presets)", value);
			return -EINVAL;
		}
		*p = *preset;
		return 0;
	}
	if (strcmp(key, "device") == 0)
		return parse_device(cfg, value, err, errlen);
	if (strcmp(key, "stats") == 0 || strcmp(key, "sysfs") == 0) {
		char *dst = key[1] == 't' ? cfg->stats_path : cfg->sysfs_root;
		if (strlen(value) >= sizeof(cfg->stats_path)) {
			snprintf(err, errlen, "%s: path too long", key);
			return -EINVAL;
		}
		strcpy(dst, value);
		return 0;
	}
	if (strcmp(key, "model") == 0) {
		char model[16], params[192];
		if (parse_model(value, model, sizeof(model), params, sizeof(params), err, errlen))
			return -EINVAL;
		snprintf(cfg->gen_model, sizeof(cfg->gen_model), "%s", value);
		return 0;
	}
	if (strcmp(key, "devices") == 0 && parse_uint(value, EMU_MAX_DEVICES, &u) == 0 && u > 0) {
		cfg->gen_devices = u;
		return 0;
	}
	if (strcmp(key, "group-size") == 0 && parse_uint(value, EMU_MAX_DEVICES, &u) == 0 && u > 0) {
		cfg->gen_group_size = u;
		return 0;
	}
	if (strcmp(key, "numa-nodes") == 0 && parse_uint(value, 64, &u) == 0 && u > 0) {
		cfg->gen_numa_nodes = u;
		return 0;
	}
	if (strcmp(key, "tce32-size") == 0 && parse_size(value, &v) == 0 && v <= 1ULL << 31 &&
	    (v == 0 || (v & (v - 1)) == 0)) {
		p->tce32_size = (uint32_t)v;
		return 0;
	}
	if (strcmp(key, "tce32-start") == 0 && parse_size(value, &v) == 0 && v < 1ULL << 32) {
		p->tce32_start = (uint32_t)v;
		return 0;
	}
	if (strcmp(key, "pgsizes") == 0 && parse_pgsizes(value, &v) == 0) {
		p->pgsizes = v;
		return 0;
	}
	if (strcmp(key, "max-windows") == 0 && parse_uint(value, 2, &u) == 0) {
		p->max_dyn_windows = u;
		return 0;
	}
	if (strcmp(key, "ddw-windows") == 0 && parse_uint(value, 2, &u) == 0) {
		p->ddw_creatable = u;
		return 0;
	}
	if (strcmp(key, "levels") == 0 && parse_uint(value, 5, &u) == 0) {
		p->max_levels = u;
		return 0;
	}
	if (strcmp(key, "ddw-start") == 0 && parse_size(value, &v) == 0) {
		p->ddw_start = v;
		return 0;
	}
	if (strcmp(key, "ddw-max-tces") == 0 && parse_size(value, &v) == 0) {
		p->ddw_max_tces = v;
		return 0;
	}
	if (strcmp(key, "eeh") == 0 && (strcmp(value, "on") == 0 || strcmp(value, "off") == 0)) {
		p->eeh = strcmp(value, "on") == 0;
		return 0;
	}
	/* vfio-pci places region i at i << 40 (VFIO_PCI_OFFSET_SHIFT); other VFIO drivers
	 * place regions elsewhere: users must take offsets from GET_REGION_INFO */
	if (strcmp(key, "region-shift") == 0 && parse_uint(value, 40, &u) == 0 && u >= 24) {
		p->region_shift = u;
		return 0;
	}
	if (strcmp(key, "hv") == 0 && (strcmp(value, "pseries") == 0 || strcmp(value, "powernv") == 0)) {
		p->hv = strcmp(value, "pseries") == 0 ? EMU_HV_PSERIES : EMU_HV_POWERNV;
		p->phb = p->hv == EMU_HV_POWERNV ? (p->phb ? p->phb : 4) : 0;
		return 0;
	}
	if (strcmp(key, "phb") == 0 && (strcmp(value, "3") == 0 || strcmp(value, "4") == 0)) {
		if (p->hv != EMU_HV_POWERNV) {
			snprintf(err, errlen, "phb=%s is for hv=powernv", value);
			return -EINVAL;
		}
		p->phb = (unsigned int)(value[0] - '0');
		return 0;
	}
	snprintf(err, errlen, "bad option %s=%s", key, value);
	return -EINVAL;
}

int emu_config_load(struct emu_config *cfg, const char *path, char *err, size_t errlen)
{
	char *line = NULL;
	size_t cap = 0;
	ssize_t len;
	unsigned int lineno = 0;
	FILE *f = fopen(path, "re");
	int ret = 0;

	if (f == NULL) {
		ret = -errno;
		snprintf(err, errlen, "cannot read config %s: %s", path, strerror(errno));
		return ret;
	}
	while (ret == 0 && (len = getline(&line, &cap, f)) >= 0) {
		char *s = line, *eq, *end;
		char sub[400];

		lineno++;
		if (memchr(line, '\0', (size_t)len) != NULL) {
			snprintf(err, errlen, "%s:%u: a NUL byte in the line", path, lineno);
			ret = -EINVAL;
			break;
		}
		if (len > 1000) {
			snprintf(err, errlen, "%s:%u: line longer than 1000 bytes", path, lineno);
			ret = -EINVAL;
			break;
		}
		s[strcspn(s, "#\r\n")] = '\0';
		while (isspace((unsigned char)*s))
			s++;
		end = s + strlen(s);
		while (end > s && isspace((unsigned char)end[-1]))
			*--end = '\0';
		if (*s == '\0')
			continue;
		eq = strchr(s, '=');
		if (eq == NULL) {
			snprintf(err, errlen, "%s:%u: expected key=value", path, lineno);
			ret = -EINVAL;
			break;
		}
		*eq = '\0';
		for (end = eq; end > s && isspace((unsigned char)end[-1]);)
			*--end = '\0';
		eq++;
		while (isspace((unsigned char)*eq))
			eq++;
		ret = emu_config_set(cfg, s, eq, sub, sizeof(sub));
		if (ret)
			snprintf(err, errlen, "%s:%u: %s", path, lineno, sub);
	}
	/* a directory opens, then fails to read (EISDIR): not an empty config */
	if (ret == 0 && ferror(f)) {
		ret = -(errno ? errno : EIO);
		snprintf(err, errlen, "cannot read config %s: %s", path, strerror(-ret));
	}
	free(line);
	fclose(f);
	return ret;
}

int emu_config_finish(struct emu_config *cfg, char *err, size_t errlen)
{
	if (!cfg->explicit_devices) {
		if (cfg->gen_devices > EMU_MAX_DEVICES) {
			snprintf(err, errlen, "too many devices (at most %d)", EMU_MAX_DEVICES);
			return -EINVAL;
		}
		cfg->ndevices = 0;
		for (unsigned int i = 0; i < cfg->gen_devices; i++) {
			struct emu_device_cfg *d = &cfg->dev[cfg->ndevices++];
			unsigned int group = i / cfg->gen_group_size;

			memset(d, 0, sizeof(*d));
			/* slots 1..31 of bus 0, then of bus 1, ... */
			snprintf(d->addr, sizeof(d->addr), "0000:%02x:%02x.0", (i / 31) & 0xff,
				 (i % 31 + 1) & 0x1f);
			d->group = group;
			d->numa_node = (int)(group % cfg->gen_numa_nodes);
			snprintf(d->driver, sizeof(d->driver), "vfio-pci");
			if (cfg->gen_model[0])
				parse_model(cfg->gen_model, d->model, sizeof(d->model), d->params,
					    sizeof(d->params), err, errlen);
			else
				snprintf(d->model, sizeof(d->model), "none");
		}
	}
	/* Devices of one group share a PE: they must share a NUMA node too. */
	for (unsigned int i = 0; i < cfg->ndevices; i++)
		for (unsigned int j = 0; j < i; j++)
			if (cfg->dev[i].group == cfg->dev[j].group &&
			    cfg->dev[i].numa_node != cfg->dev[j].numa_node) {
				snprintf(err, errlen, "devices %s and %s share IOMMU group %u but not a NUMA node",
					 cfg->dev[j].addr, cfg->dev[i].addr, cfg->dev[i].group);
				return -EINVAL;
			}
	if (cfg->plat.max_dyn_windows == 0)
		cfg->plat.ddw_creatable = 0;
	return 0;
}

int emu_config_save(const struct emu_config *cfg, const char *path)
{
	const struct emu_platform_cfg *p = &cfg->plat;
	FILE *f = fopen(path, "we");

	if (f == NULL)
		return -errno;
	fprintf(f, "# written by spapr-emu\nplatform=%s\nhv=%s\n", p->name,
		p->hv == EMU_HV_PSERIES ? "pseries" : "powernv");
	if (p->hv == EMU_HV_POWERNV)
		fprintf(f, "phb=%u\n", p->phb);
	fprintf(f, "tce32-start=%u\ntce32-size=%u\npgsizes=0x%" PRIx64 "\nmax-windows=%u\n"
		"ddw-windows=%u\nlevels=%u\nddw-start=0x%" PRIx64 "\nddw-max-tces=%" PRIu64 "\neeh=%s\n"
		"region-shift=%u\n", p->tce32_start, p->tce32_size, p->pgsizes, p->max_dyn_windows,
		p->ddw_creatable, p->max_levels, p->ddw_start, p->ddw_max_tces, p->eeh ? "on" : "off",
		p->region_shift);
	for (unsigned int i = 0; i < cfg->ndevices; i++)
		fprintf(f, "device=%s,group=%u,node=%d,driver=%s,model=%s%s%s\n", cfg->dev[i].addr,
			cfg->dev[i].group, cfg->dev[i].numa_node,
			cfg->dev[i].driver[0] ? cfg->dev[i].driver : "vfio-pci", cfg->dev[i].model,
			cfg->dev[i].params[0] ? "," : "", cfg->dev[i].params);
	if (cfg->stats_path[0])
		fprintf(f, "stats=%s\n", cfg->stats_path);
	if (cfg->sysfs_root[0])
		fprintf(f, "sysfs=%s\n", cfg->sysfs_root);
	return fclose(f) == 0 ? 0 : -errno;
}
