/*
 * prereq.c - capability, BTF, bpf() and tracefs checks before loading.
 */
#include "telemetry/prereq.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include <bpf/bpf.h>

#include "common/log.h"
#include "telemetry/kvariant.h"

#define CAP_NET_ADMIN_BIT 12
#define CAP_SYS_ADMIN_BIT 21
#define CAP_PERFMON_BIT 38
#define CAP_BPF_BIT 39

/* Effective capability mask from a status file; 0 when unreadable. */
static uint64_t cap_eff(const char *status)
{
	unsigned long long v = 0;
	char line[256];
	FILE *f = fopen(status ? status : "/proc/self/status", "re");

	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "CapEff: %llx", &v) == 1)
			break;
	fclose(f);
	return v;
}

bool prereq_caps_ok(const char *status, bool need_net)
{
	uint64_t eff = cap_eff(status);
	bool net = !need_net || (eff & (1ULL << CAP_NET_ADMIN_BIT));

	if (eff & (1ULL << CAP_SYS_ADMIN_BIT))
		return net;
	return (eff & (1ULL << CAP_BPF_BIT)) && (eff & (1ULL << CAP_PERFMON_BIT)) && net;
}

int prereq_mount_tracefs(void)
{
	struct stat st;

	if (stat(TELE_TRACEFS "/events", &st) == 0)
		return 0;
	if (mount("nodev", TELE_TRACEFS, "tracefs", 0, NULL) < 0)
		return -errno;
	return 0;
}

/* A tiny map proves bpf() is usable (not blocked by seccomp or a sysctl). */
static int bpf_syscall_ok(void)
{
	int fd = bpf_map_create(BPF_MAP_TYPE_ARRAY, "presage_probe", 4, 4, 1, NULL);

	if (fd < 0)
		return -errno;
	close(fd);
	return 0;
}

int prereq_check(bool need_net)
{
	int err;

	if (!prereq_caps_ok(NULL, need_net)) {
		log_err("telemetry needs root or CAP_BPF, CAP_PERFMON%s", need_net ?
			" and CAP_NET_ADMIN" : "");
		return -EPERM;
	}
	if (access(TELE_BTF_PATH, R_OK) < 0) {
		err = -errno;
		log_err("kernel BTF not readable at %s: %s (needs CONFIG_DEBUG_INFO_BTF=y)",
			TELE_BTF_PATH, strerror(-err));
		return err;
	}
	err = bpf_syscall_ok();
	if (err) {
		log_err("bpf() system call not permitted: %s", strerror(-err));
		return err;
	}
	err = prereq_mount_tracefs();
	if (err)
		log_warn("failed to mount tracefs at %s: %s (continuing: raw tracepoint "
			 "fallbacks cannot be checked)", TELE_TRACEFS, strerror(-err));
	return 0;
}
