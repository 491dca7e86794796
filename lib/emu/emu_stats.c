/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The --stats JSON: every counter, and what was still open, mapped, registered or
 * locked when the program exited (the leak report).
 */
#include <inttypes.h>
#include <stdio.h>

#include "emu_internal.h"

const char *const emu_ioctl_names[EMU_IOC__COUNT] = {
	"VFIO_GET_API_VERSION", "VFIO_CHECK_EXTENSION", "VFIO_SET_IOMMU",
	"VFIO_IOMMU_SPAPR_TCE_GET_INFO", "VFIO_IOMMU_MAP_DMA", "VFIO_IOMMU_UNMAP_DMA",
	"VFIO_IOMMU_ENABLE", "VFIO_IOMMU_DISABLE", "VFIO_IOMMU_SPAPR_REGISTER_MEMORY",
	"VFIO_IOMMU_SPAPR_UNREGISTER_MEMORY", "VFIO_IOMMU_SPAPR_TCE_CREATE",
	"VFIO_IOMMU_SPAPR_TCE_REMOVE", "VFIO_EEH_PE_OP", "VFIO_GROUP_GET_STATUS",
	"VFIO_GROUP_SET_CONTAINER", "VFIO_GROUP_UNSET_CONTAINER", "VFIO_GROUP_GET_DEVICE_FD",
	"VFIO_DEVICE_GET_INFO", "VFIO_DEVICE_GET_REGION_INFO", "VFIO_DEVICE_GET_IRQ_INFO",
	"VFIO_DEVICE_SET_IRQS", "VFIO_DEVICE_RESET", "other",
};

struct leaks {
	uint64_t windows, mapped_tces, registrations, registered_bytes;
	uint64_t release_hcalls;  /* pSeries: what closing the fds will cost the kernel */
};

/* Windows and TCEs still live: every PE's tables (each table is counted once). */
static void count_leaks(struct emu_platform *p, struct leaks *l)
{
	const struct emu_tce_table *seen[EMU_MAX_GROUPS * EMU_MAX_TABLES];
	unsigned int nseen = 0;

	for (unsigned int g = 0; g < EMU_MAX_GROUPS; g++) {
		if (!p->group_exists[g])
			continue;
		for (int i = 0; i < EMU_MAX_TABLES; i++) {
			const struct emu_tce_table *t = p->groups[g].pe.tables[i];
			bool dup = false;
			if (t == NULL)
				continue;
			for (unsigned int k = 0; k < nseen; k++)
				dup |= seen[k] == t;
			if (dup)
				continue;
			seen[nseen++] = t;
			l->windows++;
			l->mapped_tces += t->nr_valid;
			/* release clears every entry: H_GET_TCE + H_PUT_TCE each */
			if (p->cfg.plat.hv == EMU_HV_PSERIES)
				l->release_hcalls += 2 * t->size;
		}
	}
	for (struct emu_mm_mem *m = p->mm.mem_list; m; m = m->next) {
		l->registrations++;
		l->registered_bytes += m->entries << p->cfg.plat.page_shift;
	}
}

#define KV(name, val) fprintf(out, "%s\"%s\": %" PRIu64, sep, name, (uint64_t)(val)), sep = ", "

int emu_write_stats(struct emu_platform *p, FILE *out)
{
	return emu_write_stats_exit(p, out, NULL);
}

