/*
 * config_keys.h - private to user/config: the key-table row type shared by
 * the table (config_keys.c) and the loader (config.c).
 */
#ifndef PRESAGE_CONFIG_KEYS_H
#define PRESAGE_CONFIG_KEYS_H

#include "config/config.h"

#include <stdbool.h>
#include <stddef.h>

enum cfg_type {
	CFG_T_NUM,  /* double, bounds inclusive */
	CFG_T_INT,  /* int, integral JSON number, bounds inclusive */
	CFG_T_BOOL,
	CFG_T_STR,  /* char[size], length in [min, max], optional check() */
	CFG_T_ENUM, /* char[size], one of choices */
	CFG_T_LIST, /* char ** at off, int count at count_off; entries checked by check() */
};

struct cfg_key {
	const char *name;   /* JSON path relative to the table's object */
	enum cfg_type type;
	double min, max;    /* numbers: value bounds; strings: length bounds */
	const char *def;    /* default, as text (parsed like a flag value) */
	size_t off;         /* field offset in the table's struct */
	size_t size;        /* char buffer size (strings) */
	size_t count_off;   /* CFG_T_LIST: offset of the int count */
	const char *const *choices;                 /* CFG_T_ENUM, NULL-terminated */
	int (*check)(const char *s, char *why, size_t len); /* extra string rule */
	void (*apply)(const struct presage_config *c); /* run when the value changes */
	bool restart;       /* a change needs a daemon restart to take effect */
	const char *help;
};

/* Root keys (offsets into struct presage_config) and service keys. */
extern const struct cfg_key cfg_root_keys[];
extern const size_t cfg_root_key_count;
extern const struct cfg_key cfg_service_keys[];
extern const size_t cfg_service_key_count;

#endif
