/*
 * cli.h - what every `presage` command shares: the command table entry
 * points, global options and the error/exit conventions of DESIGN.md:
 * exit 0 ok, 1 failure, 2 usage; errors are one line on stderr,
 * "presage: <what failed>: <why>".
 */
#ifndef PRESAGE_CLI_H
#define PRESAGE_CLI_H

#define CLI_OK    0
#define CLI_FAIL  1
#define CLI_USAGE 2

/* Global options, parsed by main() before the command. */
struct cli_globals {
	const char *socket_path; /* --socket, default PRESAGE_DEFAULT_SOCKET */
};
extern struct cli_globals cli_globals;

#define PRESAGE_DEFAULT_SOCKET "/run/presage/presage.sock"

/* Print "presage: <what>: <why>" on stderr. */
void cli_err(const char *what, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/*
 * Command entry points, one file each (tools/cmd_<name>.c).  argv[0] is the
 * command name; they return a CLI_* exit code.  Declared weak so the CLI links
 * while a command is still being written; main() reports a missing one.
 */
#define CLI_CMD(name) int cmd_##name(int argc, char **argv) __attribute__((weak))
CLI_CMD(status);
CLI_CMD(top);
CLI_CMD(fingerprint);
CLI_CMD(forecast);
CLI_CMD(detect);
CLI_CMD(sim);
CLI_CMD(events);
CLI_CMD(explain);
CLI_CMD(config);
#undef CLI_CMD

#endif