int emu_write_stats_exit(struct emu_platform *p, FILE *out, const char *exit_json)
{
	struct emu_counters c;
	struct leaks l = { 0 };
	const char *sep = "";

	pthread_mutex_lock(&p->lock);
	c = p->c;
	count_leaks(p, &l);
	fprintf(out, "{\n  \"platform\": \"%s\",\n  \"hypervisor\": \"%s\",\n", p->cfg.plat.name,
		p->cfg.plat.hv == EMU_HV_PSERIES ? "pseries" : "powernv");
	fprintf(out, "  \"devices\": %u,\n  \"ioctls\": {", p->ndevices);
	uint64_t total = 0;
	for (int i = 0; i < EMU_IOC__COUNT; i++) {
		KV(emu_ioctl_names[i], c.ioctls[i]);
		total += c.ioctls[i];
	}
	KV("total", total);
	KV("errors", c.ioctl_errors);
	sep = "";
	fprintf(out, "},\n  \"timing\": {");
	KV("first_vfio_ioctl_after_start_ns", p->first_ioctl_ns ? p->first_ioctl_ns - p->created_ns : 0);
	KV("last_map_after_start_ns", p->last_map_ns ? p->last_map_ns - p->created_ns : 0);
	KV("setup_ioctls_ns", p->setup_ioctl_ns);
	sep = "";
	fprintf(out, "},\n  \"hypercalls\": {");
	KV("H_GET_TCE", c.h_get_tce);
	KV("H_PUT_TCE", c.h_put_tce);
	KV("H_PUT_TCE_INDIRECT", c.h_put_tce_indirect);
	KV("H_STUFF_TCE", c.h_stuff_tce);
	KV("total", emu_hypercalls(&c));
	sep = "";
	fprintf(out, "},\n  \"rtas\": {");
	KV("ibm,query-pe-dma-window", c.rtas_ddw_query);
	KV("ibm,create-pe-dma-window", c.rtas_ddw_create);
	KV("ibm,remove-pe-dma-window", c.rtas_ddw_remove);
	KV("ibm,reset-pe-dma-windows", c.rtas_ddw_reset);
	sep = "";
	fprintf(out, "},\n  \"opal\": {");
	KV("tce_kill", c.opal_tce_kill);
	KV("map_pe_dma_window", c.opal_map_window);
	KV("map_pe_dma_window_real", c.opal_bypass);
	KV("eeh_freeze_status", c.eeh_get_state);
	KV("eeh_freeze_clear", c.opal_freeze_clear);
	KV("eeh_freeze_set", c.opal_freeze_set);
	KV("pci_reset", c.opal_pci_reset);
	sep = "";
	fprintf(out, "},\n  \"tces\": {");
	KV("mapped", c.tces_mapped);
	KV("cleared", c.tces_cleared);
	KV("stuffed", c.tces_stuffed);
	KV("exchanged", c.tce_xchg);
	KV("kills", c.tce_kill);
	sep = "";
	fprintf(out, "},\n  \"memory\": {");
	KV("locked_bytes", c.locked_bytes);
	KV("locked_peak_bytes", c.locked_peak);
	KV("table_bytes", c.table_bytes);
	KV("table_peak_bytes", c.table_peak);
	KV("registered_bytes", c.registered_bytes);
	KV("locked_never_returned_bytes", c.locked_leaked);
	sep = "";
	fprintf(out, "},\n  \"windows\": {");
	KV("created", c.windows_created);
	KV("removed", c.windows_removed);
	sep = "";
	fprintf(out, "},\n  \"dma\": {");
	KV("reads", c.dma_reads);
	KV("writes", c.dma_writes);
	KV("bytes", c.dma_bytes);
	KV("faults", c.dma_faults);
	KV("no_bus_master", c.dma_no_bus_master);
	sep = "";
	fprintf(out, "},\n  \"eeh\": {");
	KV("freezes", c.eeh_freezes);
	KV("unfreezes", c.eeh_unfreezes);
	KV("resets", c.eeh_resets);
	sep = "";
	fprintf(out, "},\n  \"mmio\": {");
	KV("reads", atomic_load(&p->mmio_reads));
	KV("writes", atomic_load(&p->mmio_writes));
	KV("ns", atomic_load(&p->mmio_ns));
	sep = "";
	fprintf(out, "},\n  \"irqs\": %" PRIu64 ",\n  \"device_models\": [", c.irqs);
	sep = "";
	for (unsigned int i = 0; i < p->ndevices; i++) {
		if (p->devices[i].model->write_stats == NULL)
			continue;
		fprintf(out, "%s\n    ", sep);
		p->devices[i].model->write_stats(&p->devices[i], out);
		sep = ",";
	}
	sep = "";
	fprintf(out, "],\n  \"at_exit\": {");
	KV("open_containers", p->open_containers);
	KV("idle_containers", p->idle_containers);
	KV("open_groups", p->open_groups);
	KV("open_devices", p->open_devices);
	KV("windows", l.windows);
	KV("mapped_tces", l.mapped_tces);
	KV("registrations", l.registrations);
	KV("registered_bytes", l.registered_bytes);
	KV("locked_bytes", c.locked_bytes);
	KV("release_hypercalls_owed", l.release_hcalls);
	fprintf(out, ", \"clean\": %s}",
		p->open_containers - p->idle_containers + p->open_groups + p->open_devices + l.windows +
		l.mapped_tces + l.registrations + c.locked_bytes == 0 ? "true" : "false");
	if (exit_json)
		fprintf(out, ",\n  \"exit\": %s", exit_json);
	fprintf(out, "\n}\n");
	pthread_mutex_unlock(&p->lock);
	return ferror(out) ? -1 : 0;
}
