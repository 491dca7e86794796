/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * libFuzzer: spapr-emu's configuration: --set KEY=VALUE and --device SPEC (each line of
 * the input, as the command line would give it) and the same text as a --config file;
 * then the consistency check. The accepted configuration is saved and read back.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "spapr_emu.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void set_lines(struct emu_config *cfg, const char *text)
{
	char *copy = strdup(text), *save = NULL, err[512];

	for (char *line = copy ? strtok_r(copy, "\n", &save) : NULL; line; line = strtok_r(NULL, "\n", &save)) {
		char *eq = strchr(line, '=');
		if (eq == NULL)
			continue;
		*eq = '\0';
		emu_config_set(cfg, line, eq + 1, err, sizeof(err));
	}
	free(copy);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static char path[64];
	struct emu_config cfg, back;
	char err[512], *text = malloc(size + 1);
	FILE *f;

	if (text == NULL)
		return 0;
	memcpy(text, data, size);
	text[size] = '\0';
	emu_config_init(&cfg, NULL);
	set_lines(&cfg, text);
	emu_config_finish(&cfg, err, sizeof(err));

	if (path[0] == '\0')
		snprintf(path, sizeof(path), "/tmp/fuzz-emu-config.%d", (int)getpid());
	f = fopen(path, "w");
	if (f) {
		fwrite(data, 1, size, f);
		fclose(f);
		emu_config_init(&cfg, NULL);
		if (emu_config_load(&cfg, path, err, sizeof(err)) == 0 &&
		    emu_config_finish(&cfg, err, sizeof(err)) == 0 && emu_config_save(&cfg, path) == 0) {
			/* what was accepted is read back as it was saved */
			emu_config_init(&back, NULL);
			if (emu_config_load(&back, path, err, sizeof(err)) != 0 ||
			    emu_config_finish(&back, err, sizeof(err)) != 0)
				abort();
		}
		unlink(path);
	}
	free(text);
	return 0;
}
